#include "server/store/patrol_sql.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "server/domain/figures.h"

namespace gridline::store {
namespace {

using domain::Patrol;
using domain::TrackPoint;
using domain::Visit;

constexpr char kPatrolColumns[] =
    "patrol_id, user_id, role, department_code, grid_code, grid_path, state, start_time, "
    "end_time, point_count, length_metres, has_last, last_time, last_latitude, last_longitude, "
    "visit_count, report_count, last_visit_time, version, create_time, update_time";

constexpr char kVisitColumns[] =
    "visit_id, patrol_id, user_id, grid_code, grid_path, kind, subject, note, has_position, "
    "latitude, longitude, visit_time, attachment_ids, request_digest, create_time";

// Points go in several rows per INSERT, this many at most.
constexpr size_t kPointsPerInsert = 200;

SqlParams PatrolParams(const Patrol& p) {
  const TrackPoint last = p.last_point.value_or(TrackPoint{});
  return {p.patrol_id,
          p.user_id,
          static_cast<int64_t>(p.role),
          p.department_code,
          p.grid_code,
          p.grid_path,
          static_cast<int64_t>(p.state),
          p.start_time,
          p.end_time,
          p.point_count,
          p.length_metres,
          static_cast<int64_t>(p.last_point ? 1 : 0),
          last.time,
          last.latitude,
          last.longitude,
          p.visit_count,
          p.report_count,
          p.last_visit_time,
          p.version,
          p.create_time,
          p.update_time};
}

Patrol RowToPatrol(const SqlRow& r) {
  Patrol p;
  p.patrol_id = r.Str(0);
  p.user_id = r.Str(1);
  p.role = static_cast<domain::Role>(r.Int(2));
  p.department_code = r.Str(3);
  p.grid_code = r.Str(4);
  p.grid_path = r.Str(5);
  p.state = static_cast<domain::PatrolState>(r.Int(6));
  p.start_time = r.Int(7);
  p.end_time = r.Int(8);
  p.point_count = r.Int(9);
  p.length_metres = r.Double(10);
  if (r.Int(11) != 0) p.last_point = TrackPoint{r.Int(12), r.Double(13), r.Double(14)};
  p.visit_count = r.Int(15);
  p.report_count = r.Int(16);
  p.last_visit_time = r.Int(17);
  p.version = r.Int(18);
  p.create_time = r.Int(19);
  p.update_time = r.Int(20);
  return p;
}

SqlParams VisitParams(const Visit& v) {
  return {v.visit_id,
          v.patrol_id,
          v.user_id,
          v.grid_code,
          v.grid_path,
          static_cast<int64_t>(v.kind),
          v.subject,
          v.note,
          static_cast<int64_t>(v.has_position ? 1 : 0),
          v.latitude,
          v.longitude,
          v.visit_time,
          absl::StrJoin(v.attachment_ids, ","),
          v.request_digest,
          v.create_time};
}

Visit RowToVisit(const SqlRow& r) {
  Visit v;
  v.visit_id = r.Str(0);
  v.patrol_id = r.Str(1);
  v.user_id = r.Str(2);
  v.grid_code = r.Str(3);
  v.grid_path = r.Str(4);
  v.kind = static_cast<domain::VisitKind>(r.Int(5));
  v.subject = r.Str(6);
  v.note = r.Str(7);
  v.has_position = r.Int(8) != 0;
  v.latitude = r.Double(9);
  v.longitude = r.Double(10);
  v.visit_time = r.Int(11);
  v.attachment_ids = absl::StrSplit(r.Str(12), ',', absl::SkipEmpty());
  v.request_digest = r.Str(13);
  v.create_time = r.Int(14);
  return v;
}

}  // namespace

absl::StatusOr<PatrolWriteResult> PatrolTables::Start(SqlConnection& conn, const Patrol& p) const {
  auto existing = Get(conn, p.patrol_id, /*lock=*/true);
  if (!existing.ok()) return existing.status();
  if (existing->has_value()) return PatrolWriteResult{**existing, false, ""};
  Patrol stored = p;
  stored.version = 1;
  static const std::string kInsert = InsertSql("patrols", kPatrolColumns);
  auto ins = conn.Execute(kInsert, PatrolParams(stored));
  if (!ins.ok()) {
    // A concurrent retry of the same start won the key: run again to read it.
    if (absl::IsAlreadyExists(ins.status())) return domain::MarkRetryable(ins.status());
    return ins.status();
  }
  return PatrolWriteResult{stored, true, ""};
}

absl::StatusOr<std::optional<Patrol>> PatrolTables::Get(SqlConnection& conn,
                                                        const std::string& patrol_id,
                                                        bool lock) const {
  const bool for_update = lock && dialect_ == Dialect::kMysql;
  auto rows =
      conn.Query(absl::StrCat("SELECT ", kPatrolColumns, " FROM patrols WHERE patrol_id = ?",
                              for_update ? " FOR UPDATE" : ""),
                 {patrol_id});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<Patrol>();
  return std::optional<Patrol>(RowToPatrol(rows->front()));
}

absl::StatusOr<std::optional<Visit>> PatrolTables::GetVisit(SqlConnection& conn,
                                                            const std::string& visit_id) const {
  auto rows = conn.Query(
      absl::StrCat("SELECT ", kVisitColumns, " FROM patrol_visits WHERE visit_id = ?"), {visit_id});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<Visit>();
  return std::optional<Visit>(RowToVisit(rows->front()));
}

absl::StatusOr<PatrolWriteResult> PatrolTables::Update(SqlConnection& conn,
                                                       const PatrolWrite& w) const {
  auto current = Get(conn, w.patrol.patrol_id, /*lock=*/true);
  if (!current.ok()) return current.status();
  if (!current->has_value()) return absl::NotFoundError("patrol not found");
  // A batch or visit stored already: a retry. Nothing is written, whatever the version.
  if (!w.batch_id.empty()) {
    auto rows = conn.Query("SELECT digest FROM patrol_batches WHERE patrol_id = ? AND batch_id = ?",
                           {w.patrol.patrol_id, w.batch_id});
    if (!rows.ok()) return rows.status();
    if (!rows->empty()) return PatrolWriteResult{**current, false, rows->front().Str(0)};
  }
  if (w.visit) {
    auto rows = conn.Query("SELECT request_digest FROM patrol_visits WHERE visit_id = ?",
                           {w.visit->visit_id});
    if (!rows.ok()) return rows.status();
    if (!rows->empty()) return PatrolWriteResult{**current, false, rows->front().Str(0)};
  }
  if ((*current)->version != w.expected_version) {
    return absl::AbortedError(absl::StrCat("the patrol is at version ", (*current)->version,
                                           ", not ", w.expected_version));
  }
  Patrol next = w.patrol;
  next.version = w.expected_version + 1;
  // report_count is kept by CountReport alone: a write never sets it from a stale read.
  next.report_count = (*current)->report_count;
  static const std::string kUpdate = [] {
    std::vector<std::string> cols = absl::StrSplit(kPatrolColumns, ", ");
    std::vector<std::string> sets;
    for (size_t i = 1; i < cols.size(); ++i) sets.push_back(cols[i] + " = ?");
    return absl::StrCat("UPDATE patrols SET ", absl::StrJoin(sets, ", "),
                        " WHERE patrol_id = ? AND version = ?");
  }();
  SqlParams params = PatrolParams(next);
  params.erase(params.begin());
  params.push_back(next.patrol_id);
  params.push_back(w.expected_version);
  auto n = conn.Execute(kUpdate, params);
  if (!n.ok()) return n.status();
  if (*n != 1) return absl::AbortedError("the patrol changed meanwhile");
  if (!w.batch_id.empty()) {
    auto ins = conn.Execute(
        InsertSql("patrol_batches", "patrol_id, batch_id, digest, point_count, create_time"),
        {next.patrol_id, w.batch_id, w.batch_digest, static_cast<int64_t>(w.points.size()),
         next.update_time});
    if (!ins.ok()) return ins.status();
    // Points are numbered on from those stored: 1 is the patrol's first.
    int64_t seq = next.point_count - static_cast<int64_t>(w.points.size());
    for (size_t from = 0; from < w.points.size(); from += kPointsPerInsert) {
      const size_t to = std::min(w.points.size(), from + kPointsPerInsert);
      SqlParams rows;
      for (size_t i = from; i < to; ++i) {
        const TrackPoint& p = w.points[i];
        rows.insert(rows.end(), {next.patrol_id, ++seq, p.time, p.latitude, p.longitude});
      }
      auto pts = conn.Execute(
          InsertSql("patrol_points", "patrol_id, seq, point_time, latitude, longitude", to - from),
          rows);
      if (!pts.ok()) return pts.status();
    }
  }
  if (w.visit) {
    static const std::string kInsertVisit = InsertSql("patrol_visits", kVisitColumns);
    auto ins = conn.Execute(kInsertVisit, VisitParams(*w.visit));
    if (!ins.ok()) {
      if (absl::IsAlreadyExists(ins.status())) return domain::MarkRetryable(ins.status());
      return ins.status();
    }
  }
  return PatrolWriteResult{next, true, ""};
}

std::string PatrolTables::DaySql() const {
  return absl::StrCat("(start_time + ", int64_t{offset_} * 60 * 1000000, ")",
                      dialect_ == Dialect::kMysql ? " DIV " : " / ", int64_t{86400} * 1000000);
}

std::string PatrolTables::ScopeSql(const PatrolQuery& q, SqlParams& params) const {
  std::string sql;
  if (!q.subtree_grid_path.empty()) {
    sql += " AND grid_path >= ? AND grid_path < ?";
    params.push_back(q.subtree_grid_path);
    params.push_back(PathRangeEnd(q.subtree_grid_path));
  }
  if (!q.user_id.empty()) {
    sql += " AND user_id = ?";
    params.push_back(q.user_id);
  }
  if (!q.department_code.empty()) {
    sql += " AND department_code = ?";
    params.push_back(q.department_code);
  }
  if (q.role != domain::Role::kUnspecified) {
    sql += " AND role = ?";
    params.push_back(static_cast<int64_t>(q.role));
  }
  return sql;
}

absl::StatusOr<std::vector<Patrol>> PatrolTables::List(SqlConnection& conn,
                                                       const PatrolQuery& q) const {
  SqlParams params;
  std::string sql = absl::StrCat("SELECT ", kPatrolColumns, " FROM patrols WHERE 1 = 1");
  sql += ScopeSql(q, params);
  if (!q.states.empty()) {
    std::vector<std::string> marks;
    for (auto s : q.states) {
      marks.push_back("?");
      params.push_back(static_cast<int64_t>(s));
    }
    absl::StrAppend(&sql, " AND state IN (", absl::StrJoin(marks, ", "), ")");
  }
  if (q.start_from != 0) {
    sql += " AND start_time >= ?";
    params.push_back(q.start_from);
  }
  if (q.start_to != 0) {
    sql += " AND start_time < ?";
    params.push_back(q.start_to);
  }
  if (q.has_after) {
    sql += " AND (start_time < ? OR (start_time = ? AND patrol_id < ?))";
    params.insert(params.end(), {q.after_start_time, q.after_start_time, q.after_id});
  }
  sql += " ORDER BY start_time DESC, patrol_id DESC LIMIT ?";
  params.push_back(static_cast<int64_t>(q.limit));
  auto rows = conn.Query(sql, params);
  if (!rows.ok()) return rows.status();
  std::vector<Patrol> out;
  for (const auto& r : *rows) out.push_back(RowToPatrol(r));
  return out;
}

absl::StatusOr<std::vector<TrackPoint>> PatrolTables::ListTrack(SqlConnection& conn,
                                                                const std::string& patrol_id,
                                                                int64_t after, int limit) const {
  auto rows = conn.Query(
      "SELECT point_time, latitude, longitude FROM patrol_points WHERE patrol_id = ? AND seq > ? "
      "ORDER BY seq LIMIT ?",
      {patrol_id, after, static_cast<int64_t>(limit)});
  if (!rows.ok()) return rows.status();
  std::vector<TrackPoint> out;
  for (const auto& r : *rows) out.push_back({r.Int(0), r.Double(1), r.Double(2)});
  return out;
}

absl::StatusOr<std::vector<Visit>> PatrolTables::ListVisits(SqlConnection& conn,
                                                            const std::string& patrol_id,
                                                            bool has_after, int64_t after_time,
                                                            const std::string& after_id,
                                                            int limit) const {
  SqlParams params = {patrol_id};
  std::string sql =
      absl::StrCat("SELECT ", kVisitColumns, " FROM patrol_visits WHERE patrol_id = ?");
  if (has_after) {
    sql += " AND (visit_time > ? OR (visit_time = ? AND visit_id > ?))";
    params.insert(params.end(), {after_time, after_time, after_id});
  }
  sql += " ORDER BY visit_time, visit_id LIMIT ?";
  params.push_back(static_cast<int64_t>(limit));
  auto rows = conn.Query(sql, params);
  if (!rows.ok()) return rows.status();
  std::vector<Visit> out;
  for (const auto& r : *rows) out.push_back(RowToVisit(r));
  return out;
}

absl::StatusOr<std::vector<domain::PatrolFigures>> PatrolTables::Sum(SqlConnection& conn,
                                                                     const PatrolQuery& q,
                                                                     domain::Micros start,
                                                                     domain::Micros end) const {
  const std::string day = DaySql();
  SqlParams params = {start, end};
  std::string sql = absl::StrCat(
      "SELECT grid_code, user_id, COUNT(*), "
      "SUM(CASE WHEN state = ",
      static_cast<int>(domain::PatrolState::kEnded),
      " THEN end_time - start_time WHEN has_last = 1 AND last_time > start_time "
      "THEN last_time - start_time ELSE 0 END), SUM(length_metres), COUNT(DISTINCT ",
      day,
      "), SUM(visit_count), SUM(report_count) FROM patrols "
      "WHERE start_time >= ? AND start_time < ?");
  sql += ScopeSql(q, params);
  sql += " GROUP BY grid_code, user_id ORDER BY grid_code, user_id";
  auto rows = conn.Query(sql, params);
  if (!rows.ok()) return rows.status();
  std::vector<domain::PatrolFigures> out;
  for (const auto& r : *rows) {
    domain::PatrolFigures f;
    f.grid_code = r.Str(0);
    f.user_id = r.Str(1);
    f.patrol_count = r.Int(2);
    f.duration = r.Int(3);
    f.length_metres = r.Double(4);
    f.patrol_days = r.Int(5);
    f.visit_count = r.Int(6);
    f.report_count = r.Int(7);
    out.push_back(std::move(f));
  }
  return out;
}

absl::StatusOr<int64_t> PatrolTables::CountDays(SqlConnection& conn, const PatrolQuery& q,
                                                domain::Micros start, domain::Micros end) const {
  const std::string day = DaySql();
  SqlParams params = {start, end};
  std::string sql = absl::StrCat("SELECT COUNT(*) FROM (SELECT DISTINCT user_id, ", day,
                                 " AS d FROM patrols WHERE start_time >= ? AND start_time < ?");
  sql += ScopeSql(q, params);
  sql += ") t";
  auto rows = conn.Query(sql, params);
  if (!rows.ok()) return rows.status();
  return rows->empty() ? 0 : rows->front().Int(0);
}

absl::Status PatrolTables::CountReport(SqlConnection& conn, const std::string& patrol_id) const {
  auto n = conn.Execute("UPDATE patrols SET report_count = report_count + 1 WHERE patrol_id = ?",
                        {patrol_id});
  return n.status();
}

absl::Status PatrolTables::MoveGrid(SqlConnection& conn, const std::string& code,
                                    const std::string& path) const {
  for (const char* table : {"patrols", "patrol_visits"}) {
    auto n = conn.Execute(absl::StrCat("UPDATE ", table, " SET grid_path = ? WHERE grid_code = ?"),
                          {path, code});
    if (!n.ok()) return n.status();
  }
  return absl::OkStatus();
}

}  // namespace gridline::store
