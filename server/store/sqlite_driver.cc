// SQLite behind SqlConnection: WAL, full fsync on commit, a busy timeout so writers queue.
#include <sqlite3.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "server/domain/errors.h"
#include "server/store/sql.h"
#include "server/util/log.h"
#include "server/util/metrics.h"

namespace gridline::store {
namespace {

bool DiskFullErrno(int err) { return err == ENOSPC || err == EDQUOT || err == EFBIG; }

// Whether `rc` means that the disk is full: SQLITE_FULL (ENOSPC), or an I/O error whose system
// error is a full disk, a quota or a file size limit (SQLite reports EDQUOT and EFBIG as
// SQLITE_IOERR_WRITE). SQLite keeps the errno of the failed call per file: the write-ahead log
// (the journal) or the database.
bool DiskFull(sqlite3* db, int rc) {
  if ((rc & 0xff) == SQLITE_FULL) return true;
  if ((rc & 0xff) != SQLITE_IOERR || db == nullptr) return false;
  if (DiskFullErrno(sqlite3_system_errno(db))) return true;
  int err = 0;
  sqlite3_file* journal = nullptr;
  if (sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &journal) == SQLITE_OK &&
      journal != nullptr && journal->pMethods != nullptr &&
      journal->pMethods->xFileControl(journal, SQLITE_FCNTL_LAST_ERRNO, &err) == SQLITE_OK &&
      DiskFullErrno(err)) {
    return true;
  }
  err = 0;
  return sqlite3_file_control(db, "main", SQLITE_FCNTL_LAST_ERRNO, &err) == SQLITE_OK &&
         DiskFullErrno(err);
}

absl::Status SqliteError(sqlite3* db, int rc, absl::string_view what) {
  std::string msg =
      absl::StrCat("sqlite ", what, ": ", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  if (DiskFull(db, rc)) {
    // Nothing was written (the transaction is rolled back); reads go on. UNAVAILABLE, so that
    // clients keep what they sent and retry once space is freed.
    return absl::UnavailableError(
        absl::StrCat("the database's disk is full (", msg, "); retry once space is freed"));
  }
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return domain::MarkRetryable(absl::AbortedError(msg));
    case SQLITE_CONSTRAINT:
      return absl::AlreadyExistsError(msg);
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
      return absl::UnavailableError(msg);
    default:
      return absl::InternalError(msg);
  }
}

// Copies the WAL back into the database file on a thread of its own. SQLite's own automatic
// checkpoint runs in the connection whose commit takes the WAL past 1,000 pages, right after
// that commit: the store's one writer connection (ConnectionPool::AcquireWriter), so the next
// writers waited while it copied and synced the file. Every connection reports its commits here
// instead (sqlite3_wal_hook, which replaces the automatic checkpoint), and this thread runs a
// PASSIVE checkpoint, which neither waits for nor blocks readers and writers. Should writes keep
// it from ever catching up (a WAL can only start over once everything in it is copied), the
// committing connection checkpoints itself past kWriterPages, as SQLite would have.
class Checkpointer {
 public:
  static constexpr int kPages = 1000;        // SQLite's default auto-checkpoint
  static constexpr int kWriterPages = 4000;  // about 16 MiB of WAL

  explicit Checkpointer(std::string path) : path_(std::move(path)) {}
  ~Checkpointer() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  // sqlite3_wal_hook's callback: after each commit, with the WAL's size in pages.
  static int OnCommit(void* self, sqlite3* db, const char* name, int pages) {
    if (pages >= kWriterPages) {
      sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    } else if (pages >= kPages) {
      static_cast<Checkpointer*>(self)->Wake();
    }
    return SQLITE_OK;
  }

 private:
  void Wake() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return;
      due_ = true;
      if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
    }
    cv_.notify_one();
  }

  void Run() {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) !=
        SQLITE_OK) {
      sqlite3_close_v2(db);
      return;  // the writers' hook checkpoints past kWriterPages
    }
    sqlite3_busy_timeout(db, 10000);
    sqlite3_exec(db, "PRAGMA synchronous=FULL", nullptr, nullptr, nullptr);
    while (true) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return due_ || stop_; });
        if (stop_) break;
        due_ = false;
      }
      sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    }
    sqlite3_close_v2(db);
  }

  const std::string path_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool due_ = false;
  bool stop_ = false;
  std::thread thread_;
};

