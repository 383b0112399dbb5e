// All of gridline's SQL, written once for both backends. Dialect differences are confined to
// table options, upserts and index creation.
//
// The event log. Every transaction that appends events takes the next numbers from the single
// `event_sequence` row as its last step before COMMIT. The row lock (MySQL) or the database
// write lock (SQLite) is held until the commit, so sequence numbers commit in order and without
// gaps: a reader that has seen seq N will never later find a smaller one. This avoids the
// AUTO_INCREMENT trap, where ids are handed out at INSERT time and a transaction that commits late
// makes an "id > cursor" reader skip its row.
#include <chrono>
#include <functional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "server/domain/errors.h"
#include "server/store/mysql_driver.h"
#include "server/store/sql.h"
#include "server/store/store.h"
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
  };
  return *migrations;
}

std::string Expand(Dialect d, absl::string_view sql) {
  return absl::StrReplaceAll(
      sql,
      {{"{OPTS}",
        d == Dialect::kMysql ? " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin" : ""},
       {"{INSERT_IGNORE}", d == Dialect::kMysql ? "INSERT IGNORE" : "INSERT OR IGNORE"}});
}

// INSERT that updates every non-key column when the key exists.
std::string Upsert(Dialect d, absl::string_view table, const std::vector<std::string>& cols) {
  std::vector<std::string> marks(cols.size(), "?");
  std::string sql = absl::StrCat("INSERT INTO ", table, " (", absl::StrJoin(cols, ", "),
                                 ") VALUES (", absl::StrJoin(marks, ", "), ")");
  std::vector<std::string> sets;
  for (size_t i = 1; i < cols.size(); ++i) {
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
std::string InsertSql(absl::string_view table, absl::string_view columns) {
  const std::vector<absl::string_view> cols = absl::StrSplit(columns, ", ");
  std::vector<std::string> marks(cols.size(), "?");
  return absl::StrCat("INSERT INTO ", table, " (", columns, ") VALUES (",
                      absl::StrJoin(marks, ", "), ")");
}

std::string JoinList(const std::vector<std::string>& v) { return absl::StrJoin(v, ","); }
std::vector<std::string> SplitList(const std::string& s) {
  return absl::StrSplit(s, ',', absl::SkipEmpty());
}

constexpr char kCaseColumns[] =
    "case_id, case_number, state, category_code, description, grid_code, grid_path, latitude, "
    "longitude, address, observe_time, urgency, reporter_user_id, before_photos, after_photos, "
    "lead_department_code, assisting, deadline_time, rework_count, duplicate_of, "
    "resolution_note, create_time, update_time, version, request_id, request_digest";

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
          JoinList(c.assisting_department_codes),
          c.deadline_time,
          static_cast<int64_t>(c.rework_count),
          c.duplicate_of_case_id,
          c.resolution_note,
          c.create_time,
          c.update_time,
          c.version,
          c.request_id,
          c.request_digest};
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
  return c;
}

constexpr char kEventColumns[] =
    "seq, case_id, type, from_state, to_state, actor_user_id, actor_role, event_time, note, "
    "attachment_ids, category_code, grid_code, grid_path, lead_department_code, "
    "reporter_user_id, case_version";

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

