#include "tests/test_support.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "server/util/sha256.h"

namespace gridline::testing {

std::string BackendName(Backend b) { return b == Backend::kSqlite ? "SQLite" : "MariaDB"; }
void PrintTo(Backend b, std::ostream* os) { *os << BackendName(b); }

std::optional<store::MysqlOptions> TestMysql() {
  const char* host = std::getenv("GRIDLINE_TEST_MYSQL_HOST");
  const char* port = std::getenv("GRIDLINE_TEST_MYSQL_PORT");
  if (!host || !port) return std::nullopt;
  store::MysqlOptions o;
  o.host = host;
  if (!absl::SimpleAtoi(port, &o.port)) return std::nullopt;
  const char* user = std::getenv("GRIDLINE_TEST_MYSQL_USER");
  const char* password = std::getenv("GRIDLINE_TEST_MYSQL_PASSWORD");
  o.user = user ? user : "root";
  o.password = password ? password : "";
  o.database = "gltest_" + util::RandomHex(6);
  o.create_database = true;
  o.pool_size = 8;
  return o;
}

bool MysqlRequired() {
  const char* v = std::getenv("GRIDLINE_REQUIRE_MYSQL");
  return v && std::string(v) == "1";
}

std::optional<store::MysqlOptions> MysqlForTest(Backend backend) {
  if (backend != Backend::kMariaDb) return std::nullopt;
  auto opts = TestMysql();
  if (!opts) {
    if (MysqlRequired()) {
      // A fatal failure, so that gtest does not run the test body.
      [] { FAIL() << "GRIDLINE_REQUIRE_MYSQL=1 but GRIDLINE_TEST_MYSQL_* are not set"; }();
    } else {
      [] { GTEST_SKIP() << "no MariaDB configured: run deploy/test.sh"; }();
    }
  }
  return opts;
}

std::unique_ptr<store::Store> OpenStoreForTest(Backend backend, const TempDir& dir) {
  absl::StatusOr<std::unique_ptr<store::Store>> s;
  if (backend == Backend::kMariaDb) {
    auto opts = MysqlForTest(backend);
    if (!opts) return nullptr;
    s = store::OpenMysqlStore(*opts);
  } else {
    store::SqliteOptions o;
    o.path = dir.path() + "/store.db";
    s = store::OpenSqliteStore(o);
  }
  if (!s.ok()) {
    ADD_FAILURE() << "cannot open the " << BackendName(backend) << " store: " << s.status();
    return nullptr;
  }
  return *std::move(s);
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "gridline-test-XXXXXX").string();
  char* made = mkdtemp(tmpl.data());
  path_ = made ? made : "";
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove_all(path_, ec);
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

DeletionWatch::DeletionWatch() : fd_(inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) {}
DeletionWatch::~DeletionWatch() { close(fd_); }

void DeletionWatch::Add(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (watched_dirs_.insert(dir).second) {
    EXPECT_GE(inotify_add_watch(fd_, dir.c_str(), IN_DELETE | IN_MOVED_FROM), 0) << dir;
  }
  pending_.insert(path);
}

bool DeletionWatch::WaitAllGone(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    for (auto it = pending_.begin(); it != pending_.end();) {
      it = std::filesystem::exists(*it) ? std::next(it) : pending_.erase(it);
    }
    if (pending_.empty()) return true;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) > 0) {
      alignas(inotify_event) char buf[4096];
      while (read(fd_, buf, sizeof(buf)) > 0) {
      }
    }
  }
}

bool WaitForFile(const std::string& path, const std::function<bool(const std::string&)>& done,
                 std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const std::string dir = std::filesystem::path(path).parent_path().string();
  int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (fd < 0 || inotify_add_watch(fd, dir.c_str(), IN_MODIFY | IN_CREATE | IN_MOVED_TO) < 0) {
    ADD_FAILURE() << "cannot watch " << dir;
    if (fd >= 0) close(fd);
    return false;
  }
  bool met = false;
  for (;;) {  // the watch is in place before each read of the file, so no change is missed
    std::ifstream in(path);
    std::stringstream content;
    content << in.rdbuf();
    if (done(content.str())) {
      met = true;
      break;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) > 0) {
      alignas(inotify_event) char buf[4096];
      while (read(fd, buf, sizeof(buf)) > 0) {
      }
    }
  }
  close(fd);
  return met;
}

std::string ServerBinary() {
  const char* b = std::getenv("GRIDLINE_TEST_SERVER_BINARY");
  return b && *b ? b : GRIDLINE_SERVER_BINARY;
}
std::string DemoOrganisationFile() {
  return GRIDLINE_SOURCE_DIR "/deploy/demo/organisation.textproto";
}

