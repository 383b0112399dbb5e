#include "server/domain/errors.h"

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace gridline::domain {
namespace {
constexpr char kViolationsUrl[] = "type.gridline.dev/field-violations";
constexpr char kStateUrl[] = "type.gridline.dev/case-state";
constexpr char kRetryableUrl[] = "type.gridline.dev/retryable";
constexpr char kRetryDelayUrl[] = "type.gridline.dev/retry-delay-micros";
constexpr char kPreconditionsUrl[] = "type.gridline.dev/precondition-violations";
constexpr char kUnitSep = '\x1f';
constexpr char kRecordSep = '\x1e';
}  // namespace

absl::Status FieldViolations::ToStatus(absl::string_view message) const {
  if (items_.empty()) return absl::OkStatus();
  std::string text(message);
  std::string payload;
  for (const auto& v : items_) {
    absl::StrAppend(&text, "; ", v.field, ": ", v.description);
    absl::StrAppend(&payload, v.field, std::string(1, kUnitSep), v.description,
                    std::string(1, kRecordSep));
  }
  absl::Status status = absl::InvalidArgumentError(text);
  status.SetPayload(kViolationsUrl, absl::Cord(payload));
  return status;
}

absl::Status FieldViolations::ToStatusWithCode(absl::StatusCode code,
                                               absl::string_view message) const {
  absl::Status status = ToStatus(message);
  if (status.ok()) return status;
  absl::Status out(code, status.message());
  status.ForEachPayload(
      [&](absl::string_view url, const absl::Cord& payload) { out.SetPayload(url, payload); });
  return out;
}

absl::Status InvalidField(std::string field, std::string description) {
  FieldViolations v;
  v.Add(std::move(field), std::move(description));
  return v.ToStatus();
}

std::vector<FieldViolation> GetFieldViolations(const absl::Status& status) {
  std::vector<FieldViolation> out;
  auto payload = status.GetPayload(kViolationsUrl);
  if (!payload) return out;
  for (absl::string_view rec : absl::StrSplit(std::string(*payload), kRecordSep)) {
    if (rec.empty()) continue;
    std::pair<std::string, std::string> kv = absl::StrSplit(rec, absl::MaxSplits(kUnitSep, 1));
    out.push_back({kv.first, kv.second});
  }
  return out;
}

absl::Status WrongState(CaseState current, absl::string_view action) {
  absl::Status status = absl::FailedPreconditionError(
      absl::StrCat("cannot ", action, ": the case is ", CaseStateName(current)));
  status.SetPayload(kStateUrl, absl::Cord(absl::StrCat(static_cast<int>(current))));
  return status;
}

CaseState GetWrongState(const absl::Status& status) {
  auto payload = status.GetPayload(kStateUrl);
  int v = 0;
  if (!payload || !absl::SimpleAtoi(std::string(*payload), &v)) return CaseState::kUnspecified;
  return static_cast<CaseState>(v);
}

absl::Status PreconditionFailed(const std::vector<PreconditionViolation>& violations,
                                absl::string_view message) {
  std::string text(message);
  std::string payload;
  for (const auto& v : violations) {
    if (text != v.description) absl::StrAppend(&text, "; ", v.subject, ": ", v.description);
    absl::StrAppend(&payload, v.type, std::string(1, kUnitSep), v.subject, std::string(1, kUnitSep),
                    v.description, std::string(1, kRecordSep));
  }
  absl::Status status = absl::FailedPreconditionError(text);
  status.SetPayload(kPreconditionsUrl, absl::Cord(payload));
  return status;
}

absl::Status Precondition(std::string type, std::string subject, std::string description) {
  std::string message = description;
  return PreconditionFailed({{std::move(type), std::move(subject), std::move(description)}},
                            message);
}

std::vector<PreconditionViolation> GetPreconditionViolations(const absl::Status& status) {
  std::vector<PreconditionViolation> out;
  auto payload = status.GetPayload(kPreconditionsUrl);
  if (!payload) return out;
  for (absl::string_view rec : absl::StrSplit(std::string(*payload), kRecordSep)) {
    if (rec.empty()) continue;
    std::vector<std::string> parts = absl::StrSplit(rec, absl::MaxSplits(kUnitSep, 2));
    parts.resize(3);
    out.push_back({parts[0], parts[1], parts[2]});
  }
  return out;
}

absl::Status MarkRetryable(absl::Status status) {
  status.SetPayload(kRetryableUrl, absl::Cord("1"));
  return status;
}

bool IsRetryable(const absl::Status& status) {
  return status.GetPayload(kRetryableUrl).has_value();
}

absl::Status WithRetryDelay(absl::Status status, Micros delay) {
  status.SetPayload(kRetryDelayUrl, absl::Cord(absl::StrCat(delay)));
  return status;
}

Micros GetRetryDelay(const absl::Status& status) {
  auto payload = status.GetPayload(kRetryDelayUrl);
  Micros delay = 0;
  if (!payload || !absl::SimpleAtoi(std::string(*payload), &delay)) return 0;
  return delay;
}

}  // namespace gridline::domain
