#include "gridline/client/status.h"

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "status_payload.h"

namespace gridline::client {

ErrorDetails GetErrorDetails(const Status& status) {
  ErrorDetails out;
  auto payload = status.GetPayload(internal::kRpcStatusPayloadUrl);
  if (!payload) return out;
  google::rpc::Status rich;
  if (!rich.ParseFromString(std::string(*payload))) return out;
  for (const auto& any : rich.details()) {
    google::rpc::ErrorInfo info;
    google::rpc::BadRequest bad;
    google::rpc::PreconditionFailure pre;
    google::rpc::RetryInfo retry;
    if (any.UnpackTo(&retry)) {
      const auto& d = retry.retry_delay();
      out.retry_delay =
          std::chrono::milliseconds(d.seconds() * 1000 + (d.nanos() + 999999) / 1000000);
    } else if (any.UnpackTo(&info)) {
      out.reason = info.reason();
      out.domain = info.domain();
      for (const auto& [k, v] : info.metadata()) out.metadata[k] = v;
    } else if (any.UnpackTo(&bad)) {
      for (const auto& v : bad.field_violations()) {
        out.field_violations.push_back({v.field(), v.description()});
      }
    } else if (any.UnpackTo(&pre)) {
      for (const auto& v : pre.violations()) {
        out.precondition_violations.push_back({v.type(), v.subject(), v.description()});
      }
    }
  }
  return out;
}

namespace internal {

Status InvalidArgumentWithFields(const std::string& message,
                                 const std::vector<FieldViolation>& violations) {
  google::rpc::BadRequest bad;
  for (const auto& v : violations) {
    auto* f = bad.add_field_violations();
    f->set_field(v.field);
    f->set_description(v.description);
  }
  google::rpc::Status rich;
  rich.set_code(static_cast<int>(StatusCode::kInvalidArgument));
  rich.set_message(message);
  rich.add_details()->PackFrom(bad);
  Status status = absl::InvalidArgumentError(message);
  status.SetPayload(kRpcStatusPayloadUrl, absl::Cord(rich.SerializeAsString()));
  return status;
}

}  // namespace internal

bool IsCursorExpired(const Status& status) {
  return status.code() == StatusCode::kOutOfRange &&
         GetErrorDetails(status).reason == "CURSOR_EXPIRED";
}

}  // namespace gridline::client
