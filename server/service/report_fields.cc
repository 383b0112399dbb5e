// The checks of a report's own fields (case_service.h), apart from CaseService so that they can be
// run without a store (fuzz/fuzz_requests.cc runs them on every decoded report).
#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"
#include "server/service/case_service.h"
#include "server/service/domain_names.h"

namespace gridline::service {

void CheckReportFields(FieldViolations& v, const ReportInput& in, Micros now) {
  CheckClientId(v, "request_id", in.request_id,
                "is required: generate one per report and reuse it on retries");
  CheckText(v, "description", in.description, true, kMaxDescriptionChars);
  CheckText(v, "location.address", in.address, false, kMaxAddressChars);
  if (in.has_coordinates) {
    if (!std::isfinite(in.latitude) || in.latitude < -90 || in.latitude > 90) {
      v.Add("location.coordinates.latitude", "must be within [-90, 90]");
    }
    if (!std::isfinite(in.longitude) || in.longitude < -180 || in.longitude > 180) {
      v.Add("location.coordinates.longitude", "must be within [-180, 180]");
    }
  }
  if (in.observe_time != 0 && (in.observe_time > now + domain::kMaxClientClockSkewMicros ||
                               in.observe_time < domain::kEarliestClientTimeMicros)) {
    v.Add("observe_time", "must not be in the future or before 2000");
  }
  if (in.urgency < 0 || in.urgency > static_cast<int>(Urgency::kEmergency)) {
    v.Add("urgency", "is not a known urgency");
  }
}

bool CheckPhotoIds(FieldViolations& v, const std::string& field,
                   const std::vector<std::string>& ids) {
  if (static_cast<int>(ids.size()) > kMaxAttachments) {
    v.Add(field, absl::StrCat("at most ", kMaxAttachments, " photos"));
    return false;
  }
  if (ids.empty()) return false;
  std::set<std::string> unique(ids.begin(), ids.end());
  if (unique.size() != ids.size()) v.Add(field, "lists a photo twice");
  return true;
}

}  // namespace gridline::service
