// All of gridline's SQL, written once for both backends. Dialect differences are confined to
// table options, upserts and index creation.
//
// The event log. Every transaction that appends events takes the next numbers from the single
// `event_sequence` row as its last step before COMMIT. The row lock (MySQL) or the database
// write lock (SQLite) is held until the commit, so sequence numbers commit in order and without
// gaps: a reader that has seen seq N will never later find a smaller one. This avoids the
// AUTO_INCREMENT trap, where ids are handed out at INSERT time and a transaction that commits late
// makes an "id > cursor" reader skip its row.
#include <algorithm>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "server/domain/errors.h"
#include "server/store/accountability_sql.h"
#include "server/store/figures_sql.h"
#include "server/store/mysql_driver.h"
#include "server/store/org_snapshot.h"
#include "server/store/patrol_sql.h"
#include "server/store/sql.h"
#include "server/store/store.h"
#include "server/store/supervision_sql.h"
#include "server/util/clock.h"
#include "server/util/log.h"
#include "server/util/metrics.h"
#include "server/util/sha256.h"

namespace gridline::store {
namespace {

using domain::Case;
using domain::CaseEvent;

struct Migration {
  int version;
  std::vector<std::string> statements;  // {OPTS} becomes the MySQL table options
  // table, index name, columns, unique
  std::vector<std::tuple<std::string, std::string, std::string, bool>> indexes;
  // table, column, definition: added when missing (MySQL DDL is not transactional, so a
  // migration interrupted half-way must be able to run again)
  std::vector<std::tuple<std::string, std::string, std::string>> columns = {};
  // Run after the columns are added (and again if the migration is run again: idempotent).
  std::vector<std::string> backfill = {};
};

const std::vector<Migration>& Migrations() {
  static const auto* migrations = new std::vector<Migration>{
      {1,
       {
           "CREATE TABLE IF NOT EXISTS grids (code VARCHAR(64) NOT NULL PRIMARY KEY, "
           "name VARCHAR(200) NOT NULL, level INTEGER NOT NULL, parent_code VARCHAR(64) NOT NULL, "
           "path VARCHAR(400) NOT NULL){OPTS}",
           "CREATE TABLE IF NOT EXISTS departments (code VARCHAR(64) NOT NULL PRIMARY KEY, "
           "name VARCHAR(200) NOT NULL, parent_code VARCHAR(64) NOT NULL, "
           "grid_code VARCHAR(64) NOT NULL){OPTS}",
           "CREATE TABLE IF NOT EXISTS categories (code VARCHAR(64) NOT NULL PRIMARY KEY, "
           "name VARCHAR(200) NOT NULL, kind INTEGER NOT NULL, normal_hours INTEGER NOT NULL, "
           "urgent_hours INTEGER NOT NULL, emergency_hours INTEGER NOT NULL, "
           "auto_accept INTEGER NOT NULL){OPTS}",
           "CREATE TABLE IF NOT EXISTS routing_rules (rule_id VARCHAR(64) NOT NULL PRIMARY KEY, "
           "category_code VARCHAR(64) NOT NULL, grid_code VARCHAR(64) NOT NULL, "
           "lead_department_code VARCHAR(64) NOT NULL, assisting VARCHAR(1000) NOT NULL){OPTS}",
           "CREATE TABLE IF NOT EXISTS users (user_id VARCHAR(64) NOT NULL PRIMARY KEY, "
           "display_name VARCHAR(200) NOT NULL, role INTEGER NOT NULL, "
           "grid_code VARCHAR(64) NOT NULL, department_code VARCHAR(64) NOT NULL, "
           "disabled INTEGER NOT NULL){OPTS}",
           "CREATE TABLE IF NOT EXISTS tokens (token_hash CHAR(64) NOT NULL PRIMARY KEY, "
           "user_id VARCHAR(64) NOT NULL, label VARCHAR(200) NOT NULL, "
           "create_time BIGINT NOT NULL, revoked INTEGER NOT NULL){OPTS}",
           "CREATE TABLE IF NOT EXISTS cases (case_id VARCHAR(40) NOT NULL PRIMARY KEY, "
           "case_number VARCHAR(64) NOT NULL, state INTEGER NOT NULL, "
           "category_code VARCHAR(64) NOT NULL, description TEXT NOT NULL, "
           "grid_code VARCHAR(64) NOT NULL, grid_path VARCHAR(400) NOT NULL, "
           "latitude DOUBLE NOT NULL, longitude DOUBLE NOT NULL, address TEXT NOT NULL, "
           "observe_time BIGINT NOT NULL, urgency INTEGER NOT NULL, "
           "reporter_user_id VARCHAR(64) NOT NULL, before_photos TEXT NOT NULL, "
           "after_photos TEXT NOT NULL, lead_department_code VARCHAR(64) NOT NULL, "
           "assisting TEXT NOT NULL, deadline_time BIGINT NOT NULL, "
           "rework_count INTEGER NOT NULL, duplicate_of VARCHAR(40) NOT NULL, "
           "resolution_note TEXT NOT NULL, create_time BIGINT NOT NULL, "
           "update_time BIGINT NOT NULL, version BIGINT NOT NULL, "
           "request_id VARCHAR(64) NOT NULL, request_digest CHAR(64) NOT NULL){OPTS}",
           "CREATE TABLE IF NOT EXISTS case_events (seq BIGINT NOT NULL PRIMARY KEY, "
           "case_id VARCHAR(40) NOT NULL, type INTEGER NOT NULL, from_state INTEGER NOT NULL, "
           "to_state INTEGER NOT NULL, actor_user_id VARCHAR(64) NOT NULL, "
           "actor_role INTEGER NOT NULL, event_time BIGINT NOT NULL, note TEXT NOT NULL, "
           "attachment_ids TEXT NOT NULL, category_code VARCHAR(64) NOT NULL, "
           "grid_code VARCHAR(64) NOT NULL, grid_path VARCHAR(400) NOT NULL, "
           "lead_department_code VARCHAR(64) NOT NULL, reporter_user_id VARCHAR(64) NOT NULL, "
           "case_version BIGINT NOT NULL){OPTS}",
           "CREATE TABLE IF NOT EXISTS event_sequence (id INTEGER NOT NULL PRIMARY KEY, "
           "last_seq BIGINT NOT NULL){OPTS}",
           "{INSERT_IGNORE} INTO event_sequence (id, last_seq) VALUES (1, 0)",
           "CREATE TABLE IF NOT EXISTS store_meta (name VARCHAR(64) NOT NULL PRIMARY KEY, "
           "value BIGINT NOT NULL){OPTS}",
           "{INSERT_IGNORE} INTO store_meta (name, value) VALUES ('pruned_through_seq', 0)",
           "CREATE TABLE IF NOT EXISTS attachments (attachment_id CHAR(64) NOT NULL PRIMARY KEY, "
           "content_type VARCHAR(64) NOT NULL, size_bytes BIGINT NOT NULL, "
           "create_time BIGINT NOT NULL){OPTS}",
       },
       {
           {"cases", "ux_cases_request", "reporter_user_id, request_id", true},
           {"cases", "ix_cases_grid_path", "grid_path", false},
           {"cases", "ix_cases_reporter", "reporter_user_id, create_time", false},
           {"case_events", "ix_events_case", "case_id, seq", false},
           {"case_events", "ix_events_time", "event_time", false},
           {"routing_rules", "ix_rules_category", "category_code", false},
       }},
      {2,
       {
           "CREATE TABLE IF NOT EXISTS extension_requests ("
           "extension_request_id VARCHAR(40) NOT NULL PRIMARY KEY, "
           "case_id VARCHAR(40) NOT NULL, department_code VARCHAR(64) NOT NULL, "
           "requested_by VARCHAR(64) NOT NULL, current_deadline BIGINT NOT NULL, "
           "requested_deadline BIGINT NOT NULL, reason TEXT NOT NULL, state INTEGER NOT NULL, "
           "decided_by VARCHAR(64) NOT NULL, decision_note TEXT NOT NULL, "
           "approved_deadline BIGINT NOT NULL, create_time BIGINT NOT NULL, "
           "decide_time BIGINT NOT NULL){OPTS}",
           "CREATE TABLE IF NOT EXISTS case_counters (prefix VARCHAR(64) NOT NULL PRIMARY KEY, "
           "last_value BIGINT NOT NULL){OPTS}",
           "CREATE TABLE IF NOT EXISTS audit_log (audit_entry_id VARCHAR(40) NOT NULL PRIMARY KEY, "
           "actor_user_id VARCHAR(64) NOT NULL, actor_token_id VARCHAR(64) NOT NULL, "
           "method VARCHAR(200) NOT NULL, resource_kind VARCHAR(32) NOT NULL, "
           "resource_id VARCHAR(64) NOT NULL, event_time BIGINT NOT NULL, "
           "status_code INTEGER NOT NULL, status_message TEXT NOT NULL, "
           "request_summary TEXT NOT NULL, peer VARCHAR(200) NOT NULL){OPTS}",
           "{INSERT_IGNORE} INTO store_meta (name, value) VALUES ('organisation_version', 0)",
       },
       {
           {"cases", "ix_cases_state", "state, state_time", false},
           {"cases", "ix_cases_lead", "lead_department_code, deadline_time", false},
           {"extension_requests", "ix_ext_case", "case_id, create_time", false},
           {"extension_requests", "ix_ext_state", "state, create_time", false},
           {"audit_log", "ix_audit_time", "event_time", false},
           {"tokens", "ux_tokens_id", "token_id", false},
           {"tokens", "ix_tokens_user", "user_id", false},
           {"attachments", "ix_attachments_orphans", "referenced, touch_time", false},
       },
       {
           {"cases", "state_time", "BIGINT NOT NULL DEFAULT 0"},
           {"cases", "returned_by_department", "VARCHAR(64) NOT NULL DEFAULT ''"},
           {"cases", "return_reason", "VARCHAR(2000) NOT NULL DEFAULT ''"},
           {"cases", "filed_time", "BIGINT NOT NULL DEFAULT 0"},
           {"cases", "first_deadline_time", "BIGINT NOT NULL DEFAULT 0"},
           {"cases", "closed_time", "BIGINT NOT NULL DEFAULT 0"},
           {"tokens", "token_id", "VARCHAR(64) NOT NULL DEFAULT ''"},
           {"tokens", "device_id", "VARCHAR(64) NOT NULL DEFAULT ''"},
           {"tokens", "last_used_time", "BIGINT NOT NULL DEFAULT 0"},
           {"tokens", "expire_time", "BIGINT NOT NULL DEFAULT 0"},
           {"tokens", "revoke_time", "BIGINT NOT NULL DEFAULT 0"},
           {"tokens", "issued_by", "VARCHAR(64) NOT NULL DEFAULT ''"},
           {"attachments", "uploaded_by", "VARCHAR(64) NOT NULL DEFAULT ''"},
           {"attachments", "referenced", "INTEGER NOT NULL DEFAULT 0"},
           // The last upload of the same bytes: an unused photo is cleaned up a grace period
           // after it, while create_time stays the first upload.
           {"attachments", "touch_time", "BIGINT NOT NULL DEFAULT 0"},
       }},
      {3,
       {},
       {},
       {
           // What the department streams need to know of each event.
           {"case_events", "assisting", "VARCHAR(1000) NOT NULL DEFAULT ''"},
           {"case_events", "previous_lead", "VARCHAR(64) NOT NULL DEFAULT ''"},
           {"cases", "warning_level", "INTEGER NOT NULL DEFAULT 0"},
       }},
      {4,
       {},
       {},
       {
           // Demo tokens (from an organisation file in demo mode) work only in demo mode.
           {"tokens", "demo", "INTEGER NOT NULL DEFAULT 0"},
       },
       {
           // Before this column, demo tokens were the ones stored with the label "demo" and no
           // issuing operator; tokens issued by an operator always name one.
           "UPDATE tokens SET demo = 1 WHERE label = 'demo' AND issued_by = ''",
       }},
      {5,
       {
           // The evaluation figures, pre-added per grid node, lead department and day(s)
           // (figures_sql.h). Filled from the cases when the store opens (FigureTable::Current).
           "CREATE TABLE IF NOT EXISTS case_figures (node VARCHAR(64) NOT NULL, "
           "kind INTEGER NOT NULL, day_a BIGINT NOT NULL, day_b BIGINT NOT NULL, "
           "dept VARCHAR(64) NOT NULL, n_found BIGINT NOT NULL, n_solved BIGINT NOT NULL, "
           "n_due BIGINT NOT NULL, n_postponed BIGINT NOT NULL, n_closed BIGINT NOT NULL, "
           "n_on_time BIGINT NOT NULL, n_late BIGINT NOT NULL, n_handled BIGINT NOT NULL, "
           "handling_micros BIGINT NOT NULL, n_resolved BIGINT NOT NULL, "
           "n_reworked BIGINT NOT NULL, PRIMARY KEY (node, dept, kind, day_a, day_b)){OPTS}",
       },
       {
           // Every node's sums over a range of days at once (the monthly ratings).
           {"case_figures", "ix_figures_days", "dept, kind, day_a", false},
           // The partial days at the ends of a figures query, and the open overdue cases.
           {"cases", "ix_cases_filed", "filed_time", false},
           {"cases", "ix_cases_first_deadline", "first_deadline_time", false},
           {"cases", "ix_cases_closed", "closed_time", false},
           {"cases", "ix_cases_state_deadline", "state, deadline_time", false},
           // Newest-first lists.
           {"cases", "ix_cases_created", "create_time, case_id, grid_path", false},
           {"case_events", "ix_events_type_time", "type, event_time", false},
       }},
      {6,
       {},
       {
           // Covers the count of open overdue cases (CountOpenOverdue): no row is read.
           {"cases", "ix_cases_open_overdue",
            "state, deadline_time, first_deadline_time, grid_path, lead_department_code", false},
       }},
      {7,
       {
           // The departments assisting each case, as rows an index serves ("cases assisted by
           // X"). cases.assisting keeps the ordered list the case shows; this table is what
           // queries by department use, and it is written in the same transaction.
           "CREATE TABLE IF NOT EXISTS case_assisting (department_code VARCHAR(64) NOT NULL, "
           "case_id VARCHAR(64) NOT NULL, PRIMARY KEY (department_code, case_id)){OPTS}",
       },
       {
           {"case_assisting", "ix_assisting_case", "case_id", false},
       },
       {},
       {
           // The cases written before this table (departments are never deleted).
           "{INSERT_IGNORE} INTO case_assisting (department_code, case_id) "
           "SELECT d.code, c.case_id FROM cases c JOIN departments d "
           "ON INSTR(c.assisting, {FENCED_DEPARTMENT_CODE}) > 0 WHERE c.assisting <> ''",
       }},
      {8,
       {
           // The open counted cases by the days of their deadline and first deadline
           // (domain::OpenDeadlineKey), per grid node and lead department like case_figures,
           // so that the open overdue figures add up days instead of reading every open case.
           // Filled from the open cases when the store opens (FigureTable::RebuildOpen).
           "CREATE TABLE IF NOT EXISTS case_open_deadlines (node VARCHAR(64) NOT NULL, "
           "dept VARCHAR(64) NOT NULL, day_d BIGINT NOT NULL, day_f BIGINT NOT NULL, "
           "extended INT NOT NULL, n BIGINT NOT NULL, "
           "PRIMARY KEY (node, dept, day_d, day_f, extended)){OPTS}",
       },
       {
           // Every node's counts at once (the monthly ratings).
           {"case_open_deadlines", "ix_open_deadlines_dept", "dept, day_d", false},
           // A grid without children (a grid leader's cell) lists its cases newest first from
           // one range of this index; "has it children?" is a lookup in the next.
           {"cases", "ix_cases_path_created", "grid_path, create_time, case_id", false},
           {"grids", "ix_grids_parent", "parent_code", false},
       }},
      {9,
       {},
       {},
       {
           // Where each case came from (domain::CaseSource); every case before was a grid
           // leader's report (1, HANDSET).
           {"cases", "source", "INTEGER NOT NULL DEFAULT 1"},
       }},
      {10,
       {
           // Patrols (巡查) with their track summed up; the points in batches; the visits (走访).
           "CREATE TABLE IF NOT EXISTS patrols (patrol_id VARCHAR(64) NOT NULL PRIMARY KEY, "
           "user_id VARCHAR(64) NOT NULL, role INTEGER NOT NULL, "
           "department_code VARCHAR(64) NOT NULL, grid_code VARCHAR(64) NOT NULL, "
           "grid_path VARCHAR(400) NOT NULL, state INTEGER NOT NULL, start_time BIGINT NOT NULL, "
           "end_time BIGINT NOT NULL, point_count BIGINT NOT NULL, length_metres DOUBLE NOT NULL, "
           "has_last INTEGER NOT NULL, last_time BIGINT NOT NULL, last_latitude DOUBLE NOT NULL, "
           "last_longitude DOUBLE NOT NULL, visit_count BIGINT NOT NULL, "
           "report_count BIGINT NOT NULL, last_visit_time BIGINT NOT NULL, "
           "version BIGINT NOT NULL, create_time BIGINT NOT NULL, update_time BIGINT NOT NULL)"
           "{OPTS}",
           "CREATE TABLE IF NOT EXISTS patrol_batches (patrol_id VARCHAR(64) NOT NULL, "
           "batch_id VARCHAR(64) NOT NULL, digest VARCHAR(64) NOT NULL, "
           "point_count INTEGER NOT NULL, create_time BIGINT NOT NULL, "
           "PRIMARY KEY (patrol_id, batch_id)){OPTS}",
           "CREATE TABLE IF NOT EXISTS patrol_points (patrol_id VARCHAR(64) NOT NULL, "
           "seq BIGINT NOT NULL, point_time BIGINT NOT NULL, latitude DOUBLE NOT NULL, "
           "longitude DOUBLE NOT NULL, PRIMARY KEY (patrol_id, seq)){OPTS}",
           "CREATE TABLE IF NOT EXISTS patrol_visits (visit_id VARCHAR(64) NOT NULL PRIMARY KEY, "
           "patrol_id VARCHAR(64) NOT NULL, user_id VARCHAR(64) NOT NULL, "
           "grid_code VARCHAR(64) NOT NULL, grid_path VARCHAR(400) NOT NULL, "
           "kind INTEGER NOT NULL, subject VARCHAR(800) NOT NULL, note TEXT NOT NULL, "
           "has_position INTEGER NOT NULL, latitude DOUBLE NOT NULL, longitude DOUBLE NOT NULL, "
           "visit_time BIGINT NOT NULL, attachment_ids TEXT NOT NULL, "
           "request_digest VARCHAR(64) NOT NULL, create_time BIGINT NOT NULL){OPTS}",
       },
       {
           {"patrols", "ix_patrols_path_start", "grid_path, start_time, patrol_id", false},
           {"patrols", "ix_patrols_user_start", "user_id, start_time, patrol_id", false},
           {"patrols", "ix_patrols_start", "start_time, patrol_id", false},
           {"patrol_visits", "ix_visits_patrol", "patrol_id, visit_time, visit_id", false},
       },
       {
           // The patrol a report was found on (PatrolService), if it named one.
           {"cases", "patrol_id", "VARCHAR(64) NOT NULL DEFAULT ''"},
       }},
      {11,
       {
           // Supervision orders (督办), written with their case.
           "CREATE TABLE IF NOT EXISTS supervision_orders (order_id VARCHAR(64) NOT NULL "
           "PRIMARY KEY, case_id VARCHAR(64) NOT NULL, issued_by VARCHAR(64) NOT NULL, "
           "issued_by_role INTEGER NOT NULL, request_id VARCHAR(64) NOT NULL, "
           "request_digest VARCHAR(64) NOT NULL, reason TEXT NOT NULL, "
           "issue_time BIGINT NOT NULL, respond_by_time BIGINT NOT NULL, "
           "lead_department_code VARCHAR(64) NOT NULL, holder_grid_code VARCHAR(64) NOT NULL, "
           "grid_path VARCHAR(400) NOT NULL, state INTEGER NOT NULL, "
           "acknowledge_time BIGINT NOT NULL, acknowledged_by VARCHAR(64) NOT NULL, "
           "answer_time BIGINT NOT NULL, answered_by VARCHAR(64) NOT NULL, answer TEXT NOT NULL, "
           "escalation_count INTEGER NOT NULL, next_escalation_time BIGINT NOT NULL, "
           "version BIGINT NOT NULL, update_time BIGINT NOT NULL){OPTS}",
       },
       {
           {"supervision_orders", "ux_supervision_request", "issued_by, request_id", true},
           {"supervision_orders", "ix_supervision_case", "case_id", false},
           {"supervision_orders", "ix_supervision_due", "state, next_escalation_time", false},
           {"supervision_orders", "ix_supervision_path", "grid_path, issue_time", false},
           {"supervision_orders", "ix_supervision_dept", "lead_department_code, issue_time", false},
       },
       {
           // The supervision order a SUPERVISION_* event is about.
           {"case_events", "related_id", "VARCHAR(64) NOT NULL DEFAULT ''"},
       }},
      {12,
       {
           // 三责 accountability records, per month, kept for good (dismissed or withdrawn ones
           // stay); record_key is "yyyymm|rule|unit kind|unit|user|first case".
           "CREATE TABLE IF NOT EXISTS accountability_records (record_id VARCHAR(64) NOT NULL "
           "PRIMARY KEY, record_key VARCHAR(400) NOT NULL, year INTEGER NOT NULL, "
           "month INTEGER NOT NULL, rule INTEGER NOT NULL, unit_kind INTEGER NOT NULL, "
           "unit_code VARCHAR(64) NOT NULL, user_id VARCHAR(64) NOT NULL, case_ids TEXT NOT NULL, "
           "weight DOUBLE NOT NULL, explanation TEXT NOT NULL, grid_path VARCHAR(400) NOT NULL, "
           "department_code VARCHAR(64) NOT NULL, status INTEGER NOT NULL, "
           "dismiss_reason TEXT NOT NULL, dismissed_by VARCHAR(64) NOT NULL, "
           "dismiss_time BIGINT NOT NULL, compute_time BIGINT NOT NULL, "
           "version BIGINT NOT NULL){OPTS}",
           "CREATE TABLE IF NOT EXISTS accountability_runs (month_key BIGINT NOT NULL PRIMARY KEY, "
           "compute_time BIGINT NOT NULL){OPTS}",
       },
       {
           {"accountability_records", "ux_accountability_key", "record_key", true},
           {"accountability_records", "ix_accountability_month", "year, month, record_key", false},
       },
       {
           // The department's leader in charge (分管领导), on whom 连责 falls.
           {"departments", "leader_user_id", "VARCHAR(64) NOT NULL DEFAULT ''"},
       }},
      {13,
       {},
       {},
       {
           // A token bound to a device certificate: the hex SHA-256 of its DER form.
           {"tokens", "client_cert_sha256", "VARCHAR(64) NOT NULL DEFAULT ''"},
           // The token that replaced this one by rotation.
           {"tokens", "replaced_by", "VARCHAR(64) NOT NULL DEFAULT ''"},
       }},
      {14,
       {},
       {},
       {
           // A grid's boundary as given (GeoJSON, up to domain::kMaxBoundaryBytes); NULL (read
           // as "") for none. MEDIUMTEXT: MySQL's TEXT holds 64 KiB, and neither TEXT kind may
           // have a literal default on MySQL; SQLite reads the type as TEXT.
           {"grids", "boundary_geojson", "MEDIUMTEXT"},
       }},
  };
  return *migrations;
}

std::string Expand(Dialect d, absl::string_view sql) {
  return absl::StrReplaceAll(
      sql,
      {{"{OPTS}",
        d == Dialect::kMysql ? " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin" : ""},
       {"{INSERT_IGNORE}", d == Dialect::kMysql ? "INSERT IGNORE" : "INSERT OR IGNORE"},
       // A row read in a transaction to be updated: locked on MySQL (SQLite's write transaction
       // locks the whole database).
       {"{FOR_UPDATE}", d == Dialect::kMysql ? " FOR UPDATE" : ""},
       {"{FENCED_DEPARTMENT_CODE}",
        d == Dialect::kMysql ? "CONCAT(',', d.code, ',')" : "(',' || d.code || ',')"}});
}

// INSERT that updates every non-key column when the key exists (only the first `update_until`
// columns when given: the rest are set on insert only).
std::string Upsert(Dialect d, absl::string_view table, const std::vector<std::string>& cols,
                   size_t update_until = std::string::npos) {
  std::vector<std::string> marks(cols.size(), "?");
  std::string sql = absl::StrCat("INSERT INTO ", table, " (", absl::StrJoin(cols, ", "),
                                 ") VALUES (", absl::StrJoin(marks, ", "), ")");
  std::vector<std::string> sets;
  for (size_t i = 1; i < cols.size() && i < update_until; ++i) {
    sets.push_back(d == Dialect::kMysql ? absl::StrCat(cols[i], " = VALUES(", cols[i], ")")
                                        : absl::StrCat(cols[i], " = excluded.", cols[i]));
  }
  if (d == Dialect::kMysql) {
    absl::StrAppend(&sql, " ON DUPLICATE KEY UPDATE ", absl::StrJoin(sets, ", "));
  } else {
    absl::StrAppend(&sql, " ON CONFLICT(", cols[0], ") DO UPDATE SET ", absl::StrJoin(sets, ", "));
  }
  return sql;
}

// "INSERT INTO table (columns) VALUES (?, ...)" with one placeholder per column.
std::string JoinList(const std::vector<std::string>& v) { return absl::StrJoin(v, ","); }
std::vector<std::string> SplitList(const std::string& s) {
  return absl::StrSplit(s, ',', absl::SkipEmpty());
}
// ",a,b," so that membership is `LIKE '%,a,%'`; SplitList reads it back.
std::string FenceList(const std::vector<std::string>& v) {
  return v.empty() ? "" : absl::StrCat(",", absl::StrJoin(v, ","), ",");
}
// A LIKE pattern matching `s` literally (codes may contain '_'); use with ESCAPE '!'.
std::string LikeEscape(absl::string_view s) {
  return absl::StrReplaceAll(s, {{"!", "!!"}, {"%", "!%"}, {"_", "!_"}});
}
constexpr char kCaseColumns[] =
    "case_id, case_number, state, category_code, description, grid_code, grid_path, latitude, "
    "longitude, address, observe_time, urgency, reporter_user_id, before_photos, after_photos, "
    "lead_department_code, assisting, deadline_time, rework_count, duplicate_of, "
    "resolution_note, create_time, update_time, version, request_id, request_digest, state_time, "
    "returned_by_department, return_reason, filed_time, first_deadline_time, closed_time, "
    "warning_level, source, patrol_id";

SqlParams CaseParams(const Case& c) {
  return {c.case_id,
          c.case_number,
          static_cast<int64_t>(c.state),
          c.category_code,
          c.description,
          c.grid_code,
          c.grid_path,
          c.latitude,
          c.longitude,
          c.address,
          c.observe_time,
          static_cast<int64_t>(c.urgency),
          c.reporter_user_id,
          JoinList(c.before_photo_ids),
          JoinList(c.after_photo_ids),
          c.lead_department_code,
          FenceList(c.assisting_department_codes),
          c.deadline_time,
          static_cast<int64_t>(c.rework_count),
          c.duplicate_of_case_id,
          c.resolution_note,
          c.create_time,
          c.update_time,
          c.version,
          c.request_id,
          c.request_digest,
          c.state_time,
          c.returned_by_department_code,
          c.return_reason,
          c.filed_time,
          c.first_deadline_time,
          c.closed_time,
          static_cast<int64_t>(c.warning_level),
          static_cast<int64_t>(c.source),
          c.patrol_id};
}

Case RowToCase(const SqlRow& r) {
  Case c;
  c.case_id = r.Str(0);
  c.case_number = r.Str(1);
  c.state = static_cast<domain::CaseState>(r.Int(2));
  c.category_code = r.Str(3);
  c.description = r.Str(4);
  c.grid_code = r.Str(5);
  c.grid_path = r.Str(6);
  c.latitude = r.Double(7);
  c.longitude = r.Double(8);
  c.address = r.Str(9);
  c.observe_time = r.Int(10);
  c.urgency = static_cast<domain::Urgency>(r.Int(11));
  c.reporter_user_id = r.Str(12);
  c.before_photo_ids = SplitList(r.Str(13));
  c.after_photo_ids = SplitList(r.Str(14));
  c.lead_department_code = r.Str(15);
  c.assisting_department_codes = SplitList(r.Str(16));
  c.deadline_time = r.Int(17);
  c.rework_count = static_cast<int>(r.Int(18));
  c.duplicate_of_case_id = r.Str(19);
  c.resolution_note = r.Str(20);
  c.create_time = r.Int(21);
  c.update_time = r.Int(22);
  c.version = r.Int(23);
  c.request_id = r.Str(24);
  c.request_digest = r.Str(25);
  c.state_time = r.Int(26);
  c.returned_by_department_code = r.Str(27);
  c.return_reason = r.Str(28);
  c.filed_time = r.Int(29);
  c.first_deadline_time = r.Int(30);
  c.closed_time = r.Int(31);
  c.warning_level = static_cast<int>(r.Int(32));
  c.source = static_cast<domain::CaseSource>(r.Int(33));
  c.patrol_id = r.Str(34);
  return c;
}

constexpr char kEventColumns[] =
    "seq, case_id, type, from_state, to_state, actor_user_id, actor_role, event_time, note, "
    "attachment_ids, category_code, grid_code, grid_path, lead_department_code, "
    "reporter_user_id, case_version, assisting, previous_lead, related_id";
// The row of `e` (with its seq) in the order of kEventColumns.
SqlParams EventParams(const CaseEvent& e) {
  return {e.seq,
          e.case_id,
          static_cast<int64_t>(e.type),
          static_cast<int64_t>(e.from_state),
          static_cast<int64_t>(e.to_state),
          e.actor_user_id,
          static_cast<int64_t>(e.actor_role),
          e.event_time,
          e.note,
          JoinList(e.attachment_ids),
          e.category_code,
          e.grid_code,
          e.grid_path,
          e.lead_department_code,
          e.reporter_user_id,
          e.case_version,
          FenceList(e.assisting_department_codes),
          e.previous_lead_department_code,
          e.related_id};
}

CaseEvent RowToEvent(const SqlRow& r) {
  CaseEvent e;
  e.seq = r.Int(0);
  e.case_id = r.Str(1);
  e.type = static_cast<domain::EventType>(r.Int(2));
  e.from_state = static_cast<domain::CaseState>(r.Int(3));
  e.to_state = static_cast<domain::CaseState>(r.Int(4));
  e.actor_user_id = r.Str(5);
  e.actor_role = static_cast<domain::Role>(r.Int(6));
  e.event_time = r.Int(7);
  e.note = r.Str(8);
  e.attachment_ids = SplitList(r.Str(9));
  e.category_code = r.Str(10);
  e.grid_code = r.Str(11);
  e.grid_path = r.Str(12);
  e.lead_department_code = r.Str(13);
  e.reporter_user_id = r.Str(14);
  e.case_version = r.Int(15);
  e.assisting_department_codes = SplitList(r.Str(16));
  e.previous_lead_department_code = r.Str(17);
  e.related_id = r.Str(18);
  return e;
}

domain::User RowToUser(const SqlRow& r) {
  domain::User u;
  u.user_id = r.Str(0);
  u.display_name = r.Str(1);
  u.role = static_cast<domain::Role>(r.Int(2));
  u.grid_code = r.Str(3);
  u.department_code = r.Str(4);
  u.disabled = r.Int(5) != 0;
  return u;
}
constexpr char kUserColumns[] = "user_id, display_name, role, grid_code, department_code, disabled";

std::vector<std::string> Columns(absl::string_view list) { return absl::StrSplit(list, ", "); }

constexpr char kRuleColumns[] =
    "rule_id, category_code, grid_code, lead_department_code, assisting";
domain::RoutingRule RowToRule(const SqlRow& r) {
  return {r.Str(0), r.Str(1), r.Str(2), r.Str(3), SplitList(r.Str(4))};
}

// The path before the boundary: UpsertOrganisation writes every column but the path, which it
// computes afterwards.
constexpr char kGridColumns[] = "code, name, level, parent_code, boundary_geojson, path";
domain::Grid RowToGrid(const SqlRow& r) {
  domain::Grid g;
  g.code = r.Str(0);
  g.name = r.Str(1);
  g.level = static_cast<domain::GridLevel>(r.Int(2));
  g.parent_code = r.Str(3);
  g.boundary_geojson = r.Str(4);  // NULL: ""
  g.path = r.Str(5);
  return g;
}

constexpr char kCategoryColumns[] =
    "code, name, kind, normal_hours, urgent_hours, emergency_hours, auto_accept";
domain::Category RowToCategory(const SqlRow& r) {
  domain::Category k;
  k.code = r.Str(0);
  k.name = r.Str(1);
  k.kind = static_cast<domain::CategoryKind>(r.Int(2));
  k.normal_deadline_hours = static_cast<int>(r.Int(3));
  k.urgent_deadline_hours = static_cast<int>(r.Int(4));
  k.emergency_deadline_hours = static_cast<int>(r.Int(5));
  k.auto_accept = r.Int(6) != 0;
  return k;
}

// token_hash first: it is the key the upsert conflicts on.
constexpr char kTokenColumns[] =
    "token_hash, token_id, user_id, label, device_id, create_time, last_used_time, expire_time, "
    "revoked, revoke_time, issued_by, demo, client_cert_sha256, replaced_by";
SqlParams TokenParams(const domain::TokenInfo& t, const std::string& hash) {
  return {hash,
          t.token_id,
          t.user_id,
          t.label,
          t.device_id,
          t.create_time,
          t.last_used_time,
          t.expire_time,
          static_cast<int64_t>(t.revoked ? 1 : 0),
          t.revoke_time,
          t.issued_by_user_id,
          static_cast<int64_t>(t.demo ? 1 : 0),
          t.client_cert_sha256,
          t.replaced_by_token_id};
}
domain::TokenInfo RowToToken(const SqlRow& r) {
  domain::TokenInfo t;
  t.token_id = r.Str(1);
  t.user_id = r.Str(2);
  t.label = r.Str(3);
  t.device_id = r.Str(4);
  t.create_time = r.Int(5);
  t.last_used_time = r.Int(6);
  t.expire_time = r.Int(7);
  t.revoked = r.Int(8) != 0;
  t.revoke_time = r.Int(9);
  t.issued_by_user_id = r.Str(10);
  t.demo = r.Int(11) != 0;
  t.client_cert_sha256 = r.Str(12);
  t.replaced_by_token_id = r.Str(13);
  return t;
}

constexpr char kAuditColumns[] =
    "audit_entry_id, actor_user_id, actor_token_id, method, resource_kind, resource_id, "
    "event_time, status_code, status_message, request_summary, peer";

constexpr char kExtensionColumns[] =
    "extension_request_id, case_id, department_code, requested_by, current_deadline, "
    "requested_deadline, reason, state, decided_by, decision_note, approved_deadline, "
    "create_time, decide_time";
SqlParams ExtensionParams(const domain::ExtensionRequest& x) {
  return {x.extension_request_id,
          x.case_id,
          x.department_code,
          x.requested_by_user_id,
          x.current_deadline_time,
          x.requested_deadline_time,
          x.reason,
          static_cast<int64_t>(x.state),
          x.decided_by_user_id,
          x.decision_note,
          x.approved_deadline_time,
          x.create_time,
          x.decide_time};
}
domain::ExtensionRequest RowToExtension(const SqlRow& r) {
  domain::ExtensionRequest x;
  x.extension_request_id = r.Str(0);
  x.case_id = r.Str(1);
  x.department_code = r.Str(2);
  x.requested_by_user_id = r.Str(3);
  x.current_deadline_time = r.Int(4);
  x.requested_deadline_time = r.Int(5);
  x.reason = r.Str(6);
  x.state = static_cast<domain::ExtensionState>(r.Int(7));
  x.decided_by_user_id = r.Str(8);
  x.decision_note = r.Str(9);
  x.approved_deadline_time = r.Int(10);
  x.create_time = r.Int(11);
  x.decide_time = r.Int(12);
  return x;
}

constexpr int64_t kNoDeadlineKey = INT64_MAX;

class SqlStore final : public Store {
 public:
  SqlStore(std::unique_ptr<SqlDatabase> db, int pool_size, int figures_utc_offset_minutes,
           const util::Clock* clock)
      : pool_(std::move(db), pool_size),
        dialect_(pool_.dialect()),
        figures_(dialect_, figures_utc_offset_minutes),
        patrols_(dialect_, figures_utc_offset_minutes),
        supervision_(dialect_),
        accountability_(dialect_),
        org_(100 * 1000, clock) {}
  ~SqlStore() override { FlushTouches(0, true, true); }

