#include "context.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "commands.h"
#include "gridline/client/retry_policy.h"
#include "gridline/client/version.h"

namespace gridctl {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

bool IsTrue(const std::string& text) {
  std::string v = absl::AsciiStrToLower(text);
  return v == "1" || v == "true" || v == "yes" || v == "on";
}

std::string EnumKey(const std::string& text) {
  return absl::StrReplaceAll(absl::AsciiStrToUpper(text), {{"-", "_"}});
}

}  // namespace

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

const std::vector<FlagSpec>& GlobalFlags() {
  static const std::vector<FlagSpec> kFlags = {
      {"endpoint", "HOST:PORT",
       "the server (default: $GRIDLINE_ENDPOINT, else " + std::string(kDefaultEndpoint) + ")"},
      {"insecure", "", "plain-text connection, for development only (or GRIDLINE_INSECURE=1)"},
      {"tls-roots", "FILE", "PEM root certificates for the server's certificate (default: system)"},
      {"tls-cert", "FILE",
       "PEM client (device) certificate for mutual TLS (or $GRIDLINE_TLS_CERT); needs --tls-key"},
      {"tls-key", "FILE", "PEM private key of --tls-cert (or $GRIDLINE_TLS_KEY)"},
      {"timeout", "SECONDS", "deadline of each call (default 30; imports and photos: 300)"},
      {"token-file", "FILE",
       "read the bearer token from FILE (default: $GRIDLINE_TOKEN, else $GRIDLINE_TOKEN_FILE)"},
      {"output", "FORMAT", "table (default), csv or json"},
      {"help", "", "show help"},
  };
  return kFlags;
}

int ExitCodeFor(gc::StatusCode code) {
  switch (code) {
    case gc::StatusCode::kOk:
      return kExitOk;
    case gc::StatusCode::kInvalidArgument:
    case gc::StatusCode::kOutOfRange:
      return kExitUsage;
    case gc::StatusCode::kNotFound:
      return kExitNotFound;
    case gc::StatusCode::kUnauthenticated:
    case gc::StatusCode::kPermissionDenied:
      return kExitAuth;
    case gc::StatusCode::kFailedPrecondition:
    case gc::StatusCode::kAborted:
    case gc::StatusCode::kAlreadyExists:
      return kExitConflict;
    case gc::StatusCode::kUnavailable:
    case gc::StatusCode::kDeadlineExceeded:
      return kExitUnavailable;
    default:
      return kExitOther;
  }
}

Context::Context(const Command& command, const Args& args, std::ostream& out, std::ostream& err)
    : command_(command), args_(args), out_(out), err_(err) {}

bool Context::ParseFormat() {
  std::string format = absl::AsciiStrToLower(args_.Value("output", "table"));
  if (format == "table") {
    format_ = OutputFormat::kTable;
  } else if (format == "csv") {
    format_ = OutputFormat::kCsv;
  } else if (format == "json") {
    format_ = OutputFormat::kJson;
  } else {
    Usage("--output must be table, csv or json, not '" + format + "'");
    return false;
  }
  return true;
}

