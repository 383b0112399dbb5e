#include "server/store/mysql_driver.h"

#include <cppconn/connection.h>
#include <cppconn/driver.h>
#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <cppconn/resultset_metadata.h>
#include <cppconn/statement.h>
#include <mysql_driver.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "server/domain/errors.h"
#include "server/util/log.h"

namespace gridline::store {
namespace {

// get_driver_instance() is not thread-safe: call it exactly once.
sql::Driver* Driver() {
  static sql::Driver* driver = [] { return sql::mysql::get_driver_instance(); }();
  return driver;
}

// Connector/C++ wants threadInit()/threadEnd() around each thread's use of the client library.
void EnsureThreadInit() {
  struct Guard {
    Guard() { Driver()->threadInit(); }
    ~Guard() { Driver()->threadEnd(); }
  };
  thread_local Guard guard;
}

bool IsConnectionLost(int code) { return code == 2006 || code == 2013 || code == 2055; }

// Errors that say the server (a Galera node) cannot take this session's work now, although the
// connection still stands: the connection is dropped like a lost one and the node left.
//   1047 ER_UNKNOWN_COM_ERROR: "WSREP has not yet prepared node for application use" (the node
//        is not Synced, or is in a non-primary component);
//   1180 ER_ERROR_DURING_COMMIT: the provider could not replicate the commit (the node lost the
//        cluster while committing; whether it committed is unknown, as with a commit cut off);
//   1053 ER_SERVER_SHUTDOWN, 1927 ER_CONNECTION_KILLED: the server is going away.
// (A certification conflict or a brute-force abort by a replicated write is 1213, a deadlock.)
bool IsNodeUnavailable(int code) {
  return code == 1047 || code == 1180 || code == 1053 || code == 1927;
}

absl::Status MysqlError(const sql::SQLException& e, absl::string_view what) {
  int code = e.getErrorCode();
  std::string msg = absl::StrCat("mysql ", what, ": [", code, "] ", e.what());
  if (IsNodeUnavailable(code)) return domain::MarkRetryable(absl::UnavailableError(msg));
  switch (code) {
    case 1213:  // deadlock; on Galera also a certification conflict
    case 1205:  // lock wait timeout
    case 1317:  // query interrupted (on Galera: aborted for a replicated write)
      return domain::MarkRetryable(absl::AbortedError(msg));
    case 1062:  // duplicate key
      return absl::AlreadyExistsError(msg);
    case 2002:
    case 2003:
    case 2005:
      return absl::UnavailableError(msg);
    case 1045:
    case 1044:
      return absl::PermissionDeniedError(msg);
    default:
      if (IsConnectionLost(code)) return domain::MarkRetryable(absl::UnavailableError(msg));
      return absl::InternalError(msg);
  }
}

// host:port, [host]:port for an IPv6 address.
std::string HostName(const MysqlHost& h) {
  if (h.host.find(':') != std::string::npos) return absl::StrCat("[", h.host, "]:", h.port);
  return absl::StrCat(h.host, ":", h.port);
}

// The current host of one database, shared by all its connections ("sticky primary"). The state
// is one atomic word: the host's index in the low 16 bits, the number of moves above, so that a
// connection opened at one state knows it is stale once the state has moved, even back to its
// own host.
class HostSelector {
 public:
  HostSelector(std::vector<MysqlHost> hosts, std::string database)
      : hosts_(std::move(hosts)), database_(std::move(database)) {
    std::lock_guard<std::mutex> lock(RegistryMutex());
    Registry().insert(this);
  }
  ~HostSelector() {
    std::lock_guard<std::mutex> lock(RegistryMutex());
    Registry().erase(this);
  }
  HostSelector(const HostSelector&) = delete;
  HostSelector& operator=(const HostSelector&) = delete;

  static constexpr uint64_t kNoState = ~uint64_t{0};  // never current
  static size_t IndexOf(uint64_t state) { return static_cast<size_t>(state & 0xffff); }

