#include "server/store/supervision_sql.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace gridline::store {
namespace {

using domain::SupervisionOrder;

constexpr char kOrderColumns[] =
    "order_id, case_id, issued_by, issued_by_role, request_id, request_digest, reason, "
    "issue_time, respond_by_time, lead_department_code, holder_grid_code, grid_path, state, "
    "acknowledge_time, acknowledged_by, answer_time, answered_by, answer, escalation_count, "
    "next_escalation_time, version, update_time";

SqlParams Params(const SupervisionOrder& o) {
  return {o.order_id,
          o.case_id,
          o.issued_by_user_id,
          static_cast<int64_t>(o.issued_by_role),
          o.request_id,
          o.request_digest,
          o.reason,
          o.issue_time,
          o.respond_by_time,
          o.lead_department_code,
          o.holder_grid_code,
          o.grid_path,
          static_cast<int64_t>(o.state),
          o.acknowledge_time,
          o.acknowledged_by_user_id,
          o.answer_time,
          o.answered_by_user_id,
          o.answer,
          static_cast<int64_t>(o.escalation_count),
          o.next_escalation_time,
          o.version,
          o.update_time};
}

SupervisionOrder RowToOrder(const SqlRow& r) {
  SupervisionOrder o;
  o.order_id = r.Str(0);
  o.case_id = r.Str(1);
  o.issued_by_user_id = r.Str(2);
  o.issued_by_role = static_cast<domain::Role>(r.Int(3));
  o.request_id = r.Str(4);
  o.request_digest = r.Str(5);
  o.reason = r.Str(6);
  o.issue_time = r.Int(7);
  o.respond_by_time = r.Int(8);
  o.lead_department_code = r.Str(9);
  o.holder_grid_code = r.Str(10);
  o.grid_path = r.Str(11);
  o.state = static_cast<domain::SupervisionState>(r.Int(12));
  o.acknowledge_time = r.Int(13);
  o.acknowledged_by_user_id = r.Str(14);
  o.answer_time = r.Int(15);
  o.answered_by_user_id = r.Str(16);
  o.answer = r.Str(17);
  o.escalation_count = static_cast<int>(r.Int(18));
  o.next_escalation_time = r.Int(19);
  o.version = r.Int(20);
  o.update_time = r.Int(21);
  return o;
}

std::string Select(const std::string& where) {
  return absl::StrCat("SELECT ", kOrderColumns, " FROM supervision_orders ", where);
}

absl::StatusOr<std::vector<SupervisionOrder>> Rows(SqlConnection& conn, const std::string& sql,
                                                   const SqlParams& params) {
  auto rows = conn.Query(sql, params);
  if (!rows.ok()) return rows.status();
  std::vector<SupervisionOrder> out;
  for (const auto& r : *rows) out.push_back(RowToOrder(r));
  return out;
}

absl::StatusOr<std::optional<SupervisionOrder>> One(SqlConnection& conn, const std::string& sql,
                                                    const SqlParams& params) {
  auto rows = Rows(conn, sql, params);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<SupervisionOrder>();
  return std::optional<SupervisionOrder>(rows->front());
}

}  // namespace

absl::Status SupervisionTables::Write(SqlConnection& conn, const SupervisionWrite& w) const {
  SupervisionOrder o = w.order;
  o.version = w.expected_version + 1;
  const std::vector<std::string> cols = absl::StrSplit(kOrderColumns, ", ");
  if (w.expected_version == 0) {
    std::vector<std::string> marks(cols.size(), "?");
    auto ins = conn.Execute(absl::StrCat("INSERT INTO supervision_orders (", kOrderColumns,
                                         ") VALUES (", absl::StrJoin(marks, ", "), ")"),
                            Params(o));
    if (!ins.ok() && absl::IsAlreadyExists(ins.status())) {
      // A concurrent retry of the same issue won the key: run again to find it.
      return domain::MarkRetryable(ins.status());
    }
    return ins.status();
  }
  std::vector<std::string> sets;
  for (size_t i = 1; i < cols.size(); ++i) sets.push_back(cols[i] + " = ?");
  SqlParams params = Params(o);
  params.erase(params.begin());
  params.push_back(o.order_id);
  params.push_back(w.expected_version);
  auto n = conn.Execute(absl::StrCat("UPDATE supervision_orders SET ", absl::StrJoin(sets, ", "),
                                     " WHERE order_id = ? AND version = ?"),
                        params);
  if (!n.ok()) return n.status();
  if (*n != 1) return absl::AbortedError("the supervision order changed meanwhile");
  return absl::OkStatus();
}

absl::StatusOr<std::optional<SupervisionOrder>> SupervisionTables::Get(
    SqlConnection& conn, const std::string& order_id) const {
  return One(conn, Select("WHERE order_id = ?"), {order_id});
}