  absl::Status Migrate() {
    auto lease = pool_.Acquire();
    if (!lease.ok()) return lease.status();
    SqlConnection& conn = **lease;
    const bool mysql = dialect_ == Dialect::kMysql;
    if (mysql) {
      // DDL commits implicitly in MySQL; a named lock keeps two starting replicas apart.
      auto got = conn.Query("SELECT GET_LOCK('gridline_schema', 60)");
      if (!got.ok()) return got.status();
      if (got->empty() || got->front().Int(0) != 1) {
        return absl::UnavailableError("timed out waiting for the schema migration lock");
      }
    } else {
      if (auto s = conn.Begin(true); !s.ok()) return s;
    }
    absl::Status status = MigrateLocked(conn);
    if (status.ok()) status = RefreshFiguresLocked(conn);
    if (mysql) {
      conn.Query("SELECT RELEASE_LOCK('gridline_schema')").IgnoreError();
    } else if (status.ok()) {
      status = conn.Commit();
    } else {
      conn.Rollback().IgnoreError();
    }
    return status;
  }

  // Adds the figures from every case when they were never added or were added with another
  // UTC offset (under the migration lock, so two starting replicas do not both do it).
  absl::Status RefreshFiguresLocked(SqlConnection& conn) {
    auto current = figures_.Current(conn);
    if (!current.ok()) return current.status();
    auto open_current = figures_.OpenCurrent(conn);
    if (!open_current.ok()) return open_current.status();
    if (*current && *open_current) return absl::OkStatus();
    // A full rebuild adds the open counts too; a store from before schema 8 needs only those.
    auto rebuild = [&] { return *current ? figures_.RebuildOpen(conn) : figures_.Rebuild(conn); };
    if (dialect_ == Dialect::kSqlite) return rebuild();  // inside Migrate's transaction
    if (auto s = conn.Begin(true); !s.ok()) return s;
    absl::Status s = rebuild();
    if (s.ok()) return conn.Commit();
    conn.Rollback().IgnoreError();
    return s;
  }

