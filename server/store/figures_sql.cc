#include "server/store/figures_sql.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace gridline::store {
namespace {
using domain::FigureBucketKey;
using domain::FigureFacts;
using domain::FigureSums;

// Row kinds: single terms (day_b = -1), pair terms at most kShortPairDays apart, and the rest.
constexpr int64_t kSingle = 0;
constexpr int64_t kShortPair = 1;
constexpr int64_t kLongPair = 2;

constexpr const char* kSumColumns[domain::kFigureColumns] = {
    "n_found", "n_solved",  "n_due",           "n_postponed", "n_closed",  "n_on_time",
    "n_late",  "n_handled", "handling_micros", "n_resolved",  "n_reworked"};

// The department of the rows that add up every department (no department code is "*").
const std::string kAnyDepartment = "*";

constexpr char kFactColumns[] =
    "case_id, state, grid_path, lead_department_code, filed_time, first_deadline_time, "
    "deadline_time, closed_time";

int64_t KindOf(const FigureBucketKey& k) {
  if (k.day_b < 0) return kSingle;
  return k.day_b - k.day_a <= domain::kShortPairDays ? kShortPair : kLongPair;
}

bool AllZero(const FigureSums& s) {
  return std::all_of(s.begin(), s.end(), [](int64_t v) { return v == 0; });
}

std::string Marks(size_t n) {
  std::vector<std::string> m(n, "?");
  return absl::StrJoin(m, ", ");
}
}  // namespace

absl::StatusOr<std::vector<FigureFacts>> FigureTable::LoadFacts(SqlConnection& conn,
                                                                const std::vector<std::string>& ids,
                                                                bool lock) const {
  std::vector<FigureFacts> out;
  std::map<std::string, size_t> index;
  constexpr size_t kBatch = 400;
  for (size_t from = 0; from < ids.size(); from += kBatch) {
    const size_t n = std::min(kBatch, ids.size() - from);
    SqlParams params(ids.begin() + from, ids.begin() + from + n);
    // The case rows first (locked, when asked): a consistent read of the events after the lock
    // sees every event committed for these cases.
    auto rows =
        conn.Query(absl::StrCat("SELECT ", kFactColumns, " FROM cases WHERE case_id IN (", Marks(n),
                                ")", lock && dialect_ == Dialect::kMysql ? " FOR UPDATE" : ""),
                   params);
    if (!rows.ok()) return rows.status();
    for (const SqlRow& r : *rows) {
      FigureFacts f = FactsFromRow(r);
      index[f.case_id] = out.size();
      out.push_back(std::move(f));
    }
    params.push_back(static_cast<int64_t>(domain::EventType::kCaseResolved));
    params.push_back(static_cast<int64_t>(domain::EventType::kVerificationFailed));
    auto events = conn.Query(absl::StrCat("SELECT case_id, type, event_time FROM case_events "
                                          "WHERE case_id IN (",
                                          Marks(n), ") AND type IN (?, ?)"),
                             params);
    if (!events.ok()) return events.status();
    for (const SqlRow& r : *events) {
      auto it = index.find(r.Str(0));
      if (it == index.end()) continue;
      FigureFacts& f = out[it->second];
      const auto type = static_cast<domain::EventType>(r.Int(1));
      (type == domain::EventType::kCaseResolved ? f.resolved_times : f.failed_times)
          .push_back(r.Int(2));
    }
  }
  return out;
}

void FigureTable::Spread(const domain::FigureBuckets& buckets, const std::string& path,
                         const std::string& dept, int sign, std::map<Key, FigureSums>* rows) {
  // Each node keeps the sums per lead department and for any department ("*"), so that a query
  // without a department reads one row per day, not one per department and day.
  for (const std::string& node : domain::FigureNodes(path)) {
    for (const std::string* d : {&dept, &kAnyDepartment}) {
      for (const auto& [key, sums] : buckets) {
        FigureSums& row = (*rows)[Key{node, *d, key}];
        for (int i = 0; i < domain::kFigureColumns; ++i) row[i] += sign * sums[i];
      }
    }
  }
}

