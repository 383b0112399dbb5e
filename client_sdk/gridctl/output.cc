#include "output.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/stubs/common.h"
#include "google/protobuf/util/json_util.h"

namespace gridctl {
namespace {

constexpr char32_t kReplacement = 0xFFFD;

// Decodes the code point at `*pos` and advances past it. On invalid UTF-8 advances one byte and
// returns false.
bool NextCodePoint(std::string_view s, size_t* pos, char32_t* cp) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char b0 = byte(*pos);
  size_t len;
  char32_t value;
  if (b0 < 0x80) {
    *cp = b0;
    ++*pos;
    return true;
  } else if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    value = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    value = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    value = b0 & 0x07;
  } else {
    ++*pos;
    return false;
  }
  if (*pos + len > s.size()) {
    ++*pos;
    return false;
  }
  for (size_t i = 1; i < len; ++i) {
    unsigned char b = byte(*pos + i);
    if ((b & 0xC0) != 0x80) {
      ++*pos;
      return false;
    }
    value = (value << 6) | (b & 0x3F);
  }
  static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (value < kMin[len] || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) {
    ++*pos;
    return false;
  }
  *cp = value;
  *pos += len;
  return true;
}

struct Range {
  char32_t first;
  char32_t last;
};

bool InRanges(char32_t cp, const Range* ranges, size_t n) {
  const Range* end = ranges + n;
  const Range* it =
      std::upper_bound(ranges, end, cp, [](char32_t c, const Range& r) { return c < r.first; });
  return it != ranges && cp <= (it - 1)->last;
}

// East Asian Wide (W) and Fullwidth (F) blocks, after Markus Kuhn's wcwidth, plus the common
// emoji blocks. Sorted.
constexpr Range kWide[] = {
    {0x1100, 0x115F},   {0x231A, 0x231B},   {0x2329, 0x232A},   {0x23E9, 0x23EC},
    {0x23F0, 0x23F0},   {0x23F3, 0x23F3},   {0x25FD, 0x25FE},   {0x2614, 0x2615},
    {0x2648, 0x2653},   {0x267F, 0x267F},   {0x2693, 0x2693},   {0x26A1, 0x26A1},
    {0x26AA, 0x26AB},   {0x26BD, 0x26BE},   {0x26C4, 0x26C5},   {0x26CE, 0x26CE},
    {0x26D4, 0x26D4},   {0x26EA, 0x26EA},   {0x26F2, 0x26F3},   {0x26F5, 0x26F5},
    {0x26FA, 0x26FA},   {0x26FD, 0x26FD},   {0x2705, 0x2705},   {0x270A, 0x270B},
    {0x2728, 0x2728},   {0x274C, 0x274C},   {0x274E, 0x274E},   {0x2753, 0x2755},
    {0x2757, 0x2757},   {0x2795, 0x2797},   {0x27B0, 0x27B0},   {0x27BF, 0x27BF},
    {0x2B1B, 0x2B1C},   {0x2B50, 0x2B50},   {0x2B55, 0x2B55},   {0x2E80, 0x303E},
    {0x3041, 0x33FF},   {0x3400, 0x4DBF},   {0x4E00, 0x9FFF},   {0xA000, 0xA4CF},
    {0xA960, 0xA97F},   {0xAC00, 0xD7A3},   {0xF900, 0xFAFF},   {0xFE10, 0xFE19},
    {0xFE30, 0xFE6F},   {0xFF00, 0xFF60},   {0xFFE0, 0xFFE6},   {0x16FE0, 0x16FE4},
    {0x17000, 0x18CFF}, {0x1B000, 0x1B2FF}, {0x1F004, 0x1F004}, {0x1F0CF, 0x1F0CF},
    {0x1F18E, 0x1F18E}, {0x1F191, 0x1F19A}, {0x1F200, 0x1F251}, {0x1F300, 0x1F64F},
    {0x1F680, 0x1F6FF}, {0x1F7E0, 0x1F7EB}, {0x1F900, 0x1F9FF}, {0x1FA70, 0x1FAFF},
    {0x20000, 0x2FFFD}, {0x30000, 0x3FFFD},
};

// Combining marks and invisible format characters. Sorted.
constexpr Range kZero[] = {
    {0x0300, 0x036F}, {0x0483, 0x0489}, {0x0591, 0x05BD}, {0x0610, 0x061A}, {0x064B, 0x065F},
    {0x0E31, 0x0E31}, {0x0E34, 0x0E3A}, {0x0E47, 0x0E4E}, {0x1AB0, 0x1AFF}, {0x1DC0, 0x1DFF},
    {0x200B, 0x200F}, {0x202A, 0x202E}, {0x2060, 0x2064}, {0x20D0, 0x20FF}, {0x302A, 0x302D},
    {0x3099, 0x309A}, {0xFE00, 0xFE0F}, {0xFE20, 0xFE2F}, {0xFEFF, 0xFEFF}, {0xE0100, 0xE01EF},
};

