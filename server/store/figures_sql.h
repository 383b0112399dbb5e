// The pre-added evaluation figures (domain/figures.h) in SQL, for both backends: the
// case_figures table, kept in the same transaction as every case write, and the queries over it.
// Used by sql_store.cc only.
#ifndef GRIDLINE_SERVER_STORE_FIGURES_SQL_H_
#define GRIDLINE_SERVER_STORE_FIGURES_SQL_H_

#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/domain/figures.h"
#include "server/store/sql.h"

namespace gridline::store {

class FigureTable {
 public:
  FigureTable(Dialect dialect, int utc_offset_minutes)
      : dialect_(dialect), offset_(utc_offset_minutes) {}
  int utc_offset_minutes() const { return offset_; }

  // The facts of cases as stored now (their rows and resolution/verification times). `lock`:
  // lock the case rows for this transaction first (MySQL), so that nothing changes them between
  // this read and the caller's write.
  absl::StatusOr<std::vector<domain::FigureFacts>> LoadFacts(SqlConnection& conn,
                                                             const std::vector<std::string>& ids,
                                                             bool lock) const;

  // Moves the sums from `before` (a case as it was; null: new) to `after` (null: nothing).
  absl::Status Apply(SqlConnection& conn, const domain::FigureFacts* before,
                     const domain::FigureFacts* after) const;
  // Adds the sums of many new cases at once (bulk loads).
  absl::Status AddAll(SqlConnection& conn, const std::vector<domain::FigureFacts>& cases) const;
  // Moves cases of grids whose path changed: `moved` holds (facts with the old path, new path).
  absl::Status Move(SqlConnection& conn,
                    const std::vector<std::pair<domain::FigureFacts, std::string>>& moved) const;

  // Whether the stored sums were made with this table's UTC offset; if not (a new table, or the
  // offset changed), Rebuild adds them again from every case.
  absl::StatusOr<bool> Current(SqlConnection& conn) const;
  absl::Status Rebuild(SqlConnection& conn) const;
  // The same for the counts of open cases by deadline day (case_open_deadlines, schema 8): a
  // rebuild reads only the open cases, from an index.
  absl::StatusOr<bool> OpenCurrent(SqlConnection& conn) const;
  absl::Status RebuildOpen(SqlConnection& conn) const;

  // The sums for grid node `node` ("" for the platform) and lead department (empty: any) over
  // the days [first_day, end_day).
  absl::StatusOr<domain::FigureSums> Sum(SqlConnection& conn, const std::string& node,
                                         const std::string& department_code, int64_t first_day,
                                         int64_t end_day) const;
  // Sum for every node (department_code empty) or every department (node ""), grouped by
  // `column` ("node" or "dept").
  absl::StatusOr<std::map<std::string, domain::FigureSums>> SumGrouped(SqlConnection& conn,
                                                                       const std::string& column,
                                                                       int64_t first_day,
                                                                       int64_t end_day) const;
  // The open overdue figures before the day `before_day` (FigureStore::SumOpenOverdue), for one
  // node and department (empty: any), or grouped by `column` as SumGrouped.
  absl::StatusOr<domain::OpenOverdueCounts> SumOpen(SqlConnection& conn, const std::string& node,
                                                    const std::string& department_code,
                                                    int64_t first_day, int64_t end_day,
                                                    int64_t before_day) const;
  absl::StatusOr<std::map<std::string, domain::OpenOverdueCounts>> SumOpenGrouped(
      SqlConnection& conn, const std::string& column, int64_t first_day, int64_t end_day,
      int64_t before_day) const;
  // The columns of `cases` the figures read, and a row of them as facts (no event times).
  static const char* FactColumns();
  static domain::FigureFacts FactsFromRow(const SqlRow& row);

 private:
  // Sums the rows matching `where` (with `params`) over the days, grouped by `group`.
  absl::StatusOr<std::map<std::string, domain::FigureSums>> SumRows(
      SqlConnection& conn, const std::string& group, const std::string& where,
      const SqlParams& params, int64_t first_day, int64_t end_day) const;
  using Key = std::tuple<std::string, std::string, domain::FigureBucketKey>;  // node, dept, days
  using OpenKey = std::tuple<std::string, std::string, domain::OpenDeadlineKey>;
  // What one write changes in both tables.
  struct Changes {
    std::map<Key, domain::FigureSums> sums;
    std::map<OpenKey, int64_t> open;
  };
  // Adds sign × the case's terms and open count, under `path` (its own grid path unless moved).
  void Add(const domain::FigureFacts& facts, const std::string& path, int sign,
           Changes* changes) const;
  absl::Status Write(SqlConnection& conn, const Changes& changes) const;
  absl::Status WriteOpen(SqlConnection& conn, const std::map<OpenKey, int64_t>& rows) const;
  absl::StatusOr<std::map<std::string, domain::OpenOverdueCounts>> SumOpenRows(
      SqlConnection& conn, const std::string& group, const std::string& where,
      const SqlParams& params, int64_t first_day, int64_t end_day, int64_t before_day) const;
  // Upserts rows of `table` keyed by `keys`, adding to `sums` (both dialects).
  absl::Status Upsert(SqlConnection& conn, const std::string& table,
                      const std::vector<std::string>& keys, const std::vector<std::string>& sums,
                      const std::vector<SqlParams>& rows) const;

  const Dialect dialect_;
  const int offset_;
};

}  // namespace gridline::store

#endif  // GRIDLINE_SERVER_STORE_FIGURES_SQL_H_