class SqliteConnection final : public SqlConnection {
 public:
  SqliteConnection(sqlite3* db, std::shared_ptr<Checkpointer> checkpointer)
      : db_(db), checkpointer_(std::move(checkpointer)) {
    sqlite3_wal_hook(db_, &Checkpointer::OnCommit, checkpointer_.get());
    sqlite3_busy_handler(db_, &SqliteConnection::OnBusy, this);
  }
  ~SqliteConnection() override {
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }

  absl::StatusOr<std::vector<SqlRow>> Query(absl::string_view sql,
                                            const SqlParams& params) override {
    auto stmt = Prepare(sql, params);
    if (!stmt.ok()) return stmt.status();
    BusyScope busy(this, sql);
    std::vector<SqlRow> rows;
    while (true) {
      int rc = sqlite3_step(*stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) {
        sqlite3_reset(*stmt);
        return SqliteError(db_, rc, "step");
      }
      int n = sqlite3_column_count(*stmt);
      std::vector<SqlValue> cells;
      cells.reserve(n);
      for (int i = 0; i < n; ++i) {
        switch (sqlite3_column_type(*stmt, i)) {
          case SQLITE_INTEGER:
            cells.emplace_back(static_cast<int64_t>(sqlite3_column_int64(*stmt, i)));
            break;
          case SQLITE_FLOAT:
            cells.emplace_back(sqlite3_column_double(*stmt, i));
            break;
          case SQLITE_NULL:
            cells.emplace_back(nullptr);
            break;
          default: {
            const void* p = sqlite3_column_blob(*stmt, i);
            int len = sqlite3_column_bytes(*stmt, i);
            cells.emplace_back(std::string(static_cast<const char*>(p), p ? len : 0));
          }
        }
      }
      rows.emplace_back(std::move(cells));
    }
    sqlite3_reset(*stmt);
    return rows;
  }

  absl::StatusOr<int64_t> Execute(absl::string_view sql, const SqlParams& params) override {
    auto stmt = Prepare(sql, params);
    if (!stmt.ok()) return stmt.status();
    BusyScope busy(this, sql);
    int rc;
    while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW) {
    }
    sqlite3_reset(*stmt);
    if (rc != SQLITE_DONE) return SqliteError(db_, rc, "exec");
    return static_cast<int64_t>(sqlite3_changes(db_));
  }

  absl::Status Begin(bool write) override { return Exec(write ? "BEGIN IMMEDIATE" : "BEGIN"); }
  absl::Status Commit() override { return Exec("COMMIT"); }
  absl::Status Rollback() override {
    if (sqlite3_get_autocommit(db_)) return absl::OkStatus();
    return Exec("ROLLBACK");
  }
  absl::Status Savepoint(absl::string_view name) override {
    return Exec(absl::StrCat("SAVEPOINT ", name).c_str());
  }
  absl::Status RollbackToSavepoint(absl::string_view name) override {
    return Exec(absl::StrCat("ROLLBACK TO SAVEPOINT ", name).c_str());
  }
  absl::Status ReleaseSavepoint(absl::string_view name) override {
    return Exec(absl::StrCat("RELEASE SAVEPOINT ", name).c_str());
  }
  bool broken() const override { return false; }

  absl::Status Exec(const char* sql) {
    char* err = nullptr;
    BusyScope busy(this, sql);
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
    if (err) sqlite3_free(err);
    if (rc != SQLITE_OK) return SqliteError(db_, rc, sql);
    return absl::OkStatus();
  }

 private:
  // SQLite's own busy handler (sqlite3_busy_timeout) as it is built on Linux, sleeping 1, 2, 5,
  // 10, 15, 20, 25, 25, 25, 50, 50 and then 100 ms at a time up to 10 s, plus a record of the
  // wait: gridline_store_lock_wait_seconds, and a warning with the statement past 100 ms.
  static int OnBusy(void* self, int count) {
    static constexpr int kDelays[] = {1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100};
    static constexpr int kTotals[] = {0, 1, 3, 8, 18, 33, 53, 78, 103, 128, 178, 228};
    static constexpr int kN = sizeof(kDelays) / sizeof(kDelays[0]);
    static constexpr int kTimeoutMs = 10000;
    auto* conn = static_cast<SqliteConnection*>(self);
    if (count == 0) conn->busy_since_ = std::chrono::steady_clock::now();
    conn->busy_ = true;
    int delay = count < kN ? kDelays[count] : kDelays[kN - 1];
    const int prior = count < kN ? kTotals[count] : kTotals[kN - 1] + (count - kN + 1) * delay;
    if (prior + delay > kTimeoutMs) {
      delay = kTimeoutMs - prior;
      if (delay <= 0) return 0;
    }
    sqlite3_sleep(delay);
    return 1;
  }

  // Around one statement: records a wait for a lock, if there was one.
  class BusyScope {
   public:
    BusyScope(SqliteConnection* conn, absl::string_view sql) : conn_(conn), sql_(sql) {
      conn_->busy_ = false;
    }
    ~BusyScope() {
      if (!conn_->busy_) return;
      conn_->busy_ = false;
      const double s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - conn_->busy_since_)
              .count();
      util::DefaultMetrics().Observe("gridline_store_lock_wait_seconds", {{"dialect", "sqlite"}},
                                     s);
      if (s > 0.1) {
        util::Log(util::LogLevel::kWarning, "store_lock_wait",
                  {{"seconds", s}, {"sql", std::string(sql_.substr(0, 120))}});
      }
    }

   private:
    SqliteConnection* const conn_;
    const absl::string_view sql_;
  };

  absl::StatusOr<sqlite3_stmt*> Prepare(absl::string_view sql, const SqlParams& params) {
    std::string key(sql);
    sqlite3_stmt* stmt = nullptr;
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      stmt = it->second;
      sqlite3_clear_bindings(stmt);
    } else {
      int rc = sqlite3_prepare_v2(db_, key.c_str(), static_cast<int>(key.size()), &stmt, nullptr);
      if (rc != SQLITE_OK) return SqliteError(db_, rc, absl::StrCat("prepare [", key, "]"));
      cache_.emplace(key, stmt);
    }
    for (size_t i = 0; i < params.size(); ++i) {
      int idx = static_cast<int>(i + 1);
      int rc = SQLITE_OK;
      const SqlValue& v = params[i];
      if (std::holds_alternative<std::nullptr_t>(v)) {
        rc = sqlite3_bind_null(stmt, idx);
      } else if (auto* p = std::get_if<int64_t>(&v)) {
        rc = sqlite3_bind_int64(stmt, idx, *p);
      } else if (auto* p = std::get_if<double>(&v)) {
        rc = sqlite3_bind_double(stmt, idx, *p);
      } else {
        const std::string& s = std::get<std::string>(v);
        rc = sqlite3_bind_text(stmt, idx, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
      }
      if (rc != SQLITE_OK) return SqliteError(db_, rc, "bind");
    }
    return stmt;
  }

  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
  bool busy_ = false;  // the statement running waited for a lock (OnBusy)
  std::chrono::steady_clock::time_point busy_since_;
  std::shared_ptr<Checkpointer> checkpointer_;  // outlives the hook that points to it
};

