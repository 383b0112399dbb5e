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

void FigureTable::Add(const FigureFacts& facts, const std::string& path, int sign,
                      Changes* changes) const {
  domain::FigureBuckets buckets;
  domain::AddFigureBuckets(facts, offset_, 1, &buckets);
  domain::OpenDeadlineKey open;
  const bool is_open = domain::OpenDeadlineKeyOf(facts, offset_, &open);
  // Each node keeps the sums per lead department and for any department ("*"), so that a query
  // without a department reads one row per day, not one per department and day.
  for (const std::string& node : domain::FigureNodes(path)) {
    for (const std::string* d : {&facts.lead_department_code, &kAnyDepartment}) {
      for (const auto& [key, sums] : buckets) {
        FigureSums& row = changes->sums[Key{node, *d, key}];
        for (int i = 0; i < domain::kFigureColumns; ++i) row[i] += sign * sums[i];
      }
      if (is_open) changes->open[OpenKey{node, *d, open}] += sign;
    }
  }
}

absl::Status FigureTable::Apply(SqlConnection& conn, const FigureFacts* before,
                                const FigureFacts* after) const {
  Changes changes;
  if (before) Add(*before, before->grid_path, -1, &changes);
  if (after) Add(*after, after->grid_path, 1, &changes);
  return Write(conn, changes);
}

absl::Status FigureTable::AddAll(SqlConnection& conn, const std::vector<FigureFacts>& cases) const {
  Changes changes;
  for (const FigureFacts& f : cases) Add(f, f.grid_path, 1, &changes);
  return Write(conn, changes);
}

absl::Status FigureTable::Move(
    SqlConnection& conn, const std::vector<std::pair<FigureFacts, std::string>>& moved) const {
  Changes changes;
  for (const auto& [f, new_path] : moved) {
    Add(f, f.grid_path, -1, &changes);
    Add(f, new_path, 1, &changes);
  }
  return Write(conn, changes);
}

absl::Status FigureTable::Upsert(SqlConnection& conn, const std::string& table,
                                 const std::vector<std::string>& keys,
                                 const std::vector<std::string>& sums,
                                 const std::vector<SqlParams>& rows) const {
  std::vector<std::string> cols = keys;
  cols.insert(cols.end(), sums.begin(), sums.end());
  std::vector<std::string> sets;
  for (const std::string& c : sums) {
    sets.push_back(dialect_ == Dialect::kMysql ? absl::StrCat(c, " = ", c, " + VALUES(", c, ")")
                                               : absl::StrCat(c, " = ", c, " + excluded.", c));
  }
  const std::string row_marks = absl::StrCat("(", Marks(cols.size()), ")");
  constexpr size_t kRowsPerStatement = 100;
  for (size_t from = 0; from < rows.size(); from += kRowsPerStatement) {
    const size_t n = std::min(kRowsPerStatement, rows.size() - from);
    SqlParams params;
    for (size_t i = from; i < from + n; ++i) {
      params.insert(params.end(), rows[i].begin(), rows[i].end());
    }
    std::vector<std::string> all(n, row_marks);
    std::string sql = absl::StrCat("INSERT INTO ", table, " (", absl::StrJoin(cols, ", "),
                                   ") VALUES ", absl::StrJoin(all, ", "));
    if (dialect_ == Dialect::kMysql) {
      absl::StrAppend(&sql, " ON DUPLICATE KEY UPDATE ", absl::StrJoin(sets, ", "));
    } else {
      absl::StrAppend(&sql, " ON CONFLICT(", absl::StrJoin(keys, ", "), ") DO UPDATE SET ",
                      absl::StrJoin(sets, ", "));
    }
    if (auto st = conn.Execute(sql, params); !st.ok()) return st.status();
  }
  return absl::OkStatus();
}

absl::Status FigureTable::Write(SqlConnection& conn, const Changes& changes) const {
  std::vector<SqlParams> rows;
  for (const auto& [key, sums] : changes.sums) {
    if (AllZero(sums)) continue;  // changes that cancel out (most columns of most writes)
    const auto& [node, dept, days] = key;
    SqlParams row = {node, dept, KindOf(days), days.day_a, days.day_b};
    row.insert(row.end(), sums.begin(), sums.end());
    rows.push_back(std::move(row));
  }
  if (auto s = Upsert(conn, "case_figures", {"node", "dept", "kind", "day_a", "day_b"},
                      {std::begin(kSumColumns), std::end(kSumColumns)}, rows);
      !s.ok()) {
    return s;
  }
  return WriteOpen(conn, changes.open);
}

absl::Status FigureTable::WriteOpen(SqlConnection& conn,
                                    const std::map<OpenKey, int64_t>& open) const {
  // Rows that reach 0 stay (a day's count may rise again); a rebuild drops them.
  std::vector<SqlParams> rows;
  for (const auto& [key, n] : open) {
    if (n == 0) continue;
    const auto& [node, dept, k] = key;
    rows.push_back({node, dept, k.deadline_day, k.first_day, int64_t{k.extended ? 1 : 0}, n});
  }
  return Upsert(conn, "case_open_deadlines", {"node", "dept", "day_d", "day_f", "extended"}, {"n"},
                rows);
}

