#include "server/store/accountability_sql.h"

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "server/domain/errors.h"
#include "server/util/sha256.h"

namespace gridline::store {
namespace {

using domain::AccountabilityCase;
using domain::AccountabilityRecord;
using domain::RecordStatus;

constexpr char kRecordColumns[] =
    "record_id, record_key, year, month, rule, unit_kind, unit_code, user_id, case_ids, weight, "
    "explanation, grid_path, department_code, status, dismiss_reason, dismissed_by, "
    "dismiss_time, compute_time, version";

int64_t MonthKey(int year, int month) { return int64_t{year} * 100 + month; }

std::string StoredKey(int year, int month, const AccountabilityRecord& r) {
  return absl::StrCat(MonthKey(year, month), "|", r.Key());
}

SqlParams Params(const AccountabilityRecord& r, const std::string& key) {
  return {r.record_id,
          key,
          int64_t{r.year},
          int64_t{r.month},
          static_cast<int64_t>(r.rule),
          static_cast<int64_t>(r.unit_kind),
          r.unit_code,
          r.user_id,
          absl::StrJoin(r.case_ids, ","),
          r.weight,
          r.explanation,
          r.grid_path,
          r.department_code,
          static_cast<int64_t>(r.status),
          r.dismiss_reason,
          r.dismissed_by_user_id,
          r.dismiss_time,
          r.compute_time,
          r.version};
}

AccountabilityRecord RowToRecord(const SqlRow& row) {
  AccountabilityRecord r;
  r.record_id = row.Str(0);
  r.year = static_cast<int>(row.Int(2));
  r.month = static_cast<int>(row.Int(3));
  r.rule = static_cast<domain::AccountabilityRule>(row.Int(4));
  r.unit_kind = static_cast<domain::AccountabilityUnitKind>(row.Int(5));
  r.unit_code = row.Str(6);
  r.user_id = row.Str(7);
  r.case_ids = absl::StrSplit(row.Str(8), ',', absl::SkipEmpty());
  r.weight = row.Double(9);
  r.explanation = row.Str(10);
  r.grid_path = row.Str(11);
  r.department_code = row.Str(12);
  r.status = static_cast<RecordStatus>(row.Int(13));
  r.dismiss_reason = row.Str(14);
  r.dismissed_by_user_id = row.Str(15);
  r.dismiss_time = row.Int(16);
  r.compute_time = row.Int(17);
  r.version = row.Int(18);
  return r;
}

}  // namespace

absl::StatusOr<std::vector<AccountabilityCase>> AccountabilityTables::LoadCases(
    SqlConnection& conn, domain::Micros created_from, domain::Micros start,
    domain::Micros end) const {
  // The three ways a case matters, as one query: created in the window; or filed with a
  // deadline before the end and open, or closed since the start.
  const std::string sql = absl::StrCat(
      "SELECT c.case_id, c.source, c.state, c.category_code, c.grid_code, c.grid_path, "
      "c.latitude, c.longitude, c.observe_time, c.create_time, c.lead_department_code, "
      "c.deadline_time, c.closed_time, "
      "(SELECT MIN(e.event_time) FROM case_events e WHERE e.case_id = c.case_id AND e.type IN "
      "(?, ?, ?)) FROM cases c WHERE (c.create_time >= ? AND c.create_time < ?) OR "
      "(c.deadline_time > 0 AND c.deadline_time < ? AND (c.state NOT IN (?, ?, ?) OR "
      "c.closed_time >= ?))");
  auto rows =
      conn.Query(sql, {static_cast<int64_t>(domain::EventType::kAcceptedForFiling),
                       static_cast<int64_t>(domain::EventType::kRejectedInvalid),
                       static_cast<int64_t>(domain::EventType::kMarkedDuplicate), created_from, end,
                       end, static_cast<int64_t>(domain::CaseState::kClosed),
                       static_cast<int64_t>(domain::CaseState::kRejected),
                       static_cast<int64_t>(domain::CaseState::kMerged), start});
  if (!rows.ok()) return rows.status();
  std::vector<AccountabilityCase> out;
  out.reserve(rows->size());
  for (const auto& r : *rows) {
    AccountabilityCase c;
    c.case_id = r.Str(0);
    c.source = static_cast<domain::CaseSource>(r.Int(1));
    c.state = static_cast<domain::CaseState>(r.Int(2));
    c.category_code = r.Str(3);
    c.grid_code = r.Str(4);
    c.grid_path = r.Str(5);
    c.latitude = r.Double(6);
    c.longitude = r.Double(7);
    c.has_coordinates = c.latitude != 0 || c.longitude != 0;
    c.observe_time = r.Int(8);
    c.create_time = r.Int(9);
    c.lead_department_code = r.Str(10);
    c.deadline_time = r.Int(11);
    c.closed_time = r.Int(12);
    c.triage_end_time = r.IsNull(13) ? 0 : r.Int(13);
    out.push_back(std::move(c));
  }
  return out;
}

absl::Status AccountabilityTables::Save(SqlConnection& conn, int year, int month,
                                        const std::vector<AccountabilityRecord>& records,
                                        domain::Micros compute_time) const {
  auto existing =
      conn.Query(absl::StrCat("SELECT ", kRecordColumns,
                              " FROM accountability_records WHERE year = ? AND month = ?"),
                 {int64_t{year}, int64_t{month}});
  if (!existing.ok()) return existing.status();
  std::map<std::string, AccountabilityRecord> stored;
  for (const auto& row : *existing) stored.emplace(row.Str(1), RowToRecord(row));
  std::set<std::string> seen;
  const std::vector<std::string> cols = absl::StrSplit(kRecordColumns, ", ");
  std::vector<std::string> sets;
  for (size_t i = 2; i < cols.size(); ++i) sets.push_back(cols[i] + " = ?");
  const std::string update = absl::StrCat("UPDATE accountability_records SET ",
                                          absl::StrJoin(sets, ", "), " WHERE record_id = ?");
  const std::string insert = absl::StrCat("INSERT INTO accountability_records (", kRecordColumns,
                                          ") VALUES (", Marks(cols.size()), ")");
  for (AccountabilityRecord r : records) {
    const std::string key = StoredKey(year, month, r);
    if (!seen.insert(key).second) continue;  // one record per key
    r.compute_time = compute_time;
    auto it = stored.find(key);
    if (it == stored.end()) {
      // Ids are derived from the key, so two replicas computing at once agree.
      r.record_id = absl::StrCat("a", util::Sha256Hex(key).substr(0, 24));
      r.status = RecordStatus::kActive;
      r.version = 1;
      auto st = conn.Execute(insert, Params(r, key));
      if (!st.ok()) {
        // Another replica computing the month at once inserted it first: run again.
        if (absl::IsAlreadyExists(st.status())) return domain::MarkRetryable(st.status());
        return st.status();
      }
      continue;
    }
    const AccountabilityRecord& old = it->second;
    r.record_id = old.record_id;
    r.status =
        old.status == RecordStatus::kDismissed ? RecordStatus::kDismissed : RecordStatus::kActive;
    r.dismiss_reason = old.dismiss_reason;
    r.dismissed_by_user_id = old.dismissed_by_user_id;
    r.dismiss_time = old.dismiss_time;
    r.version = old.version + 1;
    SqlParams p = Params(r, key);
    p.erase(p.begin(), p.begin() + 2);
    p.push_back(r.record_id);
    auto st = conn.Execute(update, p);
    if (!st.ok()) return st.status();
  }
  for (const auto& [key, old] : stored) {
    if (seen.count(key) || old.status != RecordStatus::kActive) continue;
    auto st = conn.Execute(
        "UPDATE accountability_records SET status = ?, compute_time = ?, version = version + 1 "
        "WHERE record_id = ?",
        {static_cast<int64_t>(RecordStatus::kWithdrawn), compute_time, old.record_id});
    if (!st.ok()) return st.status();
  }
  auto del =
      conn.Execute("DELETE FROM accountability_runs WHERE month_key = ?", {MonthKey(year, month)});
  if (!del.ok()) return del.status();
  auto run = conn.Execute("INSERT INTO accountability_runs (month_key, compute_time) VALUES (?, ?)",
                          {MonthKey(year, month), compute_time});
  return run.status();
}

absl::StatusOr<std::optional<domain::Micros>> AccountabilityTables::ComputeTime(SqlConnection& conn,
                                                                                int year,
                                                                                int month) const {
  auto rows = conn.Query("SELECT compute_time FROM accountability_runs WHERE month_key = ?",
                         {MonthKey(year, month)});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<domain::Micros>();
  return std::optional<domain::Micros>(rows->front().Int(0));
}

absl::StatusOr<std::vector<AccountabilityRecord>> AccountabilityTables::List(
    SqlConnection& conn, const AccountabilityQuery& q) const {
  std::string sql = absl::StrCat("SELECT ", kRecordColumns,
                                 " FROM accountability_records WHERE year = ? AND month = ?");
  SqlParams params = {int64_t{q.year}, int64_t{q.month}};
  if (!q.rules.empty()) {
    absl::StrAppend(&sql, " AND rule IN (", Marks(q.rules.size()), ")");
    for (auto r : q.rules) params.push_back(static_cast<int64_t>(r));
  }
  if (!q.unit_code.empty()) {
    sql += " AND unit_code = ?";
    params.push_back(q.unit_code);
  }
  if (!q.user_id.empty()) {
    sql += " AND user_id = ?";
    params.push_back(q.user_id);
  }
  if (!q.subtree_grid_path.empty()) {
    sql += " AND grid_path >= ? AND grid_path < ?";
    params.push_back(q.subtree_grid_path);
    params.push_back(PathRangeEnd(q.subtree_grid_path));
  }
  if (!q.department_code.empty()) {
    if (q.or_user_id.empty()) {
      sql += " AND department_code = ?";
      params.push_back(q.department_code);
    } else {
      sql += " AND (department_code = ? OR user_id = ?)";
      params.push_back(q.department_code);
      params.push_back(q.or_user_id);
    }
  }
  if (!q.include_inactive) {
    sql += " AND status = ?";
    params.push_back(static_cast<int64_t>(RecordStatus::kActive));
  }
  if (!q.after_key.empty()) {
    sql += " AND record_key > ?";
    params.push_back(absl::StrCat(MonthKey(q.year, q.month), "|", q.after_key));
  }
  sql += " ORDER BY record_key LIMIT ?";
  params.push_back(static_cast<int64_t>(q.limit));
  auto rows = conn.Query(sql, params);
  if (!rows.ok()) return rows.status();
  std::vector<AccountabilityRecord> out;
  for (const auto& row : *rows) out.push_back(RowToRecord(row));
  return out;
}

absl::StatusOr<std::optional<AccountabilityRecord>> AccountabilityTables::Get(
    SqlConnection& conn, const std::string& id) const {
  auto rows = conn.Query(
      absl::StrCat("SELECT ", kRecordColumns, " FROM accountability_records WHERE record_id = ?"),
      {id});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<AccountabilityRecord>();
  return std::optional<AccountabilityRecord>(RowToRecord(rows->front()));
}

absl::StatusOr<AccountabilityRecord> AccountabilityTables::Dismiss(
    SqlConnection& conn, const std::string& id, int64_t expected_version, const std::string& reason,
    const std::string& by, domain::Micros time) const {
  auto n = conn.Execute(
      "UPDATE accountability_records SET status = ?, dismiss_reason = ?, dismissed_by = ?, "
      "dismiss_time = ?, version = version + 1 WHERE record_id = ? AND version = ? AND status = ?",
      {static_cast<int64_t>(RecordStatus::kDismissed), reason, by, time, id, expected_version,
       static_cast<int64_t>(RecordStatus::kActive)});
  if (!n.ok()) return n.status();
  if (*n != 1) return absl::AbortedError("the record changed meanwhile");
  auto r = Get(conn, id);
  if (!r.ok()) return r.status();
  if (!r->has_value()) return absl::NotFoundError("record not found");
  return **r;
}

}  // namespace gridline::store