  size_t size() const { return hosts_.size(); }
  const MysqlHost& host(size_t i) const { return hosts_[i]; }
  uint64_t state() const { return state_.load(std::memory_order_acquire); }

  // Makes host `to` current if the state is still `seen`; returns the state after.
  uint64_t MoveTo(uint64_t seen, size_t to, absl::string_view reason) {
    const size_t from = IndexOf(seen);
    if (to == from) return seen;
    const uint64_t next = (((seen >> 16) + 1) << 16) | to;
    if (!state_.compare_exchange_strong(seen, next, std::memory_order_acq_rel)) {
      return seen;  // another connection moved it first; `seen` now holds the current state
    }
    util::DefaultMetrics().Add("gridline_store_mysql_failovers_total", {});
    util::Log(util::LogLevel::kWarning, "store_failover",
              {{"database", database_},
               {"from", HostName(hosts_[from])},
               {"to", HostName(hosts_[to])},
               {"reason", reason}});
    return next;
  }

  // Moves on from the host of `seen` (one of its connections failed) to the next in the list.
  void Leave(uint64_t seen, absl::string_view reason) {
    if (seen == kNoState) return;
    MoveTo(seen, (IndexOf(seen) + 1) % hosts_.size(), reason);
  }

  static std::vector<std::pair<util::MetricLabels, double>> Samples() {
    std::vector<std::pair<util::MetricLabels, double>> out;
    std::lock_guard<std::mutex> lock(RegistryMutex());
    for (const HostSelector* s : Registry()) {
      const size_t i = IndexOf(s->state());
      out.push_back(
          {{{"database", s->database_}, {"host", HostName(s->hosts_[i])}}, static_cast<double>(i)});
    }
    return out;
  }

 private:
  // Every open database's selector, for the gauge (never destroyed: a gauge may be read while
  // the process exits).
  static std::mutex& RegistryMutex() {
    static auto* mu = new std::mutex;
    return *mu;
  }
  static std::set<const HostSelector*>& Registry() {
    static auto* all = new std::set<const HostSelector*>;
    return *all;
  }

  const std::vector<MysqlHost> hosts_;
  const std::string database_;
  std::atomic<uint64_t> state_{0};
};

class MysqlConnection final : public SqlConnection {
 public:
  MysqlConnection(std::unique_ptr<sql::Connection> conn, std::shared_ptr<HostSelector> selector)
      : conn_(std::move(conn)), selector_(std::move(selector)) {}
  ~MysqlConnection() override {
    EnsureThreadInit();
    cache_.clear();
    try {
      conn_->close();
    } catch (const sql::SQLException&) {
    }
  }

  absl::StatusOr<std::vector<SqlRow>> Query(absl::string_view sql,
                                            const SqlParams& params) override {
    return Run(sql, params, [](sql::PreparedStatement* ps) {
      std::unique_ptr<sql::ResultSet> rs(ps->executeQuery());
      sql::ResultSetMetaData* md = rs->getMetaData();
      unsigned int n = md->getColumnCount();
      std::vector<int> types(n);
      for (unsigned int i = 0; i < n; ++i) types[i] = md->getColumnType(i + 1);
      std::vector<SqlRow> rows;
      while (rs->next()) {
        std::vector<SqlValue> cells;
        cells.reserve(n);
        for (unsigned int i = 1; i <= n; ++i) {
          if (rs->isNull(i)) {
            cells.emplace_back(nullptr);
            continue;
          }
          switch (types[i - 1]) {
            case sql::DataType::BIT:
            case sql::DataType::TINYINT:
            case sql::DataType::SMALLINT:
            case sql::DataType::MEDIUMINT:
            case sql::DataType::INTEGER:
            case sql::DataType::BIGINT:
              cells.emplace_back(static_cast<int64_t>(rs->getInt64(i)));
              break;
            case sql::DataType::REAL:
            case sql::DataType::DOUBLE:
              cells.emplace_back(static_cast<double>(rs->getDouble(i)));
              break;
            default:
              cells.emplace_back(std::string(rs->getString(i).asStdString()));
          }
        }
        rows.emplace_back(std::move(cells));
      }
      return rows;
    });
  }