bool IsControl(char32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp < 0xA0) || cp == 0x2028 || cp == 0x2029;
}

int CodePointWidth(char32_t cp) {
  if (IsControl(cp)) return 0;
  if (InRanges(cp, kZero, std::size(kZero))) return 0;
  if (InRanges(cp, kWide, std::size(kWide))) return 2;
  return 1;
}

void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

void Pad(std::ostream& os, int n) {
  for (int i = 0; i < n; ++i) os.put(' ');
}

std::string_view TrimTrailingSpaces(std::string_view s) {
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

}  // namespace

int DisplayWidth(std::string_view utf8) {
  int width = 0;
  size_t pos = 0;
  while (pos < utf8.size()) {
    char32_t cp;
    width += NextCodePoint(utf8, &pos, &cp) ? CodePointWidth(cp) : 1;
  }
  return width;
}

std::string SanitizeCell(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size());
  size_t pos = 0;
  while (pos < utf8.size()) {
    size_t start = pos;
    char32_t cp;
    if (!NextCodePoint(utf8, &pos, &cp)) {
      AppendUtf8(kReplacement, &out);
    } else if (IsControl(cp)) {
      out.push_back(' ');
    } else {
      out.append(utf8.substr(start, pos - start));
    }
  }
  return out;
}

std::string TruncateToWidth(std::string_view utf8, int max_width) {
  if (max_width <= 0 || DisplayWidth(utf8) <= max_width) return std::string(utf8);
  std::string out;
  int width = 0;
  size_t pos = 0;
  while (pos < utf8.size()) {
    size_t start = pos;
    char32_t cp;
    int w = NextCodePoint(utf8, &pos, &cp) ? CodePointWidth(cp) : 1;
    if (width + w > max_width - 1) break;  // keep one column for the ellipsis
    out.append(utf8.substr(start, pos - start));
    width += w;
  }
  out.append("…");
  return out;
}

std::string PadToWidth(std::string_view utf8, int width) {
  std::string out(utf8);
  out.append(static_cast<size_t>(std::max(0, width - DisplayWidth(utf8))), ' ');
  return out;
}

std::string CsvField(std::string_view value) {
  // Descriptions come from handsets: a cell that a spreadsheet would run as a formula gets a
  // leading apostrophe (the OWASP advice against CSV injection). A plain number, negative ones
  // included ("-1", "-0.25"), is data and stays as it is.
  std::string guarded;
  double number = 0;
  if (!value.empty() &&
      std::string_view("=+-@\t\r").find(value.front()) != std::string_view::npos &&
      !(value.front() == '-' &&
        absl::SimpleAtod(absl::string_view(value.data(), value.size()), &number) &&
        value.find_first_not_of("-0123456789.") == std::string_view::npos)) {
    guarded = "'" + std::string(value);
    value = guarded;
  }
  bool quote = !value.empty() && (value.front() == ' ' || value.back() == ' ');
  for (char c : value) {
    if (c == ',' || c == '"' || c == '\n' || c == '\r') quote = true;
  }
  if (!quote) return std::string(value);
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string CsvRecord(const std::vector<std::string>& fields) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out.push_back(',');
    out.append(CsvField(fields[i]));
  }
  out.append("\r\n");
  return out;
}

Table::Table(std::vector<std::string> columns)
    : columns_(std::move(columns)), max_width_(columns_.size(), 0), right_(columns_.size()) {}

void Table::AddRow(std::vector<std::string> cells) {
  cells.resize(columns_.size());
  rows_.push_back(std::move(cells));
}

void Table::SetMaxWidth(size_t column, int width) {
  if (column < max_width_.size()) max_width_[column] = width;
}

void Table::AlignRight(size_t column) {
  if (column < right_.size()) right_[column] = true;
}

void Table::PrintText(std::ostream& os, int max_line_width) const {
  std::vector<std::vector<std::string>> lines;
  if (!hide_header_) {
    std::vector<std::string> header;
    for (const auto& c : columns_) header.push_back(absl::AsciiStrToUpper(c));
    lines.push_back(std::move(header));
  }
  for (const auto& row : rows_) {
    std::vector<std::string> line;
    for (size_t i = 0; i < row.size(); ++i) {
      line.push_back(TruncateToWidth(SanitizeCell(row[i]), max_width_[i]));
    }
    lines.push_back(std::move(line));
  }
  std::vector<int> width(columns_.size(), 0);
  for (const auto& line : lines) {
    for (size_t i = 0; i < line.size(); ++i) width[i] = std::max(width[i], DisplayWidth(line[i]));
  }
  if (max_line_width > 0 && !width.empty()) {
    // Narrow the widest cuttable column, one terminal column at a time, until the line fits.
    std::vector<int> floor(width.size());
    for (size_t i = 0; i < width.size(); ++i) {
      floor[i] = i == 0 ? width[i] : std::min(width[i], std::max(6, DisplayWidth(columns_[i])));
    }
    int total = 2 * static_cast<int>(width.size() - 1);
    for (int w : width) total += w;
    while (total > max_line_width) {
      size_t widest = 0;
      for (size_t i = 1; i < width.size(); ++i) {
        if (width[i] > floor[i] && (widest == 0 || width[i] > width[widest])) widest = i;
      }
      if (widest == 0) break;  // everything is at its floor: longer lines it is
      --width[widest];
      --total;
    }
    for (auto& line : lines) {
      for (size_t i = 0; i < line.size(); ++i) {
        if (DisplayWidth(line[i]) > width[i]) line[i] = TruncateToWidth(line[i], width[i]);
      }
    }
  }
  for (const auto& line : lines) {
    std::ostringstream buffer;
    for (size_t i = 0; i < line.size(); ++i) {
      int pad = width[i] - DisplayWidth(line[i]);
      if (i > 0) buffer << "  ";
      if (right_[i]) Pad(buffer, pad);
      buffer << line[i];
      if (!right_[i]) Pad(buffer, pad);
    }
    os << TrimTrailingSpaces(buffer.str()) << '\n';
  }
}

