// Paging of the list calls: page sizes and keyset page tokens ("<sort key>.<id>", the position
// of the last item returned), shared by every service that lists.
#ifndef GRIDLINE_SERVER_SERVICE_PAGING_H_
#define GRIDLINE_SERVER_SERVICE_PAGING_H_

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
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

}  // namespace gridline::service

#endif  // GRIDLINE_SERVER_SERVICE_PAGING_H_