  absl::Status Ping() override {
    auto lease = pool_.Acquire();
    if (!lease.ok()) return lease.status();
    auto rows = (*lease)->Query("SELECT last_seq FROM event_sequence WHERE id = 1");
    if (!rows.ok()) return rows.status();
    return absl::OkStatus();
  }

  absl::StatusOr<int> SchemaVersion() override {
    auto lease = pool_.Acquire();
    if (!lease.ok()) return lease.status();
    return CurrentVersion(**lease);
  }

  absl::Status ApplyOrganisation(const domain::Organisation& org) override {
    absl::Status st = InTx<bool>([&](SqlConnection& c) -> absl::StatusOr<bool> {
                        if (auto st = UpsertOrganisation(c, org); !st.ok()) return st;
                        auto bump = c.Execute(
                            "UPDATE store_meta SET value = value + 1 WHERE name = "
                            "'organisation_version'");
                        if (!bump.ok()) return bump.status();
                        return true;
                      }).status();
    org_.Changed();  // after a failure too: a lost connection may have committed it
    WarmOrganisation();
    return st;
  }

  absl::Status ChangeOrganisation(const domain::Organisation& upserts,
                                  const std::vector<OrgKey>& deletes,
                                  int64_t expected_version) override {
    absl::Status st =
        InTx<bool>([&](SqlConnection& c) -> absl::StatusOr<bool> {
          auto bump = c.Execute(
              "UPDATE store_meta SET value = value + 1 WHERE name = 'organisation_version' "
              "AND value = ?",
              {expected_version});
          if (!bump.ok()) return bump.status();
          if (*bump == 0) {
            return absl::AbortedError(
                "the organisation changed concurrently; reload and try again");
          }
          for (const OrgKey& k : deletes) {
            const char* sql = nullptr;
            switch (k.kind) {
              case domain::OrgKind::kGrid:
                sql = "DELETE FROM grids WHERE code = ?";
                break;
              case domain::OrgKind::kDepartment:
                sql = "DELETE FROM departments WHERE code = ?";
                break;
              case domain::OrgKind::kCategory:
                sql = "DELETE FROM categories WHERE code = ?";
                break;
              case domain::OrgKind::kRoutingRule:
                sql = "DELETE FROM routing_rules WHERE rule_id = ?";
                break;
              case domain::OrgKind::kUser:
                sql = "DELETE FROM users WHERE user_id = ?";
                break;
              case domain::OrgKind::kUnspecified:
                break;
            }
            if (sql == nullptr) return absl::InvalidArgumentError("unknown organisation kind");
            auto st = c.Execute(sql, {k.code});
            if (!st.ok()) return st.status();
          }
          if (auto st = UpsertOrganisation(c, upserts); !st.ok()) return st;
          return true;
        }).status();
    org_.Changed();
    WarmOrganisation();
    return st;
  }

  absl::StatusOr<int64_t> OrganisationVersion() override {
    auto rows = Read("SELECT value FROM store_meta WHERE name = 'organisation_version'", {});
    if (!rows.ok()) return rows.status();
    const int64_t version = rows->empty() ? 0 : rows->front().Int(0);
    org_.Saw(version);
    return version;
  }

  absl::StatusOr<domain::Organisation> LoadOrganisation() override {
    domain::Organisation org;
    auto grids = ListGrids();
    if (!grids.ok()) return grids.status();
    org.grids = *std::move(grids);
    auto depts = ListDepartments();
    if (!depts.ok()) return depts.status();
    org.departments = *std::move(depts);
    auto cats = ListCategories();
    if (!cats.ok()) return cats.status();
    org.categories = *std::move(cats);
    auto rules =
        Read(absl::StrCat("SELECT ", kRuleColumns, " FROM routing_rules ORDER BY rule_id"), {});
    if (!rules.ok()) return rules.status();
    for (const auto& r : *rules) org.routing_rules.push_back(RowToRule(r));
    auto users = Read(absl::StrCat("SELECT ", kUserColumns, " FROM users ORDER BY user_id"), {});
    if (!users.ok()) return users.status();
    for (const auto& r : *users) org.users.push_back(RowToUser(r));
    return org;
  }

  absl::StatusOr<int64_t> CountCasesReferencing(const OrgKey& key) override {
    absl::StatusOr<std::vector<SqlRow>> rows = std::vector<SqlRow>{};
    switch (key.kind) {
      case domain::OrgKind::kGrid:
        rows = Read("SELECT COUNT(*) FROM cases WHERE grid_code = ?", {key.code});
        break;
      case domain::OrgKind::kCategory:
        rows = Read("SELECT COUNT(*) FROM cases WHERE category_code = ?", {key.code});
        break;
      case domain::OrgKind::kDepartment:
        rows = Read(
            "SELECT COUNT(*) FROM cases WHERE lead_department_code = ? OR "
            "returned_by_department = ? OR case_id IN "
            "(SELECT case_id FROM case_assisting WHERE department_code = ?)",
            {key.code, key.code, key.code});
        break;
      case domain::OrgKind::kUser:
        rows = Read("SELECT COUNT(*) FROM cases WHERE reporter_user_id = ?", {key.code});
        break;
      default:
        return 0;
    }
    if (!rows.ok()) return rows.status();
    return rows->empty() ? 0 : rows->front().Int(0);
  }

  // Grids and categories are looked up in the organisation snapshot (org_snapshot.h).
  absl::StatusOr<std::optional<domain::Grid>> FindGrid(const std::string& code) override {
    auto org = CurrentOrg();
    if (!org.ok()) return org.status();
    auto it = (*org)->grids.find(code);
    if (it == (*org)->grids.end()) return std::nullopt;
    return it->second;
  }

  // Loads the organisation snapshot now, so that calls do not wait for it: with 19,500 grids the
  // first reports after the server started waited up to 155 ms, all of them behind the one
  // that loaded it (the first second of the 19,500-stream benchmark). Best effort: a lookup
  // loads it again if this fails.
  void WarmOrganisation() { CurrentOrg().IgnoreError(); }

  absl::StatusOr<std::shared_ptr<const OrgSnapshot>> CurrentOrg() {
    auto load = [this](int64_t version) -> absl::StatusOr<std::shared_ptr<const OrgSnapshot>> {
      auto grids = ListGrids();
      if (!grids.ok()) return grids.status();
      auto categories = ListCategories();
      if (!categories.ok()) return categories.status();
      auto snapshot = std::make_shared<OrgSnapshot>();
      snapshot->version = version;
      for (domain::Grid& g : *grids) {
        std::string code = g.code;
        snapshot->grids.emplace(std::move(code), std::move(g));
      }
      for (domain::Category& k : *categories) {
        std::string code = k.code;
        snapshot->categories.emplace(std::move(code), std::move(k));
      }
      return std::shared_ptr<const OrgSnapshot>(std::move(snapshot));
    };
    return org_.Current([this] { return OrganisationVersion(); }, load);
  }

  absl::StatusOr<std::vector<domain::Grid>> ListGrids() override {
    auto rows = Read(absl::StrCat("SELECT ", kGridColumns, " FROM grids ORDER BY code"), {});
    if (!rows.ok()) return rows.status();
    std::vector<domain::Grid> out;
    for (const auto& r : *rows) out.push_back(RowToGrid(r));
    return out;
  }

  absl::StatusOr<std::optional<domain::Category>> FindCategory(const std::string& code) override {
    auto org = CurrentOrg();
    if (!org.ok()) return org.status();
    auto it = (*org)->categories.find(code);
    if (it == (*org)->categories.end()) return std::nullopt;
    return it->second;
  }

  absl::StatusOr<std::optional<domain::User>> FindUser(const std::string& user_id) override {
    auto rows =
        Read(absl::StrCat("SELECT ", kUserColumns, " FROM users WHERE user_id = ?"), {user_id});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return std::nullopt;
    return RowToUser(rows->front());
  }

  absl::StatusOr<std::vector<domain::Category>> ListCategories() override {
    auto rows =
        Read(absl::StrCat("SELECT ", kCategoryColumns, " FROM categories ORDER BY code"), {});
    if (!rows.ok()) return rows.status();
    std::vector<domain::Category> out;
    for (const auto& r : *rows) out.push_back(RowToCategory(r));
    return out;
  }

  absl::StatusOr<std::vector<domain::Department>> ListDepartments() override {
    auto rows = Read(
        "SELECT code, name, parent_code, grid_code, leader_user_id FROM departments "
        "ORDER BY code",
        {});
    if (!rows.ok()) return rows.status();
    std::vector<domain::Department> out;
    for (const auto& r : *rows) out.push_back({r.Str(0), r.Str(1), r.Str(2), r.Str(3), r.Str(4)});
    return out;
  }

  absl::StatusOr<std::optional<domain::Department>> FindDepartment(
      const std::string& code) override {
    auto rows = Read(
        "SELECT code, name, parent_code, grid_code, leader_user_id FROM departments "
        "WHERE code = ?",
        {code});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return std::nullopt;
    const SqlRow& r = rows->front();
    return domain::Department{r.Str(0), r.Str(1), r.Str(2), r.Str(3), r.Str(4)};
  }

  absl::StatusOr<std::vector<domain::RoutingRule>> ListRoutingRulesForCategory(
      const std::string& category_code) override {
    auto rows = Read(absl::StrCat("SELECT ", kRuleColumns,
                                  " FROM routing_rules WHERE category_code = ? ORDER BY rule_id"),
                     {category_code});
    if (!rows.ok()) return rows.status();
    std::vector<domain::RoutingRule> out;
    for (const auto& r : *rows) out.push_back(RowToRule(r));
    return out;
  }

  absl::Status PutDemoToken(const std::string& token_hash, const std::string& user_id) override {
    domain::TokenInfo info;
    info.token_id = absl::StrCat("tok-", token_hash.substr(0, 16));
    info.user_id = user_id;
    info.label = "demo";
    info.create_time = util::WallClock().NowMicros();
    info.demo = true;
    // A demo token revoked by an operator stays revoked when the demo file is loaded again.
    const std::string sql =
        Expand(dialect_, absl::StrCat("{INSERT_IGNORE} INTO tokens (", kTokenColumns, ") VALUES (",
                                      Marks(Columns(kTokenColumns).size()), ")"));
    return InTx<bool>([&](SqlConnection& c) -> absl::StatusOr<bool> {
             auto st = c.Execute(sql, TokenParams(info, token_hash));
             if (!st.ok()) return st.status();
             return true;
           })
        .status();
  }

  absl::Status CreateToken(const domain::TokenInfo& info, const std::string& token_hash) override {
    static const std::string kInsert = InsertSql("tokens", kTokenColumns);
    return InTx<bool>([&](SqlConnection& c) -> absl::StatusOr<bool> {
             auto st = c.Execute(kInsert, TokenParams(info, token_hash));
             if (!st.ok()) return st.status();
             return true;
           })
        .status();
  }

