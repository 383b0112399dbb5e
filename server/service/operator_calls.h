// How every front door runs an operator's call (AdminService over gRPC today; an HTTP gateway
// tomorrow). What happens around the work is a stack of decorators, as in google-cloud-cpp's
// internal/*_decorator.h: each layer wraps the next and adds one concern, so a door cannot skip
// the check or forget the audit entry, and a new concern (metrics, say) is one more layer.
//
//   AuditingOperatorCalls        records every write, whatever its outcome
//     -> OperatorCheck           PERMISSION_DENIED for anyone outside the call's audience
//       -> RunOperatorWork       runs the work
#ifndef GRIDLINE_SERVER_SERVICE_OPERATOR_CALLS_H_
#define GRIDLINE_SERVER_SERVICE_OPERATOR_CALLS_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "server/service/request_context.h"
#include "server/store/store.h"
#include "server/util/clock.h"

namespace gridline::service {

// Where a write's audit entry points; the work may fill in an id the server assigned.
struct AuditTarget {
  std::string kind;
  std::string id;
};

// Who may make a call (the work itself narrows what a non-operator sees).
enum class Audience {
  kOperators,                // AdminService's rule
  kOperatorsAndSupervisors,  // the figures: supervisors within their subtree
  kAnyone,                   // any authenticated user (GetCurrentUser)
};

// One call, as the door describes it.
struct OperatorCall {
  const char* method = "";  // the full RPC name, "/gridline.v1.AdminService/CreateGrid"
  bool write = false;       // writes are audited; reads are not
  AuditTarget target;
  std::string summary;  // the request, as the door renders it, for the audit entry
  Audience audience = Audience::kOperators;
};

// The work; it may set the id of what it created.
using OperatorWork = std::function<absl::Status(std::string* id)>;

class OperatorCalls {
 public:
  virtual ~OperatorCalls() = default;
  virtual absl::Status Run(const RequestContext& rc, OperatorCall& call,
                           const OperatorWork& work) = 0;
};

// The innermost layer.
class RunOperatorWork final : public OperatorCalls {
 public:
  absl::Status Run(const RequestContext& rc, OperatorCall& call, const OperatorWork& work) override;
};

// Lets only the call's audience through (operators, unless the call says otherwise).
class OperatorCheck final : public OperatorCalls {
 public:
  explicit OperatorCheck(std::unique_ptr<OperatorCalls> next) : next_(std::move(next)) {}
  absl::Status Run(const RequestContext& rc, OperatorCall& call, const OperatorWork& work) override;

 private:
  std::unique_ptr<OperatorCalls> next_;
};

// Records each write, after it ran (or was refused), in the audit log.
class AuditingOperatorCalls final : public OperatorCalls {
 public:
  AuditingOperatorCalls(std::unique_ptr<OperatorCalls> next, store::AuditStore* audit,
                        const util::Clock* clock)
      : next_(std::move(next)), audit_(audit), clock_(clock) {}
  absl::Status Run(const RequestContext& rc, OperatorCall& call, const OperatorWork& work) override;

 private:
  std::unique_ptr<OperatorCalls> next_;
  store::AuditStore* audit_;
  const util::Clock* clock_;
};

// The stack every door uses.
std::unique_ptr<OperatorCalls> MakeOperatorCalls(store::AuditStore* audit,
                                                 const util::Clock* clock);

// AdminService is the operators': PERMISSION_DENIED for anyone else.
absl::Status RequireOperator(const domain::Caller& caller);

// Records one call in the audit log: for calls that cannot go through the stack (the streaming
// import records its outcome when it ends). A failure to record is logged, not returned: the
// call's outcome stands either way.
void RecordOperatorCall(store::AuditStore* audit, const util::Clock* clock,
                        const RequestContext& rc, const OperatorCall& call,
                        const absl::Status& status);

// Stores one audit entry, cutting over-long fields and assigning its id and time when unset.
absl::Status AppendAuditEntry(store::AuditStore* audit, const util::Clock* clock,
                              domain::AuditEntry entry);

}  // namespace gridline::service

#endif  // GRIDLINE_SERVER_SERVICE_OPERATOR_CALLS_H_
