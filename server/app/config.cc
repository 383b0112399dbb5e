#include "server/app/config.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gridline/v1/common.pb.h"
#include "server/app/config_defaults.h"

namespace gridline::app {
namespace {

class CollectErrors : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    absl::StrAppend(&errors, errors.empty() ? "" : "; ", "line ", line + 1, ":", column + 1, ": ",
                    message);
  }
  std::string errors;
};

}  // namespace

absl::Status ParseTextMessage(const std::string& text, google::protobuf::Message* out,
                              const std::string& what) {
  google::protobuf::TextFormat::Parser parser;
  CollectErrors errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text, out)) {
    return absl::InvalidArgumentError(absl::StrCat("bad ", what, ": ", errors.errors));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::StatusOr<ServerConfig> ParseServerConfig(const std::string& text) {
  ServerConfig config;
  if (absl::Status s = ParseTextMessage(text, &config, "server config"); !s.ok()) return s;
  return config;
}

absl::StatusOr<ServerConfig> LoadServerConfig(const std::string& path) {
  auto text = ReadWholeFile(path);
  if (!text.ok()) return text.status();
  auto config = ParseServerConfig(*text);
  if (!config.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", config.status().message()));
  }
  return config;
}

bool IsLoopbackAddress(const std::string& listen_address) {
  absl::string_view host = listen_address;
  if (absl::StartsWith(host, "unix:")) return true;  // a local socket
  if (absl::StartsWith(host, "[")) {
    host = host.substr(
        1, host.find(']') == absl::string_view::npos ? host.size() - 1 : host.find(']') - 1);
  } else if (size_t colon = host.rfind(':'); colon != absl::string_view::npos) {
    host = host.substr(0, colon);
  }
  return host == "localhost" || host == "::1" || absl::StartsWith(host, "127.");
}

absl::StatusOr<std::pair<std::string, int>> ParseHostPort(absl::string_view entry) {
  absl::string_view host, port;
  if (absl::StartsWith(entry, "[")) {  // [v6]:port
    const size_t close = entry.find(']');
    if (close == absl::string_view::npos || entry.substr(close + 1, 1) != ":") {
      return absl::InvalidArgumentError("an IPv6 address is written [address]:port");
    }
    host = entry.substr(1, close - 1);
    port = entry.substr(close + 2);
  } else {
    const size_t colon = entry.rfind(':');
    if (colon == absl::string_view::npos) return absl::InvalidArgumentError("no :port");
    host = entry.substr(0, colon);
    port = entry.substr(colon + 1);
    if (absl::StrContains(host, ':')) {
      return absl::InvalidArgumentError("an IPv6 address is written [address]:port");
    }
  }
  if (host.empty()) return absl::InvalidArgumentError("no host before :port");
  if (host.find_first_of(" \t/@") != absl::string_view::npos) {
    return absl::InvalidArgumentError("the host has a space, '/' or '@'");
  }
  int number = 0;
  if (port.empty() || port.find_first_not_of("0123456789") != absl::string_view::npos ||
      !absl::SimpleAtoi(port, &number) || number < 1 || number > 65535) {
    return absl::InvalidArgumentError("the port is not a number in 1..65535");
  }
  return std::make_pair(std::string(host), number);
}

namespace {

// store.mysql.hosts: each entry host:port, none twice.
absl::Status CheckMysqlHosts(const config::v1::MysqlStore& m) {
  if (m.hosts_size() > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("store.mysql.hosts lists ", m.hosts_size(), " servers; at most 64"));
  }
  std::set<std::pair<std::string, int>> seen;
  for (int i = 0; i < m.hosts_size(); ++i) {
    auto parsed = ParseHostPort(m.hosts(i));
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("store.mysql.hosts[", i, "]: '", m.hosts(i),
                                                     "' is not host:port (",
                                                     parsed.status().message(), ")"));
    }
    if (!seen.insert(*parsed).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("store.mysql.hosts[", i, "]: '", m.hosts(i), "' is listed twice"));
    }
  }
  return absl::OkStatus();
}

// The peers and the secret of `cluster` (the numbers are checked by the schema's bounds).
absl::Status FinalizeCluster(config::v1::ClusterConfig* cluster) {
  if (!cluster->secret_file().empty()) {
    auto text = ReadWholeFile(cluster->secret_file());
    if (!text.ok()) return text.status();
    cluster->set_secret(
        std::string(absl::StripTrailingAsciiWhitespace(text->substr(0, text->find('\n')))));
  }
  if (cluster->listen_address().empty() && cluster->peers().empty()) return absl::OkStatus();
  if (cluster->secret().size() < 16) {
    return absl::InvalidArgumentError(
        "cluster.secret (or the first line of cluster.secret_file) must have at least 16 "
        "characters: every replica of the cluster sends it and requires it");
  }
  if (cluster->peers_size() > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("cluster.peers lists ", cluster->peers_size(), " replicas; at most 64"));
  }
  for (const auto& peer : cluster->peers()) {
    const size_t colon = peer.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == peer.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("cluster.peers: '", peer, "' is not host:port"));
    }
  }
  return absl::OkStatus();
}

// The rules of a TlsConfig section the schema cannot say; `where` names it ("tls", "http.tls").
absl::Status CheckTlsSection(const config::v1::TlsConfig& tls, const std::string& where) {
  if (tls.cert_chain_file().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ".cert_chain_file is empty"));
  }
  if (tls.private_key_file().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ".private_key_file is empty"));
  }
  const bool asks = tls.client_certificates() == config::v1::TlsConfig::OPTIONAL ||
                    tls.client_certificates() == config::v1::TlsConfig::REQUIRED;
  if (asks && tls.client_ca_file().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where,
                     ".client_ca_file is empty: client_certificates OPTIONAL and REQUIRED check "
                     "device certificates against it"));
  }
  if (!asks && !tls.client_ca_file().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ".client_ca_file is set but ", where,
        ".client_certificates is OFF: set it to OPTIONAL or REQUIRED, or remove the CA"));
  }
  return absl::OkStatus();
}

