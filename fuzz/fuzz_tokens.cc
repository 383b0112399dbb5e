// Fuzzes the decoding of every cursor and page token a client sends back: the feed cursors
// ("g1-<seq>", api::DecodeCursor: WatchCases/WatchQueue/WatchAssignments' after_cursor and
// ListCaseEvents' page_token), the keyset page tokens ("<key>.<id>", service::ParsePageToken: the
// case, patrol, visit and supervision lists), the evaluations' tokens
// (service::ParseEvaluationToken), the audit log's (service::ParseAuditToken), the track points'
// (a plain offset), and page sizes (service::PageSizeOf). The input is the token itself.
// Beyond "no crash": a token that decodes, encoded again from what it decoded to, decodes to the
// same; the encoders' output always decodes; a rejection is answered as INVALID_ARGUMENT naming
// page_token (CheckAnswer).
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "fuzz/fuzz_status.h"
#include "server/api/convert.h"
#include "server/service/paging.h"

namespace gridline::fuzz {
namespace {

void FeedCursor(const std::string& token) {
  auto seq = api::DecodeCursor(token);
  if (!seq) return;
  GRIDLINE_FUZZ_CHECK(*seq >= 0, "a negative feed cursor decoded");
  auto again = api::DecodeCursor(api::EncodeCursor(*seq));
  GRIDLINE_FUZZ_CHECK(again && *again == *seq, "feed cursor round trip");
}

void KeysetToken(const std::string& token) {
  int64_t key = 0;
  std::string id;
  absl::Status s = service::ParsePageToken(token, &key, &id);
  CheckAnswer(s);
  if (!s.ok()) {
    auto v = domain::GetFieldViolations(s);
    GRIDLINE_FUZZ_CHECK(s.code() == absl::StatusCode::kInvalidArgument && v.size() == 1 &&
                            v[0].field == "page_token",
                        "a bad page token is not INVALID_ARGUMENT of page_token");
    return;
  }
  GRIDLINE_FUZZ_CHECK(!id.empty(), "a page token decoded to an empty id");
  int64_t key2 = 0;
  std::string id2;
  GRIDLINE_FUZZ_CHECK(service::ParsePageToken(service::MakePageToken(key, id), &key2, &id2).ok(),
                      "MakePageToken's output does not parse");
  GRIDLINE_FUZZ_CHECK(key2 == key && id2 == id, "page token round trip");
}

void EvaluationToken(const std::string& token) {
  int64_t snapshot = 0;
  size_t offset = 0;
  if (!service::ParseEvaluationToken(token, &snapshot, &offset)) return;
  int64_t snapshot2 = 0;
  size_t offset2 = 0;
  // EvaluationService makes "e<snapshot>.<offset>".
  GRIDLINE_FUZZ_CHECK(
      service::ParseEvaluationToken(absl::StrCat("e", snapshot, ".", offset), &snapshot2, &offset2),
      "an evaluation token made from a parsed one does not parse");
  GRIDLINE_FUZZ_CHECK(snapshot2 == snapshot && offset2 == offset, "evaluation token round trip");
}

void AuditToken(const std::string& token) {
  int64_t time = 0;
  std::string id;
  if (!service::ParseAuditToken(token, &time, &id)) return;
  GRIDLINE_FUZZ_CHECK(!id.empty(), "an audit token decoded to an empty id");
  int64_t time2 = 0;
  std::string id2;
  GRIDLINE_FUZZ_CHECK(service::ParseAuditToken(service::MakeAuditToken(time, id), &time2, &id2),
                      "MakeAuditToken's output does not parse");
  GRIDLINE_FUZZ_CHECK(time2 == time && id2 == id, "audit token round trip");
}

// PatrolService.ListTrackPoints: the token is the number of points already listed.
void TrackPointToken(const std::string& token) {
  int64_t after = 0;
  if (!absl::SimpleAtoi(token, &after) || after < 0) return;
  int64_t again = 0;
  GRIDLINE_FUZZ_CHECK(absl::SimpleAtoi(absl::StrCat(after), &again) && again == after,
                      "track point token round trip");
}

void PageSize(const std::string& token) {
  if (token.size() < 4) return;
  int32_t raw = 0;
  for (int i = 0; i < 4; ++i)
    raw = static_cast<int32_t>((static_cast<uint32_t>(raw) << 8) | static_cast<uint8_t>(token[i]));
  auto size = service::PageSizeOf(raw);
  CheckAnswer(size.status());
  GRIDLINE_FUZZ_CHECK(size.ok() == (raw >= 0), "page size accepted iff not negative");
  if (size.ok()) GRIDLINE_FUZZ_CHECK(*size >= 1 && *size <= 500, "page size out of range");
}

}  // namespace
}  // namespace gridline::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gridline::fuzz;  // NOLINT(build/namespaces)
  const std::string token(reinterpret_cast<const char*>(data), size);
  FeedCursor(token);
  KeysetToken(token);
  EvaluationToken(token);
  AuditToken(token);
  TrackPointToken(token);
  PageSize(token);
  return 0;
}