int TerminalWidth(int fd) {
  if (isatty(fd) == 0) return 0;
  struct winsize ws {};
  if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  int columns = 0;
  if (const char* env = std::getenv("COLUMNS"); env != nullptr && absl::SimpleAtoi(env, &columns)) {
    return columns > 0 ? columns : 0;
  }
  return 0;
}

void Table::PrintCsv(std::ostream& os) const {
  os << CsvRecord(columns_);
  for (const auto& row : rows_) os << CsvRecord(row);
}

namespace {
// JSON strings must be UTF-8: a cell that is not (never from the server) is sanitized.
std::string SanitizeUtf8(const std::string& s) {
  return google::protobuf::internal::IsStructurallyValidUTF8(s.data(), static_cast<int>(s.size()))
             ? s
             : SanitizeCell(s);
}
}  // namespace

namespace {
std::string ToJsonText(const google::protobuf::Value& value) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = false;
  options.preserve_proto_field_names = true;
  if (!google::protobuf::util::MessageToJsonString(value, &json, options).ok()) json = "null";
  return json;
}
}  // namespace

std::string JsonObject(const std::vector<std::string>& keys,
                       const std::vector<std::string>& values) {
  google::protobuf::Value out;
  auto* fields = out.mutable_struct_value()->mutable_fields();
  for (size_t i = 0; i < keys.size() && i < values.size(); ++i) {
    (*fields)[keys[i]].set_string_value(SanitizeUtf8(values[i]));
  }
  return ToJsonText(out);
}

void Table::PrintJson(std::ostream& os) const { os << ToJson() << '\n'; }

std::string Table::ToJson() const {
  // google.protobuf.Struct and its JSON printer do the quoting and escaping.
  auto object = [&](const std::vector<std::string>& row) {
    google::protobuf::Struct s;
    for (size_t i = 0; i < columns_.size() && i < row.size(); ++i) {
      (*s.mutable_fields())[columns_[i]].set_string_value(SanitizeUtf8(row[i]));
    }
    return s;
  };
  google::protobuf::Value out;
  if (hide_header_ && columns_.size() == 2) {
    auto* fields = out.mutable_struct_value()->mutable_fields();
    for (const auto& row : rows_) (*fields)[row[0]].set_string_value(SanitizeUtf8(row[1]));
  } else {
    auto* list = out.mutable_list_value();
    for (const auto& row : rows_) *list->add_values()->mutable_struct_value() = object(row);
  }
  return ToJsonText(out);
}

bool IsSet(const google::protobuf::Timestamp& ts) { return ts.seconds() != 0 || ts.nanos() != 0; }

namespace {
absl::Time ToTime(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}
}  // namespace

std::string Rfc3339(const google::protobuf::Timestamp& ts) {
  if (!IsSet(ts)) return "";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", ToTime(ts), absl::UTCTimeZone());
}

std::string LocalTime(const google::protobuf::Timestamp& ts, bool seconds) {
  if (!IsSet(ts)) return "";
  return absl::FormatTime(seconds ? "%Y-%m-%d %H:%M:%S" : "%Y-%m-%d %H:%M", ToTime(ts),
                          absl::LocalTimeZone());
}

bool ParseTimeArgument(const std::string& text, bool end_of_day, google::protobuf::Timestamp* out) {
  absl::Time t;
  bool is_date = text.size() == 10 && text[4] == '-' && text[7] == '-';
  if (is_date) {
    absl::CivilDay day;
    if (!absl::ParseCivilTime(text, &day)) return false;
    // ParseCivilTime normalises 2026-02-30 to March; a typo should not shift the range.
    if (absl::FormatCivilTime(day) != text) return false;
    if (end_of_day) day += 1;
    t = absl::FromCivil(day, absl::LocalTimeZone());
  } else {
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, text, &t, &error)) return false;
  }
  const int64_t seconds = absl::ToUnixSeconds(t);
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>((t - absl::FromUnixSeconds(seconds)) / absl::Nanoseconds(1)));
  return true;
}

}  // namespace gridctl
