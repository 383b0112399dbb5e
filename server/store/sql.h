// The small SQL driver interface the store is written against. Each backend (sqlite_driver.cc,
// mysql_driver.cc) implements it; sql_store.cc holds all SQL once for both.
#ifndef GRIDLINE_SERVER_STORE_SQL_H_
#define GRIDLINE_SERVER_STORE_SQL_H_

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gridline::store {

using SqlValue = std::variant<std::nullptr_t, int64_t, double, std::string>;
using SqlParams = std::vector<SqlValue>;

class SqlRow {
 public:
  explicit SqlRow(std::vector<SqlValue> cells) : cells_(std::move(cells)) {}
  bool IsNull(size_t i) const { return std::holds_alternative<std::nullptr_t>(cells_.at(i)); }
  int64_t Int(size_t i) const;
  double Double(size_t i) const;
  std::string Str(size_t i) const;

 private:
  std::vector<SqlValue> cells_;
};

enum class Dialect { kSqlite, kMysql };

// One database connection, used by one thread at a time.
class SqlConnection {
 public:
  virtual ~SqlConnection() = default;
  virtual absl::StatusOr<std::vector<SqlRow>> Query(absl::string_view sql,
                                                    const SqlParams& params = {}) = 0;
  // Returns the number of rows changed.
  virtual absl::StatusOr<int64_t> Execute(absl::string_view sql, const SqlParams& params = {}) = 0;
  // `write` lets SQLite take its write lock up front (BEGIN IMMEDIATE) instead of failing to
  // upgrade a read lock later.
  virtual absl::Status Begin(bool write) = 0;
  virtual absl::Status Commit() = 0;
  virtual absl::Status Rollback() = 0;
  // Savepoints inside a transaction, so that one part of it can be undone alone (group commit:
  // a member that fails is rolled back to its savepoint, the others commit). `name` is a plain
  // identifier.
  virtual absl::Status Savepoint(absl::string_view name) = 0;
  virtual absl::Status RollbackToSavepoint(absl::string_view name) = 0;
  virtual absl::Status ReleaseSavepoint(absl::string_view name) = 0;
  // True after an error that leaves the connection unusable (MySQL 2006/2013, a Galera node not
  // ready), or once it is stale (MySQL: the store moved to another host): the pool drops it.
  virtual bool broken() const = 0;
};

class SqlDatabase {
 public:
  virtual ~SqlDatabase() = default;
  virtual Dialect dialect() const = 0;
  virtual absl::StatusOr<std::unique_ptr<SqlConnection>> Connect() = 0;
};

// A bounded pool of connections over any SqlDatabase. Broken connections are dropped on return
// (and idle ones that broke while they waited, when taken) and replaced lazily.
class ConnectionPool {
 public:
  class Lease {
   public:
    Lease(ConnectionPool* pool, std::unique_ptr<SqlConnection> conn, bool writer = false)
        : pool_(pool), conn_(std::move(conn)), writer_(writer) {}
    Lease(Lease&&) = default;
    ~Lease() {
      if (conn_) pool_->Release(std::move(conn_), writer_);
    }
    SqlConnection* operator->() { return conn_.get(); }
    SqlConnection& operator*() { return *conn_; }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<SqlConnection> conn_;
    bool writer_;
  };

  ConnectionPool(std::unique_ptr<SqlDatabase> db, int max_size);
  absl::StatusOr<Lease> Acquire();
  // A connection for a write transaction. MySQL: any pooled one (writers meet at row locks).
  // SQLite: the one writer connection, one caller at a time, besides the `max_size` others.
  // SQLite lets one writer in at a time anyway; queueing here instead of in its busy handler
  // (which sleeps 1, 2, 5, 10 ... ms between tries) wakes the next writer as soon as the last
  // one commits, and a connection that alone writes keeps its page cache: a connection that
  // sees another's commit drops its whole cache and its memory map of the file and reads every
  // page again (BENCHMARKS.md, "Ingest").
  absl::StatusOr<Lease> AcquireWriter();
  Dialect dialect() const { return db_->dialect(); }

 private:
  void Release(std::unique_ptr<SqlConnection> conn, bool writer);

  std::unique_ptr<SqlDatabase> db_;
  const int max_size_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<SqlConnection>> idle_;
  int open_ = 0;
  // SQLite's writer connection (null until first used, or after it broke) and its turn.
  std::condition_variable writer_cv_;
  std::unique_ptr<SqlConnection> writer_;
  bool writer_busy_ = false;
};

std::unique_ptr<SqlDatabase> MakeSqliteDatabase(std::string path);

// The end of the range of paths under `path` ("/a/b/" -> "/a/b0": '0' follows '/'), so that
// "in the subtree" is path >= "/a/b/" AND path < "/a/b0" (binary collation on both engines).
inline std::string PathRangeEnd(const std::string& path) {
  if (path.empty() || path.back() != '/') return path + "\xff";
  return path.substr(0, path.size() - 1) + "0";
}

// "?, ?, ?" with `n` placeholders.
std::string Marks(size_t n);
// "INSERT INTO table (columns) VALUES (?, ...)" with one row of placeholders per `rows`, as
// many per row as `columns` (comma-separated) names.
std::string InsertSql(absl::string_view table, absl::string_view columns, size_t rows = 1);

}  // namespace gridline::store

#endif  // GRIDLINE_SERVER_STORE_SQL_H_