absl::StatusOr<std::optional<SupervisionOrder>> SupervisionTables::Find(
    SqlConnection& conn, const std::string& issuer, const std::string& request_id) const {
  return One(conn, Select("WHERE issued_by = ? AND request_id = ?"), {issuer, request_id});
}

absl::StatusOr<std::vector<SupervisionOrder>> SupervisionTables::List(
    SqlConnection& conn, const SupervisionQuery& q) const {
  std::string where = "WHERE 1 = 1";
  SqlParams params;
  if (!q.case_id.empty()) {
    where += " AND case_id = ?";
    params.push_back(q.case_id);
  }
  if (!q.subtree_grid_path.empty()) {
    where += " AND grid_path >= ? AND grid_path < ?";
    params.push_back(q.subtree_grid_path);
    params.push_back(PathRangeEnd(q.subtree_grid_path));
  }
  if (!q.lead_department_code.empty()) {
    where += " AND lead_department_code = ?";
    params.push_back(q.lead_department_code);
  }
  if (!q.states.empty()) {
    std::vector<std::string> marks;
    for (auto s : q.states) {
      marks.push_back("?");
      params.push_back(static_cast<int64_t>(s));
    }
    absl::StrAppend(&where, " AND state IN (", absl::StrJoin(marks, ", "), ")");
  }
  if (q.has_after) {
    where += " AND (issue_time < ? OR (issue_time = ? AND order_id < ?))";
    params.insert(params.end(), {q.after_issue_time, q.after_issue_time, q.after_id});
  }
  where += " ORDER BY issue_time DESC, order_id DESC LIMIT ?";
  params.push_back(static_cast<int64_t>(q.limit));
  return Rows(conn, Select(where), params);
}

absl::StatusOr<std::vector<SupervisionOrder>> SupervisionTables::Due(SqlConnection& conn,
                                                                     domain::Micros now,
                                                                     int limit) const {
  // Open cases: DISPATCHED, IN_PROGRESS, RETURNED (the states an order may be issued in) and
  // PENDING_TRIAGE and RESOLVED (on the way back or forth); not CLOSED, REJECTED or MERGED.
  const std::vector<std::string> cols = absl::StrSplit(kOrderColumns, ", ");
  const std::string sql = absl::StrCat(
      "SELECT o.", absl::StrJoin(cols, ", o."),
      " FROM supervision_orders o JOIN cases c ON c.case_id = o.case_id "
      "WHERE o.state IN (?, ?) AND o.next_escalation_time > 0 AND o.next_escalation_time <= ? "
      "AND c.state NOT IN (?, ?, ?) ORDER BY o.next_escalation_time, o.order_id LIMIT ?");
  return Rows(conn, sql,
              {static_cast<int64_t>(domain::SupervisionState::kOpen),
               static_cast<int64_t>(domain::SupervisionState::kAcknowledged), now,
               static_cast<int64_t>(domain::CaseState::kClosed),
               static_cast<int64_t>(domain::CaseState::kRejected),
               static_cast<int64_t>(domain::CaseState::kMerged), static_cast<int64_t>(limit)});
}

absl::StatusOr<domain::SupervisionCounts> SupervisionTables::Count(
    SqlConnection& conn, const std::string& grid_path, const std::string& department_code,
    domain::Micros start, domain::Micros end) const {
  std::string sql =
      absl::StrCat("SELECT COUNT(*), SUM(CASE WHEN state = ",
                   static_cast<int>(domain::SupervisionState::kAnswered),
                   " AND answer_time <= respond_by_time THEN 1 ELSE 0 END), "
                   "SUM(CASE WHEN escalation_count > 0 THEN 1 ELSE 0 END) FROM supervision_orders "
                   "WHERE issue_time >= ? AND issue_time < ?");
  SqlParams params = {start, end};
  if (!grid_path.empty()) {
    sql += " AND grid_path >= ? AND grid_path < ?";
    params.push_back(grid_path);
    params.push_back(PathRangeEnd(grid_path));
  }
  if (!department_code.empty()) {
    sql += " AND lead_department_code = ?";
    params.push_back(department_code);
  }
  auto rows = conn.Query(sql, params);
  if (!rows.ok()) return rows.status();
  domain::SupervisionCounts out;
  if (!rows->empty()) {
    const SqlRow& r = rows->front();
    out.received = r.Int(0);
    out.answered_on_time = r.IsNull(1) ? 0 : r.Int(1);
    out.escalated = r.IsNull(2) ? 0 : r.Int(2);
  }
  return out;
}

absl::Status SupervisionTables::MoveGrid(SqlConnection& conn, const std::string& code,
                                         const std::string& path) const {
  auto n = conn.Execute(
      "UPDATE supervision_orders SET grid_path = ? WHERE case_id IN "
      "(SELECT case_id FROM cases WHERE grid_code = ?)",
      {path, code});
  return n.status();
}

}  // namespace gridline::store