class SqlStore final : public Store {
 public:
  explicit SqlStore(std::unique_ptr<SqlDatabase> db, int pool_size)
      : pool_(std::move(db), pool_size), dialect_(pool_.dialect()) {}

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
    if (mysql) {
      conn.Query("SELECT RELEASE_LOCK('gridline_schema')").IgnoreError();
    } else if (status.ok()) {
      status = conn.Commit();
    } else {
      conn.Rollback().IgnoreError();
    }
    return status;
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
    auto result = InTx<bool>([&](SqlConnection& c) -> absl::StatusOr<bool> {
      // Grid paths need parents first: resolve them in memory from stored + new grids.
      std::map<std::string, domain::Grid> grids;
      auto stored = c.Query("SELECT code, name, level, parent_code FROM grids");
      if (!stored.ok()) return stored.status();
      for (const auto& r : *stored) {
        grids[r.Str(0)] = {r.Str(0), r.Str(1), static_cast<domain::GridLevel>(r.Int(2)), r.Str(3),
                           ""};
      }
      for (const auto& g : org.grids) grids[g.code] = g;
      const std::string grid_sql =
          Upsert(dialect_, "grids", {"code", "name", "level", "parent_code", "path"});
      for (const auto& g : org.grids) {
        auto st = c.Execute(grid_sql, {g.code, g.name, static_cast<int64_t>(g.level), g.parent_code,
                                       PathOf(grids, g.code)});
        if (!st.ok()) return st.status();
      }
      const std::string dept_sql =
          Upsert(dialect_, "departments", {"code", "name", "parent_code", "grid_code"});
      for (const auto& d : org.departments) {
        auto st = c.Execute(dept_sql, {d.code, d.name, d.parent_code, d.grid_code});
        if (!st.ok()) return st.status();
      }
      const std::string cat_sql = Upsert(dialect_, "categories",
                                         {"code", "name", "kind", "normal_hours", "urgent_hours",
                                          "emergency_hours", "auto_accept"});
      for (const auto& k : org.categories) {
        auto st = c.Execute(cat_sql, {k.code, k.name, static_cast<int64_t>(k.kind),
                                      static_cast<int64_t>(k.normal_deadline_hours),
                                      static_cast<int64_t>(k.urgent_deadline_hours),
                                      static_cast<int64_t>(k.emergency_deadline_hours),
                                      static_cast<int64_t>(k.auto_accept ? 1 : 0)});
        if (!st.ok()) return st.status();
      }
      const std::string rule_sql =
          Upsert(dialect_, "routing_rules",
                 {"rule_id", "category_code", "grid_code", "lead_department_code", "assisting"});
      for (const auto& r : org.routing_rules) {
        auto st =
            c.Execute(rule_sql, {r.rule_id, r.category_code, r.grid_code, r.lead_department_code,
                                 JoinList(r.assisting_department_codes)});
        if (!st.ok()) return st.status();
      }
      const std::string user_sql =
          Upsert(dialect_, "users",
                 {"user_id", "display_name", "role", "grid_code", "department_code", "disabled"});
      for (const auto& u : org.users) {
        auto st = c.Execute(user_sql,
                            {u.user_id, u.display_name, static_cast<int64_t>(u.role), u.grid_code,
                             u.department_code, static_cast<int64_t>(u.disabled ? 1 : 0)});
        if (!st.ok()) return st.status();
      }
      return true;
    });
    return result.status();
  }

  absl::StatusOr<std::optional<domain::Grid>> FindGrid(const std::string& code) override {
    auto rows =
        Read("SELECT code, name, level, parent_code, path FROM grids WHERE code = ?", {code});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return std::nullopt;
    const SqlRow& r = rows->front();
    return domain::Grid{r.Str(0), r.Str(1), static_cast<domain::GridLevel>(r.Int(2)), r.Str(3),
                        r.Str(4)};
  }

  absl::StatusOr<std::vector<domain::Grid>> ListGrids() override {
    auto rows = Read("SELECT code, name, level, parent_code, path FROM grids ORDER BY code", {});
    if (!rows.ok()) return rows.status();
    std::vector<domain::Grid> out;
    for (const auto& r : *rows) {
      out.push_back(
          {r.Str(0), r.Str(1), static_cast<domain::GridLevel>(r.Int(2)), r.Str(3), r.Str(4)});
    }
    return out;
  }

  absl::StatusOr<std::optional<domain::Category>> FindCategory(const std::string& code) override {
    auto rows = Read(
        "SELECT code, name, kind, normal_hours, urgent_hours, emergency_hours, auto_accept "
        "FROM categories WHERE code = ?",
        {code});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return std::nullopt;
    const SqlRow& r = rows->front();
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

  absl::StatusOr<std::optional<domain::User>> FindUser(const std::string& user_id) override {
    auto rows =
        Read(absl::StrCat("SELECT ", kUserColumns, " FROM users WHERE user_id = ?"), {user_id});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return std::nullopt;
    return RowToUser(rows->front());
  }

  absl::Status PutToken(const std::string& token_hash, const std::string& user_id,
                        const std::string& label) override {
    const std::string sql =
        Upsert(dialect_, "tokens", {"token_hash", "user_id", "label", "create_time", "revoked"});
    return InTx<bool>([&](SqlConnection& c) -> absl::StatusOr<bool> {
             auto st =
                 c.Execute(sql, {token_hash, user_id, label, domain::NowMicros(), int64_t{0}});
             if (!st.ok()) return st.status();
             return true;
           })
        .status();
  }

  absl::StatusOr<std::optional<domain::User>> FindUserByTokenHash(
      const std::string& token_hash) override {
    auto rows = Read(
        "SELECT u.user_id, u.display_name, u.role, u.grid_code, u.department_code, u.disabled "
        "FROM tokens t JOIN users u ON u.user_id = t.user_id "
        "WHERE t.token_hash = ? AND t.revoked = 0 AND u.disabled = 0",
        {token_hash});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return std::nullopt;
    return RowToUser(rows->front());
  }

  absl::StatusOr<CreateCaseResult> CreateCase(const Case& c, const CaseEvent& first) override {
    return InTx<CreateCaseResult>([&](SqlConnection& conn) -> absl::StatusOr<CreateCaseResult> {
      auto existing =
          conn.Query(absl::StrCat("SELECT ", kCaseColumns,
                                  " FROM cases WHERE reporter_user_id = ? AND request_id = ?"),
                     {c.reporter_user_id, c.request_id});
      if (!existing.ok()) return existing.status();
      if (!existing->empty()) {
        CreateCaseResult out;
        out.stored = RowToCase(existing->front());
        auto events =
            conn.Query(absl::StrCat("SELECT ", kEventColumns,
                                    " FROM case_events WHERE case_id = ? ORDER BY seq LIMIT 1"),
                       {out.stored.case_id});
        if (!events.ok()) return events.status();
        if (!events->empty()) out.first_event = RowToEvent(events->front());
        out.created = false;
        return out;
      }
      static const std::string kInsert = InsertSql("cases", kCaseColumns);
      auto ins = conn.Execute(kInsert, CaseParams(c));
      if (!ins.ok()) {
        // A concurrent retry of the same request won the unique key: run again to read it.
        if (absl::IsAlreadyExists(ins.status())) return domain::MarkRetryable(ins.status());
        return ins.status();
      }
      auto ev = AppendEvent(conn, first);
      if (!ev.ok()) return ev.status();
      return CreateCaseResult{c, *ev, true};
    });
  }

  absl::StatusOr<std::optional<Case>> GetCase(const std::string& case_id) override {
    auto rows =
        Read(absl::StrCat("SELECT ", kCaseColumns, " FROM cases WHERE case_id = ?"), {case_id});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return std::nullopt;
    return RowToCase(rows->front());
  }

  absl::StatusOr<CaseEvent> UpdateCase(const Case& c, int64_t expected_version,
                                       const CaseEvent& event) override {
    return InTx<CaseEvent>([&](SqlConnection& conn) -> absl::StatusOr<CaseEvent> {
      Case next = c;
      next.version = expected_version + 1;
      SqlParams params = CaseParams(next);
      params.erase(params.begin());  // case_id goes to the WHERE clause
      params.push_back(next.case_id);
      params.push_back(expected_version);
      static const std::string kUpdate = [] {
        std::vector<std::string> cols = absl::StrSplit(kCaseColumns, ", ");
        std::vector<std::string> sets;
        for (size_t i = 1; i < cols.size(); ++i) sets.push_back(absl::StrCat(cols[i], " = ?"));
        return absl::StrCat("UPDATE cases SET ", absl::StrJoin(sets, ", "),
                            " WHERE case_id = ? AND version = ?");
      }();
      auto n = conn.Execute(kUpdate, params);
      if (!n.ok()) return n.status();
      if (*n == 0) {
        auto cur = conn.Query("SELECT version FROM cases WHERE case_id = ?", {c.case_id});
        if (!cur.ok()) return cur.status();
        if (cur->empty()) return absl::NotFoundError(absl::StrCat("case ", c.case_id));
        return absl::AbortedError(absl::StrCat("case ", c.case_id, " changed: version is ",
                                               cur->front().Int(0), ", expected ",
                                               expected_version));
      }
      CaseEvent ev = event;
      ev.case_version = next.version;
      return AppendEvent(conn, ev);
    });
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

  absl::StatusOr<int64_t> PruneEventsBefore(domain::Micros before) override {
    return InTx<int64_t>([&](SqlConnection& c) -> absl::StatusOr<int64_t> {
      // Keep the newest event so that a cursor at the head never looks expired.
      auto top = c.Query(
          "SELECT MAX(seq) FROM case_events WHERE event_time < ? AND seq < "
          "(SELECT last_seq FROM event_sequence WHERE id = 1)",
          {before});
      if (!top.ok()) return top.status();
      if (top->empty() || top->front().IsNull(0)) return int64_t{0};
      int64_t through = top->front().Int(0);
      auto n = c.Execute("DELETE FROM case_events WHERE seq <= ?", {through});
      if (!n.ok()) return n.status();
      auto m = c.Execute(
          "UPDATE store_meta SET value = ? WHERE name = 'pruned_through_seq' AND value < ?",
          {through, through});
      if (!m.ok()) return m.status();
      return *n;
    });
  }

  absl::StatusOr<int64_t> PrunedThroughSeq() override {
    auto rows = Read("SELECT value FROM store_meta WHERE name = 'pruned_through_seq'", {});
    if (!rows.ok()) return rows.status();
    return rows->empty() ? 0 : rows->front().Int(0);
  }

 private:
  // Appends one event with the next sequence number. Must be the last write of the transaction,
  // so that the sequence row stays locked for as short a time as possible.
  absl::StatusOr<CaseEvent> AppendEvent(SqlConnection& conn, const CaseEvent& event) {
    auto bump = conn.Execute("UPDATE event_sequence SET last_seq = last_seq + 1 WHERE id = 1");
    if (!bump.ok()) return bump.status();
    auto seq = conn.Query("SELECT last_seq FROM event_sequence WHERE id = 1");
    if (!seq.ok()) return seq.status();
    if (seq->empty()) return absl::InternalError("event_sequence row missing");
    CaseEvent e = event;
    e.seq = seq->front().Int(0);
    static const std::string kInsert = InsertSql("case_events", kEventColumns);
    auto ins = conn.Execute(
        kInsert,
        {e.seq, e.case_id, static_cast<int64_t>(e.type), static_cast<int64_t>(e.from_state),
         static_cast<int64_t>(e.to_state), e.actor_user_id, static_cast<int64_t>(e.actor_role),
         e.event_time, e.note, JoinList(e.attachment_ids), e.category_code, e.grid_code,
         e.grid_path, e.lead_department_code, e.reporter_user_id, e.case_version});
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
                              {static_cast<int64_t>(m.version), domain::NowMicros()});
      if (!rec.ok()) return rec.status();
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<SqlRow>> Read(const std::string& sql, const SqlParams& params) {
    for (int attempt = 0;; ++attempt) {
      auto lease = pool_.Acquire();
      if (!lease.ok()) return lease.status();
      auto rows = (*lease)->Query(sql, params);
      if (rows.ok() || !domain::IsRetryable(rows.status()) || attempt >= 3) return rows;
    }
  }

  // Runs `fn` in a write transaction, again (up to 5 times) when it fails in a way that a
  // fresh attempt can fix: deadlock, busy database, lost connection.
  template <typename T>
  absl::StatusOr<T> InTx(const std::function<absl::StatusOr<T>(SqlConnection&)>& fn) {
    absl::Status last;
    for (int attempt = 0; attempt < 5; ++attempt) {
      if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(5 << attempt));
      auto lease = pool_.Acquire();
      if (!lease.ok()) return lease.status();
      SqlConnection& conn = **lease;
      absl::Status begun = conn.Begin(true);
      absl::StatusOr<T> result = begun.ok() ? fn(conn) : absl::StatusOr<T>(begun);
      if (result.ok()) {
        absl::Status committed = conn.Commit();
        if (committed.ok()) return result;
        result = committed;
      }
      conn.Rollback().IgnoreError();
      last = result.status();
      if (!domain::IsRetryable(last)) return last;
    }
    return last;
  }

  ConnectionPool pool_;
  const Dialect dialect_;
};

absl::StatusOr<std::unique_ptr<Store>> Open(std::unique_ptr<SqlDatabase> db, int pool_size) {
  auto store = std::make_unique<SqlStore>(std::move(db), pool_size);
  if (absl::Status s = store->Migrate(); !s.ok()) return s;
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace

int LatestSchemaVersion() { return Migrations().back().version; }

absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const SqliteOptions& options) {
  if (options.path.empty()) return absl::InvalidArgumentError("SQLite path is empty");
  return Open(MakeSqliteDatabase(options.path), options.pool_size);
}

absl::StatusOr<std::unique_ptr<Store>> OpenMysqlStore(const MysqlOptions& options) {
  auto db = MakeMysqlDatabase(options);
  if (!db.ok()) return db.status();
  return Open(*std::move(db), options.pool_size);
}

}  // namespace gridline::store
