// The case use cases, over the Store port. Knows neither gRPC nor SQL.
#ifndef GRIDLINE_SERVER_DOMAIN_CASE_SERVICE_H_
#define GRIDLINE_SERVER_DOMAIN_CASE_SERVICE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/domain/types.h"
#include "server/store/store.h"

namespace gridline::domain {

// A handset's report, as the API layer decoded it.
struct ReportInput {
  std::string request_id;
  std::string category_code;
  std::string description;
  std::string grid_code;
  bool has_coordinates = false;
  double latitude = 0;
  double longitude = 0;
  std::string address;
  Micros observe_time = 0;  // 0: now
  int urgency = 0;          // raw, validated here
  std::vector<std::string> attachment_ids;
};

struct SubmitOutcome {
  Case stored;
  CaseEvent first_event;
  bool created = false;
};

// Limits of report fields, in Unicode code points.
inline constexpr int kMaxDescriptionChars = 2000;
inline constexpr int kMaxAddressChars = 500;
inline constexpr int kMaxRequestIdChars = 64;
inline constexpr int kMaxAttachments = 9;

// May `user` read this case (GetCase, lists, streams)? One rule everywhere.
bool CanSee(const User& user, const std::string& reporter_user_id, const std::string& grid_path,
            const std::string& lead_department_code,
            const std::vector<std::string>& assisting_department_codes);
bool CanSee(const User& user, const Case& c);
bool CanSee(const User& user, const CaseEvent& e);

class CaseService {
 public:
  explicit CaseService(store::Store* store) : store_(store) {}

  // Step 1: validate and store a report as a case with its REPORTED event. Idempotent on the
  // caller's request id.
  absl::StatusOr<SubmitOutcome> SubmitReport(const Caller& caller, const ReportInput& in);

  // NOT_FOUND also when the caller may not see the case, so ids cannot be probed.
  absl::StatusOr<Case> GetCase(const Caller& caller, const std::string& case_id);
  absl::StatusOr<std::vector<CaseEvent>> ListCaseEvents(const Caller& caller,
                                                        const std::string& case_id);

 private:
  store::Store* store_;
};

// True if `s` is valid UTF-8; `chars` receives its length in code points.
bool IsValidUtf8(absl::string_view s, int* chars);

}  // namespace gridline::domain

#endif  // GRIDLINE_SERVER_DOMAIN_CASE_SERVICE_H_
