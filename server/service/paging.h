// Paging of the list calls: page sizes and keyset page tokens ("<sort key>.<id>", the position
// of the last item returned), shared by every service that lists, and the tokens of the two lists
// that page otherwise (the evaluations and the audit log).
#ifndef GRIDLINE_SERVER_SERVICE_PAGING_H_
#define GRIDLINE_SERVER_SERVICE_PAGING_H_

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "server/domain/errors.h"

namespace gridline::service {

// The page size asked for: 0 means `default_size`, more than `max_size` is cut to it, a negative
// one is an INVALID_ARGUMENT of "page_size".
inline absl::StatusOr<int> PageSizeOf(int page_size, int default_size = 50, int max_size = 500) {
  if (page_size < 0) return domain::InvalidField("page_size", "must not be negative");
  return page_size == 0 ? default_size : std::min(page_size, max_size);
}

inline std::string MakePageToken(int64_t key, const std::string& id) {
  return absl::StrCat(key, ".", id);
}

// INVALID_ARGUMENT of "page_token" when `token` is not one MakePageToken made.
inline absl::Status ParsePageToken(const std::string& token, int64_t* key, std::string* id) {
  std::pair<std::string, std::string> parts = absl::StrSplit(token, absl::MaxSplits('.', 1));
  if (parts.second.empty() || !absl::SimpleAtoi(parts.first, key)) {
    return domain::InvalidField("page_token", "is not a token from this RPC");
  }
  *id = parts.second;
  return absl::OkStatus();
}

// EvaluationService's tokens: "e<snapshot>.<offset>" (an offset into the snapshot of a month's
// ratings), or the earlier "o<offset>" (a new snapshot, from that offset). The empty token is the
// first page of a new snapshot (0, 0). False when `token` is neither.
inline bool ParseEvaluationToken(const std::string& token, int64_t* snapshot, size_t* offset) {
  *snapshot = 0;
  *offset = 0;
  if (token.empty()) return true;
  if (token[0] == 'o') return absl::SimpleAtoi(token.substr(1), offset);
  if (token[0] != 'e') return false;
  std::vector<std::string> parts = absl::StrSplit(token.substr(1), absl::MaxSplits('.', 1));
  return parts.size() == 2 && absl::SimpleAtoi(parts[0], snapshot) &&
         absl::SimpleAtoi(parts[1], offset);
}

// The audit log's tokens, "a1.<event time>.<entry id>": where the next page starts.
inline std::string MakeAuditToken(int64_t event_time, const std::string& audit_entry_id) {
  return absl::StrCat("a1.", event_time, ".", audit_entry_id);
}
// False when `token` is not one MakeAuditToken made.
inline bool ParseAuditToken(const std::string& token, int64_t* event_time, std::string* id) {
  constexpr absl::string_view kPrefix = "a1.";
  if (!absl::StartsWith(token, kPrefix)) return false;
  std::pair<std::string, std::string> parts =
      absl::StrSplit(absl::string_view(token).substr(kPrefix.size()), absl::MaxSplits('.', 1));
  int64_t time = 0;
  if (!absl::SimpleAtoi(parts.first, &time) || parts.second.empty()) return false;
  *event_time = time;
  *id = parts.second;
  return true;
}

}  // namespace gridline::service

#endif  // GRIDLINE_SERVER_SERVICE_PAGING_H_
