#ifndef GRIDLINE_SERVER_STORE_MYSQL_DRIVER_H_
#define GRIDLINE_SERVER_STORE_MYSQL_DRIVER_H_

#include <memory>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "server/store/sql.h"
#include "server/store/store.h"
#include "server/util/metrics.h"

namespace gridline::store {

// MySQL/MariaDB through Connector/C++ 1.1. utf8mb4 and strict mode on every connection;
// OPT_RECONNECT off: a connection that loses the server (2006/2013) is marked broken, dropped by
// the pool, and its transaction retried on a fresh one with freshly prepared statements.
//
// With several hosts (a Galera cluster, MysqlOptions.hosts) every connection goes to one node,
// the current one, so that writes never meet in certification. A connection is opened on the
// current node, or on the next ready one after it (each tried once); a Galera node is ready
// when it says wsrep_ready=ON and wsrep_local_state=4 (Synced), and its sessions read causally
// (wsrep_sync_wait=1). When a connection to the current node is lost or the node answers that
// it is not ready (1047), the next node becomes current, and the idle connections to the old
// one are dropped. The store never moves back by itself. Each move is logged
// ("store_failover") and counted (gridline_store_mysql_failovers_total).
absl::StatusOr<std::unique_ptr<SqlDatabase>> MakeMysqlDatabase(const MysqlOptions& options);

// The samples of the gauge gridline_store_mysql_host_index: for each open MySQL database, the
// index in its host list of its current host, labelled with its database and that host.
std::vector<std::pair<util::MetricLabels, double>> MysqlCurrentHosts();

}  // namespace gridline::store

#endif  // GRIDLINE_SERVER_STORE_MYSQL_DRIVER_H_
