#include "server/store/mysql_driver.h"

#include <cppconn/connection.h>
#include <cppconn/driver.h>
#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <cppconn/resultset_metadata.h>
#include <cppconn/statement.h>
#include <mysql_driver.h>

#include <mutex>
#include <unordered_map>

#include "absl/strings/str_cat.h"
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

absl::Status MysqlError(const sql::SQLException& e, absl::string_view what) {
  int code = e.getErrorCode();
  std::string msg = absl::StrCat("mysql ", what, ": [", code, "] ", e.what());
  switch (code) {
    case 1213:  // deadlock
    case 1205:  // lock wait timeout
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

class MysqlConnection final : public SqlConnection {
 public:
  explicit MysqlConnection(std::unique_ptr<sql::Connection> conn) : conn_(std::move(conn)) {}
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
  bool broken() const override { return broken_; }

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
    if (IsConnectionLost(e.getErrorCode())) {
      broken_ = true;  // statements die with the connection; the pool replaces both
      util::Log(util::LogLevel::kWarning, "store_reconnect",
                {{"error", static_cast<int64_t>(e.getErrorCode())},
                 {"detail", "the connection to MySQL was lost; it is replaced on the next use"}});
    }
    return MysqlError(e, sql.substr(0, 80));
  }

  std::unique_ptr<sql::Connection> conn_;
  std::unordered_map<std::string, std::unique_ptr<sql::PreparedStatement>> cache_;
  bool broken_ = false;
};

class MysqlDatabase final : public SqlDatabase {
 public:
  explicit MysqlDatabase(MysqlOptions options) : options_(std::move(options)) {}
  Dialect dialect() const override { return Dialect::kMysql; }

  absl::StatusOr<std::unique_ptr<SqlConnection>> Connect() override {
    EnsureThreadInit();
    sql::ConnectOptionsMap opts;
    opts["hostName"] = sql::SQLString(absl::StrCat("tcp://", options_.host, ":", options_.port));
    opts["userName"] = sql::SQLString(options_.user);
    opts["password"] = sql::SQLString(options_.password);
    opts["OPT_CHARSET_NAME"] = sql::SQLString("utf8mb4");
    opts["OPT_RECONNECT"] = false;
    opts["OPT_CONNECT_TIMEOUT"] = options_.connect_timeout_seconds;
    opts["OPT_READ_TIMEOUT"] = 60;
    opts["OPT_WRITE_TIMEOUT"] = 60;
    std::unique_ptr<sql::Connection> raw;
    try {
      raw.reset(Driver()->connect(opts));
    } catch (const sql::SQLException& e) {
      return absl::UnavailableError(absl::StrCat("cannot connect to MySQL at ", options_.host, ":",
                                                 options_.port, " as ", options_.user, ": [",
                                                 e.getErrorCode(), "] ", e.what()));
    }
    auto conn = std::make_unique<MysqlConnection>(std::move(raw));
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
      if (!s.ok()) return absl::UnavailableError(s.message());
    }
    return std::unique_ptr<SqlConnection>(std::move(conn));
  }

 private:
  MysqlOptions options_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<SqlDatabase>> MakeMysqlDatabase(const MysqlOptions& options) {
  if (options.database.empty() ||
      options.database.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                         "0123456789_") != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("MySQL database name must be [A-Za-z0-9_]+, got '", options.database, "'"));
  }
  return std::unique_ptr<SqlDatabase>(std::make_unique<MysqlDatabase>(options));
}

}  // namespace gridline::store
