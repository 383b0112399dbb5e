// Patrols, their track points and visits in SQL, for both backends (the PatrolStore of
// store.h). Each method runs on a connection the caller holds, inside its transaction for the
// writes. Used by sql_store.cc only.
#ifndef GRIDLINE_SERVER_STORE_PATROL_SQL_H_
#define GRIDLINE_SERVER_STORE_PATROL_SQL_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/domain/patrol.h"
#include "server/store/sql.h"
#include "server/store/store.h"

namespace gridline::store {

class PatrolTables {
 public:
  PatrolTables(Dialect dialect, int utc_offset_minutes)
      : dialect_(dialect), offset_(utc_offset_minutes) {}

  absl::StatusOr<PatrolWriteResult> Start(SqlConnection& conn, const domain::Patrol& p) const;
  // `lock`: lock the row for the caller's transaction (MySQL).
  absl::StatusOr<std::optional<domain::Patrol>> Get(SqlConnection& conn,
                                                    const std::string& patrol_id, bool lock) const;
  absl::StatusOr<std::optional<domain::Visit>> GetVisit(SqlConnection& conn,
                                                        const std::string& visit_id) const;
  absl::StatusOr<PatrolWriteResult> Update(SqlConnection& conn, const PatrolWrite& w) const;
  absl::StatusOr<std::vector<domain::Patrol>> List(SqlConnection& conn, const PatrolQuery& q) const;
  absl::StatusOr<std::vector<domain::TrackPoint>> ListTrack(SqlConnection& conn,
                                                            const std::string& patrol_id,
                                                            int64_t after, int limit) const;
  absl::StatusOr<std::vector<domain::Visit>> ListVisits(SqlConnection& conn,
                                                        const std::string& patrol_id,
                                                        bool has_after, int64_t after_time,
                                                        const std::string& after_id,
                                                        int limit) const;
  absl::StatusOr<std::vector<domain::PatrolFigures>> Sum(SqlConnection& conn, const PatrolQuery& q,
                                                         domain::Micros start,
                                                         domain::Micros end) const;
  absl::StatusOr<int64_t> CountDays(SqlConnection& conn, const PatrolQuery& q, domain::Micros start,
                                    domain::Micros end) const;

  // A report naming the patrol was stored (in the same transaction): counts it. The patrol's
  // version is not moved: it counts the patroller's own writes, which the outbox checks.
  absl::Status CountReport(SqlConnection& conn, const std::string& patrol_id) const;
  // The grid `code` has the new `path`: its patrols and visits follow.
  absl::Status MoveGrid(SqlConnection& conn, const std::string& code,
                        const std::string& path) const;

 private:
  // " AND ..." for the scope filters of `q` over the patrols table, appending their parameters.
  std::string ScopeSql(const PatrolQuery& q, SqlParams& params) const;
  // The local day of a patrol's start_time, as domain::FigureDay counts it.
  std::string DaySql() const;

  const Dialect dialect_;
  const int offset_;
};

}  // namespace gridline::store

#endif  // GRIDLINE_SERVER_STORE_PATROL_SQL_H_