std::string FindProgram(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::vector<std::string> dirs = absl::StrSplit(path ? path : "", ':', absl::SkipEmpty());
  for (const char* sbin : {"/usr/sbin", "/usr/local/sbin", "/sbin"}) dirs.push_back(sbin);
  for (const auto& d : dirs) {
    const std::string candidate = absl::StrCat(d, "/", program);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

bool IsServing(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  grpc::health::v1::HealthCheckRequest req;
  grpc::health::v1::HealthCheckResponse resp;
  return stub->Check(&ctx, req, &resp).ok() &&
         resp.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

ServerProcess::ServerProcess(std::vector<std::string> args, std::string log_path,
                             std::string binary)
    : args_(std::move(args)), log_path_(std::move(log_path)), binary_(std::move(binary)) {}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) Stop(SIGKILL);
}

void ServerProcess::Spawn() {
  // Everything the child needs is built before fork: the test process has gRPC's threads, and a
  // child of a threaded process may only make async-signal-safe calls until exec. (A malloc in
  // the child once deadlocked on an allocator lock that another thread held at the fork.)
  std::string bin = binary_.empty() ? ServerBinary() : binary_;
  // GRIDLINE_TEST_SERVER_WRAPPER runs the server under a tool, e.g.
  // "valgrind --error-exitcode=99 --log-file=/tmp/vg.%p" (words split on spaces).
  std::vector<std::string> wrapper;
  if (const char* w = std::getenv("GRIDLINE_TEST_SERVER_WRAPPER"); w && binary_.empty()) {
    wrapper = absl::StrSplit(w, ' ', absl::SkipEmpty());
  }
  std::vector<char*> argv;
  for (auto& word : wrapper) argv.push_back(word.data());
  argv.push_back(bin.data());
  for (auto& a : args_) argv.push_back(a.data());
  argv.push_back(nullptr);
  const char* log_path = log_path_.c_str();
  const bool wrapped = !wrapper.empty();
  pid_ = fork();
  if (pid_ == 0) {
    // Dies with the test: a test process that is killed must not leave servers behind.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    if (wrapped) execvp(argv[0], argv.data());
    execv(argv[0], argv.data());
    _exit(127);
  }
}

bool ServerProcess::Start(int port, std::chrono::seconds timeout) {
  Spawn();
  const auto deadline = std::chrono::system_clock::now() + timeout;
  // Its own subchannel with a short reconnect backoff: a shared one would sit in backoff for
  // seconds after the first refused connection.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
  // The connect timeout (gRPC's minimum is 100 ms): generous, since a loaded machine may take
  // longer than that to connect.
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 2000);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 100);
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!tls_root_certificates_.empty()) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = tls_root_certificates_;
    ssl.pem_cert_chain = tls_client_certificate_;
    ssl.pem_private_key = tls_client_key_;
    credentials = grpc::SslCredentials(ssl);
  }
  auto channel = grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port), credentials, args);
  while (std::chrono::system_clock::now() < deadline) {
    // Blocks on the connectivity event, but only briefly, so that a child that died is seen.
    bool connected = channel->WaitForConnected(std::chrono::system_clock::now() +
                                               std::chrono::milliseconds(250));
    if (connected && IsServing(channel)) return true;
    if (WaitExit(std::chrono::milliseconds(0)) != -1) return false;  // it exited
  }
  return false;
}

int ServerProcess::Stop(int sig, std::chrono::seconds timeout) {
  if (pid_ <= 0) return -1;
  kill(pid_, sig);
  int code = WaitExit(timeout);
  if (code == -1) {  // did not exit in time
    kill(pid_, SIGKILL);
    WaitExit(std::chrono::seconds(10));
  }
  pid_ = -1;
  return code;
}

int ServerProcess::RunToExit(std::chrono::seconds timeout) {
  Spawn();
  return Stop(0, timeout);  // signal 0 sends nothing: just wait
}

bool ServerProcess::Running() { return pid_ > 0 && WaitExit(std::chrono::milliseconds(0)) == -1; }

int ServerProcess::WaitExit(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  // A pidfd becomes readable when the process exits: wait on that event with a deadline.
  int fd = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
  if (fd >= 0) {
    pollfd p{fd, POLLIN, 0};
    poll(&p, 1, static_cast<int>(timeout.count()));
    close(fd);
  }
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) != pid_) return -1;
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

HealthWatch::HealthWatch(const std::shared_ptr<grpc::Channel>& channel)
    : stub_(grpc::health::v1::Health::NewStub(channel)) {
  ctx_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
  reader_ = stub_->Watch(&ctx_, grpc::health::v1::HealthCheckRequest());
  thread_ = std::thread([this] {
    grpc::health::v1::HealthCheckResponse r;
    while (reader_->Read(&r)) {
      std::lock_guard<std::mutex> lock(mu_);
      statuses_.push_back(r.status());
      cv_.notify_all();
    }
    reader_->Finish().ok();
  });
}

HealthWatch::~HealthWatch() {
  ctx_.TryCancel();
  thread_.join();
}

bool HealthWatch::WaitFor(grpc::health::v1::HealthCheckResponse::ServingStatus status,
                          std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] {
    for (size_t i = seen_; i < statuses_.size(); ++i) {
      if (statuses_[i] == status) {
        seen_ = i + 1;
        return true;
      }
    }
    return false;
  });
}

std::string ServerProcess::Log() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace gridline::testing