  // The caller columns of a token, with the organisation version (column 10) and the token's
  // hash (column 11).
  static constexpr const char* kCallerSelect =
      "SELECT u.user_id, u.display_name, u.role, u.grid_code, u.department_code, u.disabled, "
      "t.token_id, t.last_used_time, t.demo, t.client_cert_sha256, "
      "(SELECT value FROM store_meta WHERE name = 'organisation_version'), t.token_hash "
      "FROM tokens t JOIN users u ON u.user_id = t.user_id "
      "WHERE t.revoked = 0 AND u.disabled = 0 AND (t.expire_time = 0 OR t.expire_time > ?) AND "
      "t.token_hash ";

  // A found token's caller; notes its use (touched at most once a minute).
  domain::Caller CallerOfRow(const SqlRow& r, domain::Micros now) {
    domain::Caller caller{RowToUser(r), r.Str(6), r.Int(8) != 0, r.Str(9)};
    constexpr domain::Micros kTouchEvery = 60LL * 1000 * 1000;
    if (r.Int(7) < now - kTouchEvery) NoteTouch(r.Str(11), now);
    return caller;
  }

  absl::StatusOr<std::optional<domain::Caller>> FindCallerByTokenHash(const std::string& token_hash,
                                                                      domain::Micros now) override {
    static const std::string kSql = absl::StrCat(kCallerSelect, "= ?");
    auto rows = Read(kSql, {now, token_hash});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return std::nullopt;
    const SqlRow& r = rows->front();
    // The organisation version, read with the token: the call's grid and category lookups
    // then use the snapshot of that version without statements of their own.
    org_.Saw(r.Int(10));
    domain::Caller caller = CallerOfRow(r, now);
    FlushTouches(now, false, false);
    return caller;
  }

  absl::StatusOr<std::vector<std::optional<domain::Caller>>> FindCallersByTokenHashes(
      const std::vector<std::string>& token_hashes, domain::Micros now) override {
    // One statement per kChunk hashes, always with kChunk placeholders (a short chunk repeats
    // its first hash), so that each connection prepares it once.
    constexpr size_t kChunk = 64;
    static const std::string kSql = absl::StrCat(kCallerSelect, "IN (", Marks(kChunk), ")");
    std::vector<std::optional<domain::Caller>> out(token_hashes.size());
    for (size_t begin = 0; begin < token_hashes.size(); begin += kChunk) {
      const size_t end = std::min(token_hashes.size(), begin + kChunk);
      SqlParams params{now};
      for (size_t i = 0; i < kChunk; ++i) {
        params.push_back(token_hashes[begin + i < end ? begin + i : begin]);
      }
      auto rows = Read(kSql, params);
      if (!rows.ok()) return rows.status();
      std::unordered_map<std::string, const SqlRow*> by_hash;
      for (const SqlRow& r : *rows) {
        org_.Saw(r.Int(10));
        by_hash.emplace(r.Str(11), &r);
      }
      for (size_t i = begin; i < end; ++i) {
        auto it = by_hash.find(token_hashes[i]);
        if (it != by_hash.end()) out[i] = CallerOfRow(*it->second, now);
      }
    }
    FlushTouches(now, false, true);
    return out;
  }

  // last_used_time is written in batches: one transaction every kTouchFlushEvery (or every
  // kTouchFlushSize tokens) for all the tokens used since, instead of one write per call. 19,500
  // open streams re-authenticate every 30 s; a write each (a commit, an fsync on SQLite) queued
  // them behind the reports and took the writer lock from them.
  static constexpr domain::Micros kTouchFlushEvery = 5LL * 1000 * 1000;
  static constexpr size_t kTouchFlushSize = 2048;

  void NoteTouch(const std::string& token_hash, domain::Micros now) {
    std::lock_guard<std::mutex> lock(touch_mu_);
    if (touches_.empty()) touches_since_ = now;
    domain::Micros& t = touches_[token_hash];
    t = std::max(t, now);
  }

  // Touches due are cut into transactions of at most kTouchChunk, so that none holds the writer
  // long: 2,048 in one took 16-70 ms at 19,500 open streams, and the reports' commits waited.
  static constexpr size_t kTouchChunk = 128;
  using TouchChunk = std::vector<std::pair<std::string, domain::Micros>>;

  // When the pending touches are due (or `force`), cuts them into chunks; then writes one chunk
  // (`all`: every chunk). A call on a request's path writes one at most, and the next calls the
  // rest; the streams' batched re-checks (in the background) and ListTokens write them all.
  // Best effort: a failed touch must not fail the call that finds them due.
  void FlushTouches(domain::Micros now, bool force, bool all) {
    while (true) {
      TouchChunk chunk;
      {
        std::lock_guard<std::mutex> lock(touch_mu_);
        if (!touches_.empty() && (force || touches_.size() >= kTouchFlushSize ||
                                  now - touches_since_ >= kTouchFlushEvery)) {
          for (auto& [hash, used] : touches_) {
            if (touch_chunks_.empty() || touch_chunks_.back().size() >= kTouchChunk) {
              touch_chunks_.emplace_back();
            }
            touch_chunks_.back().emplace_back(hash, used);
          }
          touches_.clear();
        }
        if (touch_chunks_.empty()) return;
        chunk = std::move(touch_chunks_.front());
        touch_chunks_.pop_front();
      }
      InTx<bool>([&](SqlConnection& c) -> absl::StatusOr<bool> {
        for (const auto& [hash, used] : chunk) {
          if (auto st = c.Execute("UPDATE tokens SET last_used_time = ? WHERE token_hash = ? AND "
                                  "last_used_time < ?",
                                  {used, hash, used});
              !st.ok()) {
            return st.status();
          }
        }
        return true;
      }).IgnoreError();
      if (!all && !force) return;
    }
  }

  absl::StatusOr<std::vector<domain::TokenInfo>> ListTokens(const std::string& user_id,
                                                            bool include_inactive,
                                                            domain::Micros now) override {
    FlushTouches(now, true, true);  // this replica's recent uses show at once
    std::string sql = absl::StrCat("SELECT ", kTokenColumns, " FROM tokens WHERE 1 = 1");
    SqlParams params;
    if (!user_id.empty()) {
      sql += " AND user_id = ?";
      params.push_back(user_id);
    }
    if (!include_inactive) {
      sql += " AND revoked = 0 AND (expire_time = 0 OR expire_time > ?)";
      params.push_back(now);
    }
    sql += " ORDER BY create_time DESC, token_id DESC";
    auto rows = Read(sql, params);
    if (!rows.ok()) return rows.status();
    std::vector<domain::TokenInfo> out;
    for (const auto& r : *rows) out.push_back(RowToToken(r));
    return out;
  }

  absl::StatusOr<std::optional<domain::TokenInfo>> RevokeToken(const std::string& token_id,
                                                               domain::Micros now) override {
    return InTx<std::optional<domain::TokenInfo>>(
        [&](SqlConnection& c) -> absl::StatusOr<std::optional<domain::TokenInfo>> {
          auto st = c.Execute(
              "UPDATE tokens SET revoked = 1, revoke_time = ? WHERE token_id = ? AND revoked = 0",
              {now, token_id});
          if (!st.ok()) return st.status();
          auto rows =
              c.Query(absl::StrCat("SELECT ", kTokenColumns, " FROM tokens WHERE token_id = ?"),
                      {token_id});
          if (!rows.ok()) return rows.status();
          if (rows->empty()) return std::nullopt;
          return RowToToken(rows->front());
        });
  }

  absl::StatusOr<std::optional<store::TokenRotation>> RotateToken(
      const std::string& token_id, const std::string& new_token_id, const std::string& new_hash,
      const std::string& issued_by, domain::Micros new_expire_time, domain::Micros old_expire_time,
      domain::Micros now) override {
    static const std::string kInsert = InsertSql("tokens", kTokenColumns);
    const std::string select =
        absl::StrCat("SELECT ", kTokenColumns, " FROM tokens WHERE token_id = ?{FOR_UPDATE}");
    return InTx<std::optional<store::TokenRotation>>(
        [&](SqlConnection& c) -> absl::StatusOr<std::optional<store::TokenRotation>> {
          auto rows = c.Query(Expand(dialect_, select), {token_id});
          if (!rows.ok()) return rows.status();
          if (rows->empty()) return std::nullopt;
          store::TokenRotation out;
          out.old_token = RowToToken(rows->front());
          const domain::TokenInfo& old = out.old_token;
          const bool active = !old.revoked && old.replaced_by_token_id.empty() &&
                              (old.expire_time == 0 || old.expire_time > now);
          if (!active) return out;
          domain::TokenInfo& fresh = out.new_token;
          fresh.token_id = new_token_id;
          fresh.user_id = old.user_id;
          fresh.label = old.label;
          fresh.device_id = old.device_id;
          fresh.create_time = now;
          fresh.expire_time = new_expire_time;
          fresh.issued_by_user_id = issued_by;
          fresh.client_cert_sha256 = old.client_cert_sha256;
          if (auto st = c.Execute(kInsert, TokenParams(fresh, new_hash)); !st.ok()) {
            return st.status();
          }
          const domain::Micros expire = old.expire_time != 0 && old.expire_time < old_expire_time
                                            ? old.expire_time
                                            : old_expire_time;
          auto st =
              c.Execute("UPDATE tokens SET replaced_by = ?, expire_time = ? WHERE token_id = ?",
                        {new_token_id, expire, token_id});
          if (!st.ok()) return st.status();
          out.old_token.replaced_by_token_id = new_token_id;
          out.old_token.expire_time = expire;
          out.rotated = true;
          return out;
        });
  }

  absl::Status DisableUser(const std::string& user_id, domain::Micros now) override {
    return InTx<bool>([&](SqlConnection& c) -> absl::StatusOr<bool> {
             auto u = c.Execute("UPDATE users SET disabled = 1 WHERE user_id = ?", {user_id});
             if (!u.ok()) return u.status();
             auto t = c.Execute(
                 "UPDATE tokens SET revoked = 1, revoke_time = ? WHERE user_id = ? AND "
                 "revoked = 0",
                 {now, user_id});
             if (!t.ok()) return t.status();
             return true;
           })
        .status();
  }

  absl::Status AppendAudit(const domain::AuditEntry& e) override {
    static const std::string kInsert = InsertSql("audit_log", kAuditColumns);
    return InTx<bool>([&](SqlConnection& c) -> absl::StatusOr<bool> {
             auto st = c.Execute(kInsert, {e.audit_entry_id, e.actor_user_id, e.actor_token_id,
                                           e.method, e.resource_kind, e.resource_id, e.event_time,
                                           static_cast<int64_t>(e.status_code), e.status_message,
                                           e.request_summary, e.peer});
             if (!st.ok()) return st.status();
             return true;
           })
        .status();
  }

  absl::StatusOr<std::vector<domain::AuditEntry>> ListAudit(const AuditQuery& q) override {
    std::string sql = absl::StrCat("SELECT ", kAuditColumns, " FROM audit_log WHERE 1 = 1");
    SqlParams params;
    auto eq = [&](const char* col, const std::string& v) {
      if (v.empty()) return;
      absl::StrAppend(&sql, " AND ", col, " = ?");
      params.push_back(v);
    };
    eq("actor_user_id", q.actor_user_id);
    eq("resource_kind", q.resource_kind);
    eq("resource_id", q.resource_id);
    if (q.start_time != 0) {
      sql += " AND event_time >= ?";
      params.push_back(q.start_time);
    }
    if (q.end_time != 0) {
      sql += " AND event_time < ?";
      params.push_back(q.end_time);
    }
    if (q.has_after) {
      sql += " AND (event_time < ? OR (event_time = ? AND audit_entry_id < ?))";
      params.push_back(q.after_time);
      params.push_back(q.after_time);
      params.push_back(q.after_id);
    }
    sql += " ORDER BY event_time DESC, audit_entry_id DESC LIMIT ?";
    params.push_back(static_cast<int64_t>(q.limit));
    auto rows = Read(sql, params);
    if (!rows.ok()) return rows.status();
    std::vector<domain::AuditEntry> out;
    for (const auto& r : *rows) {
      domain::AuditEntry e;
      e.audit_entry_id = r.Str(0);
      e.actor_user_id = r.Str(1);
      e.actor_token_id = r.Str(2);
      e.method = r.Str(3);
      e.resource_kind = r.Str(4);
      e.resource_id = r.Str(5);
      e.event_time = r.Int(6);
      e.status_code = static_cast<int>(r.Int(7));
      e.status_message = r.Str(8);
      e.request_summary = r.Str(9);
      e.peer = r.Str(10);
      out.push_back(std::move(e));
    }
    return out;
  }

  absl::Status PutAttachment(const domain::Attachment& a, bool* created) override {
    const std::string kInsert = Expand(
        dialect_,
        "{INSERT_IGNORE} INTO attachments (attachment_id, content_type, size_bytes, create_time, "
        "uploaded_by, referenced, touch_time) VALUES (?, ?, ?, ?, ?, 0, ?)");
    bool inserted = false;
    auto put = [&](SqlConnection& c) -> absl::Status {
      auto st = c.Execute(kInsert, {a.attachment_id, a.content_type, a.size_bytes, a.create_time,
                                    a.uploaded_by_user_id, a.create_time});
      if (!st.ok()) return st.status();
      inserted = *st > 0;
      if (inserted) return absl::OkStatus();
      // Uploading an unused photo again restarts its grace period before cleanup.
      auto touch = c.Execute(
          "UPDATE attachments SET touch_time = ? WHERE attachment_id = ? AND "
          "referenced = 0 AND touch_time < ?",
          {a.create_time, a.attachment_id, a.create_time});
      return touch.status();
    };
    // By group commit (see InGroup): concurrent uploads and reports share a transaction and its
    // commit. On MySQL this measured slower (306 against 350 photo reports/s) while a group's end
    // woke every waiting thread; since each member is woken on its own, 380 against 360, with
    // 7.8 statements per photo report instead of 11.4 (BENCHMARKS.md "Ingest").
    absl::Status st = InGroup(put, nullptr);
    if (created != nullptr) *created = st.ok() && inserted;
    return st;
  }

  absl::StatusOr<std::vector<domain::Attachment>> FindAttachments(
      const std::vector<std::string>& ids) override {
    std::vector<domain::Attachment> out;
    if (ids.empty()) return out;
    SqlParams params(ids.begin(), ids.end());
    auto rows = Read(absl::StrCat("SELECT attachment_id, content_type, size_bytes, create_time, "
                                  "uploaded_by, referenced FROM attachments WHERE attachment_id "
                                  "IN (",
                                  Marks(ids.size()), ")"),
                     params);
    if (!rows.ok()) return rows.status();
    for (const auto& r : *rows) {
      out.push_back({r.Str(0), r.Str(1), r.Int(2), r.Int(3), r.Str(4), r.Int(5) != 0});
    }
    return out;
  }

  absl::StatusOr<std::vector<std::string>> CasesUsingAttachment(const std::string& attachment_id,
                                                                int limit) override {
    const std::string like = absl::StrCat("%", LikeEscape(attachment_id), "%");
    auto rows = Read(
        "SELECT case_id FROM cases WHERE before_photos LIKE ? ESCAPE '!' OR after_photos LIKE ? "
        "ESCAPE '!' UNION SELECT case_id FROM case_events WHERE attachment_ids LIKE ? ESCAPE '!' "
        "LIMIT ?",
        {like, like, like, static_cast<int64_t>(limit)});
    if (!rows.ok()) return rows.status();
    std::vector<std::string> out;
    for (const auto& r : *rows) out.push_back(r.Str(0));
    return out;
  }

  absl::StatusOr<std::vector<std::string>> PruneUnreferencedAttachments(
      domain::Micros uploaded_before) override {
    return InTx<std::vector<std::string>>(
        [&](SqlConnection& c) -> absl::StatusOr<std::vector<std::string>> {
          auto rows = c.Query(
              "SELECT attachment_id FROM attachments WHERE referenced = 0 AND touch_time < ? "
              "LIMIT 1000",
              {uploaded_before});
          if (!rows.ok()) return rows.status();
          std::vector<std::string> ids;
          for (const auto& r : *rows) {
            auto n = c.Execute("DELETE FROM attachments WHERE attachment_id = ? AND referenced = 0",
                               {r.Str(0)});
            if (!n.ok()) return n.status();
            if (*n > 0) ids.push_back(r.Str(0));
          }
          return ids;
        });
  }

