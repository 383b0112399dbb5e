#ifndef GRIDLINE_SERVER_UTIL_SHA256_H_
#define GRIDLINE_SERVER_UTIL_SHA256_H_

#include <string>

#include "absl/strings/string_view.h"

namespace gridline::util {

// Lowercase hex SHA-256 of `data`.
std::string Sha256Hex(absl::string_view data);

// A random lowercase hex string of `bytes` random bytes, from the OS CSPRNG.
std::string RandomHex(int bytes);

}  // namespace gridline::util

#endif  // GRIDLINE_SERVER_UTIL_SHA256_H_
