// Small text helpers shared by the server's layers.
#ifndef GRIDLINE_SERVER_UTIL_TEXT_H_
#define GRIDLINE_SERVER_UTIL_TEXT_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace gridline::util {

// `text` cut to at most `max_bytes` bytes on a UTF-8 character boundary, with " …" appended
// when anything was cut (the result is then at most max_bytes + 4 bytes).
std::string TruncateUtf8(absl::string_view text, size_t max_bytes);

// Cuts `s` to at most `max_bytes` bytes on a UTF-8 character boundary, adding nothing (for
// columns of a fixed width).
void CutUtf8(std::string* s, size_t max_bytes);

}  // namespace gridline::util

#endif  // GRIDLINE_SERVER_UTIL_TEXT_H_
