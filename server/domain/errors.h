// Errors of the domain core, as absl::Status. Field violations and the current case state travel
// as payloads so that the API layer can turn them into google.rpc.BadRequest and
// google.rpc.PreconditionFailure details without the core knowing about either.
#ifndef GRIDLINE_SERVER_DOMAIN_ERRORS_H_
#define GRIDLINE_SERVER_DOMAIN_ERRORS_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/domain/types.h"

namespace gridline::domain {

struct FieldViolation {
  std::string field;
  std::string description;
};

// Collects every problem with a request, so the caller learns all of them at once.
class FieldViolations {
 public:
  void Add(std::string field, std::string description) {
    items_.push_back({std::move(field), std::move(description)});
  }
  bool empty() const { return items_.empty(); }
  const std::vector<FieldViolation>& items() const { return items_; }
  // INVALID_ARGUMENT carrying every violation; OK when there are none.
  absl::Status ToStatus(absl::string_view message = "invalid request") const;
  // The same with another code, e.g. ALREADY_EXISTS naming the field that clashes.
  absl::Status ToStatusWithCode(absl::StatusCode code, absl::string_view message) const;

 private:
  std::vector<FieldViolation> items_;
};

// INVALID_ARGUMENT for one field.
absl::Status InvalidField(std::string field, std::string description);

// The violations carried by `status`, if any.
std::vector<FieldViolation> GetFieldViolations(const absl::Status& status);

// FAILED_PRECONDITION naming the case's current state.
absl::Status WrongState(CaseState current, absl::string_view action);
// The state carried by a WrongState status, or kUnspecified.
CaseState GetWrongState(const absl::Status& status);

// One unmet precondition of a write (google.rpc.PreconditionFailure.Violation), e.g. type
// "IN_USE", subject "routing_rules", description "2 routing rules name it, e.g. R-C01-ALL".
struct PreconditionViolation {
  std::string type;
  std::string subject;
  std::string description;
};

// FAILED_PRECONDITION carrying `violations` (must not be empty).
absl::Status PreconditionFailed(const std::vector<PreconditionViolation>& violations,
                                absl::string_view message);
// FAILED_PRECONDITION with one violation; the description is also the message.
absl::Status Precondition(std::string type, std::string subject, std::string description);
// The violations carried by `status`, if any.
std::vector<PreconditionViolation> GetPreconditionViolations(const absl::Status& status);

// Marks an error as transient for the store's transaction runner: the whole transaction may be
// run again (deadlock, lost connection before commit, SQLITE_BUSY).
absl::Status MarkRetryable(absl::Status status);
bool IsRetryable(const absl::Status& status);

// Says when a refused call may be tried again (google.rpc.RetryInfo), e.g. on RESOURCE_EXHAUSTED.
absl::Status WithRetryDelay(absl::Status status, Micros delay);
// The delay carried by `status`, or 0.
Micros GetRetryDelay(const absl::Status& status);

}  // namespace gridline::domain

#endif  // GRIDLINE_SERVER_DOMAIN_ERRORS_H_
