#include "server/http/static_site.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "server/http/percent.h"
#include "server/util/log.h"

namespace gridline::http {

namespace bhttp = boost::beast::http;
namespace fs = std::filesystem;

namespace {

// Larger files are not a console's; they are left out rather than held in memory.
constexpr uintmax_t kMaxStaticFileBytes = 16 << 20;

std::string ContentTypeOf(const std::string& path) {
  static const std::map<std::string, std::string> kTypes = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".webp", "image/webp"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
  };
  const size_t slash = path.rfind('/');
  const size_t dot = path.rfind('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) {
    return "application/octet-stream";
  }
  auto it = kTypes.find(absl::AsciiStrToLower(path.substr(dot)));
  return it == kTypes.end() ? "application/octet-stream" : it->second;
}

// The origin of a tile URL template for the CSP's img-src ("https://{s}.tile.example.org/..." ->
// "https://*.tile.example.org"); empty when it has none.
std::string TileOrigin(const std::string& url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return "";
  const size_t end = url.find('/', scheme + 3);
  std::string origin = url.substr(0, end);
  origin = absl::StrReplaceAll(origin, {{"{s}.", "*."}});
  // Anything else templated in the host cannot be said in a CSP source; leave the tiles out.
  if (origin.find_first_of("{}; '\"") != std::string::npos) return "";
  return origin;
}

// The path of a request target, percent-decoded; nullopt when it tries to leave the directory
// or is malformed: "..", ".", encoded '/' or '\', '\', NUL, a bad escape.
std::optional<std::string> CleanPath(const std::string& target) {
  std::string raw = target.substr(0, target.find_first_of("?#"));
  if (raw.empty() || raw[0] != '/') return std::nullopt;
  auto decoded = PercentDecode(raw, Plus::kLiteral, "/\\");
  if (!decoded) return std::nullopt;
  const std::string& path = *decoded;
  if (path.find('\\') != std::string::npos || path.find('\0') != std::string::npos) {
    return std::nullopt;
  }
  for (absl::string_view segment : absl::StrSplit(path, '/')) {
    if (segment == ".." || segment == ".") return std::nullopt;
  }
  return path;
}

}  // namespace

bool IsApiPath(const std::string& path) {
  return absl::StartsWith(path, "/gridline.") || absl::StartsWith(path, "/grpc.") ||
         path == "/healthz" || path == "/metrics";
}

absl::StatusOr<std::unique_ptr<StaticSite>> StaticSite::Load(const StaticSiteOptions& options) {
  std::error_code ec;
  const fs::path root = fs::canonical(options.directory, ec);
  if (ec || !fs::is_directory(root, ec)) {
    return absl::InvalidArgumentError(absl::StrCat("http.console_dir ", options.directory,
                                                   " is not a readable directory",
                                                   ec ? absl::StrCat(": ", ec.message()) : ""));
  }
  auto site = std::unique_ptr<StaticSite>(new StaticSite());
  const std::string root_prefix = root.string() + "/";
  fs::recursive_directory_iterator it(root, fs::directory_options::follow_directory_symlink, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code file_ec;
    const fs::path real = fs::canonical(it->path(), file_ec);
    if (file_ec || !absl::StartsWith(real.string(), root_prefix)) {
      // A link out of the directory: neither served nor followed.
      if (it->is_directory(file_ec)) it.disable_recursion_pending();
      util::Log(util::LogLevel::kWarning, "console_file_skipped",
                {{"path", it->path().string()}, {"why", "leads outside http.console_dir"}});
      continue;
    }
    if (!fs::is_regular_file(real, file_ec) || fs::file_size(real, file_ec) > kMaxStaticFileBytes) {
      continue;
    }
    std::ifstream in(real, std::ios::binary);
    std::ostringstream body;
    body << in.rdbuf();
    if (!in.good() && !in.eof()) continue;
    const std::string url = "/" + it->path().lexically_relative(root).generic_string();
    File file;
    file.content_type = ContentTypeOf(url);
    // The bundles' names carry their content hash (web/console/build.mjs): cache them for good.
    file.cache_control =
        absl::StartsWith(url, "/assets/") ? "public, max-age=31536000, immutable" : "no-cache";
    file.body = body.str();
    site->files_[url] = std::move(file);
  }
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("http.console_dir ", options.directory, ": ", ec.message()));
  }
  if (site->files_.count("/index.html") == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "http.console_dir ", options.directory,
        " has no index.html (build the console: cmake --build BUILD --target gridline_console)"));
  }
  File config;
  config.content_type = "application/json";
  config.cache_control = "no-cache";
  config.body = absl::StrCat("{\"tileUrl\":", util::JsonQuote(options.tile_url), "}\n");
  site->files_["/console-config.json"] = std::move(config);

  std::string img_src = "'self' blob: data:";
  if (const std::string origin = TileOrigin(options.tile_url); !origin.empty()) {
    absl::StrAppend(&img_src, " ", origin);
  }
  site->content_security_policy_ =
      absl::StrCat("default-src 'none'; script-src 'self'; style-src 'self'; img-src ", img_src,
                   "; connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "
                   "form-action 'none'; frame-ancestors 'none'");
  return site;
}

bool StaticSite::Serves(const Request& request) const {
  if (request.method() != bhttp::verb::get && request.method() != bhttp::verb::head) return false;
  const std::string target(request.target());
  return !IsApiPath(target.substr(0, target.find('?')));
}

Response StaticSite::Reply(const Request& request, const File& file) const {
  Response r{bhttp::status::ok, 11};
  r.set(bhttp::field::content_type, file.content_type);
  r.set(bhttp::field::cache_control, file.cache_control);
  r.set("Content-Security-Policy", content_security_policy_);
  r.set("X-Content-Type-Options", "nosniff");
  r.set("X-Frame-Options", "DENY");
  r.set("Referrer-Policy", "no-referrer");
  r.set("Cross-Origin-Opener-Policy", "same-origin");
  r.set("Cross-Origin-Resource-Policy", "same-origin");
  if (request.method() != bhttp::verb::head) r.body() = file.body;
  return r;
}

Response StaticSite::Answer(const Request& request) const {
  auto error = [&](bhttp::status status, const std::string& text) {
    File file{"text/plain; charset=utf-8", "no-cache", text + "\n"};
    Response r = Reply(request, file);
    r.result(status);
    return r;
  };
  const std::optional<std::string> path = CleanPath(std::string(request.target()));
  if (!path) return error(bhttp::status::bad_request, "bad path");
  auto found = files_.find(*path == "/" ? "/index.html" : *path);
  if (found != files_.end()) return Reply(request, found->second);
  const std::string last = path->substr(path->rfind('/') + 1);
  if (last.find('.') != std::string::npos) return error(bhttp::status::not_found, "not found");
  return Reply(request, files_.at("/index.html"));  // a route of the console itself
}

}  // namespace gridline::http
