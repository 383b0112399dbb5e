// 三责 accountability records and the facts their rules read, in SQL for both backends (the
// AccountabilityStore of store.h). Used by sql_store.cc only.
#ifndef GRIDLINE_SERVER_STORE_ACCOUNTABILITY_SQL_H_
#define GRIDLINE_SERVER_STORE_ACCOUNTABILITY_SQL_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/domain/accountability.h"
#include "server/store/sql.h"
#include "server/store/store.h"

namespace gridline::store {

class AccountabilityTables {
 public:
  explicit AccountabilityTables(Dialect dialect) : dialect_(dialect) {}

  absl::StatusOr<std::vector<domain::AccountabilityCase>> LoadCases(SqlConnection& conn,
                                                                    domain::Micros created_from,
                                                                    domain::Micros start,
                                                                    domain::Micros end) const;
  // Inside the caller's transaction.
  absl::Status Save(SqlConnection& conn, int year, int month,
                    const std::vector<domain::AccountabilityRecord>& records,
                    domain::Micros compute_time) const;
  absl::StatusOr<std::optional<domain::Micros>> ComputeTime(SqlConnection& conn, int year,
                                                            int month) const;
  absl::StatusOr<std::vector<domain::AccountabilityRecord>> List(
      SqlConnection& conn, const AccountabilityQuery& q) const;
  absl::StatusOr<std::optional<domain::AccountabilityRecord>> Get(SqlConnection& conn,
                                                                  const std::string& id) const;
  // Inside the caller's transaction.
  absl::StatusOr<domain::AccountabilityRecord> Dismiss(SqlConnection& conn, const std::string& id,
                                                       int64_t expected_version,
                                                       const std::string& reason,
                                                       const std::string& by,
                                                       domain::Micros time) const;

 private:
  const Dialect dialect_;
};

}  // namespace gridline::store

#endif  // GRIDLINE_SERVER_STORE_ACCOUNTABILITY_SQL_H_
