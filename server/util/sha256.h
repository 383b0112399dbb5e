#ifndef GRIDLINE_SERVER_UTIL_SHA256_H_
#define GRIDLINE_SERVER_UTIL_SHA256_H_

#include <string>

#include "absl/strings/string_view.h"

namespace gridline::util {

// Lowercase hex SHA-256 of `data`.
std::string Sha256Hex(absl::string_view data);

// The fingerprint of the first certificate in `pem`: lowercase hex SHA-256 of its DER form (the
// base64 body between the BEGIN/END CERTIFICATE lines, decoded). Empty when `pem` holds no
// decodable certificate block. The structure inside is not checked: the TLS stack has checked
// the certificates of connections, and an operator's typo only makes a fingerprint nobody has.
std::string CertificateSha256(absl::string_view pem);

// A random lowercase hex string of `bytes` random bytes, from the OS CSPRNG.
std::string RandomHex(int bytes);

}  // namespace gridline::util

#endif  // GRIDLINE_SERVER_UTIL_SHA256_H_
