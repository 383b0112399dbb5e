// The web console's files on the HTTP endpoint (HttpConfig.console_dir): a static single-page app
// read into memory once at start, so a request can only ever name a file that was found inside
// the directory then (no path from a request reaches the file system). GET and HEAD only.
#ifndef GRIDLINE_SERVER_HTTP_STATIC_SITE_H_
#define GRIDLINE_SERVER_HTTP_STATIC_SITE_H_

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "server/http/listener.h"

namespace gridline::http {

struct StaticSiteOptions {
  std::string directory;
  // HttpConfig.console_tile_url: served in /console-config.json; its origin is allowed for
  // images by the Content-Security-Policy.
  std::string tile_url;
};

class StaticSite {
 public:
  // Reads every regular file under `directory` (following symbolic links only while they stay
  // inside it). INVALID_ARGUMENT when the directory cannot be read or has no index.html.
  static absl::StatusOr<std::unique_ptr<StaticSite>> Load(const StaticSiteOptions& options);

  // Whether this site answers `request`: GET or HEAD of a path that is not the API's
  // (IsApiPath).
  bool Serves(const Request& request) const;
  // The answer to a request that Serves: the file, index.html for a path without a file and
  // without a dot in its last segment (client routing), 404 for other unknown files, 400 for a
  // path with "..", "%2F", "\\" or NUL. Every answer carries the security headers.
  Response Answer(const Request& request) const;

  size_t file_count() const { return files_.size(); }

 private:
  struct File {
    std::string content_type;
    std::string cache_control;
    std::string body;
  };
  StaticSite() = default;
  Response Reply(const Request& request, const File& file) const;

  std::map<std::string, File> files_;  // by URL path ("/index.html", "/assets/app-X.js")
  std::string content_security_policy_;
};

// Paths that belong to the API and never to the console: the Connect routes ("/gridline.v1.X/Y",
// "/grpc.health.v1..."), /healthz and /metrics.
bool IsApiPath(const std::string& path);

}  // namespace gridline::http

#endif  // GRIDLINE_SERVER_HTTP_STATIC_SITE_H_