  // Written by group commit (see InGroup): concurrent reports share a transaction and a commit.
  absl::StatusOr<CreateCaseResult> CreateCase(const Case& c, const CaseEvent& first) override {
    CreateCaseResult out;
    GroupMember me;
    me.new_case = &c;
    me.run = [&](SqlConnection& conn) {
      return CreateCaseRows(conn, c, first, me.case_inserted, &out);
    };
    me.finish = [&](SqlConnection& conn) { return CreateCaseEvent(conn, first, &out); };
    absl::Status st = InGroup(&me);
    if (!st.ok()) return st;
    return out;
  }

  absl::StatusOr<std::vector<domain::AccountabilityCase>> LoadAccountabilityCases(
      domain::Micros created_from, domain::Micros start, domain::Micros end) override {
    auto lease = pool_.Acquire();
    if (!lease.ok()) return lease.status();
    return accountability_.LoadCases(**lease, created_from, start, end);
  }
  absl::Status SaveAccountability(int year, int month,
                                  const std::vector<domain::AccountabilityRecord>& records,
                                  domain::Micros compute_time) override {
    return InTx<bool>([&](SqlConnection& c) -> absl::StatusOr<bool> {
             if (auto st = accountability_.Save(c, year, month, records, compute_time); !st.ok()) {
               return st;
             }
             return true;
           })
        .status();
  }
  absl::StatusOr<std::optional<domain::Micros>> AccountabilityComputeTime(int year,
                                                                          int month) override {
    auto lease = pool_.Acquire();
    if (!lease.ok()) return lease.status();
    return accountability_.ComputeTime(**lease, year, month);
  }
  absl::StatusOr<std::vector<domain::AccountabilityRecord>> ListAccountabilityRecords(
      const AccountabilityQuery& q) override {
    auto lease = pool_.Acquire();
    if (!lease.ok()) return lease.status();
    return accountability_.List(**lease, q);
  }
  absl::StatusOr<std::optional<domain::AccountabilityRecord>> GetAccountabilityRecord(
      const std::string& record_id) override {
    auto lease = pool_.Acquire();
    if (!lease.ok()) return lease.status();
    return accountability_.Get(**lease, record_id);
  }
  absl::StatusOr<domain::AccountabilityRecord> DismissAccountabilityRecord(
      const std::string& record_id, int64_t expected_version, const std::string& reason,
      const std::string& by_user_id, domain::Micros time) override {
    return InTx<domain::AccountabilityRecord>([&](SqlConnection& c) {
      return accountability_.Dismiss(c, record_id, expected_version, reason, by_user_id, time);
    });
  }

  absl::StatusOr<std::optional<domain::SupervisionOrder>> GetSupervisionOrder(
      const std::string& order_id) override {
    auto lease = pool_.Acquire();
    if (!lease.ok()) return lease.status();
    return supervision_.Get(**lease, order_id);
  }
  absl::StatusOr<std::optional<domain::SupervisionOrder>> FindSupervisionOrder(
      const std::string& issuer, const std::string& request_id) override {
    auto lease = pool_.Acquire();
    if (!lease.ok()) return lease.status();
    return supervision_.Find(**lease, issuer, request_id);
  }
  absl::StatusOr<std::vector<domain::SupervisionOrder>> ListSupervisionOrders(
      const SupervisionQuery& q) override {
    auto lease = pool_.Acquire();
    if (!lease.ok()) return lease.status();
    return supervision_.List(**lease, q);
  }
  absl::StatusOr<std::vector<domain::SupervisionOrder>> ListDueSupervisionOrders(
      domain::Micros now, int limit) override {
    auto lease = pool_.Acquire();
    if (!lease.ok()) return lease.status();
    return supervision_.Due(**lease, now, limit);
  }
  absl::StatusOr<domain::SupervisionCounts> CountSupervisionOrders(
      const std::string& grid_path, const std::string& department_code, domain::Micros start,
      domain::Micros end) override {
    auto lease = pool_.Acquire();
    if (!lease.ok()) return lease.status();
    return supervision_.Count(**lease, grid_path, department_code, start, end);
  }

  absl::StatusOr<PatrolWriteResult> StartPatrol(const domain::Patrol& p) override {
    return InTx<PatrolWriteResult>([&](SqlConnection& c) { return patrols_.Start(c, p); });
  }
  absl::StatusOr<std::optional<domain::Patrol>> GetPatrol(const std::string& patrol_id) override {
    auto lease = pool_.Acquire();
    if (!lease.ok()) return lease.status();
    return patrols_.Get(**lease, patrol_id, /*lock=*/false);
  }
  absl::StatusOr<std::optional<std::string>> FindTrackBatch(const std::string& patrol_id,
                                                            const std::string& batch_id) override {
    auto rows = Read("SELECT digest FROM patrol_batches WHERE patrol_id = ? AND batch_id = ?",
                     {patrol_id, batch_id});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return std::optional<std::string>();
    return std::optional<std::string>(rows->front().Str(0));
  }
  absl::StatusOr<std::optional<domain::Visit>> GetVisit(const std::string& visit_id) override {
    auto lease = pool_.Acquire();
    if (!lease.ok()) return lease.status();
    return patrols_.GetVisit(**lease, visit_id);
  }
  absl::StatusOr<PatrolWriteResult> UpdatePatrol(const PatrolWrite& w) override {
    return InTx<PatrolWriteResult>([&](SqlConnection& c) -> absl::StatusOr<PatrolWriteResult> {
      auto result = patrols_.Update(c, w);
      if (!result.ok() || !result->created || !w.visit) return result;
      if (auto st = MarkReferenced(c, w.visit->attachment_ids); !st.ok()) return st;
      return result;
    });
  }
  absl::StatusOr<std::vector<domain::Patrol>> ListPatrols(const PatrolQuery& q) override {
    auto lease = pool_.Acquire();
    if (!lease.ok()) return lease.status();
    return patrols_.List(**lease, q);
  }
  absl::StatusOr<std::vector<domain::TrackPoint>> ListTrackPoints(const std::string& patrol_id,
                                                                  int64_t after,
                                                                  int limit) override {
    auto lease = pool_.Acquire();
    if (!lease.ok()) return lease.status();
    return patrols_.ListTrack(**lease, patrol_id, after, limit);
  }
  absl::StatusOr<std::vector<domain::Visit>> ListVisits(const std::string& patrol_id,
                                                        bool has_after, int64_t after_time,
                                                        const std::string& after_id,
                                                        int limit) override {
    auto lease = pool_.Acquire();
    if (!lease.ok()) return lease.status();
    return patrols_.ListVisits(**lease, patrol_id, has_after, after_time, after_id, limit);
  }
  absl::StatusOr<std::vector<domain::PatrolFigures>> SumPatrolFigures(const PatrolQuery& q,
                                                                      domain::Micros start,
                                                                      domain::Micros end) override {
    auto lease = pool_.Acquire();
    if (!lease.ok()) return lease.status();
    return patrols_.Sum(**lease, q, start, end);
  }
  absl::StatusOr<int64_t> CountPatrolDays(const PatrolQuery& q, domain::Micros start,
                                          domain::Micros end) override {
    auto lease = pool_.Acquire();
    if (!lease.ok()) return lease.status();
    return patrols_.CountDays(**lease, q, start, end);
  }

  absl::StatusOr<std::optional<Case>> GetCase(const std::string& case_id) override {
    auto rows =
        Read(absl::StrCat("SELECT ", kCaseColumns, " FROM cases WHERE case_id = ?"), {case_id});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return std::nullopt;
    return RowToCase(rows->front());
  }

  absl::Status BulkLoadCases(const std::vector<BulkCase>& cases) override {
    size_t events = 0;
    for (const auto& b : cases) events += b.events.size();
    return InTx<bool>([&](SqlConnection& conn) -> absl::StatusOr<bool> {
             // One bump of the event counter for the whole batch, then the rows in order.
             auto bump =
                 conn.Execute("UPDATE event_sequence SET last_seq = last_seq + ? WHERE id = 1",
                              {static_cast<int64_t>(events)});
             if (!bump.ok()) return bump.status();
             auto top = conn.Query("SELECT last_seq FROM event_sequence WHERE id = 1");
             if (!top.ok()) return top.status();
             if (top->empty()) return absl::InternalError("event_sequence row missing");
             int64_t seq = top->front().Int(0) - static_cast<int64_t>(events);
             // Many rows per INSERT: a round trip per row is most of the time on MySQL.
             std::vector<SqlParams> case_rows, event_rows, assisting_rows;
             for (const auto& b : cases) {
               case_rows.push_back(CaseParams(b.c));
               for (const auto& d : AssistingSet(b.c.assisting_department_codes)) {
                 assisting_rows.push_back({d, b.c.case_id});
               }
               for (const auto& e : b.events) {
                 CaseEvent numbered = e;
                 numbered.seq = ++seq;
                 event_rows.push_back(EventParams(numbered));
               }
             }
             std::vector<domain::FigureFacts> facts;
             facts.reserve(cases.size());
             for (const auto& b : cases) facts.push_back(FactsOf(b.c, b.events));
             if (auto st = figures_.AddAll(conn, facts); !st.ok()) return st;
             if (auto st = InsertRows(conn, "cases", kCaseColumns, case_rows); !st.ok()) return st;
             if (auto st =
                     InsertRows(conn, "case_assisting", "department_code, case_id", assisting_rows);
                 !st.ok()) {
               return st;
             }
             if (auto st = InsertRows(conn, "case_events", kEventColumns, event_rows); !st.ok()) {
               return st;
             }
             return true;
           })
        .status();
  }

  // The distinct codes of an assisting list.
  static std::set<std::string> AssistingSet(const std::vector<std::string>& codes) {
    std::set<std::string> out;
    for (const auto& d : codes) {
      if (!d.empty()) out.insert(d);
    }
    return out;
  }

  // Makes the case's rows in case_assisting equal `codes`: reads them (no lock), then deletes
  // and inserts by primary key only what differs, so a write that keeps the departments (most
  // do) writes nothing here and takes no range lock.
  // `fresh`: the case was inserted just now and has none yet (nothing to read).
  static absl::Status WriteAssisting(SqlConnection& conn, const std::string& case_id,
                                     const std::vector<std::string>& codes, bool fresh = false) {
    const std::set<std::string> want = AssistingSet(codes);
    std::set<std::string> have;
    if (!fresh) {
      auto rows =
          conn.Query("SELECT department_code FROM case_assisting WHERE case_id = ?", {case_id});
      if (!rows.ok()) return rows.status();
      for (const auto& r : *rows) have.insert(r.Str(0));
    }
    for (const auto& d : have) {
      if (want.count(d)) continue;
      auto st = conn.Execute("DELETE FROM case_assisting WHERE department_code = ? AND case_id = ?",
                             {d, case_id});
      if (!st.ok()) return st.status();
    }
    for (const auto& d : want) {
      if (have.count(d)) continue;
      auto st = conn.Execute("INSERT INTO case_assisting (department_code, case_id) VALUES (?, ?)",
                             {d, case_id});
      if (!st.ok()) return st.status();
    }
    return absl::OkStatus();
  }

  // INSERT of `rows` (each in the order of `columns`), up to 4,000 values per statement.
  static absl::Status InsertRows(SqlConnection& conn, absl::string_view table,
                                 absl::string_view columns, const std::vector<SqlParams>& rows) {
    if (rows.empty()) return absl::OkStatus();
    const size_t width = rows.front().size();
    const size_t per_statement = std::max<size_t>(1, 4000 / width);
    const std::string one = absl::StrCat("(", Marks(width), ")");
    for (size_t from = 0; from < rows.size(); from += per_statement) {
      const size_t n = std::min(per_statement, rows.size() - from);
      std::vector<std::string> marks(n, one);
      SqlParams params;
      params.reserve(n * width);
      for (size_t i = from; i < from + n; ++i) {
        params.insert(params.end(), rows[i].begin(), rows[i].end());
      }
      auto st = conn.Execute(absl::StrCat("INSERT INTO ", table, " (", columns, ") VALUES ",
                                          absl::StrJoin(marks, ", ")),
                             params);
      if (!st.ok()) return st.status();
    }
    return absl::OkStatus();
  }

  absl::StatusOr<int64_t> CountCases() override {
    auto rows = Read("SELECT COUNT(*) FROM cases", {});
    if (!rows.ok()) return rows.status();
    return rows->empty() ? 0 : rows->front().Int(0);
  }

  // On SQLite by group commit too (see InGroup). Not on MySQL: an update first waits for its
  // case's row lock, and in a group that wait would hold up every other write of the replica.
  absl::StatusOr<CaseWriteResult> UpdateCase(const CaseWrite& w) override {
    if (dialect_ == Dialect::kSqlite) {
      absl::StatusOr<CaseWriteResult> out = absl::InternalError("not run");
      absl::Status st = InGroup(
          [&](SqlConnection& conn) {
            out = UpdateCaseIn(conn, w);
            return out.status();
          },
          nullptr);
      if (!st.ok()) return st;
      return out;
    }
    return InTx<CaseWriteResult>([&](SqlConnection& conn) { return UpdateCaseIn(conn, w); });
  }

  absl::StatusOr<CaseWriteResult> UpdateCaseIn(SqlConnection& conn, const CaseWrite& w) {
    // The figures' view of the case before this write, read with the row locked first.
    auto before = figures_.LoadFacts(conn, {w.c.case_id}, /*lock=*/true);
    if (!before.ok()) return before.status();
    Case next = w.c;
    next.version = w.expected_version + 1;
    if (!w.case_number_prefix.empty()) {
      auto n = AllocateNumber(conn, w.case_number_prefix);
      if (!n.ok()) return n.status();
      next.case_number = absl::StrCat(w.case_number_prefix, absl::Dec(*n, absl::kZeroPad6));
    }
    // A case write sets every column a case action may change, and never those fixed at
    // creation nor grid_path, which grid moves own: a move does not change the version, so a
    // write checked against the version would otherwise put a stale path back.
    static const std::set<std::string> kNotUpdated = {
        "case_id",    "grid_code",      "grid_path", "reporter_user_id", "create_time",
        "request_id", "request_digest", "source",    "patrol_id"};
    static const std::vector<std::string> kColumns = Columns(kCaseColumns);
    const SqlParams all = CaseParams(next);
    SqlParams params;
    for (size_t i = 0; i < kColumns.size(); ++i) {
      if (!kNotUpdated.count(kColumns[i])) params.push_back(all[i]);
    }
    params.push_back(next.case_id);
    params.push_back(w.expected_version);
    static const std::string kUpdate = [] {
      std::vector<std::string> sets;
      for (const auto& col : kColumns) {
        if (!kNotUpdated.count(col)) sets.push_back(absl::StrCat(col, " = ?"));
      }
      return absl::StrCat("UPDATE cases SET ", absl::StrJoin(sets, ", "),
                          " WHERE case_id = ? AND version = ?");
    }();
    auto n = conn.Execute(kUpdate, params);
    if (!n.ok()) return n.status();
    if (*n == 0) {
      auto cur = conn.Query("SELECT version FROM cases WHERE case_id = ?", {next.case_id});
      if (!cur.ok()) return cur.status();
      if (cur->empty()) return absl::NotFoundError(absl::StrCat("case ", next.case_id));
      return absl::AbortedError(absl::StrCat(
          "case ", next.case_id, " changed concurrently: version is ", cur->front().Int(0),
          ", expected ", w.expected_version, "; re-read and retry"));
    }
    const std::string kExtUpsert =
        Upsert(dialect_, "extension_requests", Columns(kExtensionColumns));
    for (const auto& x : w.extension_upserts) {
      auto st = conn.Execute(kExtUpsert, ExtensionParams(x));
      if (!st.ok()) return st.status();
    }
    for (const auto& o : w.supervision_writes) {
      if (auto st = supervision_.Write(conn, o); !st.ok()) return st;
    }
    std::vector<std::string> used = next.after_photo_ids;
    for (const auto& e : w.events) {
      used.insert(used.end(), e.attachment_ids.begin(), e.attachment_ids.end());
    }
    if (auto st = MarkReferenced(conn, used); !st.ok()) return st;
    if (auto st = WriteAssisting(conn, next.case_id, next.assisting_department_codes); !st.ok()) {
      return st;
    }
    // The path as it stands now that the row is locked by this write (a grid move may have
    // committed since the caller read the case): the answer and the events carry it.
    auto path = conn.Query("SELECT grid_path FROM cases WHERE case_id = ?", {next.case_id});
    if (!path.ok()) return path.status();
    if (!path->empty()) next.grid_path = path->front().Str(0);
    if (!before->empty()) {
      domain::FigureFacts after = FactsOf(next, w.events);
      const domain::FigureFacts& was = before->front();
      after.resolved_times.insert(after.resolved_times.end(), was.resolved_times.begin(),
                                  was.resolved_times.end());
      after.failed_times.insert(after.failed_times.end(), was.failed_times.begin(),
                                was.failed_times.end());
      if (auto st = figures_.Apply(conn, &was, &after); !st.ok()) return st;
    }
    CaseWriteResult out;
    out.stored = next;
    for (const auto& event : w.events) {
      CaseEvent ev = event;
      ev.case_version = next.version;
      ev.grid_path = next.grid_path;
      auto appended = AppendEvent(conn, ev);
      if (!appended.ok()) return appended.status();
      out.events.push_back(*std::move(appended));
    }
    return out;
  }

