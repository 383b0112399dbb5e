// Percent-decoding (RFC 3986 section 2.1) of a request path, and of the values of an
// application/x-www-form-urlencoded body, where '+' is a space. Written by hand: Debian 12's
// Boost (1.74) has no Boost.URL, and Beast leaves targets and bodies encoded.
#ifndef GRIDLINE_SERVER_HTTP_PERCENT_H_
#define GRIDLINE_SERVER_HTTP_PERCENT_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace gridline::http {

enum class Plus { kLiteral, kSpace };

// `in` decoded; nullopt for a broken escape ('%' not followed by two hex digits) or an escape
// that decodes to one of `refused` (a path refuses an encoded "/" or "\").
std::optional<std::string> PercentDecode(absl::string_view in, Plus plus,
                                         absl::string_view refused = "");

}  // namespace gridline::http

#endif  // GRIDLINE_SERVER_HTTP_PERCENT_H_
