// Results of SDK calls. Stable.
//
// No exception crosses the SDK's API: every call returns a `Status` or a `StatusOr<T>`. The codes
// are the gRPC codes the server sent (see proto/gridline/v1/common.proto for what each means), or
// codes the SDK chose for local problems (INVALID_ARGUMENT for a bad option, UNAVAILABLE for an
// unreachable server, ...). The server's structured details (field violations, precondition
// failures, error reasons) stay attached to the status: read them with `GetErrorDetails`.
#ifndef GRIDLINE_CLIENT_STATUS_H_
#define GRIDLINE_CLIENT_STATUS_H_

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace gridline::client {

using Status = ::absl::Status;
using StatusCode = ::absl::StatusCode;
template <typename T>
using StatusOr = ::absl::StatusOr<T>;

// One bad request field (google.rpc.BadRequest.FieldViolation, AIP-193).
struct FieldViolation {
  std::string field;
  std::string description;
};

// One failed precondition (google.rpc.PreconditionFailure.Violation). For a case action in the
// wrong state: type "CASE_STATE" and subject the current state's name, e.g. "RESOLVED".
struct PreconditionViolation {
  std::string type;
  std::string subject;
  std::string description;
};

// What the server said beyond code and message.
struct ErrorDetails {
  // google.rpc.ErrorInfo, e.g. reason "CURSOR_EXPIRED".
  std::string reason;
  std::string domain;
  std::map<std::string, std::string> metadata;
  std::vector<FieldViolation> field_violations;
  std::vector<PreconditionViolation> precondition_violations;
  // google.rpc.RetryInfo: how long the server asks the client to wait before trying again (a
  // rate limit, a lockout, a full queue); zero when it sent none. The SDK's retries and the
  // outbox wait at least this long.
  std::chrono::milliseconds retry_delay{0};
};

// The details attached to `status` (empty when there are none).
ErrorDetails GetErrorDetails(const Status& status);

// True when a watch's resume cursor is older than the server keeps: the application must re-list
// and watch again from now (the SDK's Watch does the latter itself).
bool IsCursorExpired(const Status& status);

}  // namespace gridline::client

#endif  // GRIDLINE_CLIENT_STATUS_H_
