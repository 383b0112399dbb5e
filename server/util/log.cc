#include "server/util/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace gridline::util {
namespace {
std::atomic<int> min_level{static_cast<int>(LogLevel::kInfo)};
std::mutex sink_mu;
std::function<void(const std::string&)>& Sink() {
  static auto* sink = new std::function<void(const std::string&)>();
  return *sink;
}

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}
}  // namespace

void SetLogLevel(LogLevel level) { min_level = static_cast<int>(level); }
bool LogEnabled(LogLevel level) { return static_cast<int>(level) >= min_level.load(); }

LogField::LogField(absl::string_view key, absl::string_view value)
    : json_(absl::StrCat(JsonQuote(key), ":", JsonQuote(value))) {}
LogField::LogField(absl::string_view key, int64_t value)
    : json_(absl::StrCat(JsonQuote(key), ":", value)) {}
LogField::LogField(absl::string_view key, double value)
    : json_(absl::StrCat(JsonQuote(key), ":", absl::StrFormat("%.3f", value))) {}

std::string JsonQuote(absl::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out += static_cast<char>(c);  // UTF-8 passes through as is
        }
    }
  }
  out += '"';
  return out;
}

void Log(LogLevel level, absl::string_view event, std::initializer_list<LogField> fields) {
  if (!LogEnabled(level)) return;
  // The log's own timestamp is the machine's time, whatever clock the server runs on.
  std::string line = absl::StrCat(
      "{\"time\":\"", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
      "\",\"level\":\"", LevelName(level), "\",\"event\":", JsonQuote(event));
  for (const LogField& f : fields) absl::StrAppend(&line, ",", f.json());
  line += "}\n";
  std::lock_guard<std::mutex> lock(sink_mu);
  if (Sink()) {
    Sink()(line);
    return;
  }
  // One write per line, so that lines from several threads never interleave.
  (void)!::write(STDERR_FILENO, line.data(), line.size());
}

void SetLogSink(std::function<void(const std::string&)> sink) {
  std::lock_guard<std::mutex> lock(sink_mu);
  Sink() = std::move(sink);
}

}  // namespace gridline::util