  absl::StatusOr<int64_t> Execute(absl::string_view sql, const SqlParams& params) override {
    return Run(sql, params, [](sql::PreparedStatement* ps) {
      return static_cast<int64_t>(ps->executeUpdate());
    });
  }

  absl::Status Begin(bool) override { return Plain("START TRANSACTION"); }
  absl::Status Commit() override { return Plain("COMMIT"); }
  absl::Status Rollback() override {
    if (broken_) return absl::OkStatus();
    return Plain("ROLLBACK");
  }
  absl::Status Savepoint(absl::string_view name) override {
    return Plain(absl::StrCat("SAVEPOINT ", name));
  }
  absl::Status RollbackToSavepoint(absl::string_view name) override {
    return Plain(absl::StrCat("ROLLBACK TO SAVEPOINT ", name));
  }
  absl::Status ReleaseSavepoint(absl::string_view name) override {
    return Plain(absl::StrCat("RELEASE SAVEPOINT ", name));
  }
  // Broken, or stale: the store has moved to another host since this connection was opened.
  bool broken() const override { return broken_ || selector_->state() != state_; }

  // The selector's state under which this connection was accepted (kNoState: to a host that is
  // not the current one, used once).
  void Accept(uint64_t state) { state_ = state; }

  absl::Status Plain(const std::string& sql) {
    EnsureThreadInit();
    try {
      std::unique_ptr<sql::Statement> st(conn_->createStatement());
      st->execute(sql);
      return absl::OkStatus();
    } catch (const sql::SQLException& e) {
      return Fail(e, sql);
    }
  }

 private:
  template <typename Fn>
  auto Run(absl::string_view sql, const SqlParams& params, Fn fn)
      -> absl::StatusOr<decltype(fn(nullptr))> {
    EnsureThreadInit();
    if (broken_) return domain::MarkRetryable(absl::UnavailableError("mysql connection lost"));
    std::string key(sql);
    try {
      auto it = cache_.find(key);
      if (it == cache_.end()) {
        it =
            cache_
                .emplace(key, std::unique_ptr<sql::PreparedStatement>(conn_->prepareStatement(key)))
                .first;
      }
      sql::PreparedStatement* ps = it->second.get();
      ps->clearParameters();
      for (size_t i = 0; i < params.size(); ++i) {
        unsigned int idx = static_cast<unsigned int>(i + 1);
        const SqlValue& v = params[i];
        if (std::holds_alternative<std::nullptr_t>(v)) {
          ps->setNull(idx, sql::DataType::VARCHAR);
        } else if (auto* p = std::get_if<int64_t>(&v)) {
          ps->setInt64(idx, *p);
        } else if (auto* p = std::get_if<double>(&v)) {
          ps->setDouble(idx, *p);
        } else {
          ps->setString(idx, std::get<std::string>(v));
        }
      }
      return fn(ps);
    } catch (const sql::SQLException& e) {
      return Fail(e, key);
    }
  }

  absl::Status Fail(const sql::SQLException& e, absl::string_view sql) {
    absl::Status status = MysqlError(e, sql.substr(0, 80));
    const int code = e.getErrorCode();
    if (IsConnectionLost(code) || IsNodeUnavailable(code)) {
      broken_ = true;  // statements die with the connection; the pool replaces both
      if (state_ != HostSelector::kNoState) {  // not while opening it (Connect says why)
        util::Log(util::LogLevel::kWarning, "store_reconnect",
                  {{"error", static_cast<int64_t>(code)},
                   {"detail", "the connection to MySQL was lost; it is replaced on the next use"}});
        // Once a connection to the current host is lost, the next host is current.
        selector_->Leave(state_, status.message());
      }
    }
    return status;
  }

