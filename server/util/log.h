// Structured logs: one JSON object per line on stderr (JSON Lines), for journald or a log
// shipper. Every line has "time" (RFC 3339, UTC, milliseconds), "level" and "event"; the rest
// are the event's fields. Callers never pass a token or free text from a report.
#ifndef GRIDLINE_SERVER_UTIL_LOG_H_
#define GRIDLINE_SERVER_UTIL_LOG_H_

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>

#include "absl/strings/string_view.h"

namespace gridline::util {

enum class LogLevel { kDebug = 1, kInfo = 2, kWarning = 3, kError = 4 };

// Lines below `level` are dropped (default kInfo).
void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);

// One field of a line: a string (escaped) or a number.
class LogField {
 public:
  LogField(absl::string_view key, absl::string_view value);
  LogField(absl::string_view key, const char* value) : LogField(key, absl::string_view(value)) {}
  LogField(absl::string_view key, const std::string& value)
      : LogField(key, absl::string_view(value)) {}
  LogField(absl::string_view key, int64_t value);
  LogField(absl::string_view key, int value) : LogField(key, static_cast<int64_t>(value)) {}
  LogField(absl::string_view key, double value);
  const std::string& json() const { return json_; }  // "key":value

 private:
  std::string json_;
};

void Log(LogLevel level, absl::string_view event, std::initializer_list<LogField> fields);

// Where lines go, for tests (default: stderr, one write per line). Null restores stderr.
void SetLogSink(std::function<void(const std::string& line)> sink);

// `text` as a JSON string literal, quotes included. Written here rather than taken from a JSON
// library: util links nothing but Abseil and OpenSSL, and this is all the logs need.
std::string JsonQuote(absl::string_view text);

}  // namespace gridline::util

#endif  // GRIDLINE_SERVER_UTIL_LOG_H_