class SqliteDatabase final : public SqlDatabase {
 public:
  explicit SqliteDatabase(std::string path)
      : path_(std::move(path)), checkpointer_(std::make_shared<Checkpointer>(path_)) {}
  Dialect dialect() const override { return Dialect::kSqlite; }

  absl::StatusOr<std::unique_ptr<SqlConnection>> Connect() override {
    sqlite3* db = nullptr;
    int rc =
        sqlite3_open_v2(path_.c_str(), &db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      absl::Status s =
          absl::UnavailableError(absl::StrCat("cannot open SQLite database ", path_, ": ",
                                              db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
      sqlite3_close_v2(db);
      return s;
    }
    auto conn = std::make_unique<SqliteConnection>(db, checkpointer_);
    // Pages are read with pread into each connection's own cache, not through a memory map of
    // the file. In WAL mode a connection that finds the database changed since its last read
    // drops its cache and, with a map, unmaps it all (pagerBeginReadTransaction). A live server
    // commits many times a second, so mapped reads mostly paid for munmap, TLB shoot-downs and
    // page faults: with 19,500 streams open, token lookups were 17 % of the server's CPU, and
    // `mmap_size=0` took its CPU under load from 107 % to 74 % of a core and SubmitReport's p50
    // from 12.8 to 3.6 ms. The map was faster only on a store without writes: ListEvaluations
    // at 50,000 cases 26 against 32-36 ms (BENCHMARKS.md, "Ingest").
    for (const char* pragma :
         {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON",
          "PRAGMA mmap_size=0", "PRAGMA cache_size=-16384"}) {
      absl::Status s = conn->Exec(pragma);
      if (!s.ok()) return absl::UnavailableError(s.message());
    }
    return std::unique_ptr<SqlConnection>(std::move(conn));
  }

 private:
  std::string path_;
  std::shared_ptr<Checkpointer> checkpointer_;
};

}  // namespace

std::unique_ptr<SqlDatabase> MakeSqliteDatabase(std::string path) {
  return std::make_unique<SqliteDatabase>(std::move(path));
}

}  // namespace gridline::store