int Context::Connect() {
  endpoint_ = args_.Value("endpoint", Env("GRIDLINE_ENDPOINT"));
  if (endpoint_.empty()) endpoint_ = kDefaultEndpoint;
  gc::Options options;
  options.set<gc::EndpointOption>(endpoint_);
  options.set<gc::UserAgentPrefixOption>("gridctl/" + gc::VersionString());

  const bool insecure = args_.Has("insecure") || IsTrue(Env("GRIDLINE_INSECURE"));
  if (args_.Has("tls-roots")) {
    if (insecure)
      return Usage("--tls-roots and --insecure (or GRIDLINE_INSECURE) exclude each other");
    std::string pem;
    if (!ReadFile(args_.Value("tls-roots"), &pem)) {
      return Usage("cannot read --tls-roots file '" + args_.Value("tls-roots") + "'");
    }
    options.set<gc::TlsRootCertificatesOption>(std::move(pem));
  }
  options.set<gc::InsecureChannelOption>(insecure);
  const std::string cert_file = args_.Value("tls-cert", Env("GRIDLINE_TLS_CERT"));
  const std::string key_file = args_.Value("tls-key", Env("GRIDLINE_TLS_KEY"));
  if (!cert_file.empty() || !key_file.empty()) {
    if (insecure) return Usage("--tls-cert/--tls-key need TLS: drop --insecure");
    if (cert_file.empty() || key_file.empty()) {
      return Usage("--tls-cert and --tls-key go together (a certificate and its private key)");
    }
    std::string cert, key;
    if (!ReadFile(cert_file, &cert))
      return Usage("cannot read --tls-cert file '" + cert_file + "'");
    if (!ReadFile(key_file, &key)) return Usage("cannot read --tls-key file '" + key_file + "'");
    options.set<gc::TlsClientCertificateOption>(std::move(cert));
    options.set<gc::TlsClientKeyOption>(std::move(key));
  }

  if (args_.Has("timeout")) {
    double seconds = 0;
    if (!absl::SimpleAtod(args_.Value("timeout"), &seconds) || !std::isfinite(seconds) ||
        seconds <= 0 || seconds > 86400) {
      return Usage("--timeout must be a number of seconds in (0, 86400]");
    }
    options.set<gc::TimeoutOption>(std::chrono::milliseconds(std::llround(seconds * 1000)));
  }
  // An operator's tool should answer promptly when the server is down, not retry for a minute.
  options.set<gc::RetryPolicyOption>(std::make_shared<gc::LimitedErrorCountRetryPolicy>(3));
  options.set<gc::BackoffPolicyOption>(std::make_shared<gc::ExponentialBackoffPolicy>(
      std::chrono::milliseconds(200), std::chrono::seconds(2)));

  // The token never comes from argv, where the shell history and `ps` would show it.
  std::string token;
  std::string token_file = args_.Value("token-file");
  std::string source;
  if (token_file.empty() && !Env("GRIDLINE_TOKEN").empty()) {
    token = Env("GRIDLINE_TOKEN");
    source = "GRIDLINE_TOKEN";
  } else {
    if (token_file.empty()) token_file = Env("GRIDLINE_TOKEN_FILE");
    if (token_file.empty()) {
      err_ << CommandName(command_)
           << ": no token: set GRIDLINE_TOKEN, or pass --token-file FILE (or set "
              "GRIDLINE_TOKEN_FILE)\n";
      return kExitAuth;
    }
    if (!ReadFile(token_file, &token)) {
      err_ << CommandName(command_) << ": cannot read the token file '" << token_file << "'\n";
      return kExitAuth;
    }
    source = "token file '" + token_file + "'";
    struct stat st;
    if (stat(token_file.c_str(), &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
      err_ << "gridctl: warning: the token file '" << token_file
           << "' is readable by other users; chmod 600 it\n";
    }
  }
  token = std::string(absl::StripAsciiWhitespace(token));
  if (token.empty()) {
    err_ << CommandName(command_) << ": the token from " << source << " is empty\n";
    return kExitAuth;
  }
  options.set<gc::AuthTokenOption>(std::move(token));
  options_ = gc::DefaultOptions(std::move(options));
  return kExitOk;
}

int Context::Fail(const gc::Status& status) {
  err_ << CommandName(command_) << ": " << absl::StatusCodeToString(status.code()) << ": "
       << status.message() << '\n';
  gc::ErrorDetails details = gc::GetErrorDetails(status);
  // A description that repeats the message adds nothing.
  const auto describe = [&](const std::string& description) {
    if (!description.empty() && description != status.message()) err_ << ": " << description;
    err_ << '\n';
  };
  for (const auto& v : details.precondition_violations) {
    if (v.type == "CASE_STATE") {
      err_ << "  the case is in state " << v.subject;
    } else {
      err_ << "  precondition " << v.type;
      if (!v.subject.empty()) err_ << " (" << v.subject << ")";
    }
    describe(v.description);
  }
  for (const auto& v : details.field_violations) {
    err_ << "  field " << v.field;
    describe(v.description);
  }
  if (!details.reason.empty()) {
    err_ << "  reason " << details.reason;
    if (!details.domain.empty()) err_ << " (" << details.domain << ")";
    err_ << '\n';
  }
  switch (status.code()) {
    case gc::StatusCode::kUnauthenticated:
      err_ << "  check the token (GRIDLINE_TOKEN, --token-file or GRIDLINE_TOKEN_FILE)\n";
      break;
    case gc::StatusCode::kPermissionDenied:
      err_ << "  the token's user lacks the role this command needs\n";
      break;
    case gc::StatusCode::kUnavailable:
      err_ << "  is a gridline server running at " << endpoint_
           << "? (--endpoint, GRIDLINE_ENDPOINT; --insecure for a plain-text one)\n";
      break;
    default:
      break;
  }
  return ExitCodeFor(status.code());
}

int Context::Usage(const std::string& message) {
  err_ << CommandName(command_) << ": " << message << "\n(see `" << CommandName(command_)
       << " --help`)\n";
  return kExitUsage;
}

void Context::Note(const std::string& text) { err_ << "gridctl: " << text << '\n'; }

namespace {

// Names by code from a paged listing, up to Context::kMaxNamedGrids; stops quietly at the first
// error (names are a courtesy: a server that refuses them leaves the codes alone).
template <typename Request, typename Fetch, typename ItemsOf>
void ReadNames(Fetch fetch, ItemsOf items_of, std::map<std::string, std::string>* names) {
  bool more = false;
  ForEachItem(
      Request(), Context::kMaxNamedGrids, fetch, items_of,
      [&](const auto& item) { (*names)[item.code()] = item.name(); }, &more)
      .IgnoreError();
}

}  // namespace

std::string Context::Named(const std::string& kind, const std::string& code) {
  if (machine() || code.empty()) return code;
  auto [it, fresh] = names_.try_emplace(kind);
  std::map<std::string, std::string>& names = it->second;
  if (fresh) {
    auto admin = Admin();
    if (kind == "category") {
      ReadNames<v1::ListCategoriesRequest>(
          [&](const auto& r) { return admin.ListCategories(r); },
          [](const v1::ListCategoriesResponse& r) -> const auto& { return r.categories(); },
          &names);
    } else if (kind == "department") {
      ReadNames<v1::ListDepartmentsRequest>(
          [&](const auto& r) { return admin.ListDepartments(r); },
          [](const v1::ListDepartmentsResponse& r) -> const auto& { return r.departments(); },
          &names);
    } else {
      ReadNames<v1::ListGridsRequest>(
          [&](const auto& r) { return admin.ListGrids(r); },
          [](const v1::ListGridsResponse& r) -> const auto& { return r.grids(); }, &names);
    }
  }
  auto name = names.find(code);
  if (name == names.end() || name->second.empty()) return code;
  return absl::StrCat(code, "（", name->second, "）");
}

std::string Context::CategoryCell(const std::string& code) { return Named("category", code); }
std::string Context::GridCell(const std::string& code) { return Named("grid", code); }
std::string Context::DepartmentCell(const std::string& code) { return Named("department", code); }

void Context::Print(const Table& table) {
  if (format_ == OutputFormat::kCsv) {
    table.PrintCsv(out_);
  } else if (format_ == OutputFormat::kJson) {
    table.PrintJson(out_);
  } else {
    // On a terminal, lines as wide as it is; into a pipe or file, whole lines.
    table.PrintText(out_, &out_ == &std::cout ? TerminalWidth(STDOUT_FILENO) : 0);
  }
}

void Context::PrintDetails(const Table& table) {
  if (format_ == OutputFormat::kJson) {
    table.PrintJson(out_);
  } else {
    table.PrintText(out_);
  }
}

OutputTarget::~OutputTarget() {
  if (to_file() && !committed_ && !temp_path_.empty()) {
    file_.close();
    std::remove(temp_path_.c_str());
  }
}

bool OutputTarget::Open(std::string* error) {
  if (!to_file()) return true;
  temp_path_ = absl::StrCat(path_, ".tmp-", getpid());
  file_.open(temp_path_, std::ios::binary | std::ios::trunc);
  if (!file_) {
    *error = "cannot write '" + temp_path_ + "'";
    temp_path_.clear();
    return false;
  }
  return true;
}

bool OutputTarget::Commit(std::string* error) {
  if (!to_file()) {
    stdout_.flush();
    if (!stdout_) {
      *error = "cannot write to standard output";
      return false;
    }
    return true;
  }
  file_.close();
  if (file_.fail()) {
    *error = "cannot write '" + temp_path_ + "' (disk full?)";
    return false;
  }
  if (std::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    *error = "cannot rename '" + temp_path_ + "' to '" + path_ + "'";
    return false;
  }
  committed_ = true;
  return true;
}

bool ParseCaseState(const std::string& text, v1::CaseState* out) {
  v1::CaseState state;
  if (!v1::CaseState_Parse(EnumKey(text), &state) || state == v1::CASE_STATE_UNSPECIFIED) {
    return false;
  }
  *out = state;
  return true;
}

bool ParseCaseSource(const std::string& text, v1::CaseSource* out) {
  v1::CaseSource source;
  if (!v1::CaseSource_Parse(EnumKey(text), &source) || source == v1::CASE_SOURCE_UNSPECIFIED) {
    return false;
  }
  *out = source;
  return true;
}

bool ParseUrgency(const std::string& text, v1::Urgency* out) {
  v1::Urgency urgency;
  if (!v1::Urgency_Parse(EnumKey(text), &urgency) || urgency == v1::URGENCY_UNSPECIFIED) {
    return false;
  }
  *out = urgency;
  return true;
}

bool ParseExtensionState(const std::string& text, v1::ExtensionState* out) {
  v1::ExtensionState state;
  const std::string key = EnumKey(text);
  if ((!v1::ExtensionState_Parse("EXTENSION_" + key, &state) &&
       !v1::ExtensionState_Parse(key, &state)) ||
      state == v1::EXTENSION_STATE_UNSPECIFIED) {
    return false;
  }
  *out = state;
  return true;
}

bool ParseCount(const std::string& text, int64_t* out) {
  int64_t v;
  if (!absl::SimpleAtoi(text, &v) || v < 0) return false;
  *out = v;
  return true;
}

std::string StateName(v1::CaseState state) {
  return state == v1::CASE_STATE_UNSPECIFIED ? "" : v1::CaseState_Name(state);
}

std::string UrgencyName(v1::Urgency urgency) {
  return urgency == v1::URGENCY_UNSPECIFIED ? "" : v1::Urgency_Name(urgency);
}

std::string ExtensionStateName(v1::ExtensionState state) {
  return state == v1::EXTENSION_STATE_UNSPECIFIED ? "" : v1::ExtensionState_Name(state);
}

}  // namespace gridctl
