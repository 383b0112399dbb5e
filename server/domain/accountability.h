// 三责 accountability: the rules engine. For a month it finds what should have been found,
// reported or handled and was not (同责), the problems fixed and back again (连责), and weighs
// records on cases from leaders, the media and the public heavier (重责). Pure: the caller hands
// it the month's cases and the organisation; it returns the records.
#ifndef GRIDLINE_SERVER_DOMAIN_ACCOUNTABILITY_H_
#define GRIDLINE_SERVER_DOMAIN_ACCOUNTABILITY_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "server/domain/types.h"

namespace gridline::domain {

enum class AccountabilityRule : int {
  kUnspecified = 0,
  kShouldHaveFound = 1,     // 同责 · 应发现未发现
  kShouldHaveReported = 2,  // 同责 · 应上报未上报
  kShouldHaveHandled = 3,   // 同责 · 应处置未处置
  kFixedAndBack = 4,        // 连责 · 制而又返
};
const char* AccountabilityRuleName(AccountabilityRule r);

enum class AccountabilityUnitKind : int {
  kUnspecified = 0,
  kGrid = 1,
  kCenter = 2,
  kDepartment = 3
};

enum class RecordStatus : int { kUnspecified = 0, kActive = 1, kDismissed = 2, kWithdrawn = 3 };

// The thresholds (ServerConfig.accountability).
struct AccountabilityRules {
  // 应发现未发现: a handset report of the same category this close and this long before.
  double find_radius_metres = 200;
  Micros find_window = 72LL * 3600 * 1000000;
  // 应上报未上报: the acceptance center's time limit for triage.
  Micros triage_limit = 2LL * 3600 * 1000000;
  // 制而又返: a case of the same category this close to one closed this long before.
  double recurrence_radius_metres = 100;
  Micros recurrence_window = 30LL * 24 * 3600 * 1000000;
  // 重责: the weight of records on cases from these sources (others weigh 1).
  double leader_weight = 3;
  double media_weight = 3;
  double public_weight = 2;
};

// A case as the rules see it.
struct AccountabilityCase {
  std::string case_id;
  CaseSource source = CaseSource::kHandset;
  CaseState state = CaseState::kUnspecified;
  std::string category_code;  // the current one (after any correction)
  std::string grid_code;
  std::string grid_path;
  bool has_coordinates = false;
  double latitude = 0;
  double longitude = 0;
  Micros observe_time = 0;
  Micros create_time = 0;
  // When it left triage (accepted, rejected or merged); 0 while in triage.
  Micros triage_end_time = 0;
  std::string lead_department_code;
  Micros deadline_time = 0;
  Micros closed_time = 0;
};

// The organisation as the rules see it.
struct AccountabilityOrg {
  std::map<std::string, Grid> grids;              // by code
  std::map<std::string, Department> departments;  // by code
  std::vector<User> users;
};

struct AccountabilityRecord {
  std::string record_id;  // assigned by the store
  int year = 0;
  int month = 0;
  AccountabilityRule rule = AccountabilityRule::kUnspecified;
  AccountabilityUnitKind unit_kind = AccountabilityUnitKind::kUnspecified;
  std::string unit_code;
  std::string user_id;  // empty: the unit itself
  // The case the record is about first, then any other it involves (the closed case of 制而又返).
  std::vector<std::string> case_ids;
  double weight = 1;
  std::string explanation;
  // For scope: the first case's grid path, and the department a department record names.
  std::string grid_path;
  std::string department_code;
  RecordStatus status = RecordStatus::kActive;
  std::string dismiss_reason;
  std::string dismissed_by_user_id;
  Micros dismiss_time = 0;
  Micros compute_time = 0;
  int64_t version = 0;
  // What identifies the record across recomputations of the month: rule, unit, person, case.
  std::string Key() const;
};

// The records of the month [start, end) (`year`, `month` name it). `cases` must hold every case
// created in [start - max(find_window, recurrence_window), end) and every case open at `end`
// with a deadline before it, or closed in [start, end); the rest are ignored. Ordered by rule,
// unit, person, case.
std::vector<AccountabilityRecord> ComputeAccountability(
    const AccountabilityRules& rules, const AccountabilityOrg& org,
    const std::vector<AccountabilityCase>& cases, int year, int month, Micros start, Micros end);

}  // namespace gridline::domain

#endif  // GRIDLINE_SERVER_DOMAIN_ACCOUNTABILITY_H_
