// Shared by the test suites: the MariaDB the test command started, free ports, and a real
// gridline-server child process.
#ifndef GRIDLINE_TESTS_TEST_SUPPORT_H_
#define GRIDLINE_TESTS_TEST_SUPPORT_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "grpc/health/v1/health.grpc.pb.h"
#include "server/store/store.h"

namespace gridline::testing {

enum class Backend { kSqlite, kMariaDb };
std::string BackendName(Backend b);
void PrintTo(Backend b, std::ostream* os);

// The MariaDB started by deploy/test.sh (GRIDLINE_TEST_MYSQL_*), with a fresh database name.
// nullopt when the variables are unset.
std::optional<store::MysqlOptions> TestMysql();
// True when GRIDLINE_REQUIRE_MYSQL=1: a missing MariaDB is then a failure, not a skip.
bool MysqlRequired();

// For a fixture's SetUp: the MariaDB options when `backend` is MariaDB and one is configured.
// Records a failure (GRIDLINE_REQUIRE_MYSQL=1) or a skip otherwise; return from SetUp when it gives
// nullopt.
std::optional<store::MysqlOptions> MysqlForTest(Backend backend);

// A fresh temporary directory, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// For a fixture's SetUp: a fresh store on `backend`, SQLite in `dir` or a fresh MariaDB database.
// nullptr when MysqlForTest gave nullopt or the store did not open (a failure is recorded).
std::unique_ptr<store::Store> OpenStoreForTest(Backend backend, const TempDir& dir);

int FreePort();

// A gridline-server child process (or, with `binary`, another program of the tests).
class ServerProcess {
 public:
  explicit ServerProcess(std::vector<std::string> args, std::string log_path,
                         std::string binary = "");
  ~ServerProcess();  // SIGKILL if still running

  // For a server with `tls` in its config: Start probes its health over TLS, trusting these PEM
  // roots (the server's certificate must name 127.0.0.1). Default: plain text.
  void set_tls_root_certificates(std::string pem) { tls_root_certificates_ = std::move(pem); }
  // A client certificate and key the health probe presents (a server requiring device
  // certificates).
  void set_tls_client_certificate(std::string cert_pem, std::string key_pem) {
    tls_client_certificate_ = std::move(cert_pem);
    tls_client_key_ = std::move(key_pem);
  }
  // Starts the process and waits until grpc.health.v1 answers SERVING. False (with the log
  // available) when it exits or does not become healthy in time.
  bool Start(int port, std::chrono::seconds timeout = std::chrono::seconds(30));
  // Sends `sig` and waits for the exit; returns the exit status (or 128+signal), -1 on timeout
  // (the process is then killed).
  int Stop(int sig, std::chrono::seconds timeout = std::chrono::seconds(20));
  // Runs to completion (for processes expected to fail fast); exit code or -1 on timeout.
  int RunToExit(std::chrono::seconds timeout);
  // Starts the process and returns at once (for a program that is not gridline-server, whose
  // readiness the caller knows how to wait for, e.g. by WaitForFile on its log).
  void Launch() { Spawn(); }
  // True while the process started last has not exited.
  bool Running();
  std::string Log() const;
  const std::string& log_path() const { return log_path_; }
  pid_t pid() const { return pid_; }

 private:
  void Spawn();
  // Exit code, or -1 if the process is still running after `timeout`.
  int WaitExit(std::chrono::milliseconds timeout);
  std::vector<std::string> args_;
  std::string log_path_;
  std::string binary_;
  std::string tls_root_certificates_;
  std::string tls_client_certificate_;
  std::string tls_client_key_;
  pid_t pid_ = -1;
};

// Waits for files to be deleted, as inotify events (no polling).
class DeletionWatch {
 public:
  DeletionWatch();
  ~DeletionWatch();
  DeletionWatch(const DeletionWatch&) = delete;
  DeletionWatch& operator=(const DeletionWatch&) = delete;

  // Watches `path` (whose directory must exist).
  void Add(const std::string& path);
  // True once every watched path is gone.
  bool WaitAllGone(std::chrono::milliseconds timeout);

 private:
  int fd_;
  std::set<std::string> watched_dirs_;
  std::set<std::string> pending_;
};

// Waits until `done` holds for the content of the file at `path` (which may not exist yet), as
// inotify events on its directory (no polling). False if it does not within `timeout`.
bool WaitForFile(const std::string& path, const std::function<bool(const std::string&)>& done,
                 std::chrono::milliseconds timeout);

// Path of the built server binary, or $GRIDLINE_TEST_SERVER_BINARY if set (deploy/sanitize.sh
// runs the suites of one build against the sanitized server of another).
std::string ServerBinary();
// Path of the demo organisation file.
std::string DemoOrganisationFile();
// The path of `program` on PATH or in the sbin directories ("" if it is nowhere).
std::string FindProgram(const std::string& program);

// grpc.health.v1 Check over `channel`; true if SERVING.
bool IsServing(const std::shared_ptr<grpc::Channel>& channel);

// Follows grpc.health.v1 Watch, so a test can wait for a status change as an event.
class HealthWatch {
 public:
  explicit HealthWatch(const std::shared_ptr<grpc::Channel>& channel);
  ~HealthWatch();
  // True once `status` arrives (after any status already consumed by an earlier call).
  bool WaitFor(grpc::health::v1::HealthCheckResponse::ServingStatus status,
               std::chrono::milliseconds timeout);

 private:
  std::unique_ptr<grpc::health::v1::Health::Stub> stub_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReader<grpc::health::v1::HealthCheckResponse>> reader_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<grpc::health::v1::HealthCheckResponse::ServingStatus> statuses_;
  size_t seen_ = 0;
};

}  // namespace gridline::testing

#endif  // GRIDLINE_TESTS_TEST_SUPPORT_H_
