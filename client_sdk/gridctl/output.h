// What gridctl prints: aligned text tables that know CJK characters take two terminal columns,
// RFC 4180 CSV, and times.
#ifndef GRIDLINE_CLIENT_SDK_GRIDCTL_OUTPUT_H_
#define GRIDLINE_CLIENT_SDK_GRIDCTL_OUTPUT_H_

#include <cstddef>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "google/protobuf/timestamp.pb.h"

namespace gridctl {

// Terminal columns that `utf8` takes: 2 for East Asian wide and fullwidth characters (汉字,
// fullwidth punctuation such as "，"), 0 for combining marks and controls, 1 otherwise. Bytes that
// are not valid UTF-8 count 1 each.
int DisplayWidth(std::string_view utf8);

// `utf8` for one table cell: line breaks, tabs and other control characters become spaces, and
// invalid UTF-8 becomes U+FFFD, so that a cell can never break the table's lines.
std::string SanitizeCell(std::string_view utf8);

// The longest prefix of `utf8` (whole characters) that fits in `max_width` columns, ending in "…"
// when something was cut. `max_width` <= 0: no limit.
std::string TruncateToWidth(std::string_view utf8, int max_width);

// `utf8` followed by spaces up to `width` columns.
std::string PadToWidth(std::string_view utf8, int width);

// One CSV field (RFC 4180): quoted when it holds a comma, a quote, a line break or leading or
// trailing spaces; quotes inside are doubled. UTF-8 passes through unchanged.
std::string CsvField(std::string_view value);
// A CSV record: the fields joined by commas, ended by CRLF (RFC 4180).
std::string CsvRecord(const std::vector<std::string>& fields);

// Rows under named columns, printed either as an aligned text table or as CSV.
class Table {
 public:
  // `columns` are snake_case names: the CSV header as given, the text header upper-cased.
  explicit Table(std::vector<std::string> columns);

  void AddRow(std::vector<std::string> cells);
  // Text output cuts longer cells of `column` to `width` columns ("…"). CSV is never cut.
  void SetMaxWidth(size_t column, int width);
  // Text output right-aligns `column` (numbers).
  void AlignRight(size_t column);
  // Text output without the header line (key-value listings).
  void HideHeader() { hide_header_ = true; }

  size_t rows() const { return rows_.size(); }
  // `max_line_width` > 0: the table is fitted to that many columns by cutting the widest cells
  // ("…") first, down to their header's width (and at least 6); the first column (the id) is
  // never cut. 0: no limit.
  void PrintText(std::ostream& os, int max_line_width = 0) const;
  void PrintCsv(std::ostream& os) const;
  // JSON: an array of objects keyed by the column names, the cells as strings (the values CSV
  // has). A key-value listing (HideHeader, two columns) is one object instead.
  void PrintJson(std::ostream& os) const;
  // PrintJson's text, without the line end (to nest in a larger object).
  std::string ToJson() const;

 private:
  std::vector<std::string> columns_;
  std::vector<std::vector<std::string>> rows_;
  std::vector<int> max_width_;
  std::vector<bool> right_;
  bool hide_header_ = false;
};

// One JSON object on one line (no line end): `keys[i]` to the string `values[i]`.
std::string JsonObject(const std::vector<std::string>& keys,
                       const std::vector<std::string>& values);

// True when `ts` is set (the API leaves unset timestamps at the epoch).
bool IsSet(const google::protobuf::Timestamp& ts);
// RFC 3339 in UTC with seconds, e.g. "2026-03-01T08:30:00Z"; "" when unset.
std::string Rfc3339(const google::protobuf::Timestamp& ts);
// For people: local time to the minute, e.g. "2026-03-01 16:30" (with `seconds`,
// "2026-03-01 16:30:05"); "" when unset.
std::string LocalTime(const google::protobuf::Timestamp& ts, bool seconds = false);

// The width of the terminal on file descriptor `fd` (ioctl TIOCGWINSZ), else $COLUMNS when
// `fd` is a terminal; 0 when it is not a terminal (a pipe or file gets whole lines).
int TerminalWidth(int fd);

// Parses a time argument: a date "YYYY-MM-DD" (midnight at its start in the local time zone, or
// with `end_of_day` the midnight at its end) or an RFC 3339 time ("2026-03-01T08:00:00+08:00").
bool ParseTimeArgument(const std::string& text, bool end_of_day, google::protobuf::Timestamp* out);

}  // namespace gridctl

#endif  // GRIDLINE_CLIENT_SDK_GRIDCTL_OUTPUT_H_
