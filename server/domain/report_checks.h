// Checks of report fields and distances: pure, shared by the services and the handlers.
#ifndef GRIDLINE_SERVER_DOMAIN_REPORT_CHECKS_H_
#define GRIDLINE_SERVER_DOMAIN_REPORT_CHECKS_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "server/domain/errors.h"

namespace gridline::domain {

// Limits of report fields, in Unicode code points.
inline constexpr int kMaxDescriptionChars = 2000;
inline constexpr int kMaxAddressChars = 500;
inline constexpr int kMaxRequestIdChars = 64;
inline constexpr int kMaxAttachments = 9;

// Times a handset reports (observed, patrol started): at most this far ahead of the server's
// clock, and not before 2000-01-01 (microseconds since the epoch).
inline constexpr int64_t kMaxClientClockSkewMicros = 5LL * 60 * 1000 * 1000;
inline constexpr int64_t kEarliestClientTimeMicros = 946684800LL * 1000 * 1000;

// Great-circle distance in metres between two WGS-84 points.
double DistanceMetres(double lat1, double lng1, double lat2, double lng2);

// Adds a violation for `field` unless `text` is valid UTF-8 of at most `max_chars` code points
// (and, when `required`, not empty).
void CheckText(FieldViolations& v, const std::string& field, const std::string& text, bool required,
               int max_chars);

// Adds a violation for `field` unless `id` is a client-chosen id: 1..64 characters of
// [A-Za-z0-9_-]. `when_missing` is the description when it is empty.
void CheckClientId(FieldViolations& v, const std::string& field, const std::string& id,
                   const std::string& when_missing);

// True if `s` is valid UTF-8; `chars` receives its length in code points.
bool IsValidUtf8(absl::string_view s, int* chars);

}  // namespace gridline::domain

#endif  // GRIDLINE_SERVER_DOMAIN_REPORT_CHECKS_H_
