// The server's configuration file: a text-format gridline.config.v1.ServerConfig, parsed, then
// completed with its defaults and checked. Apart from server.cc so that it can be used (and
// fuzzed: fuzz/fuzz_config.cc) without the rest of the server.
#ifndef GRIDLINE_SERVER_APP_CONFIG_H_
#define GRIDLINE_SERVER_APP_CONFIG_H_

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "gridline/config/v1/server_config.pb.h"

namespace gridline::app {

using ServerConfig = ::gridline::config::v1::ServerConfig;

// Parses a text-format ServerConfig; INVALID_ARGUMENT names the line that is wrong.
absl::StatusOr<ServerConfig> ParseServerConfig(const std::string& text);
absl::StatusOr<ServerConfig> LoadServerConfig(const std::string& path);
// Fills unset fields with their documented defaults and checks the rest.
absl::Status FinalizeServerConfig(ServerConfig* config);

// Whether `listen_address` (host:port) is on loopback (127.0.0.0/8, ::1, localhost) or a unix
// socket: the only places a server without TLS may listen unless the config says
// insecure_listen.
bool IsLoopbackAddress(const std::string& listen_address);

// "host:port" or "[IPv6 address]:port" as (host, port); INVALID_ARGUMENT saying what is wrong
// otherwise (no host, no port, a port outside 1..65535).
absl::StatusOr<std::pair<std::string, int>> ParseHostPort(absl::string_view entry);

// Parses `text` as the text format of `out`'s type; INVALID_ARGUMENT "bad <what>: line L:C: ..."
// otherwise. (The organisation file is read with it too.)
absl::Status ParseTextMessage(const std::string& text, google::protobuf::Message* out,
                              const std::string& what);
// The whole content of a file; NOT_FOUND when it cannot be read.
absl::StatusOr<std::string> ReadWholeFile(const std::string& path);

}  // namespace gridline::app

#endif  // GRIDLINE_SERVER_APP_CONFIG_H_