  std::unique_ptr<sql::Connection> conn_;
  std::shared_ptr<HostSelector> selector_;
  uint64_t state_ = HostSelector::kNoState;
  std::unordered_map<std::string, std::unique_ptr<sql::PreparedStatement>> cache_;
  bool broken_ = false;
};

// Why the server behind `conn` may not take the store's work now, or "" when it may. A server
// without wsrep (plain MariaDB or MySQL) always may; a Galera node must be ready and Synced,
// and then its session reads causally: a read waits until the node has applied every write the
// cluster committed before it, so nothing committed on the node left before is missed.
// Throws sql::SQLException.
std::string NotReadyReason(sql::Connection& conn) {
  std::unique_ptr<sql::Statement> st(conn.createStatement());
  {
    std::unique_ptr<sql::ResultSet> on;
    try {
      on.reset(st->executeQuery("SELECT @@global.wsrep_on"));
    } catch (const sql::SQLException& e) {
      if (e.getErrorCode() == 1193) return "";  // unknown system variable: MySQL without wsrep
      throw;
    }
    if (!on->next()) return "";
    const std::string value = absl::AsciiStrToUpper(on->getString(1).asStdString());
    if (value != "1" && value != "ON") return "";
  }
  std::map<std::string, std::string> status;
  {
    std::unique_ptr<sql::ResultSet> rs(st->executeQuery(
        "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_ready', 'wsrep_local_state', "
        "'wsrep_local_state_comment', 'wsrep_cluster_status')"));
    while (rs->next()) {
      status[absl::AsciiStrToLower(rs->getString(1).asStdString())] =
          rs->getString(2).asStdString();
    }
  }
  if (status["wsrep_ready"] != "ON" || status["wsrep_local_state"] != "4") {
    return absl::StrCat("the Galera node is not ready: wsrep_ready=", status["wsrep_ready"],
                        ", wsrep_local_state=", status["wsrep_local_state"], " (",
                        status["wsrep_local_state_comment"],
                        "), wsrep_cluster_status=", status["wsrep_cluster_status"]);
  }
  st->execute("SET SESSION wsrep_sync_wait = 1");
  return "";
}

class MysqlDatabase final : public SqlDatabase {
 public:
  explicit MysqlDatabase(MysqlOptions options)
      : options_(std::move(options)),
        selector_(std::make_shared<HostSelector>(
            options_.hosts.empty() ? std::vector<MysqlHost>{{options_.host, options_.port}}
                                   : options_.hosts,
            options_.database)) {}
  Dialect dialect() const override { return Dialect::kMysql; }

  // Opens a connection on the current host, or else on the first ready host after it (each
  // tried once), which then becomes current. UNAVAILABLE when none is; retryable unless every
  // host refused for a reason that time does not fix (a wrong password, a missing database).
  absl::StatusOr<std::unique_ptr<SqlConnection>> Connect() override {
    EnsureThreadInit();
    const uint64_t seen = selector_->state();
    const size_t start = HostSelector::IndexOf(seen);
    const size_t n = selector_->size();
    std::vector<std::string> failures;
    bool transient = false;
    for (size_t k = 0; k < n; ++k) {
      const size_t i = (start + k) % n;
      auto conn = ConnectTo(selector_->host(i));
      if (!conn.ok()) {
        transient = transient || domain::IsRetryable(conn.status());
        failures.emplace_back(conn.status().message());
        continue;
      }
      uint64_t now = selector_->state();
      if (HostSelector::IndexOf(now) != i) {
        now = selector_->MoveTo(seen, i, absl::StrJoin(failures, "; "));
      }
      // Moved elsewhere meanwhile by another connection: this one serves one lease only.
      (*conn)->Accept(HostSelector::IndexOf(now) == i ? now : HostSelector::kNoState);
      return std::unique_ptr<SqlConnection>(*std::move(conn));
    }
    absl::Status status = absl::UnavailableError(absl::StrJoin(failures, "; "));
    return transient ? domain::MarkRetryable(status) : status;
  }

