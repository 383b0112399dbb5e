#include "server/store/sql.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace gridline::store {

int64_t SqlRow::Int(size_t i) const {
  const SqlValue& v = cells_.at(i);
  if (auto* p = std::get_if<int64_t>(&v)) return *p;
  if (auto* p = std::get_if<double>(&v)) return static_cast<int64_t>(*p);
  if (auto* p = std::get_if<std::string>(&v)) {
    int64_t out = 0;
    if (absl::SimpleAtoi(*p, &out)) return out;
  }
  return 0;
}

double SqlRow::Double(size_t i) const {
  const SqlValue& v = cells_.at(i);
  if (auto* p = std::get_if<double>(&v)) return *p;
  if (auto* p = std::get_if<int64_t>(&v)) return static_cast<double>(*p);
  if (auto* p = std::get_if<std::string>(&v)) {
    double out = 0;
    if (absl::SimpleAtod(*p, &out)) return out;
  }
  return 0;
}

std::string SqlRow::Str(size_t i) const {
  const SqlValue& v = cells_.at(i);
  if (auto* p = std::get_if<std::string>(&v)) return *p;
  if (auto* p = std::get_if<int64_t>(&v)) return absl::StrCat(*p);
  if (auto* p = std::get_if<double>(&v)) return absl::StrCat(*p);
  return "";
}

ConnectionPool::ConnectionPool(std::unique_ptr<SqlDatabase> db, int max_size)
    : db_(std::move(db)), max_size_(max_size < 1 ? 1 : max_size) {}

absl::StatusOr<ConnectionPool::Lease> ConnectionPool::Acquire() {
  // Idle connections that went stale while they waited (MySQL: the store moved to another
  // host), closed after the lock is released.
  std::vector<std::unique_ptr<SqlConnection>> dropped;
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !idle_.empty() || open_ < max_size_; });
    while (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      if (!conn->broken()) return Lease(this, std::move(conn));
      --open_;
      dropped.push_back(std::move(conn));
    }
    ++open_;  // reserve a slot, connect outside the lock
  }
  auto conn = db_->Connect();
  if (!conn.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    --open_;
    cv_.notify_one();
    return conn.status();
  }
  return Lease(this, *std::move(conn));
}

absl::StatusOr<ConnectionPool::Lease> ConnectionPool::AcquireWriter() {
  if (db_->dialect() != Dialect::kSqlite) return Acquire();
  std::unique_ptr<SqlConnection> dropped;  // a broken one, closed after the lock is released
  {
    std::unique_lock<std::mutex> lock(mu_);
    writer_cv_.wait(lock, [&] { return !writer_busy_; });
    writer_busy_ = true;
    if (writer_ && !writer_->broken()) return Lease(this, std::move(writer_), true);
    dropped = std::move(writer_);
  }
  auto conn = db_->Connect();
  if (!conn.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    writer_busy_ = false;
    writer_cv_.notify_one();
    return conn.status();
  }
  return Lease(this, *std::move(conn), true);
}

void ConnectionPool::Release(std::unique_ptr<SqlConnection> conn, bool writer) {
  std::lock_guard<std::mutex> lock(mu_);
  if (writer) {
    if (!conn->broken()) writer_ = std::move(conn);
    writer_busy_ = false;
    writer_cv_.notify_one();
    return;
  }
  if (conn->broken()) {
    --open_;  // dropped; the next Acquire opens a fresh one
    conn.reset();
  } else {
    idle_.push_back(std::move(conn));
  }
  cv_.notify_one();
}

std::string Marks(size_t n) {
  std::vector<std::string> m(n, "?");
  return absl::StrJoin(m, ", ");
}

std::string InsertSql(absl::string_view table, absl::string_view columns, size_t rows) {
  const size_t n = std::count(columns.begin(), columns.end(), ',') + 1;
  const std::string row = absl::StrCat("(", Marks(n), ")");
  std::vector<std::string> all(rows, row);
  return absl::StrCat("INSERT INTO ", table, " (", columns, ") VALUES ", absl::StrJoin(all, ", "));
}

}  // namespace gridline::store
