// Where an SDK Status keeps the server's google.rpc.Status (serialized).
#ifndef GRIDLINE_CLIENT_SRC_STATUS_PAYLOAD_H_
#define GRIDLINE_CLIENT_SRC_STATUS_PAYLOAD_H_

#include <string>
#include <vector>

#include "gridline/client/status.h"

namespace gridline::client::internal {

inline constexpr char kRpcStatusPayloadUrl[] = "type.googleapis.com/google.rpc.Status";

// INVALID_ARGUMENT carrying a google.rpc.BadRequest, as the server sends it, for checks the SDK
// makes itself.
Status InvalidArgumentWithFields(const std::string& message,
                                 const std::vector<FieldViolation>& violations);

}  // namespace gridline::client::internal

#endif  // GRIDLINE_CLIENT_SRC_STATUS_PAYLOAD_H_