absl::Status FigureTable::Apply(SqlConnection& conn, const FigureFacts* before,
                                const FigureFacts* after) const {
  std::map<Key, FigureSums> rows;
  if (before) {
    domain::FigureBuckets b;
    domain::AddFigureBuckets(*before, offset_, 1, &b);
    Spread(b, before->grid_path, before->lead_department_code, -1, &rows);
  }
  if (after) {
    domain::FigureBuckets b;
    domain::AddFigureBuckets(*after, offset_, 1, &b);
    Spread(b, after->grid_path, after->lead_department_code, 1, &rows);
  }
  return Write(conn, rows);
}

absl::Status FigureTable::AddAll(SqlConnection& conn, const std::vector<FigureFacts>& cases) const {
  std::map<Key, FigureSums> rows;
  for (const FigureFacts& f : cases) {
    domain::FigureBuckets b;
    domain::AddFigureBuckets(f, offset_, 1, &b);
    Spread(b, f.grid_path, f.lead_department_code, 1, &rows);
  }
  return Write(conn, rows);
}

absl::Status FigureTable::Move(
    SqlConnection& conn, const std::vector<std::pair<FigureFacts, std::string>>& moved) const {
  std::map<Key, FigureSums> rows;
  for (const auto& [f, new_path] : moved) {
    domain::FigureBuckets b;
    domain::AddFigureBuckets(f, offset_, 1, &b);
    Spread(b, f.grid_path, f.lead_department_code, -1, &rows);
    Spread(b, new_path, f.lead_department_code, 1, &rows);
  }
  return Write(conn, rows);
}

absl::Status FigureTable::Write(SqlConnection& conn, const std::map<Key, FigureSums>& rows) const {
  std::vector<std::string> cols = {"node", "dept", "kind", "day_a", "day_b"};
  std::vector<std::string> sets;
  for (const char* c : kSumColumns) {
    cols.push_back(c);
    sets.push_back(dialect_ == Dialect::kMysql ? absl::StrCat(c, " = ", c, " + VALUES(", c, ")")
                                               : absl::StrCat(c, " = ", c, " + excluded.", c));
  }
  const std::string row_marks = absl::StrCat("(", Marks(cols.size()), ")");
  auto flush = [&](size_t count, const SqlParams& params) -> absl::Status {
    if (count == 0) return absl::OkStatus();
    std::vector<std::string> all(count, row_marks);
    std::string sql = absl::StrCat("INSERT INTO case_figures (", absl::StrJoin(cols, ", "),
                                   ") VALUES ", absl::StrJoin(all, ", "));
    if (dialect_ == Dialect::kMysql) {
      absl::StrAppend(&sql, " ON DUPLICATE KEY UPDATE ", absl::StrJoin(sets, ", "));
    } else {
      absl::StrAppend(&sql, " ON CONFLICT(node, dept, kind, day_a, day_b) DO UPDATE SET ",
                      absl::StrJoin(sets, ", "));
    }
    return conn.Execute(sql, params).status();
  };
  constexpr size_t kRowsPerStatement = 100;
  SqlParams params;
  size_t count = 0;
  for (const auto& [key, sums] : rows) {
    if (AllZero(sums)) continue;  // changes that cancel out (most columns of most writes)
    const auto& [node, dept, days] = key;
    params.insert(params.end(), {node, dept, KindOf(days), days.day_a, days.day_b});
    params.insert(params.end(), sums.begin(), sums.end());
    if (++count == kRowsPerStatement) {
      if (auto s = flush(count, params); !s.ok()) return s;
      params.clear();
      count = 0;
    }
  }
  return flush(count, params);
}

absl::StatusOr<bool> FigureTable::Current(SqlConnection& conn) const {
  auto rows = conn.Query("SELECT value FROM store_meta WHERE name = 'figures_utc_offset_minutes'");
  if (!rows.ok()) return rows.status();
  return !rows->empty() && rows->front().Int(0) == offset_;
}