  absl::StatusOr<std::vector<Case>> ListCases(const CaseQuery& q) override {
    if (q.states.size() > 1 && q.order == CaseQuery::Order::kQueueOldest) {
      // Oldest first over several states (the triage queue): one read per state, which
      // ix_cases_state (state, state_time) serves in order, merged here, instead of reading every
      // case in those states and sorting them.
      std::vector<Case> merged;
      for (const domain::CaseState st : q.states) {
        CaseQuery one = q;
        one.states = {st};
        auto part = ListCasesIn(one);
        if (!part.ok()) return part.status();
        merged.insert(merged.end(), std::make_move_iterator(part->begin()),
                      std::make_move_iterator(part->end()));
      }
      std::sort(merged.begin(), merged.end(), [&](const Case& a, const Case& b) {
        const int64_t ka = SortKey(a, q.order), kb = SortKey(b, q.order);
        return ka != kb ? ka < kb : a.case_id < b.case_id;
      });
      if (merged.size() > static_cast<size_t>(q.limit)) merged.resize(q.limit);
      return merged;
    }
    return ListCasesIn(q);
  }

  absl::StatusOr<std::vector<Case>> ListCasesIn(const CaseQuery& q) {
    std::string sql = absl::StrCat("SELECT ", kCaseColumns, " FROM cases WHERE 1 = 1");
    SqlParams params;
    if (!q.states.empty()) {
      absl::StrAppend(&sql, " AND state IN (", Marks(q.states.size()), ")");
      for (auto st : q.states) params.push_back(static_cast<int64_t>(st));
    }
    if (!q.subtree_grid_code.empty()) {
      auto g = FindGrid(q.subtree_grid_code);
      if (!g.ok()) return g.status();
      // An unknown grid has an empty subtree (the reporter clause may still match).
      const std::string prefix = g->has_value() ? (*g)->path : "/\x01/";
      // A range, not LIKE 'prefix%'. Newest first, SQLite is told not to use the path index
      // (unary +): walking ix_cases_created and testing the path there reads about
      // 50 / (the subtree's share) index entries per page, while the path index reads and sorts
      // the whole subtree (a street of a 5M-case city: 500,000 rows).
      const std::string path =
          dialect_ == Dialect::kSqlite && q.order == CaseQuery::Order::kNewestFirst ? "+grid_path"
                                                                                    : "grid_path";
      bool leaf = false;  // a grid without children: its cases all have its path
      if (g->has_value() && q.or_reporter_user_id.empty()) {
        auto child = Read("SELECT code FROM grids WHERE parent_code = ? LIMIT 1", {(*g)->code});
        if (!child.ok()) return child.status();
        leaf = child->empty();
      }
      if (leaf) {
        sql += " AND grid_path = ?";  // ix_cases_path_created: in order, no sort
        params.push_back(prefix);
      } else if (q.or_reporter_user_id.empty()) {
        absl::StrAppend(&sql, " AND ", path, " >= ? AND ", path, " < ?");
      } else {
        absl::StrAppend(&sql, " AND ((", path, " >= ? AND ", path,
                        " < ?) OR reporter_user_id = ?)");
      }
      if (!leaf) {
        params.push_back(prefix);
        params.push_back(PathRangeEnd(prefix));
        if (!q.or_reporter_user_id.empty()) params.push_back(q.or_reporter_user_id);
      }
    } else if (!q.or_reporter_user_id.empty()) {
      sql += " AND reporter_user_id = ?";
      params.push_back(q.or_reporter_user_id);
    }
    if (!q.department_code.empty()) {
      if (q.include_assisting) {
        sql +=
            " AND (lead_department_code = ? OR case_id IN "
            "(SELECT case_id FROM case_assisting WHERE department_code = ?))";
        params.push_back(q.department_code);
        params.push_back(q.department_code);
      } else {
        sql += " AND lead_department_code = ?";
        params.push_back(q.department_code);
      }
    }
    if (!q.category_codes.empty()) {
      absl::StrAppend(&sql, " AND category_code IN (", Marks(q.category_codes.size()), ")");
      for (const auto& k : q.category_codes) params.push_back(k);
    }
    if (q.deadline_before != 0) {
      sql += " AND deadline_time > 0 AND deadline_time <= ?";
      params.push_back(q.deadline_before);
    }
    if (q.warning_level_below != 0) {
      sql += " AND warning_level < ?";
      params.push_back(static_cast<int64_t>(q.warning_level_below));
    }
    if (q.observed_from != 0 || q.observed_to != 0) {
      sql += " AND observe_time >= ? AND observe_time <= ?";
      params.push_back(q.observed_from);
      params.push_back(q.observed_to != 0 ? q.observed_to : INT64_MAX);
    }
    if (q.source != domain::CaseSource::kUnspecified) {
      sql += " AND source = ?";
      params.push_back(static_cast<int64_t>(q.source));
    }
    std::string key;
    bool desc = false;
    switch (q.order) {
      case CaseQuery::Order::kNewestFirst:
        key = "create_time";
        desc = true;
        break;
      case CaseQuery::Order::kQueueOldest:
        key = "state_time";
        break;
      case CaseQuery::Order::kDeadlineSoonest:
        key = absl::StrCat("(CASE WHEN deadline_time = 0 THEN ", kNoDeadlineKey,
                           " ELSE deadline_time END)");
        break;
    }
    const char* cmp = desc ? "<" : ">";
    if (q.has_after) {
      // (key, case_id) after the last one, written so that both engines seek the key's index
      // to it instead of scanning from the start: key <= k AND (key < k OR case_id < id).
      const char* cmp_eq = desc ? "<=" : ">=";
      absl::StrAppend(&sql, " AND ", key, " ", cmp_eq, " ? AND (", key, " ", cmp, " ? OR case_id ",
                      cmp, " ?)");
      params.push_back(q.after_key);
      params.push_back(q.after_key);
      params.push_back(q.after_case_id);
    }
    const char* dir = desc ? " DESC" : " ASC";
    absl::StrAppend(&sql, " ORDER BY ", key, dir, ", case_id", dir, " LIMIT ?");
    params.push_back(static_cast<int64_t>(q.limit));
    auto rows = Read(sql, params);
    if (!rows.ok()) return rows.status();
    std::vector<Case> out;
    out.reserve(rows->size());
    for (const auto& r : *rows) out.push_back(RowToCase(r));
    return out;
  }

  int FiguresUtcOffsetMinutes() override { return figures_.utc_offset_minutes(); }

  absl::StatusOr<domain::FigureSums> SumFigures(const FigureQuery& q) override {
    auto lease = pool_.Acquire();
    if (!lease.ok()) return lease.status();
    return figures_.Sum(**lease, q.node, q.department_code, q.first_day, q.end_day);
  }

  absl::StatusOr<std::map<std::string, domain::FigureSums>> SumFiguresGrouped(
      FigureGrouping grouping, int64_t first_day, int64_t end_day) override {
    auto lease = pool_.Acquire();
    if (!lease.ok()) return lease.status();
    return figures_.SumGrouped(**lease, grouping == FigureGrouping::kByNode ? "node" : "dept",
                               first_day, end_day);
  }

  absl::StatusOr<std::vector<domain::FigureFacts>> FigureFactsWithin(
      const FigureScope& scope,
      const std::vector<std::pair<domain::Micros, domain::Micros>>& windows) override {
    std::set<std::string> ids;
    for (const auto& [from, to] : windows) {
      // deadline_time is indexed after state (ix_cases_state_deadline): name the states that
      // count, so that index serves the range.
      const std::string counted =
          absl::StrCat("state IN (", static_cast<int>(domain::CaseState::kPendingTriage), ", ",
                       static_cast<int>(domain::CaseState::kDispatched), ", ",
                       static_cast<int>(domain::CaseState::kInProgress), ", ",
                       static_cast<int>(domain::CaseState::kReturned), ", ",
                       static_cast<int>(domain::CaseState::kResolved), ", ",
                       static_cast<int>(domain::CaseState::kClosed), ") AND ");
      const bool by_source = scope.source != domain::CaseSource::kUnspecified;
      const std::string source = by_source ? " AND source = ?" : "";
      for (const char* column :
           {"filed_time", "first_deadline_time", "deadline_time", "closed_time"}) {
        const bool by_state = absl::string_view(column) == "deadline_time";
        SqlParams params = {from, to};
        if (by_source) params.push_back(static_cast<int64_t>(scope.source));
        auto rows = Read(absl::StrCat("SELECT case_id FROM cases WHERE ", by_state ? counted : "",
                                      column, " >= ? AND ", column, " < ?", source),
                         params);
        if (!rows.ok()) return rows.status();
        for (const auto& r : *rows) ids.insert(r.Str(0));
      }
      SqlParams params = {static_cast<int64_t>(domain::EventType::kCaseResolved),
                          static_cast<int64_t>(domain::EventType::kVerificationFailed), from, to};
      if (by_source) params.push_back(static_cast<int64_t>(scope.source));
      auto rows = Read(
          by_source ? "SELECT DISTINCT e.case_id FROM case_events e JOIN cases c ON c.case_id = "
                      "e.case_id WHERE e.type IN (?, ?) AND e.event_time >= ? AND "
                      "e.event_time < ? AND c.source = ?"
                    : "SELECT DISTINCT case_id FROM case_events WHERE type IN (?, ?) AND "
                      "event_time >= ? AND event_time < ?",
          params);
      if (!rows.ok()) return rows.status();
      for (const auto& r : *rows) ids.insert(r.Str(0));
    }
    auto lease = pool_.Acquire();
    if (!lease.ok()) return lease.status();
    auto facts = figures_.LoadFacts(**lease, {ids.begin(), ids.end()}, /*lock=*/false);
    if (!facts.ok()) return facts.status();
    std::vector<domain::FigureFacts> out;
    for (auto& f : *facts) {
      if (InScope(f, scope)) out.push_back(std::move(f));
    }
    return out;
  }

  absl::StatusOr<domain::OpenOverdueCounts> SumOpenOverdue(const FigureQuery& q,
                                                           int64_t before_day) override {
    auto lease = pool_.Acquire();
    if (!lease.ok()) return lease.status();
    return figures_.SumOpen(**lease, q.node, q.department_code, q.first_day, q.end_day, before_day);
  }

  absl::StatusOr<std::map<std::string, domain::OpenOverdueCounts>> SumOpenOverdueGrouped(
      FigureGrouping grouping, int64_t first_day, int64_t end_day, int64_t before_day) override {
    auto lease = pool_.Acquire();
    if (!lease.ok()) return lease.status();
    return figures_.SumOpenGrouped(**lease, grouping == FigureGrouping::kByNode ? "node" : "dept",
                                   first_day, end_day, before_day);
  }

  absl::StatusOr<std::vector<OverdueGroup>> CountOpenOverdue(const FigureScope& scope,
                                                             domain::Micros deadline_from,
                                                             domain::Micros now,
                                                             domain::Micros start,
                                                             domain::Micros end) override {
    std::vector<domain::CaseState> open;
    for (int st = 0; st <= static_cast<int>(domain::CaseState::kMerged); ++st) {
      if (domain::IsOpenForFigures(static_cast<domain::CaseState>(st))) {
        open.push_back(static_cast<domain::CaseState>(st));
      }
    }
    // Late: due in the range and not postponed past its end (statistics.h).
    SqlParams params = {start, end, end};
    std::string sql = absl::StrCat(
        "SELECT grid_path, lead_department_code, COUNT(*), SUM(CASE WHEN "
        "first_deadline_time >= ? AND first_deadline_time < ? AND NOT (deadline_time >= ? AND "
        "deadline_time <> first_deadline_time) THEN 1 ELSE 0 END) FROM cases WHERE state IN (",
        Marks(open.size()), ") AND deadline_time > 0 AND deadline_time >= ? AND deadline_time < ?");
    for (auto st : open) params.push_back(static_cast<int64_t>(st));
    params.push_back(deadline_from);
    params.push_back(now);
    if (!scope.grid_path.empty()) {
      sql += " AND grid_path >= ? AND grid_path < ?";
      params.push_back(scope.grid_path);
      params.push_back(PathRangeEnd(scope.grid_path));
    }
    if (!scope.department_code.empty()) {
      sql += " AND lead_department_code = ?";
      params.push_back(scope.department_code);
    }
    if (scope.source != domain::CaseSource::kUnspecified) {
      sql += " AND source = ?";
      params.push_back(static_cast<int64_t>(scope.source));
    }
    sql += " GROUP BY grid_path, lead_department_code";
    auto rows = Read(sql, params);
    if (!rows.ok()) return rows.status();
    std::vector<OverdueGroup> out;
    for (const auto& r : *rows) out.push_back({r.Str(0), r.Str(1), r.Int(2), r.Int(3)});
    return out;
  }

  absl::StatusOr<std::optional<domain::ExtensionRequest>> GetExtensionRequest(
      const std::string& id) override {
    auto rows = Read(absl::StrCat("SELECT ", kExtensionColumns,
                                  " FROM extension_requests WHERE extension_request_id = ?"),
                     {id});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return std::nullopt;
    return RowToExtension(rows->front());
  }

  absl::StatusOr<std::vector<domain::ExtensionRequest>> ListExtensionRequests(
      const ExtensionQuery& q) override {
    std::vector<std::string> cols = Columns(kExtensionColumns);
    for (auto& c : cols) c = "x." + c;
    std::string sql = absl::StrCat(
        "SELECT ", absl::StrJoin(cols, ", "),
        " FROM extension_requests x JOIN cases c ON c.case_id = x.case_id WHERE 1 = 1");
    SqlParams params;
    if (!q.case_id.empty()) {
      sql += " AND x.case_id = ?";
      params.push_back(q.case_id);
    }
    if (!q.states.empty()) {
      absl::StrAppend(&sql, " AND x.state IN (", Marks(q.states.size()), ")");
      for (auto st : q.states) params.push_back(static_cast<int64_t>(st));
    }
    if (!q.subtree_grid_code.empty()) {
      auto g = FindGrid(q.subtree_grid_code);
      if (!g.ok()) return g.status();
      if (!g->has_value()) return std::vector<domain::ExtensionRequest>{};
      sql += " AND c.grid_path >= ? AND c.grid_path < ?";
      params.push_back((*g)->path);
      params.push_back(PathRangeEnd((*g)->path));
    }
    if (q.has_after) {
      sql += " AND (x.create_time > ? OR (x.create_time = ? AND x.extension_request_id > ?))";
      params.push_back(q.after_create_time);
      params.push_back(q.after_create_time);
      params.push_back(q.after_id);
    }
    sql += " ORDER BY x.create_time, x.extension_request_id LIMIT ?";
    params.push_back(static_cast<int64_t>(q.limit));
    auto rows = Read(sql, params);
    if (!rows.ok()) return rows.status();
    std::vector<domain::ExtensionRequest> out;
    for (const auto& r : *rows) out.push_back(RowToExtension(r));
    return out;
  }

  absl::StatusOr<std::vector<CaseEvent>> ListEventsAfter(int64_t after_seq, int limit) override {
    auto rows = Read(absl::StrCat("SELECT ", kEventColumns,
                                  " FROM case_events WHERE seq > ? ORDER BY seq LIMIT ?"),
                     {after_seq, static_cast<int64_t>(limit)});
    if (!rows.ok()) return rows.status();
    std::vector<CaseEvent> out;
    out.reserve(rows->size());
    for (const auto& r : *rows) out.push_back(RowToEvent(r));
    return out;
  }

  absl::StatusOr<std::vector<CaseEvent>> ListCaseEvents(const std::string& case_id) override {
    auto rows = Read(
        absl::StrCat("SELECT ", kEventColumns, " FROM case_events WHERE case_id = ? ORDER BY seq"),
        {case_id});
    if (!rows.ok()) return rows.status();
    std::vector<CaseEvent> out;
    for (const auto& r : *rows) out.push_back(RowToEvent(r));
    return out;
  }