namespace {
// The markers in store_meta that say which UTC offset the stored sums and counts were made with.
constexpr char kSumsMarker[] = "figures_utc_offset_minutes";
constexpr char kOpenMarker[] = "open_deadlines_utc_offset";

absl::StatusOr<bool> Marked(SqlConnection& conn, const char* marker, int64_t offset) {
  auto rows = conn.Query("SELECT value FROM store_meta WHERE name = ?", {std::string(marker)});
  if (!rows.ok()) return rows.status();
  return !rows->empty() && rows->front().Int(0) == offset;
}

absl::Status Mark(SqlConnection& conn, const char* marker, int64_t offset) {
  auto del = conn.Execute("DELETE FROM store_meta WHERE name = ?", {std::string(marker)});
  if (!del.ok()) return del.status();
  return conn
      .Execute("INSERT INTO store_meta (name, value) VALUES (?, ?)", {std::string(marker), offset})
      .status();
}
}  // namespace

absl::StatusOr<bool> FigureTable::Current(SqlConnection& conn) const {
  return Marked(conn, kSumsMarker, offset_);
}

absl::Status FigureTable::Rebuild(SqlConnection& conn) const {
  if (auto s = conn.Execute("DELETE FROM case_figures"); !s.ok()) return s.status();
  if (auto s = conn.Execute("DELETE FROM case_open_deadlines"); !s.ok()) return s.status();
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
  if (auto s = Mark(conn, kSumsMarker, offset_); !s.ok()) return s;
  return Mark(conn, kOpenMarker, offset_);
}

absl::StatusOr<bool> FigureTable::OpenCurrent(SqlConnection& conn) const {
  return Marked(conn, kOpenMarker, offset_);
}

absl::Status FigureTable::RebuildOpen(SqlConnection& conn) const {
  if (auto s = conn.Execute("DELETE FROM case_open_deadlines"); !s.ok()) return s.status();
  // The open cases only, from the index that covers the open overdue count.
  std::vector<std::string> states;
  for (int st = 0; st <= static_cast<int>(domain::CaseState::kMerged); ++st) {
    if (domain::IsOpenForFigures(static_cast<domain::CaseState>(st))) {
      states.push_back(std::to_string(st));
    }
  }
  auto rows = conn.Query(absl::StrCat("SELECT ", kFactColumns, " FROM cases WHERE state IN (",
                                      absl::StrJoin(states, ", "), ") AND deadline_time > 0"));
  if (!rows.ok()) return rows.status();
  std::map<OpenKey, int64_t> open;
  for (const SqlRow& r : *rows) {
    const FigureFacts f = FactsFromRow(r);
    domain::OpenDeadlineKey key;
    if (!domain::OpenDeadlineKeyOf(f, offset_, &key)) continue;
    for (const std::string& node : domain::FigureNodes(f.grid_path)) {
      for (const std::string* d : {&f.lead_department_code, &kAnyDepartment}) {
        open[OpenKey{node, *d, key}] += 1;
      }
    }
  }
  if (auto s = WriteOpen(conn, open); !s.ok()) return s;
  return Mark(conn, kOpenMarker, offset_);
}

absl::StatusOr<std::map<std::string, domain::OpenOverdueCounts>> FigureTable::SumOpenRows(
    SqlConnection& conn, const std::string& group, const std::string& where,
    const SqlParams& params, int64_t first_day, int64_t end_day, int64_t before_day) const {
  // domain::OpenOverdueOf over whole days: late when the first deadline's day is in the range
  // and the case is not postponed (extended, with its deadline's day at or after the end).
  SqlParams all = {first_day, end_day, end_day};
  all.insert(all.end(), params.begin(), params.end());
  all.push_back(before_day);
  auto rows =
      conn.Query(absl::StrCat("SELECT ", group,
                              ", SUM(n), SUM(CASE WHEN day_f >= ? AND day_f < ? AND (day_d < ? OR "
                              "extended = 0) THEN n ELSE 0 END) FROM case_open_deadlines WHERE ",
                              where, " AND day_d < ? GROUP BY ", group),
                 all);
  if (!rows.ok()) return rows.status();
  std::map<std::string, domain::OpenOverdueCounts> out;
  for (const SqlRow& r : *rows) out[r.Str(0)] = {r.Int(1), r.Int(2)};
  return out;
}

absl::StatusOr<domain::OpenOverdueCounts> FigureTable::SumOpen(SqlConnection& conn,
                                                               const std::string& node,
                                                               const std::string& department_code,
                                                               int64_t first_day, int64_t end_day,
                                                               int64_t before_day) const {
  auto rows = SumOpenRows(conn, "node", "node = ? AND dept = ?",
                          {node, department_code.empty() ? kAnyDepartment : department_code},
                          first_day, end_day, before_day);
  if (!rows.ok()) return rows.status();
  return rows->empty() ? domain::OpenOverdueCounts{} : rows->begin()->second;
}

absl::StatusOr<std::map<std::string, domain::OpenOverdueCounts>> FigureTable::SumOpenGrouped(
    SqlConnection& conn, const std::string& column, int64_t first_day, int64_t end_day,
    int64_t before_day) const {
  if (column == "node") {
    return SumOpenRows(conn, "node", "dept = ?", {kAnyDepartment}, first_day, end_day, before_day);
  }
  return SumOpenRows(conn, "dept", "node = '' AND dept <> ?", {kAnyDepartment}, first_day, end_day,
                     before_day);
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