// The HTTP (Connect) endpoint: the same secure default as the gRPC port.
absl::Status FinalizeHttp(const ServerConfig& c) {
  const auto& h = c.http();
  if (h.listen_address().empty()) return absl::OkStatus();
  if (h.has_tls()) {
    if (absl::Status s = CheckTlsSection(h.tls(), "http.tls"); !s.ok()) return s;
  } else if (!c.insecure_listen() && !IsLoopbackAddress(h.listen_address())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "http.listen_address ", h.listen_address(),
        " is not a loopback address and there is no http.tls section: bearer tokens would cross "
        "the network in clear text. Configure http.tls, listen on 127.0.0.1, or set "
        "insecure_listen: true when a TLS-terminating proxy on a private network sits in front"));
  }
  for (const auto& origin : h.cors_allowed_origins()) {
    if (origin != "*" && !absl::StartsWith(origin, "http://") &&
        !absl::StartsWith(origin, "https://")) {
      return absl::InvalidArgumentError(absl::StrCat(
          "http.cors_allowed_origins: '", origin, "' is neither \"*\" nor scheme://host[:port]"));
    }
  }
  if (const std::string& tiles = h.console_tile_url(); !tiles.empty()) {
    if ((!absl::StartsWith(tiles, "http://") && !absl::StartsWith(tiles, "https://")) ||
        !absl::StrContains(tiles, "{z}") || !absl::StrContains(tiles, "{x}") ||
        !absl::StrContains(tiles, "{y}")) {
      return absl::InvalidArgumentError(
          absl::StrCat("http.console_tile_url: '", tiles,
                       "' is not an http(s) URL template with {z}, {x} and {y}"));
    }
  }
  const auto& o = h.open311();
  if (o.enabled()) {
    const std::string& prefix = o.path_prefix();
    if (prefix.size() < 3 || prefix.front() != '/' || prefix.back() != '/' ||
        prefix.find_first_of("?#% ") != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "http.open311.path_prefix '", prefix,
          "' must be a path of its own that starts and ends with \"/\", e.g. \"/open311/v2/\""));
    }
    if (!o.anonymous_api_key_file().empty()) {
      auto text = ReadWholeFile(o.anonymous_api_key_file());
      if (!text.ok()) return text.status();
      if (absl::StripAsciiWhitespace(text->substr(0, text->find('\n'))).empty()) {
        return absl::InvalidArgumentError(absl::StrCat("http.open311.anonymous_api_key_file ",
                                                       o.anonymous_api_key_file(),
                                                       ": its first line is empty"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status FinalizeServerConfig(ServerConfig* c) {
  // The store first: the defaults of the MySQL section apply only when it is chosen.
  if (c->store().backend_case() == config::v1::StoreConfig::BACKEND_NOT_SET) {
    c->mutable_store()->mutable_sqlite()->set_path("gridline.db");
  }
  // Every other default and bound is written in the schema (server_config.proto).
  if (absl::Status s = ApplyConfigDefaults(c); !s.ok()) return s;
  // What the schema cannot say: defaults computed from other fields, and cross-field rules.
  if (c->max_queued_calls() == 0) c->set_max_queued_calls(8 * c->worker_threads());
  if (c->store().has_sqlite() && c->store().sqlite().path().empty()) {
    return absl::InvalidArgumentError("store.sqlite.path is empty");
  }
  if (c->store().has_mysql()) {
    auto* m = c->mutable_store()->mutable_mysql();
    if (m->user().empty()) return absl::InvalidArgumentError("store.mysql.user is empty");
    if (absl::Status s = CheckMysqlHosts(*m); !s.ok()) return s;
    if (!m->password_file().empty()) {
      auto pw = ReadWholeFile(m->password_file());
      if (!pw.ok()) return pw.status();
      std::string first = pw->substr(0, pw->find('\n'));
      m->set_password(std::string(absl::StripTrailingAsciiWhitespace(first)));
    }
  }
  if (c->has_tls()) {
    if (absl::Status s = CheckTlsSection(c->tls(), "tls"); !s.ok()) return s;
  }
  if (!c->has_tls() && !c->insecure_listen() && !IsLoopbackAddress(c->listen_address())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "listen_address ", c->listen_address(),
        " is not a loopback address and there is no tls section: bearer tokens would cross the "
        "network in clear text. Configure tls, listen on 127.0.0.1, or set insecure_listen: true "
        "when a TLS-terminating proxy on a private network sits in front"));
  }
  for (const auto& r : c->rate_limits().per_role()) {
    v1::Role role;
    if (!v1::Role_Parse(r.role(), &role) || role == v1::ROLE_UNSPECIFIED) {
      return absl::InvalidArgumentError(absl::StrCat(
          "rate_limits.per_role: unknown role '", r.role(),
          "' (GRID_LEADER, DISPATCHER, DEPARTMENT_STAFF, SUPERVISOR, OPERATOR or PUBLIC_APP)"));
    }
  }
  if (absl::Status s = FinalizeCluster(c->mutable_cluster()); !s.ok()) return s;
  if (absl::Status s = FinalizeHttp(*c); !s.ok()) return s;
  auto* a = c->mutable_attachments();
  if (a->directory().empty()) {
    a->set_directory(c->store().has_sqlite() ? c->store().sqlite().path() + ".attachments"
                                             : "attachments");
  }
  return absl::OkStatus();
}

}  // namespace gridline::app
