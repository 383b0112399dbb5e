// 三责 accountability: computes a month's records with the domain's rules engine over the
// store's facts, lists them in each caller's scope, and lets operators dismiss one (the record
// stays, marked, and the front door audits the dismissal). Knows neither gRPC nor SQL.
#ifndef GRIDLINE_SERVER_SERVICE_ACCOUNTABILITY_H_
#define GRIDLINE_SERVER_SERVICE_ACCOUNTABILITY_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/domain/accountability.h"
#include "server/service/case_service.h"
#include "server/service/request_context.h"
#include "server/store/store.h"

namespace gridline::service {

struct AccountabilityFilter {
  int year = 0;
  int month = 0;
  std::vector<domain::AccountabilityRule> rules;
  std::string unit_code;
  std::string user_id;
  std::string grid_code;  // a subtree inside the caller's scope
  bool include_inactive = false;
};

class AccountabilityService {
 public:
  // Not owned. Months are counted at `utc_offset_minutes` (ServerConfig.evaluation).
  AccountabilityService(store::AccountabilityStore* store, store::OrganisationStore* org,
                        domain::AccountabilityRules rules, int utc_offset_minutes)
      : store_(store),
        org_(org),
        rules_(rules),
        zone_(absl::FixedTimeZone(utc_offset_minutes * 60)) {}

  // Computes the records of an ended month again (operators). Returns how many are active.
  absl::StatusOr<int> Compute(const RequestContext& rc, int year, int month);
  // A month's records in the caller's scope: a grid leader their own; department staff their
  // department's and their own; dispatchers and supervisors their subtree's; operators all. A
  // month that has ended but was never computed is computed first.
  absl::StatusOr<Page<domain::AccountabilityRecord>> List(const RequestContext& rc,
                                                          const AccountabilityFilter& filter,
                                                          const PageRequest& page);
  // Every active record of an ended month (computed first if it never was), for the ratings.
  absl::StatusOr<std::vector<domain::AccountabilityRecord>> ActiveRecords(int year, int month,
                                                                          domain::Micros now);
  // Operators: marks an active record dismissed, with a reason. `expected_version` 0: no check.
  absl::StatusOr<domain::AccountabilityRecord> Dismiss(const RequestContext& rc,
                                                       const std::string& record_id,
                                                       const std::string& reason,
                                                       int64_t expected_version);

 private:
  // [start, end) of the month; INVALID_ARGUMENT for a bad month or one not ended at `now`.
  absl::Status MonthRange(int year, int month, domain::Micros now, domain::Micros* start,
                          domain::Micros* end) const;
  absl::StatusOr<int> ComputeMonth(int year, int month, domain::Micros start, domain::Micros end,
                                   domain::Micros now);

  store::AccountabilityStore* store_;
  store::OrganisationStore* org_;
  domain::AccountabilityRules rules_;
  absl::TimeZone zone_;
};

}  // namespace gridline::service

#endif  // GRIDLINE_SERVER_SERVICE_ACCOUNTABILITY_H_