 private:
  // One connection to `h`, ready (NotReadyReason) and set up, or an error naming the host;
  // retryable when another try may succeed (the server is down, not ready, or went away).
  absl::StatusOr<std::unique_ptr<MysqlConnection>> ConnectTo(const MysqlHost& h) {
    const std::string where =
        absl::StrCat("cannot connect to MySQL at ", HostName(h), " as ", options_.user, ": ");
    sql::ConnectOptionsMap opts;
    opts["hostName"] = sql::SQLString(absl::StrCat("tcp://", HostName(h)));
    opts["userName"] = sql::SQLString(options_.user);
    opts["password"] = sql::SQLString(options_.password);
    opts["OPT_CHARSET_NAME"] = sql::SQLString("utf8mb4");
    opts["OPT_RECONNECT"] = false;
    opts["OPT_CONNECT_TIMEOUT"] = options_.connect_timeout_seconds;
    // A server that stops answering (a hung node, a cut link) fails the statement after this
    // long instead of holding its thread for the kernel's TCP timeout.
    opts["OPT_READ_TIMEOUT"] = options_.read_timeout_seconds;
    opts["OPT_WRITE_TIMEOUT"] = options_.read_timeout_seconds;
    std::unique_ptr<sql::Connection> raw;
    try {
      raw.reset(Driver()->connect(opts));
    } catch (const sql::SQLException& e) {
      const int code = e.getErrorCode();
      absl::Status s = absl::UnavailableError(absl::StrCat(where, "[", code, "] ", e.what()));
      // 2002/2003/2005: no server there (or no answer); 2013 and the wsrep errors: it went away.
      const bool transient = code == 2002 || code == 2003 || code == 2005 ||
                             IsConnectionLost(code) || IsNodeUnavailable(code);
      return transient ? domain::MarkRetryable(s) : s;
    }
    try {
      std::string not_ready = NotReadyReason(*raw);
      if (!not_ready.empty()) {
        return domain::MarkRetryable(absl::UnavailableError(absl::StrCat(where, not_ready)));
      }
    } catch (const sql::SQLException& e) {
      return domain::MarkRetryable(
          absl::UnavailableError(absl::StrCat(where, "[", e.getErrorCode(), "] ", e.what())));
    }
    auto conn = std::make_unique<MysqlConnection>(std::move(raw), selector_);
    std::vector<std::string> setup = {
        "SET NAMES utf8mb4 COLLATE utf8mb4_bin",
        "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'",
        "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
        "SET time_zone = '+00:00'",
    };
    if (options_.create_database) {
      setup.push_back(absl::StrCat("CREATE DATABASE IF NOT EXISTS `", options_.database,
                                   "` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"));
    }
    setup.push_back(absl::StrCat("USE `", options_.database, "`"));
    for (const auto& sql : setup) {
      absl::Status s = conn->Plain(sql);
      if (!s.ok()) {
        absl::Status out = absl::UnavailableError(absl::StrCat(where, s.message()));
        return domain::IsRetryable(s) ? domain::MarkRetryable(out) : out;
      }
    }
    return conn;
  }

  const MysqlOptions options_;
  const std::shared_ptr<HostSelector> selector_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<SqlDatabase>> MakeMysqlDatabase(const MysqlOptions& options) {
  if (options.database.empty() ||
      options.database.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                         "0123456789_") != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("MySQL database name must be [A-Za-z0-9_]+, got '", options.database, "'"));
  }
  if (options.hosts.size() > 0xffff) {
    return absl::InvalidArgumentError("MySQL hosts: at most 65535");
  }
  for (const MysqlHost& h : options.hosts) {
    if (h.host.empty() || h.port < 1 || h.port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("MySQL hosts: '", HostName(h), "' is not host:port"));
    }
  }
  if (options.read_timeout_seconds < 1) {
    return absl::InvalidArgumentError("MySQL read_timeout_seconds must be at least 1");
  }
  return std::unique_ptr<SqlDatabase>(std::make_unique<MysqlDatabase>(options));
}

std::vector<std::pair<util::MetricLabels, double>> MysqlCurrentHosts() {
  return HostSelector::Samples();
}

}  // namespace gridline::store