absl::Status FigureTable::Rebuild(SqlConnection& conn) const {
  if (auto s = conn.Execute("DELETE FROM case_figures"); !s.ok()) return s.status();
  // Page through every case by id, adding each page's sums (the writes add up).
  std::string after;
  constexpr int64_t kPage = 2000;
  while (true) {
    auto ids = conn.Query("SELECT case_id FROM cases WHERE case_id > ? ORDER BY case_id LIMIT ?",
                          {after, kPage});
    if (!ids.ok()) return ids.status();
    if (ids->empty()) break;
    std::vector<std::string> page;
    for (const SqlRow& r : *ids) page.push_back(r.Str(0));
    after = page.back();
    auto facts = LoadFacts(conn, page, /*lock=*/false);
    if (!facts.ok()) return facts.status();
    if (auto s = AddAll(conn, *facts); !s.ok()) return s;
  }
  auto del = conn.Execute("DELETE FROM store_meta WHERE name = 'figures_utc_offset_minutes'");
  if (!del.ok()) return del.status();
  return conn
      .Execute("INSERT INTO store_meta (name, value) VALUES ('figures_utc_offset_minutes', ?)",
               {static_cast<int64_t>(offset_)})
      .status();
}

absl::StatusOr<std::map<std::string, FigureSums>> FigureTable::SumRows(
    SqlConnection& conn, const std::string& group, const std::string& where,
    const SqlParams& params, int64_t first_day, int64_t end_day) const {
  std::map<std::string, FigureSums> total;
  if (first_day >= end_day) return total;
  std::vector<std::string> sums;
  for (const char* c : kSumColumns) sums.push_back(absl::StrCat("SUM(", c, ")"));
  const std::string head = absl::StrCat("SELECT ", group, ", ", absl::StrJoin(sums, ", "),
                                        " FROM case_figures WHERE ", where, " AND kind = ?");
  auto add = [&](const std::string& days, SqlParams tail, int64_t kind) -> absl::Status {
    SqlParams all = params;
    all.push_back(kind);
    all.insert(all.end(), tail.begin(), tail.end());
    auto rows = conn.Query(absl::StrCat(head, days, " GROUP BY ", group), all);
    if (!rows.ok()) return rows.status();
    for (const SqlRow& r : *rows) {
      FigureSums& t = total[r.Str(0)];
      for (int i = 0; i < domain::kFigureColumns; ++i) t[i] += r.Int(i + 1);
    }
    return absl::OkStatus();
  };
  // Single terms: a in the range.
  if (auto s = add(" AND day_a >= ? AND day_a < ?", {first_day, end_day}, kSingle); !s.ok()) {
    return s;
  }
  // Pair terms: a in the range and b at or after its end. A short pair with b >= end has a
  // within kShortPairDays of the end.
  const int64_t short_from = std::max(first_day, end_day - domain::kShortPairDays);
  const std::string pair_days = " AND day_a >= ? AND day_a < ? AND day_b >= ?";
  if (auto s = add(pair_days, {short_from, end_day, end_day}, kShortPair); !s.ok()) return s;
  if (auto s = add(pair_days, {first_day, end_day, end_day}, kLongPair); !s.ok()) return s;
  return total;
}

absl::StatusOr<std::map<std::string, FigureSums>> FigureTable::SumGrouped(SqlConnection& conn,
                                                                          const std::string& column,
                                                                          int64_t first_day,
                                                                          int64_t end_day) const {
  // By node: every node, any department. By department: the platform's node "".
  if (column == "node")
    return SumRows(conn, "node", "dept = ?", {kAnyDepartment}, first_day, end_day);
  return SumRows(conn, "dept", "node = '' AND dept <> ?", {kAnyDepartment}, first_day, end_day);
}

absl::StatusOr<FigureSums> FigureTable::Sum(SqlConnection& conn, const std::string& node,
                                            const std::string& department_code, int64_t first_day,
                                            int64_t end_day) const {
  auto rows = SumRows(conn, "node", "node = ? AND dept = ?",
                      {node, department_code.empty() ? kAnyDepartment : department_code}, first_day,
                      end_day);
  if (!rows.ok()) return rows.status();
  return rows->empty() ? FigureSums{} : rows->begin()->second;
}

FigureFacts FigureTable::FactsFromRow(const SqlRow& r) {
  FigureFacts f;
  f.case_id = r.Str(0);
  f.state = static_cast<domain::CaseState>(r.Int(1));
  f.grid_path = r.Str(2);
  f.lead_department_code = r.Str(3);
  f.filed_time = r.Int(4);
  f.first_deadline_time = r.Int(5);
  f.deadline_time = r.Int(6);
  f.closed_time = r.Int(7);
  return f;
}

const char* FigureTable::FactColumns() { return kFactColumns; }

}  // namespace gridline::store
