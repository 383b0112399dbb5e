// The credentials of the gRPC port: TLS from the certificate files of ServerConfig.tls, checked
// at start so that a bad file stops the server with a message instead of a port that fails every
// handshake.
#ifndef GRIDLINE_SERVER_APP_TLS_H_
#define GRIDLINE_SERVER_APP_TLS_H_

#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "gridline/config/v1/server_config.pb.h"
#include "server/http/tls_files.h"

namespace gridline::app {

// TLS credentials with the certificate chain and key of `config.tls()` when `tls` is set,
// plain-text credentials otherwise; with tls.client_certificates OPTIONAL or REQUIRED, device
// certificates are requested and verified against tls.client_ca_file. INVALID_ARGUMENT, naming the
// field and its file, when a file cannot be read, holds no PEM certificate or no PEM key, when the
// key is encrypted, when the first certificate has expired, or when the key is not the
// certificate's.
// The files of a TlsConfig section, read and checked as above; `where` names the section in the
// messages ("tls", "http.tls"). The HTTP endpoint serves TLS from them.
using TlsFiles = ::gridline::http::TlsFiles;
absl::StatusOr<TlsFiles> LoadTlsFiles(const config::v1::TlsConfig& tls, const std::string& where);

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const config::v1::ServerConfig& config);

}  // namespace gridline::app

#endif  // GRIDLINE_SERVER_APP_TLS_H_
