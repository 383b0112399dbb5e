#ifndef GRIDLINE_SERVER_STORE_MYSQL_DRIVER_H_
#define GRIDLINE_SERVER_STORE_MYSQL_DRIVER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "server/store/sql.h"
#include "server/store/store.h"

namespace gridline::store {

// MySQL/MariaDB through Connector/C++ 1.1. utf8mb4 and strict mode on every connection;
// OPT_RECONNECT off: a connection that loses the server (2006/2013) is marked broken, dropped by
// the pool, and its transaction retried on a fresh one with freshly prepared statements.
absl::StatusOr<std::unique_ptr<SqlDatabase>> MakeMysqlDatabase(const MysqlOptions& options);

}  // namespace gridline::store

#endif  // GRIDLINE_SERVER_STORE_MYSQL_DRIVER_H_