  absl::StatusOr<int64_t> LastEventSeq() override {
    auto rows = Read("SELECT last_seq FROM event_sequence WHERE id = 1", {});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return absl::InternalError("event_sequence row missing");
    return rows->front().Int(0);
  }

  absl::StatusOr<int64_t> AdvanceFeedHorizon(domain::Micros before) override {
    return InTx<int64_t>([&](SqlConnection& c) -> absl::StatusOr<int64_t> {
      // The newest event older than `before`, but never the newest event of all, so that a
      // cursor at the head never looks expired. Nothing is deleted: this only marks how far back
      // a watch may resume (ix_events_time serves the range).
      auto top = c.Query(
          "SELECT MAX(seq) FROM case_events WHERE event_time < ? AND seq < "
          "(SELECT last_seq FROM event_sequence WHERE id = 1)",
          {before});
      if (!top.ok()) return top.status();
      if (!top->empty() && !top->front().IsNull(0)) {
        const int64_t through = top->front().Int(0);
        auto m = c.Execute(
            "UPDATE store_meta SET value = ? WHERE name = 'pruned_through_seq' AND value < ?",
            {through, through});
        if (!m.ok()) return m.status();
      }
      auto now = c.Query("SELECT value FROM store_meta WHERE name = 'pruned_through_seq'", {});
      if (!now.ok()) return now.status();
      return now->empty() ? int64_t{0} : now->front().Int(0);
    });
  }

  absl::StatusOr<int64_t> FeedHorizonSeq() override {
    auto rows = Read("SELECT value FROM store_meta WHERE name = 'pruned_through_seq'", {});
    if (!rows.ok()) return rows.status();
    return rows->empty() ? 0 : rows->front().Int(0);
  }

 private:
  // Writes every entry of `org` (insert or update by key), then recomputes grid paths: a moved
  // grid's subtree gets new paths and the cases located there follow.
  absl::Status UpsertOrganisation(SqlConnection& c, const domain::Organisation& org) {
    // The path is computed below, once the whole tree is written.
    const std::string grid_sql = Upsert(dialect_, "grids", Columns(kGridColumns), 5);
    for (const auto& g : org.grids) {
      auto st = c.Execute(grid_sql, {g.code, g.name, static_cast<int64_t>(g.level), g.parent_code,
                                     g.boundary_geojson, std::string()});
      if (!st.ok()) return st.status();
    }
    const std::string dept_sql = Upsert(
        dialect_, "departments", {"code", "name", "parent_code", "grid_code", "leader_user_id"});
    for (const auto& d : org.departments) {
      auto st = c.Execute(dept_sql, {d.code, d.name, d.parent_code, d.grid_code, d.leader_user_id});
      if (!st.ok()) return st.status();
    }
    const std::string cat_sql = Upsert(dialect_, "categories", Columns(kCategoryColumns));
    for (const auto& k : org.categories) {
      auto st = c.Execute(cat_sql, {k.code, k.name, static_cast<int64_t>(k.kind),
                                    static_cast<int64_t>(k.normal_deadline_hours),
                                    static_cast<int64_t>(k.urgent_deadline_hours),
                                    static_cast<int64_t>(k.emergency_deadline_hours),
                                    static_cast<int64_t>(k.auto_accept ? 1 : 0)});
      if (!st.ok()) return st.status();
    }
    const std::string rule_sql = Upsert(dialect_, "routing_rules", Columns(kRuleColumns));
    for (const auto& r : org.routing_rules) {
      auto st =
          c.Execute(rule_sql, {r.rule_id, r.category_code, r.grid_code, r.lead_department_code,
                               JoinList(r.assisting_department_codes)});
      if (!st.ok()) return st.status();
    }
    const std::string user_sql = Upsert(dialect_, "users", Columns(kUserColumns));
    for (const auto& u : org.users) {
      auto st =
          c.Execute(user_sql, {u.user_id, u.display_name, static_cast<int64_t>(u.role), u.grid_code,
                               u.department_code, static_cast<int64_t>(u.disabled ? 1 : 0)});
      if (!st.ok()) return st.status();
    }
    auto stored = c.Query("SELECT code, name, level, parent_code, path FROM grids");
    if (!stored.ok()) return stored.status();
    std::map<std::string, domain::Grid> grids;
    for (const auto& r : *stored) {
      grids[r.Str(0)] = {r.Str(0), r.Str(1), static_cast<domain::GridLevel>(r.Int(2)), r.Str(3),
                         r.Str(4)};
    }
    std::vector<std::pair<domain::FigureFacts, std::string>> moved_cases;
    for (const auto& [code, g] : grids) {
      const std::string path = PathOf(grids, code);
      if (path == g.path) continue;
      auto st = c.Execute("UPDATE grids SET path = ? WHERE code = ?", {path, code});
      if (!st.ok()) return st.status();
      // The figures of the grid's cases move from its old ancestors to its new ones.
      auto ids = c.Query("SELECT case_id FROM cases WHERE grid_code = ?", {code});
      if (!ids.ok()) return ids.status();
      std::vector<std::string> case_ids;
      for (const auto& r : *ids) case_ids.push_back(r.Str(0));
      auto facts = figures_.LoadFacts(c, case_ids, /*lock=*/true);
      if (!facts.ok()) return facts.status();
      for (auto& f : *facts) moved_cases.emplace_back(std::move(f), path);
      auto moved = c.Execute("UPDATE cases SET grid_path = ? WHERE grid_code = ?", {path, code});
      if (!moved.ok()) return moved.status();
      if (auto st = patrols_.MoveGrid(c, code, path); !st.ok()) return st;
      if (auto st = supervision_.MoveGrid(c, code, path); !st.ok()) return st;
    }
    return figures_.Move(c, moved_cases);
  }

  // Marks the attachments a case write uses, inside its transaction. An id whose metadata is
  // gone (cleaned up as an orphan since the caller checked it) fails the whole write.
  absl::Status MarkReferenced(SqlConnection& conn, const std::vector<std::string>& ids) {
    std::set<std::string> unique(ids.begin(), ids.end());
    for (const auto& id : unique) {
      auto st = conn.Execute("UPDATE attachments SET referenced = 1 WHERE attachment_id = ?", {id});
      if (!st.ok()) return st.status();
    }
    if (unique.empty()) return absl::OkStatus();
    SqlParams params(unique.begin(), unique.end());
    auto n = conn.Query(absl::StrCat("SELECT COUNT(*) FROM attachments WHERE attachment_id IN (",
                                     Marks(unique.size()), ")"),
                        params);
    if (!n.ok()) return n.status();
    if (n->empty() || n->front().Int(0) != static_cast<int64_t>(unique.size())) {
      return domain::InvalidField("attachment_ids",
                                  "a photo is no longer stored (unused uploads are cleaned up); "
                                  "upload it again");
    }
    return absl::OkStatus();
  }

  // The next value of a case-number counter; the row stays locked until commit.
  absl::StatusOr<int64_t> AllocateNumber(SqlConnection& conn, const std::string& prefix) {
    auto bumped = conn.Execute(
        "UPDATE case_counters SET last_value = last_value + 1 WHERE prefix = ?", {prefix});
    if (!bumped.ok()) return bumped.status();
    if (*bumped == 0) {
      auto ins =
          conn.Execute("INSERT INTO case_counters (prefix, last_value) VALUES (?, 1)", {prefix});
      if (!ins.ok()) {
        // Another filing created the row first: the transaction runs again and bumps it.
        if (absl::IsAlreadyExists(ins.status())) return domain::MarkRetryable(ins.status());
        return ins.status();
      }
      return 1;
    }
    auto v = conn.Query("SELECT last_value FROM case_counters WHERE prefix = ?", {prefix});
    if (!v.ok()) return v.status();
    if (v->empty()) return absl::InternalError("case counter vanished");
    return v->front().Int(0);
  }

  // The event numbers a group transaction hands out (RunGroup): the sequence row is read and
  // locked once, at the group's first event, numbers are counted here, and the row is written
  // once before the commit. A member rolled back to its savepoint gives its numbers back, so the
  // committed numbers have no gaps, as with one bump per event. Only the leader's thread sees it.
  struct SeqBlock {
    bool read = false;
    int64_t last = 0;     // the last number handed out
    int64_t written = 0;  // the row's value when read
    // In the finishes (after every member's `run`), events wait here and go in with one
    // statement (FlushEvents); anything that reads events flushes first.
    bool defer = false;
    std::vector<CaseEvent> pending;
  };
  static SeqBlock*& GroupSeq() {
    static thread_local SeqBlock* block = nullptr;
    return block;
  }

  // Appends one event with the next sequence number. Must be the last write of the transaction,
  // so that the sequence row stays locked for as short a time as possible.
  absl::StatusOr<CaseEvent> AppendEvent(SqlConnection& conn, const CaseEvent& event) {
    CaseEvent e = event;
    if (SeqBlock* block = GroupSeq()) {
      if (!block->read) {
        // MySQL: FOR UPDATE takes the row lock here, where a lone write's UPDATE would.
        auto seq = conn.Query(dialect_ == Dialect::kMysql
                                  ? "SELECT last_seq FROM event_sequence WHERE id = 1 FOR UPDATE"
                                  : "SELECT last_seq FROM event_sequence WHERE id = 1");
        if (!seq.ok()) return seq.status();
        if (seq->empty()) return absl::InternalError("event_sequence row missing");
        block->read = true;
        block->last = block->written = seq->front().Int(0);
      }
      e.seq = ++block->last;
      if (block->defer) {
        block->pending.push_back(e);
        return e;
      }
    } else {
      auto bump = conn.Execute("UPDATE event_sequence SET last_seq = last_seq + 1 WHERE id = 1");
      if (!bump.ok()) return bump.status();
      auto seq = conn.Query("SELECT last_seq FROM event_sequence WHERE id = 1");
      if (!seq.ok()) return seq.status();
      if (seq->empty()) return absl::InternalError("event_sequence row missing");
      e.seq = seq->front().Int(0);
    }
    static const std::string kInsert = InsertSql("case_events", kEventColumns);
    auto ins = conn.Execute(kInsert, EventParams(e));
    if (!ins.ok()) return ins.status();
    return e;
  }

  static std::string PathOf(const std::map<std::string, domain::Grid>& grids,
                            const std::string& code) {
    std::vector<std::string> chain;
    std::string cur = code;
    for (int depth = 0; !cur.empty() && depth < 16; ++depth) {
      chain.push_back(cur);
      auto it = grids.find(cur);
      if (it == grids.end()) break;
      cur = it->second.parent_code;
    }
    std::reverse(chain.begin(), chain.end());
    return absl::StrCat("/", absl::StrJoin(chain, "/"), "/");
  }

  absl::StatusOr<int> CurrentVersion(SqlConnection& conn) {
    auto rows = conn.Query("SELECT MAX(version) FROM schema_migrations");
    if (!rows.ok()) return rows.status();
    if (rows->empty() || rows->front().IsNull(0)) return 0;
    return static_cast<int>(rows->front().Int(0));
  }

