// Supervision orders in SQL, for both backends (the SupervisionStore of store.h, and the orders
// a case write carries). Used by sql_store.cc only.
#ifndef GRIDLINE_SERVER_STORE_SUPERVISION_SQL_H_
#define GRIDLINE_SERVER_STORE_SUPERVISION_SQL_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/domain/supervision.h"
#include "server/store/sql.h"
#include "server/store/store.h"

namespace gridline::store {

class SupervisionTables {
 public:
  explicit SupervisionTables(Dialect dialect) : dialect_(dialect) {}

  // Inside a case write's transaction.
  absl::Status Write(SqlConnection& conn, const SupervisionWrite& w) const;
  absl::StatusOr<std::optional<domain::SupervisionOrder>> Get(SqlConnection& conn,
                                                              const std::string& order_id) const;
  absl::StatusOr<std::optional<domain::SupervisionOrder>> Find(SqlConnection& conn,
                                                               const std::string& issuer,
                                                               const std::string& request_id) const;
  absl::StatusOr<std::vector<domain::SupervisionOrder>> List(SqlConnection& conn,
                                                             const SupervisionQuery& q) const;
  absl::StatusOr<std::vector<domain::SupervisionOrder>> Due(SqlConnection& conn, domain::Micros now,
                                                            int limit) const;
  absl::StatusOr<domain::SupervisionCounts> Count(SqlConnection& conn, const std::string& grid_path,
                                                  const std::string& department_code,
                                                  domain::Micros start, domain::Micros end) const;
  // The cases of grid `code` have the new `path`: their orders follow.
  absl::Status MoveGrid(SqlConnection& conn, const std::string& code,
                        const std::string& path) const;

 private:
  const Dialect dialect_;
};

}  // namespace gridline::store

#endif  // GRIDLINE_SERVER_STORE_SUPERVISION_SQL_H_
