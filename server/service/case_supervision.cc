// Supervision orders (督办): issued on an open case by a supervisor or the center above it,
// acknowledged and answered by the lead department, escalated one level up the grid tree when
// unanswered in time. Every change is a case event, written with the order in one transaction
// checked against the case's and the order's versions, so that each escalation happens once
// however many replicas look.
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "server/domain/supervision.h"
#include "server/service/case_events.h"
#include "server/service/case_service.h"
#include "server/service/paging.h"
#include "server/service/scope.h"
#include "server/util/sha256.h"

namespace gridline::service {
namespace {

using domain::SupervisionOrder;
using domain::SupervisionState;

constexpr int kOrderAttempts = 4;

absl::Status NoOrder() { return absl::NotFoundError("supervision order not found"); }

std::string Digest(const SupervisionInput& in) {
  return util::Sha256Hex(absl::StrCat(in.case_id, "\x1f", in.reason, "\x1f", in.respond_by_time));
}

bool OpenAndFiled(const Case& c) {
  return (c.state == CaseState::kDispatched || c.state == CaseState::kInProgress ||
          c.state == CaseState::kReturned) &&
         !c.lead_department_code.empty();
}

}  // namespace

absl::StatusOr<SupervisionOrder> CaseService::IssueSupervisionOrder(const RequestContext& rc,
                                                                    const SupervisionInput& in) {
  if (supervision_ == nullptr) return absl::UnimplementedError("supervision is not configured");
  const domain::User& user = rc.caller.user;
  if (user.role != Role::kSupervisor && user.role != Role::kDispatcher) {
    return absl::PermissionDeniedError(
        "supervision orders are issued by supervisors and the acceptance center");
  }
  FieldViolations ids;
  CheckClientId(ids, "request_id", in.request_id,
                "is required: generate one per order and reuse it on retries");
  if (!ids.empty()) return ids.ToStatus("the supervision order is invalid");
  const std::string digest = Digest(in);
  for (int attempt = 1;; ++attempt) {
    auto existing = supervision_->FindSupervisionOrder(user.user_id, in.request_id);
    if (!existing.ok()) return existing.status();
    if (existing->has_value()) {
      if ((*existing)->request_digest != digest) {
        FieldViolations v;
        v.Add("request_id", "was used before for another order: choose a new id");
        return v.ToStatusWithCode(absl::StatusCode::kAlreadyExists, "id already used");
      }
      return **existing;
    }
    auto c = cases_->GetCase(in.case_id);
    if (!c.ok()) return c.status();
    if (!c->has_value() || !domain::MayIssueSupervision(user, **c)) {
      return absl::NotFoundError("case not found");
    }
    if (!OpenAndFiled(**c)) return domain::WrongState((*c)->state, "IssueSupervisionOrder");
    FieldViolations v;
    domain::CheckSupervisionOrder(v, in.reason, in.respond_by_time, rc.now);
    if (!v.empty()) return v.ToStatus("the supervision order is invalid");
    if (in.expected_version != 0 && in.expected_version != (*c)->version) {
      return absl::AbortedError(absl::StrCat("the case is at version ", (*c)->version));
    }
    SupervisionOrder o;
    o.order_id = absl::StrCat("s", util::RandomHex(12));
    o.case_id = (*c)->case_id;
    o.issued_by_user_id = user.user_id;
    o.issued_by_role = user.role;
    o.request_id = in.request_id;
    o.request_digest = digest;
    o.reason = in.reason;
    o.issue_time = rc.now;
    o.respond_by_time = in.respond_by_time;
    o.lead_department_code = (*c)->lead_department_code;
    o.holder_grid_code = user.grid_code;
    o.grid_path = (*c)->grid_path;
    o.state = SupervisionState::kOpen;
    o.next_escalation_time = domain::NextEscalationTime(
        o.respond_by_time, 0, 0, domain::EscalationTarget(o.grid_path, o.holder_grid_code));
    o.update_time = rc.now;
    store::CaseWrite w = StartWrite(**c);
    CaseEvent e = MakeEvent(&rc.caller, **c, EventType::kSupervisionOrdered, rc.now, in.reason);
    e.related_id = o.order_id;
    w.events.push_back(std::move(e));
    w.supervision_writes.push_back({o, 0});
    auto done = Commit(**c, std::move(w), rc.now);
    if (done.ok()) {
      o.version = 1;
      return o;
    }
    // The case changed meanwhile (or a retry of this order won): look again.
    if (!absl::IsAborted(done.status()) || in.expected_version != 0 || attempt == kOrderAttempts) {
      return done.status();
    }
  }
}

absl::StatusOr<SupervisionOrder> CaseService::MoveOrder(
    const RequestContext& rc, const std::string& order_id, int64_t expected_version,
    const std::function<absl::StatusOr<bool>(SupervisionOrder&)>& edit, EventType type,
    const std::function<std::string(const SupervisionOrder&)>& note) {
  if (supervision_ == nullptr) return absl::UnimplementedError("supervision is not configured");
  const domain::User& user = rc.caller.user;
  if (user.role != Role::kDepartmentStaff || user.department_code.empty()) {
    return absl::PermissionDeniedError("supervision orders are answered by department staff");
  }
  for (int attempt = 1;; ++attempt) {
    auto order = supervision_->GetSupervisionOrder(order_id);
    if (!order.ok()) return order.status();
    if (!order->has_value() || (*order)->lead_department_code != user.department_code) {
      return NoOrder();
    }
    SupervisionOrder next = **order;
    auto changed = edit(next);
    if (!changed.ok()) return changed.status();
    if (!*changed) return **order;  // a retry: it stands as asked
    if (expected_version != 0 && expected_version != (*order)->version) {
      return absl::AbortedError(
          absl::StrCat("the supervision order is at version ", (*order)->version));
    }
    auto c = cases_->GetCase(next.case_id);
    if (!c.ok()) return c.status();
    if (!c->has_value()) return NoOrder();
    next.update_time = rc.now;
    store::CaseWrite w = StartWrite(**c);
    CaseEvent e = MakeEvent(&rc.caller, **c, type, rc.now, note(next));
    e.related_id = next.order_id;
    w.events.push_back(std::move(e));
    w.supervision_writes.push_back({next, (*order)->version});
    auto done = Commit(**c, std::move(w), rc.now);
    if (done.ok()) {
      next.version = (*order)->version + 1;
      return next;
    }
    if (!absl::IsAborted(done.status()) || expected_version != 0 || attempt == kOrderAttempts) {
      return done.status();
    }
  }
}

absl::StatusOr<SupervisionOrder> CaseService::AcknowledgeSupervisionOrder(
    const RequestContext& rc, const std::string& order_id, int64_t expected_version) {
  return MoveOrder(
      rc, order_id, expected_version,
      [&](SupervisionOrder& o) -> absl::StatusOr<bool> {
        if (o.state != SupervisionState::kOpen) return false;
        o.state = SupervisionState::kAcknowledged;
        o.acknowledge_time = rc.now;
        o.acknowledged_by_user_id = rc.caller.user.user_id;
        return true;
      },
      EventType::kSupervisionAcknowledged,
      [](const SupervisionOrder& o) { return absl::StrCat("acknowledged order ", o.order_id); });
}

absl::StatusOr<SupervisionOrder> CaseService::AnswerSupervisionOrder(const RequestContext& rc,
                                                                     const std::string& order_id,
                                                                     const std::string& note,
                                                                     int64_t expected_version) {
  FieldViolations v;
  CheckText(v, "note", note, true, kMaxDescriptionChars);
  if (!v.empty()) return v.ToStatus("the answer is invalid");
  return MoveOrder(
      rc, order_id, expected_version,
      [&](SupervisionOrder& o) -> absl::StatusOr<bool> {
        if (o.state == SupervisionState::kAnswered) {
          if (o.answer == note) return false;
          return domain::Precondition("SUPERVISION_STATE", "ANSWERED",
                                      "the order was answered already, with another note");
        }
        o.state = SupervisionState::kAnswered;
        if (o.acknowledge_time == 0) {
          o.acknowledge_time = rc.now;
          o.acknowledged_by_user_id = rc.caller.user.user_id;
        }
        o.answer_time = rc.now;
        o.answered_by_user_id = rc.caller.user.user_id;
        o.answer = note;
        o.next_escalation_time = 0;
        return true;
      },
      EventType::kSupervisionAnswered, [](const SupervisionOrder& o) { return o.answer; });
}

absl::StatusOr<Page<SupervisionOrder>> CaseService::ListSupervisionOrders(
    const RequestContext& rc, const SupervisionListFilter& filter, const PageRequest& page) {
  if (supervision_ == nullptr) return absl::UnimplementedError("supervision is not configured");
  const domain::User& user = rc.caller.user;
  store::SupervisionQuery q;
  std::string scope;
  switch (user.role) {
    case Role::kDispatcher:
    case Role::kSupervisor:
      scope = user.grid_code;
      break;
    case Role::kDepartmentStaff:
      if (user.department_code.empty()) {
        return absl::PermissionDeniedError("staff without a department answer no orders");
      }
      q.lead_department_code = user.department_code;
      break;
    case Role::kOperator:
      break;
    default:
      return absl::PermissionDeniedError("supervision orders are not listed for this role");
  }
  FieldViolations v;
  auto subtree = ListSubtree(org_, v, scope, filter.grid_code);
  if (!subtree.ok()) return subtree.status();
  auto size = PageSizeOf(page.page_size);
  if (!size.ok()) v.Add("page_size", "must not be negative");
  if (!page.page_token.empty()) {
    if (!ParsePageToken(page.page_token, &q.after_issue_time, &q.after_id).ok()) {
      v.Add("page_token", "is not a token from this RPC");
    }
    q.has_after = true;
  }
  if (!v.empty()) return v.ToStatus();
  if (!subtree->empty()) {
    auto g = org_->FindGrid(*subtree);
    if (!g.ok()) return g.status();
    if (g->has_value()) q.subtree_grid_path = (*g)->path;
  }
  q.case_id = filter.case_id;
  q.states = filter.states;
  q.limit = *size + 1;
  auto rows = supervision_->ListSupervisionOrders(q);
  if (!rows.ok()) return rows.status();
  Page<SupervisionOrder> out;
  out.items = *std::move(rows);
  if (static_cast<int>(out.items.size()) > *size) {
    out.items.resize(*size);
    out.next_page_token = MakePageToken(out.items.back().issue_time, out.items.back().order_id);
  }
  return out;
}

absl::StatusOr<int> CaseService::EscalateSupervisionOrders(Micros now, Micros interval) {
  if (supervision_ == nullptr) return 0;
  auto due = supervision_->ListDueSupervisionOrders(now, 200);
  if (!due.ok()) return due.status();
  int escalated = 0;
  for (const SupervisionOrder& order : *due) {
    auto c = cases_->GetCase(order.case_id);
    if (!c.ok()) return c.status();
    if (!c->has_value()) continue;
    const auto target = domain::EscalationTarget((*c)->grid_path, order.holder_grid_code);
    if (!target) continue;  // the grid moved off the order's path; nothing above to tell
    SupervisionOrder next = order;
    next.holder_grid_code = *target;
    next.escalation_count = order.escalation_count + 1;
    next.next_escalation_time =
        domain::NextEscalationTime(order.respond_by_time, next.escalation_count, interval,
                                   domain::EscalationTarget((*c)->grid_path, *target));
    next.update_time = now;
    std::string level = *target;
    if (auto g = org_->FindGrid(*target); g.ok() && g->has_value()) {
      level = absl::StrCat((*g)->name, "（", *target, "）");
    }
    const std::string due_at =
        absl::FormatTime("%Y-%m-%d %H:%M", absl::FromUnixMicros(order.respond_by_time), zone_);
    store::CaseWrite w = StartWrite(**c);
    CaseEvent e = MakeEvent(nullptr, **c, EventType::kSupervisionEscalated, now,
                            absl::StrCat("escalated to ", level, ": unanswered since ", due_at));
    e.related_id = order.order_id;
    w.events.push_back(std::move(e));
    w.supervision_writes.push_back({next, order.version});
    auto done = Commit(**c, std::move(w), now);
    if (done.ok()) {
      ++escalated;
    } else if (!absl::IsAborted(done.status())) {
      return done.status();
    }  // ABORTED: another replica escalated it, or the case changed; the next round sees it
  }
  return escalated;
}

}  // namespace gridline::service
