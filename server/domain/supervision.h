// Supervision orders (督办): a supervisor, or the acceptance center above a case, orders an open
// case hurried; the lead department acknowledges and answers; an order unanswered in time
// escalates one level up the grid tree (street -> district -> city), once per level. The pure
// rules: who may issue, what an order must say, where and when it escalates.
#ifndef GRIDLINE_SERVER_DOMAIN_SUPERVISION_H_
#define GRIDLINE_SERVER_DOMAIN_SUPERVISION_H_

#include <cstdint>
#include <optional>
#include <string>

#include "server/domain/errors.h"
#include "server/domain/types.h"

namespace gridline::domain {

enum class SupervisionState : int { kUnspecified = 0, kOpen = 1, kAcknowledged = 2, kAnswered = 3 };

struct SupervisionOrder {
  std::string order_id;
  std::string case_id;
  std::string issued_by_user_id;
  Role issued_by_role = Role::kUnspecified;
  std::string request_id;
  std::string request_digest;
  std::string reason;
  Micros issue_time = 0;
  Micros respond_by_time = 0;
  std::string lead_department_code;  // who must answer: the case's lead when issued
  std::string holder_grid_code;      // the level it stands at
  std::string grid_path;             // the case's grid path (the scope of lists and figures)
  SupervisionState state = SupervisionState::kUnspecified;
  Micros acknowledge_time = 0;
  std::string acknowledged_by_user_id;
  Micros answer_time = 0;
  std::string answered_by_user_id;
  std::string answer;
  int escalation_count = 0;
  Micros next_escalation_time = 0;  // 0: it will not escalate
  int64_t version = 0;
  Micros update_time = 0;
};

// The orders' figures over a scope and a range of issue times.
struct SupervisionCounts {
  int64_t received = 0;
  int64_t answered_on_time = 0;
  int64_t escalated = 0;
};

// Whether `user` may order `c` hurried: a supervisor or a dispatcher whose grid's subtree holds
// the case.
bool MayIssueSupervision(const User& user, const Case& c);

// The violations of an order's reason (1..2000 characters) and response time (1 minute to 90
// days after `now`).
void CheckSupervisionOrder(FieldViolations& v, const std::string& reason, Micros respond_by,
                           Micros now);

// The grid an unanswered order standing at `holder` escalates to: the next grid up the case's
// `grid_path` ("/city/district/street/.../"). nullopt at the root, or when `holder` is not on
// the path.
std::optional<std::string> EscalationTarget(const std::string& grid_path,
                                            const std::string& holder);

// When an order that has escalated `escalation_count` times escalates next: its response time,
// then every `interval` after it. 0 when `next_holder` is empty (nowhere left to go).
Micros NextEscalationTime(Micros respond_by, int escalation_count, Micros interval,
                          const std::optional<std::string>& next_holder);

// Answered by its response time.
bool AnsweredOnTime(const SupervisionOrder& order);

}  // namespace gridline::domain

#endif  // GRIDLINE_SERVER_DOMAIN_SUPERVISION_H_