  absl::Status MigrateLocked(SqlConnection& conn) {
    auto made = conn.Execute(Expand(dialect_,
                                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                    "version INTEGER NOT NULL PRIMARY KEY, "
                                    "applied_time BIGINT NOT NULL){OPTS}"));
    if (!made.ok()) return made.status();
    auto current = CurrentVersion(conn);
    if (!current.ok()) return current.status();
    if (*current > LatestSchemaVersion()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the database schema is at version ", *current, ", newer than this server knows (",
          LatestSchemaVersion(), "); upgrade gridline-server"));
    }
    for (const Migration& m : Migrations()) {
      if (m.version <= *current) continue;
      for (const std::string& stmt : m.statements) {
        auto st = conn.Execute(Expand(dialect_, stmt));
        if (!st.ok()) return st.status();
      }
      for (const auto& [table, column, definition] : m.columns) {
        auto exists =
            dialect_ == Dialect::kMysql
                ? conn.Query(
                      "SELECT 1 FROM information_schema.columns WHERE "
                      "table_schema = DATABASE() AND table_name = ? AND column_name = ?",
                      {table, column})
                : conn.Query("SELECT 1 FROM pragma_table_info(?) WHERE name = ?", {table, column});
        if (!exists.ok()) return exists.status();
        if (!exists->empty()) continue;
        auto st = conn.Execute(
            absl::StrCat("ALTER TABLE ", table, " ADD COLUMN ", column, " ", definition));
        if (!st.ok()) return st.status();
      }
      for (const std::string& stmt : m.backfill) {
        auto st = conn.Execute(Expand(dialect_, stmt));
        if (!st.ok()) return st.status();
      }
      for (const auto& [table, name, cols, unique] : m.indexes) {
        auto exists = dialect_ == Dialect::kMysql
                          ? conn.Query(
                                "SELECT 1 FROM information_schema.statistics WHERE "
                                "table_schema = DATABASE() AND table_name = ? AND index_name = ?",
                                {table, name})
                          : conn.Query(
                                "SELECT 1 FROM sqlite_master WHERE type = 'index' AND "
                                "tbl_name = ? AND name = ?",
                                {table, name});
        if (!exists.ok()) return exists.status();
        if (!exists->empty()) continue;
        auto st = conn.Execute(absl::StrCat("CREATE ", unique ? "UNIQUE " : "", "INDEX ", name,
                                            " ON ", table, " (", cols, ")"));
        if (!st.ok()) return st.status();
      }
      auto rec = conn.Execute(Expand(dialect_,
                                     "{INSERT_IGNORE} INTO schema_migrations "
                                     "(version, applied_time) VALUES (?, ?)"),
                              {static_cast<int64_t>(m.version), util::WallClock().NowMicros()});
      if (!rec.ok()) return rec.status();
      util::Log(util::LogLevel::kInfo, "migration",
                {{"schema_version", m.version},
                 {"dialect", dialect_ == Dialect::kMysql ? "mysql" : "sqlite"}});
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<SqlRow>> Read(const std::string& sql, const SqlParams& params) {
    for (int attempt = 0;; ++attempt) {
      auto lease = pool_.Acquire();
      if (!lease.ok()) {
        // No host to connect to now (all down, or Galera nodes not ready): a short wait.
        if (!domain::IsRetryable(lease.status()) || attempt >= 3) return lease.status();
        std::this_thread::sleep_for(std::chrono::milliseconds(10 << attempt));
        continue;
      }
      auto rows = (*lease)->Query(sql, params);
      if (rows.ok() || !domain::IsRetryable(rows.status()) || attempt >= 3) return rows;
    }
  }

  // Runs `fn` in a write transaction, again (up to 5 times) when it fails in a way that a
  // fresh attempt can fix: deadlock (on Galera also a certification conflict), busy database,
  // lost connection, a Galera node that is not ready, no host to connect to. A lost connection
  // makes the MySQL store move to the next host (mysql_driver.h) and drop the idle connections
  // to the old one, so the next attempt opens a connection there.
  template <typename T>
  absl::StatusOr<T> InTx(const std::function<absl::StatusOr<T>(SqlConnection&)>& fn) {
    // gridline_store_transaction_*: the time of the whole call (retries included), the
    // conflicts met (deadlocks, lock waits, a lost connection) and the retries they caused.
    const auto started = std::chrono::steady_clock::now();
    util::Metrics& metrics = util::DefaultMetrics();
    const util::MetricLabels dialect = {
        {"dialect", dialect_ == Dialect::kMysql ? "mysql" : "sqlite"}};
    struct Timer {
      util::Metrics& metrics;
      const util::MetricLabels& labels;
      std::chrono::steady_clock::time_point started;
      ~Timer() {
        metrics.Observe(
            "gridline_store_transaction_duration_seconds", labels,
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      }
    } timer{metrics, dialect, started};
    absl::Status last;
    for (int attempt = 0; attempt < 5; ++attempt) {
      if (attempt > 0) {
        metrics.Add("gridline_store_transaction_retries_total", dialect);
        std::this_thread::sleep_for(std::chrono::milliseconds(5 << attempt));
      }
      auto lease = pool_.AcquireWriter();
      if (!lease.ok()) {
        last = lease.status();
        if (!domain::IsRetryable(last)) return last;
        metrics.Add("gridline_store_transaction_conflicts_total", dialect);
        continue;
      }
      SqlConnection& conn = **lease;
      absl::Status begun = conn.Begin(true);
      absl::StatusOr<T> result = begun.ok() ? fn(conn) : absl::StatusOr<T>(begun);
      if (result.ok()) {
        // The commit alone, apart: on SQLite it is the WAL's fsync, the floor under every write
        // call's latency (BENCHMARKS.md, "19,500 streams").
        const auto commit_started = std::chrono::steady_clock::now();
        absl::Status committed = conn.Commit();
        metrics.Observe(
            "gridline_store_commit_duration_seconds", dialect,
            std::chrono::duration<double>(std::chrono::steady_clock::now() - commit_started)
                .count());
        if (committed.ok()) return result;
        result = committed;
      }
      conn.Rollback().IgnoreError();
      last = result.status();
      if (!domain::IsRetryable(last)) return last;
      metrics.Add("gridline_store_transaction_conflicts_total", dialect);
    }
    return last;
  }

  static bool InScope(const domain::FigureFacts& f, const FigureScope& scope) {
    return domain::CountsInFigures(f.state) && absl::StartsWith(f.grid_path, scope.grid_path) &&
           (scope.department_code.empty() || f.lead_department_code == scope.department_code);
  }

  // The figures' view of a case being written, with the resolution and failed-verification
  // times among `events` (the caller adds those stored before).
  static domain::FigureFacts FactsOf(const Case& c, const std::vector<CaseEvent>& events) {
    domain::FigureFacts f;
    f.case_id = c.case_id;
    f.state = c.state;
    f.grid_path = c.grid_path;
    f.lead_department_code = c.lead_department_code;
    f.filed_time = c.filed_time;
    f.first_deadline_time = c.first_deadline_time;
    f.deadline_time = c.deadline_time;
    f.closed_time = c.closed_time;
    for (const CaseEvent& e : events) {
      if (e.type == domain::EventType::kCaseResolved) f.resolved_times.push_back(e.event_time);
      if (e.type == domain::EventType::kVerificationFailed) f.failed_times.push_back(e.event_time);
    }
    return f;
  }

  // Group commit for the writes that append events: CreateCase, and on SQLite UpdateCase. They
  // all take the event sequence (SQLite's one writer lock, MySQL's event_sequence row) and hold
  // it through the commit's fsync, so they run one transaction at a time anyway; a group runs
  // many in that one transaction and pays one commit. A photo's row (PutAttachment) joins the
  // groups too.
  //
  // The first caller to find no group running leads: it takes every waiting member (at most
  // kMaxGroup), runs each member's `run`, then each surviving member's `finish` (which appends
  // the events: on MySQL the event sequence stays the last lock a transaction takes, as in a
  // lone write; its row is read once and written once per group, SeqBlock), commits once and
  // wakes each of the others (GroupMember::cv); there is no thread of its own. The first pass has
  // no savepoints. If a member's `run` fails, that pass is rolled back and the group runs again
  // with a savepoint per member: the failed member is rolled back to its savepoint and gets its own
  // error; the rest commit. A member whose error may pass (a concurrent retry of the same request
  // took the unique key, a lock wait) runs again on its own after the group. When the transaction
  // itself fails (a deadlock, a lost connection, the commit), the whole group runs again, as a lone
  // transaction always did (InTx). Returns the member's status; its results are what its functions
  // kept.
  struct GroupMember {
    std::function<absl::Status(SqlConnection&)> run;
    std::function<absl::Status(SqlConnection&)> finish;  // may be empty
    // CreateCase: the new case. In a try without savepoints the group inserts all its new cases
    // with one statement and sets case_inserted for `run`, which then does the rest.
    const Case* new_case = nullptr;
    bool case_inserted = false;
    absl::Status status = absl::InternalError("not run");
    // Under group_mu_: done (its status is set), or to lead the next group. Each member is woken
    // on its own condition variable, once: a broadcast woke every waiting thread at the end of
    // each group, and the futex wake-ups and mutex handovers were 14 % of the server's CPU.
    bool done = false;
    bool lead = false;
    std::condition_variable cv;
  };
  static constexpr size_t kMaxGroup = 256;

  absl::Status InGroup(std::function<absl::Status(SqlConnection&)> run,
                       std::function<absl::Status(SqlConnection&)> finish) {
    GroupMember me;
    me.run = std::move(run);
    me.finish = std::move(finish);
    return InGroup(&me);
  }

  absl::Status InGroup(GroupMember* member) {
    GroupMember& me = *member;
    std::unique_lock<std::mutex> lock(group_mu_);
    group_queue_.push_back(&me);
    if (!group_leading_) {
      group_leading_ = true;
      me.lead = true;
    }
    me.cv.wait(lock, [&] { return me.done || me.lead; });
    if (me.done) return me.status;
    // Lead: `me` is at the front of the queue (it came to an empty one, or was handed the lead
    // as its front).
    std::vector<GroupMember*> group;
    while (!group_queue_.empty() && group.size() < kMaxGroup) {
      group.push_back(group_queue_.front());
      group_queue_.pop_front();
    }
    lock.unlock();
    RunGroup(group);
    lock.lock();
    for (GroupMember* m : group) {
      m->done = true;
      if (m != &me) m->cv.notify_one();
    }
    if (group_queue_.empty()) {
      group_leading_ = false;
    } else {
      GroupMember* next = group_queue_.front();  // arrived while this group ran: it leads next
      next->lead = true;
      next->cv.notify_one();
    }
    return me.status;
  }

  void RunGroup(const std::vector<GroupMember*>& group) {
    util::DefaultMetrics().Observe("gridline_store_group_commit_size",
                                   {{"dialect", dialect_ == Dialect::kMysql ? "mysql" : "sqlite"}},
                                   static_cast<double>(group.size()));
    auto alone = [this](GroupMember& m) {
      m.case_inserted = false;
      auto done = InTx<bool>([&](SqlConnection& conn) -> absl::StatusOr<bool> {
        if (auto st = m.run(conn); !st.ok()) return st;
        if (m.finish) {
          if (auto st = m.finish(conn); !st.ok()) return st;
        }
        return true;
      });
      m.status = done.status();
    };
    if (group.size() == 1) {
      alone(*group.front());
      return;
    }
    // First without savepoints (two statements fewer per member): members rarely fail here,
    // since the services validate before they write. If one does, the transaction is rolled
    // back and the group runs again with a savepoint per member, so only that member fails.
    std::vector<absl::Status> statuses;
    std::vector<bool> again;  // to run again on its own after the group
    absl::StatusOr<bool> committed = false;
    for (const bool savepoints : {false, true}) {
      bool member_failed = false;
      committed = InTx<bool>([&](SqlConnection& conn) -> absl::StatusOr<bool> {
        SeqBlock seq;
        GroupSeq() = &seq;
        struct Reset {
          ~Reset() { GroupSeq() = nullptr; }
        } reset;
        statuses.assign(group.size(), absl::InternalError("not run"));
        again.assign(group.size(), false);
        for (GroupMember* m : group) m->case_inserted = false;
        if (!savepoints) {
          // MySQL: the group's new cases in one statement. A request already stored (or twice
          // in this group) fails it: then every member runs on its own, with savepoints.
          if (auto st = InsertNewCases(conn, group); !st.ok()) {
            if (!absl::IsAlreadyExists(st)) return st;
            member_failed = true;
            return absl::AbortedError("a case of the group exists already");
          }
        }
        for (size_t i = 0; i < group.size(); ++i) {
          const int64_t seq_before = seq.last;
          if (savepoints) {
            if (auto st = conn.Savepoint("member"); !st.ok()) return st;
          }
          statuses[i] = group[i]->run(conn);
          if (!statuses[i].ok()) {
            if (!savepoints) {
              member_failed = true;
              return absl::AbortedError("a member of the group failed");
            }
            // Undo this member only. If that fails the transaction is gone (a deadlock, a lost
            // connection): the whole group runs again.
            if (auto st = conn.RollbackToSavepoint("member"); !st.ok()) return statuses[i];
            seq.last = seq_before;
            again[i] = domain::IsRetryable(statuses[i]);
          }
          if (savepoints) {
            if (auto st = conn.ReleaseSavepoint("member"); !st.ok()) return st;
          }
        }
        // MySQL: the finishes' events go in with one statement (see InsertNewCases).
        seq.defer = dialect_ == Dialect::kMysql;
        for (size_t i = 0; i < group.size(); ++i) {
          if (!statuses[i].ok() || !group[i]->finish) continue;
          if (auto st = group[i]->finish(conn); !st.ok()) return st;
        }
        if (auto st = FlushEvents(conn, &seq); !st.ok()) return st;
        if (seq.last != seq.written) {
          auto st = conn.Execute("UPDATE event_sequence SET last_seq = ? WHERE id = 1", {seq.last});
          if (!st.ok()) return st.status();
        }
        return true;
      });
      if (!member_failed) break;
      // How often a group had to run again with savepoints (a failing member, a retried request).
      util::DefaultMetrics().Add("gridline_store_group_reruns_total",
                                 {{"dialect", dialect_ == Dialect::kMysql ? "mysql" : "sqlite"}});
    }
    for (size_t i = 0; i < group.size(); ++i) {
      GroupMember& m = *group[i];
      if (!committed.ok()) {
        m.status = committed.status();
      } else if (again[i]) {
        alone(m);
      } else {
        m.status = statuses[i];
      }
    }
  }

  // The new cases of a group's members (two or more), with one INSERT per 100 (sets
  // case_inserted). ALREADY_EXISTS if any of them is stored (a retried request). MySQL only:
  // there each statement is a round trip; on SQLite a statement per row costs no trip, and the
  // multi-row form measured slower (1,563-1,890 against 2,188-2,258 reports/s).
  absl::Status InsertNewCases(SqlConnection& conn, const std::vector<GroupMember*>& group) {
    std::vector<GroupMember*> news;
    for (GroupMember* m : group) {
      if (m->new_case) news.push_back(m);
    }
    if (news.size() < 2 || dialect_ != Dialect::kMysql) return absl::OkStatus();
    constexpr size_t kRows = 100;
    for (size_t from = 0; from < news.size(); from += kRows) {
      const size_t n = std::min(kRows, news.size() - from);
      SqlParams params;
      for (size_t i = from; i < from + n; ++i) {
        SqlParams one = CaseParams(*news[i]->new_case);
        params.insert(params.end(), std::make_move_iterator(one.begin()),
                      std::make_move_iterator(one.end()));
      }
      auto ins = conn.Execute(InsertSql("cases", kCaseColumns, n), params);
      if (!ins.ok()) return ins.status();
    }
    for (GroupMember* m : news) m->case_inserted = true;
    return absl::OkStatus();
  }

  // Inserts the events a group's finishes appended (SeqBlock.pending), one INSERT per 100.
  static absl::Status FlushEvents(SqlConnection& conn, SeqBlock* block) {
    constexpr size_t kRows = 100;
    std::vector<CaseEvent>& pending = block->pending;
    for (size_t from = 0; from < pending.size(); from += kRows) {
      const size_t n = std::min(kRows, pending.size() - from);
      SqlParams params;
      for (size_t i = from; i < from + n; ++i) {
        SqlParams one = EventParams(pending[i]);
        params.insert(params.end(), std::make_move_iterator(one.begin()),
                      std::make_move_iterator(one.end()));
      }
      auto ins = conn.Execute(InsertSql("case_events", kEventColumns, n), params);
      if (!ins.ok()) return ins.status();
    }
    pending.clear();
    return absl::OkStatus();
  }

  // A new case's rows, idempotently on (reporter_user_id, request_id): when that pair exists,
  // nothing is written and `out` holds the stored case with created=false. The first event is
  // written by CreateCaseEvent.
  // `inserted`: the group inserted the case row already (InsertNewCases).
  absl::Status CreateCaseRows(SqlConnection& conn, const Case& c, const CaseEvent& first,
                              bool inserted, CreateCaseResult* out) {
    *out = CreateCaseResult{};
    // The insert first: a retried request is rare, and its unique key (reporter_user_id,
    // request_id) finds it. A failed insert undoes only itself on both engines, so the
    // transaction goes on.
    static const std::string kInsert = InsertSql("cases", kCaseColumns);
    auto ins = inserted ? absl::StatusOr<int64_t>(1) : conn.Execute(kInsert, CaseParams(c));
    if (!ins.ok()) {
      if (!absl::IsAlreadyExists(ins.status())) return ins.status();
      auto existing =
          conn.Query(absl::StrCat("SELECT ", kCaseColumns,
                                  " FROM cases WHERE reporter_user_id = ? AND request_id = ?"),
                     {c.reporter_user_id, c.request_id});
      if (!existing.ok()) return existing.status();
      if (!existing->empty()) {
        out->stored = RowToCase(existing->front());
        out->created = false;
        return absl::OkStatus();
      }
      // A concurrent retry of the same request holds the unique key but this transaction does
      // not see it yet (MySQL's snapshot): run again to read it.
      return domain::MarkRetryable(ins.status());
    }
    if (auto st = MarkReferenced(conn, c.before_photo_ids); !st.ok()) return st;
    if (auto st = WriteAssisting(conn, c.case_id, c.assisting_department_codes, /*fresh=*/true);
        !st.ok()) {
      return st;
    }
    if (!c.patrol_id.empty()) {
      if (auto st = patrols_.CountReport(conn, c.patrol_id); !st.ok()) return st;
    }
    const domain::FigureFacts facts = FactsOf(c, {first});
    if (auto st = figures_.Apply(conn, nullptr, &facts); !st.ok()) return st;
    out->stored = c;
    out->created = true;
    return absl::OkStatus();
  }

  // The first event of a case CreateCaseRows wrote; for one that existed, its stored first event
  // (in a group, the member that created it has appended it by now).
  absl::Status CreateCaseEvent(SqlConnection& conn, const CaseEvent& first, CreateCaseResult* out) {
    if (out->created) {
      auto ev = AppendEvent(conn, first);
      if (!ev.ok()) return ev.status();
      out->first_event = *std::move(ev);
      return absl::OkStatus();
    }
    if (SeqBlock* block = GroupSeq()) {
      if (auto st = FlushEvents(conn, block); !st.ok()) return st;
    }
    auto events =
        conn.Query(absl::StrCat("SELECT ", kEventColumns,
                                " FROM case_events WHERE case_id = ? ORDER BY seq LIMIT 1"),
                   {out->stored.case_id});
    if (!events.ok()) return events.status();
    if (!events->empty()) out->first_event = RowToEvent(events->front());
    return absl::OkStatus();
  }

  std::mutex touch_mu_;
  std::map<std::string, domain::Micros> touches_;  // token hash -> newest unwritten use
  std::deque<TouchChunk> touch_chunks_;            // due, not yet written
  domain::Micros touches_since_ = 0;               // when the oldest of them was noted

  std::mutex group_mu_;
  std::deque<GroupMember*> group_queue_;
  bool group_leading_ = false;

  ConnectionPool pool_;
  const Dialect dialect_;
  const FigureTable figures_;
  const PatrolTables patrols_;
  const SupervisionTables supervision_;
  const AccountabilityTables accountability_;
  // Grids and categories in memory; a lookup with no version seen for 100 ms reads it first.
  OrgSnapshots org_;
};

absl::StatusOr<std::unique_ptr<Store>> Open(std::unique_ptr<SqlDatabase> db, int pool_size,
                                            int figures_utc_offset_minutes,
                                            const util::Clock* clock) {
  auto store = std::make_unique<SqlStore>(std::move(db), pool_size, figures_utc_offset_minutes,
                                          clock != nullptr ? clock : &util::WallClock());
  if (absl::Status s = store->Migrate(); !s.ok()) return s;
  store->WarmOrganisation();
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace

int64_t SortKey(const domain::Case& c, CaseQuery::Order order) {
  switch (order) {
    case CaseQuery::Order::kNewestFirst:
      return c.create_time;
    case CaseQuery::Order::kQueueOldest:
      return c.state_time;
    case CaseQuery::Order::kDeadlineSoonest:
      return c.deadline_time == 0 ? kNoDeadlineKey : c.deadline_time;
  }
  return 0;
}

int LatestSchemaVersion() { return Migrations().back().version; }

absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const SqliteOptions& options) {
  if (options.path.empty()) return absl::InvalidArgumentError("SQLite path is empty");
  return Open(MakeSqliteDatabase(options.path), options.pool_size,
              options.figures_utc_offset_minutes, options.clock);
}

absl::StatusOr<std::unique_ptr<Store>> OpenMysqlStore(const MysqlOptions& options) {
  auto db = MakeMysqlDatabase(options);
  if (!db.ok()) return db.status();
  return Open(*std::move(db), options.pool_size, options.figures_utc_offset_minutes, options.clock);
}

}  // namespace gridline::store
