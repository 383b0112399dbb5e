#include "server/domain/supervision.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/domain/report_checks.h"

namespace gridline::domain {
namespace {

constexpr Micros kMinute = 60LL * 1000 * 1000;
constexpr Micros kMaxAhead = 90LL * 24 * 60 * kMinute;

}  // namespace

bool MayIssueSupervision(const User& user, const Case& c) {
  if (user.disabled || user.grid_code.empty()) return false;
  if (user.role != Role::kSupervisor && user.role != Role::kDispatcher) return false;
  return PathHasGrid(c.grid_path, user.grid_code);
}

void CheckSupervisionOrder(FieldViolations& v, const std::string& reason, Micros respond_by,
                           Micros now) {
  CheckText(v, "reason", reason, true, kMaxDescriptionChars);
  if (respond_by < now + kMinute) {
    v.Add("respond_by_time", "must be at least a minute from now");
  } else if (respond_by > now + kMaxAhead) {
    v.Add("respond_by_time", "must be at most 90 days from now");
  }
}

std::optional<std::string> EscalationTarget(const std::string& grid_path,
                                            const std::string& holder) {
  const std::vector<std::string> codes = absl::StrSplit(grid_path, '/', absl::SkipEmpty());
  for (size_t i = 1; i < codes.size(); ++i) {
    if (codes[i] == holder) return codes[i - 1];
  }
  return std::nullopt;
}

Micros NextEscalationTime(Micros respond_by, int escalation_count, Micros interval,
                          const std::optional<std::string>& next_holder) {
  if (!next_holder) return 0;
  return respond_by + static_cast<Micros>(escalation_count) * interval;
}

bool AnsweredOnTime(const SupervisionOrder& order) {
  return order.state == SupervisionState::kAnswered && order.answer_time <= order.respond_by_time;
}

}  // namespace gridline::domain
