#include "server/service/operator_calls.h"

#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/util/sha256.h"
#include "server/util/text.h"

namespace gridline::service {

absl::Status RunOperatorWork::Run(const RequestContext&, OperatorCall& call,
                                  const OperatorWork& work) {
  return work(&call.target.id);
}

absl::Status OperatorCheck::Run(const RequestContext& rc, OperatorCall& call,
                                const OperatorWork& work) {
  const domain::Role role = rc.caller.user.role;
  const bool admitted =
      call.audience == Audience::kAnyone ||
      (call.audience == Audience::kOperatorsAndSupervisors && role == domain::Role::kSupervisor);
  if (!admitted) {
    if (absl::Status s = RequireOperator(rc.caller); !s.ok()) return s;
  }
  return next_->Run(rc, call, work);
}

absl::Status AuditingOperatorCalls::Run(const RequestContext& rc, OperatorCall& call,
                                        const OperatorWork& work) {
  absl::Status status = next_->Run(rc, call, work);
  if (call.write) RecordOperatorCall(audit_, clock_, rc, call, status);
  return status;
}

std::unique_ptr<OperatorCalls> MakeOperatorCalls(store::AuditStore* audit,
                                                 const util::Clock* clock) {
  return std::make_unique<AuditingOperatorCalls>(
      std::make_unique<OperatorCheck>(std::make_unique<RunOperatorWork>()), audit, clock);
}

absl::Status RequireOperator(const domain::Caller& caller) {
  if (caller.user.role == domain::Role::kOperator) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat("AdminService is for operators; ",
                                                  caller.user.user_id, " is ",
                                                  domain::RoleName(caller.user.role)));
}

void RecordOperatorCall(store::AuditStore* audit, const util::Clock* clock,
                        const RequestContext& rc, const OperatorCall& call,
                        const absl::Status& status) {
  domain::AuditEntry entry;
  entry.actor_user_id = rc.caller.user.user_id;
  entry.actor_token_id = rc.caller.token_id;
  entry.method = call.method;
  entry.resource_kind = call.target.kind;
  entry.resource_id = call.target.id;
  entry.status_code = static_cast<int>(status.code());
  entry.status_message = std::string(status.message());
  entry.request_summary = call.summary;
  entry.peer = rc.peer;
  entry.event_time = rc.now;
  if (absl::Status s = AppendAuditEntry(audit, clock, std::move(entry)); !s.ok()) {
    std::fprintf(stderr, "gridline: cannot record the audit entry of %s by %s: %s\n", call.method,
                 rc.caller.user.user_id.c_str(), std::string(s.message()).c_str());
  }
}

absl::Status AppendAuditEntry(store::AuditStore* audit, const util::Clock* clock,
                              domain::AuditEntry entry) {
  // A bad request may name a resource by a very long "code"; the entry must still fit.
  util::CutUtf8(&entry.resource_id, 64);
  util::CutUtf8(&entry.method, 200);
  util::CutUtf8(&entry.peer, 200);
  util::CutUtf8(&entry.status_message, 4000);
  util::CutUtf8(&entry.request_summary, 8000);
  if (entry.event_time == 0) entry.event_time = clock->NowMicros();
  if (entry.audit_entry_id.empty()) entry.audit_entry_id = absl::StrCat("a-", util::RandomHex(8));
  return audit->AppendAudit(entry);
}

}  // namespace gridline::service
