// The PEM contents of a checked TlsConfig section (server/app/tls.h reads and checks the files),
// in a form the HTTP listener can serve without knowing the config schema.
#ifndef GRIDLINE_SERVER_HTTP_TLS_FILES_H_
#define GRIDLINE_SERVER_HTTP_TLS_FILES_H_

#include <string>

namespace gridline::http {

struct TlsFiles {
  enum ClientCertificates { kOff, kOptional, kRequired };
  std::string cert_chain_pem;  // the server's certificate first
  std::string private_key_pem;
  ClientCertificates client_certificates = kOff;
  std::string client_ca_pem;  // set unless kOff
};

}  // namespace gridline::http

#endif  // GRIDLINE_SERVER_HTTP_TLS_FILES_H_
