// Issue 17: a MariaDB Galera cluster of three nodes, three gridline-server replicas on it and
// HAProxy in front, all started by deploy/cluster/start.sh in a temporary directory (once for the
// suite, always stopped by deploy/cluster/stop.sh, and by start.sh's watchdog should this
// process die). Clients reach the cluster only through HAProxy: handsets submit reports with raw
// stubs and retry each with its request id until acknowledged; watchers use the SDK's resumable
// watches. Then something is broken under that load:
//  - a replica is SIGKILLed and started again;
//  - the Galera node that takes the writes (node 1) is SIGKILLed: the store fails over to the
//    next node; node 1 is started again and rejoins (IST or SST) with every report;
//  - a node that takes no writes (node 3) is SIGSTOPped: the other two keep quorum; after SIGCONT
//    it answers a direct query either with a wsrep error or with every report, never stale.
// Each time: every acknowledged report is stored exactly once (no second case for a request id,
// one REPORTED event per case), and every watch delivers exactly what a fresh stream from its
// first cursor delivers: in order, nothing missing, nothing twice. The figures (throughput,
// failover gaps, failed attempts, the store's conflicts and retries) are printed for
// deploy/cluster/README.md, never asserted. Every wait has a deadline.
//
// Skipped (with a message) only when Galera or HAProxy is not installed and
// GRIDLINE_REQUIRE_MYSQL is not set. GRIDLINE_CLUSTER_SOAK_SECONDS lengthens the throughput test
// (deploy/cluster/soak.sh), GRIDLINE_CLUSTER_MULTI_PRIMARY=1 starts the cluster with each replica
// writing to a node of its own, GRIDLINE_CLUSTER_KEEP=1 keeps its directory (data and logs).
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gridline/client/dispatch_client.h"
#include "gridline/client/report_client.h"
#include "gridline/v1/dispatch_service.grpc.pb.h"
#include "gridline/v1/report_service.grpc.pb.h"
#include "server/store/mysql_driver.h"
#include "tests/e2e_fixture.h"
#include "tests/stream_reader.h"

namespace gridline {
namespace {

namespace v1 = ::gridline::v1;
namespace gc = ::gridline::client;
using namespace testing;  // NOLINT: demo tokens, TempDir, ServerProcess
using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kCell2[] = "410184001002001";  // leader 2's cell, street 1
constexpr char kCell3[] = "410184002001001";  // leader 3's cell, street 2
const char* const kLeaders[] = {kLeader1, kLeader2, kLeader3};

const char* CellOf(const std::string& token) {
  if (token == kLeader2) return kCell2;
  if (token == kLeader3) return kCell3;
  return kCell1;
}

double SecondsBetween(SteadyClock::time_point a, SteadyClock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

std::string CodeName(grpc::StatusCode code) {
  static const char* const kNames[] = {
      "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT", "DEADLINE",
      "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "EXHAUSTED",        "FAILED_PRECONDITION",
      "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",         "UNAVAILABLE",
      "DATA_LOSS", "UNAUTHENTICATED"};
  const int i = static_cast<int>(code);
  return i >= 0 && i <= 16 ? kNames[i] : absl::StrCat("code ", i);
}

// Worth another attempt with the same request id: the balancer, a replica or the store is away
// for a moment (UNAVAILABLE; INTERNAL or UNKNOWN when HAProxy resets a stream whose replica
// died), or the attempt ran out of time.
bool Transient(const grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return true;
    default:
      return false;
  }
}

// True while `pid` runs (SIGSTOPped counts; a zombie does not).
bool Alive(int pid) {
  if (pid <= 0) return false;
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The loopback cluster: deploy/cluster/start.sh's DIR and its cluster.env.
class Cluster {
 public:
  explicit Cluster(std::string dir) : dir_(std::move(dir)) {}

  const std::string& dir() const { return dir_; }

  // Runs deploy/cluster/SCRIPT with `args`; its exit status (-1 on timeout, then killed).
  int Script(const std::string& script, std::vector<std::string> args, seconds timeout) {
    args.insert(args.begin(), absl::StrCat(GRIDLINE_SOURCE_DIR, "/deploy/cluster/", script));
    const std::string log = absl::StrCat(dir_, "-", script, "-", ++runs_, ".log");
    ServerProcess run(args, log, "/bin/bash");
    const int code = run.RunToExit(timeout);
    last_log_ = run.Log();
    std::cout << "[ cluster  ] " << script << " "
              << absl::StrJoin(args.begin() + 1, args.end(), " ") << ": exit " << code << "\n";
    return code;
  }
  const std::string& last_log() const { return last_log_; }

  // Reads DIR/cluster.env again (start.sh --node/--replica change the pids).
  bool Load() {
    std::ifstream in(dir_ + "/cluster.env");
    if (!in) return false;
    env_.clear();
    for (std::string line; std::getline(in, line);) {
      if (line.empty() || line[0] == '#') continue;
      const size_t eq = line.find('=');
      if (eq != std::string::npos) env_[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return true;
  }
  std::string Str(const std::string& key) const {
    auto it = env_.find(key);
    return it == env_.end() ? "" : it->second;
  }
  int Int(const std::string& key) const {
    int v = 0;
    return absl::SimpleAtoi(Str(key), &v) ? v : 0;
  }
  int haproxy_port() const { return Int("HAPROXY_PORT"); }
  int node_pid(int i) const { return Int(absl::StrCat("NODE", i, "_PID")); }
  int replica_pid(int i) const { return Int(absl::StrCat("REPLICA", i, "_PID")); }
  int metrics_port(int i) const { return Int(absl::StrCat("REPLICA", i, "_METRICS_PORT")); }

  // A direct connection to node `i` as the gridline user (nullptr with `error` set when it fails).
  std::unique_ptr<store::SqlConnection> Node(int i, std::string* error = nullptr) {
    store::MysqlOptions o;
    o.host = "127.0.0.1";
    o.port = Int(absl::StrCat("NODE", i, "_PORT"));
    o.user = Str("MYSQL_USER");
    o.password =
        std::string(absl::StripTrailingAsciiWhitespace(ReadFile(Str("MYSQL_PASSWORD_FILE"))));
    o.database = Str("MYSQL_DATABASE");
    o.pool_size = 1;
    o.connect_timeout_seconds = 5;
    o.read_timeout_seconds = 30;
    auto db = store::MakeMysqlDatabase(o);
    if (!db.ok()) {
      if (error) *error = std::string(db.status().message());
      return nullptr;
    }
    auto conn = (*db)->Connect();
    if (!conn.ok()) {
      if (error) *error = std::string(conn.status().message());
      return nullptr;
    }
    return *std::move(conn);
  }

  // Runs `sql` on node `i` with the mariadb client (a plain session: the node's own settings,
  // none of the store's checks); its exit status, `*out` its output (rows, or the error).
  int Cli(int i, const std::string& sql, std::string* out) {
    const std::string cmd = absl::StrCat(
        "MYSQL_PWD='", absl::StripTrailingAsciiWhitespace(ReadFile(Str("MYSQL_PASSWORD_FILE"))),
        "' mariadb --no-defaults -h127.0.0.1 -P", Int(absl::StrCat("NODE", i, "_PORT")), " -u",
        Str("MYSQL_USER"), " --connect-timeout=5 -N -B ", Str("MYSQL_DATABASE"), " -e \"", sql,
        "\" 2>&1");
    FILE* p = popen(cmd.c_str(), "r");
    if (p == nullptr) return -1;
    out->clear();
    char buf[4096];
    for (size_t n; (n = fread(buf, 1, sizeof(buf), p)) > 0;) out->append(buf, n);
    const int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  // A wsrep status variable of node `i` ("" when it does not answer).
  std::string Wsrep(int i, const std::string& name) {
    auto conn = Node(i);
    if (!conn) return "";
    auto rows = conn->Query(absl::StrCat("SHOW GLOBAL STATUS LIKE '", name, "'"));
    return rows.ok() && !rows->empty() ? rows->front().Str(1) : "";
  }
  int64_t WsrepInt(int i, const std::string& name) {
    int64_t v = -1;
    return absl::SimpleAtoi(Wsrep(i, name), &v) ? v : -1;
  }

  // True once each node in `nodes` is Synced in a primary component of `size` nodes (checked
  // every 200 ms until `timeout`).
  bool WaitForClusterSize(const std::vector<int>& nodes, int size, seconds timeout) {
    const auto deadline = SteadyClock::now() + timeout;
    for (;;) {
      bool ok = true;
      for (int i : nodes) {
        ok = ok && Wsrep(i, "wsrep_local_state_comment") == "Synced" &&
             WsrepInt(i, "wsrep_cluster_size") == size &&
             Wsrep(i, "wsrep_cluster_status") == "Primary";
      }
      if (ok) return true;
      if (SteadyClock::now() >= deadline) return false;
      std::this_thread::sleep_for(milliseconds(200));
    }
  }

  // "name{labels}" -> value from replica `i`'s /metrics (empty when it does not answer).
  std::map<std::string, double> Scrape(int i) {
    std::map<std::string, double> samples;
    const std::string cmd = absl::StrCat(
        "curl -sS --max-time 10 http://127.0.0.1:", metrics_port(i), "/metrics 2>/dev/null");
    FILE* p = popen(cmd.c_str(), "r");
    if (p == nullptr) return samples;
    std::string text;
    char buf[4096];
    for (size_t n; (n = fread(buf, 1, sizeof(buf), p)) > 0;) text.append(buf, n);
    pclose(p);
    for (absl::string_view line : absl::StrSplit(text, '\n')) {
      if (line.empty() || line[0] == '#') continue;
      const size_t space = line.rfind(' ');
      double v = 0;
      if (space != absl::string_view::npos && absl::SimpleAtod(line.substr(space + 1), &v)) {
        samples[std::string(line.substr(0, space))] = v;
      }
    }
    return samples;
  }
  // The sum of every sample of `family` on replica `i`.
  double Sum(int i, const std::string& family) {
    double total = 0;
    for (const auto& [name, v] : Scrape(i)) {
      if (name == family || absl::StartsWith(name, family + "{")) total += v;
    }
    return total;
  }

 private:
  std::string dir_;
  std::map<std::string, std::string> env_;
  std::string last_log_;
  int runs_ = 0;
};

// One acknowledged report, as its handset knows it.
struct Ack {
  std::string token;
  v1::SubmitReportRequest request;
  std::string case_id;
  int64_t seq = 0;  // of its REPORTED event
  SteadyClock::time_point at;
  int writer = 0;
};

// Handsets submitting reports through HAProxy, each on a connection of its own, each report
// retried with its request id until acknowledged. Every fifth acknowledged report is sent once
// more (its answer "was lost"), which must answer the same case.
class Load {
 public:
  Load(int port, std::string prefix, int writers) : port_(port), prefix_(std::move(prefix)) {
    for (int w = 0; w < writers; ++w) threads_.emplace_back([this, w] { Write(w); });
  }
  ~Load() { Stop(); }

  // Stops starting new reports; the reports under way are retried until acknowledged (or 90 s).
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      cv_.notify_all();
    }
    for (auto& t : threads_) t.join();
    threads_.clear();
  }
  // True once `n` reports are acknowledged in all (false after `timeout`).
  bool WaitForAcks(size_t n, seconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return acks_.size() >= n; });
  }
  size_t acks_count() {
    std::lock_guard<std::mutex> lock(mu_);
    return acks_.size();
  }
  std::vector<Ack> acks() {
    std::lock_guard<std::mutex> lock(mu_);
    return acks_;
  }
  std::set<std::string> acked_request_ids() {
    std::lock_guard<std::mutex> lock(mu_);
    std::set<std::string> ids;
    for (const auto& a : acks_) ids.insert(a.request.request_id());
    return ids;
  }
  std::vector<std::string> problems() {
    std::lock_guard<std::mutex> lock(mu_);
    return problems_;
  }
  std::string FailureSummary() {
    std::lock_guard<std::mutex> lock(mu_);
    std::string out;
    for (const auto& [code, n] : failures_) {
      absl::StrAppend(&out, out.empty() ? "" : ", ", n, " x ", CodeName(code), " (e.g. \"",
                      examples_[code].substr(0, 80), "\")");
    }
    return out.empty() ? "none" : out;
  }
  int failed_attempts() {
    std::lock_guard<std::mutex> lock(mu_);
    int n = 0;
    for (const auto& [code, count] : failures_) n += count;
    return n;
  }
  // The longest time without an acknowledgement between `from` and `to` (the edges count).
  double LongestGap(SteadyClock::time_point from, SteadyClock::time_point to) {
    std::vector<SteadyClock::time_point> times{from, to};
    for (const auto& a : acks()) {
      if (a.at > from && a.at < to) times.push_back(a.at);
    }
    std::sort(times.begin(), times.end());
    double gap = 0;
    for (size_t i = 1; i < times.size(); ++i) {
      gap = std::max(gap, SecondsBetween(times[i - 1], times[i]));
    }
    return gap;
  }
  // Acknowledged reports per second between the `n`-th and the `m`-th acknowledgement.
  double Rate(size_t n, size_t m) {
    auto all = acks();
    std::vector<SteadyClock::time_point> times;
    for (const auto& a : all) times.push_back(a.at);
    std::sort(times.begin(), times.end());
    if (m >= times.size() || m <= n) return 0;
    return (m - n) / SecondsBetween(times[n], times[m]);
  }
  std::vector<double> latencies_ms() {
    std::lock_guard<std::mutex> lock(mu_);
    return latencies_ms_;
  }

 private:
  void Write(int w) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    auto stub = v1::ReportService::NewStub(grpc::CreateCustomChannel(
        absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials(), args));
    const std::string token = kLeaders[w % 3];
    for (int i = 0;; ++i) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stop_) return;
      }
      Ack ack;
      ack.token = token;
      ack.writer = w;
      ack.request = Report(absl::StrCat(prefix_, "-", w, "-", i), token);
      v1::SubmitReportResponse resp;
      if (!Submit(stub.get(), ack.request, token, &resp)) return;
      ack.case_id = resp.case_().case_id();
      ack.seq = SeqOf(resp.event_cursor());
      ack.at = SteadyClock::now();
      if (i % 5 == 4) {
        v1::SubmitReportResponse again;
        if (!Submit(stub.get(), ack.request, token, &again)) return;
        if (again.case_().case_id() != ack.case_id) {
          Problem(absl::StrCat(ack.request.request_id(), ": a repeat answered case ",
                               again.case_().case_id(), ", not ", ack.case_id));
        }
      }
      std::lock_guard<std::mutex> lock(mu_);
      acks_.push_back(std::move(ack));
      cv_.notify_all();
    }
  }

  // Attempts until acknowledged; false (a problem recorded) on a permanent error or after 90 s.
  bool Submit(v1::ReportService::Stub* stub, const v1::SubmitReportRequest& req,
              const std::string& token, v1::SubmitReportResponse* resp) {
    const auto deadline = SteadyClock::now() + seconds(90);
    for (int attempt = 0;; ++attempt) {
      grpc::ClientContext ctx;
      ctx.AddMetadata("authorization", "Bearer " + token);
      ctx.set_deadline(std::chrono::system_clock::now() + seconds(10));
      const auto start = SteadyClock::now();
      grpc::Status s = stub->SubmitReport(&ctx, req, resp);
      if (s.ok()) {
        std::lock_guard<std::mutex> lock(mu_);
        latencies_ms_.push_back(
            std::chrono::duration<double, std::milli>(SteadyClock::now() - start).count());
        return true;
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++failures_[s.error_code()];
        if (examples_[s.error_code()].empty()) examples_[s.error_code()] = s.error_message();
      }
      if (!Transient(s.error_code()) || SteadyClock::now() >= deadline) {
        Problem(
            absl::StrCat(req.request_id(), ": ", CodeName(s.error_code()), " ", s.error_message()));
        return false;
      }
      // A handset's pause before the next attempt (not a synchronisation).
      std::this_thread::sleep_for(milliseconds(std::min(200, 20 * (attempt + 1))));
    }
  }

  void Problem(std::string what) {
    std::lock_guard<std::mutex> lock(mu_);
    problems_.push_back(std::move(what));
  }

  static v1::SubmitReportRequest Report(const std::string& request_id, const std::string& token) {
    v1::SubmitReportRequest r;
    r.set_request_id(request_id);
    r.set_category_code("C01_ROAD_DAMAGE");
    r.set_description(absl::StrCat("井盖缺失 ", request_id));
    r.mutable_location()->set_grid_code(CellOf(token));
    r.mutable_location()->set_address("新郑市郑韩路18号");
    r.set_urgency(v1::URGENT);
    return r;
  }

  const int port_;
  const std::string prefix_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::vector<Ack> acks_;
  std::map<grpc::StatusCode, int> failures_;
  std::map<grpc::StatusCode, std::string> examples_;
  std::vector<std::string> problems_;
  std::vector<double> latencies_ms_;
};

// A watch through HAProxy with the SDK (reconnects and resumes from its cursor by itself),
// collecting its events on a thread.
class Watcher {
 public:
  enum Kind { kCases, kQueue };
  Watcher(std::string name, Kind kind, std::string token, int port, const std::string& after)
      : name_(std::move(name)), kind_(kind), token_(std::move(token)) {
    gc::Options options = gc::Options{}
                              .set<gc::EndpointOption>(absl::StrCat("127.0.0.1:", port))
                              .set<gc::AuthTokenOption>(token_)
                              .set<gc::InsecureChannelOption>(true)
                              .set<gc::TimeoutOption>(milliseconds(10000));
    gc::WatchOptions wo;
    wo.after_cursor = after;
    // Heartbeats come every second: a stream silent for 5 s is broken (its replica is stuck).
    wo.idle_timeout = milliseconds(5000);
    if (kind == kCases) {
      watch_ = gc::ReportClient(gc::MakeReportConnection(options)).WatchCases(wo);
    } else {
      watch_ = gc::DispatchClient(gc::MakeDispatchConnection(options)).WatchQueue(wo);
    }
    thread_ = std::thread([this] {
      gc::Status end = watch_->Run([this](const gc::WatchUpdate& u) {
        std::lock_guard<std::mutex> lock(mu_);
        if (u.kind == gc::WatchUpdate::Kind::kEvent) {
          events_.push_back(u.event);
        } else {
          ++resyncs_;
        }
        cv_.notify_all();
        return true;
      });
      std::lock_guard<std::mutex> lock(mu_);
      ended_ = true;
      end_ = std::string(end.message());
      cv_.notify_all();
    });
  }
  ~Watcher() { Stop(); }
  void Stop() {
    watch_->Cancel();
    if (thread_.joinable()) thread_.join();
  }
  // True once a REPORTED event of each case in `ids` has arrived (false after `timeout`).
  bool WaitForCases(const std::set<std::string>& ids, seconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] {
      std::set<std::string> seen;
      for (const auto& e : events_) {
        if (e.type() == v1::REPORTED) seen.insert(e.case_id());
      }
      return std::includes(seen.begin(), seen.end(), ids.begin(), ids.end()) || ended_;
    });
  }
  std::vector<v1::CaseEvent> events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  int resyncs() {
    std::lock_guard<std::mutex> lock(mu_);
    return resyncs_;
  }
  int reconnects() { return watch_->reconnects(); }
  const std::string& name() const { return name_; }
  Kind kind() const { return kind_; }
  const std::string& token() const { return token_; }

  // Which reports this watcher must see: its own (a leader) or its street's (a dispatcher).
  bool Sees(const Ack& ack) const {
    if (kind_ == kCases) return ack.token == token_;
    const bool street2 = ack.token == kLeader3;
    return token_ == kDispatcher2 ? street2 : !street2;
  }

 private:
  const std::string name_;
  const Kind kind_;
  const std::string token_;
  std::unique_ptr<gc::Watch> watch_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<v1::CaseEvent> events_;
  int resyncs_ = 0;
  bool ended_ = false;
  std::string end_;
};

class ClusterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::vector<std::string> missing;
    if (access("/usr/lib/galera/libgalera_smm.so", R_OK) != 0) missing.push_back("galera-4");
    for (const char* program : {"mariadbd", "haproxy", "rsync", "curl"}) {
      if (FindProgram(program).empty()) missing.push_back(program);
    }
    if (!missing.empty()) {
      unusable_ = absl::StrCat("not installed: ", absl::StrJoin(missing, ", "),
                               " (bash deploy/install-deps.sh --test)");
      return;
    }
    dir_ = new TempDir();
    cluster_ = new Cluster(dir_->path() + "/cluster");
    std::vector<std::string> args = {cluster_->dir(), "--server", ServerBinary(), "--owner-pid",
                                     std::to_string(getpid())};
    if (const char* m = std::getenv("GRIDLINE_CLUSTER_MULTI_PRIMARY"); m && std::string(m) == "1") {
      args.push_back("--multi-primary");
    }
    if (const char* f = std::getenv("GRIDLINE_CLUSTER_FLUSH"); f && *f) {
      args.insert(args.end(), {"--flush-log-at-trx-commit", f});
    }
    const auto start = SteadyClock::now();
    const int code = cluster_->Script("start.sh", args, seconds(300));
    if (code != 0 || !cluster_->Load()) {
      start_error_ =
          absl::StrCat("deploy/cluster/start.sh exited ", code, ":\n", cluster_->last_log());
      return;
    }
    std::cout << absl::StrFormat(
        "[ cluster  ] started in %.1f s: HAProxy on 127.0.0.1:%d, store hosts: %s, "
        "innodb_flush_log_at_trx_commit=%s\n",
        SecondsBetween(start, SteadyClock::now()), cluster_->haproxy_port(),
        cluster_->Str("STORE_HOSTS"), cluster_->Str("FLUSH_LOG_AT_TRX_COMMIT"));
  }

  static void TearDownTestSuite() {
    if (cluster_ != nullptr) {
      const auto start = SteadyClock::now();
      const int code = cluster_->Script("stop.sh", {cluster_->dir()}, seconds(180));
      std::cout << absl::StrFormat("[ cluster  ] stopped in %.1f s (exit %d)\n",
                                   SecondsBetween(start, SteadyClock::now()), code);
      if (code != 0) std::cout << cluster_->last_log();
    }
    if (const char* keep = std::getenv("GRIDLINE_CLUSTER_KEEP"); keep && std::string(keep) == "1") {
      if (dir_ != nullptr) std::cout << "[ cluster  ] kept " << dir_->path() << "\n";
    } else {
      delete dir_;
    }
    delete cluster_;
    cluster_ = nullptr;
    dir_ = nullptr;
  }

  void SetUp() override {
    if (!unusable_.empty()) {
      if (MysqlRequired()) FAIL() << "GRIDLINE_REQUIRE_MYSQL=1 but " << unusable_;
      GTEST_SKIP() << "no Galera cluster: " << unusable_;
    }
    ASSERT_TRUE(start_error_.empty()) << start_error_;
    ASSERT_NO_FATAL_FAILURE(EnsureWhole());
  }

  // Every node and replica running, the cluster at three Synced nodes: starts again whatever an
  // earlier test left stopped (it failed half-way).
  void EnsureWhole() {
    ASSERT_TRUE(cluster_->Load());
    for (int i = 1; i <= 3; ++i) {
      if (Alive(cluster_->node_pid(i))) {
        kill(cluster_->node_pid(i), SIGCONT);
      } else {
        ASSERT_EQ(cluster_->Script("start.sh", {cluster_->dir(), "--node", std::to_string(i)},
                                   seconds(240)),
                  0)
            << cluster_->last_log();
      }
    }
    for (int i = 1; i <= 3; ++i) {
      if (!Alive(cluster_->replica_pid(i))) {
        ASSERT_EQ(cluster_->Script("start.sh", {cluster_->dir(), "--replica", std::to_string(i)},
                                   seconds(120)),
                  0)
            << cluster_->last_log();
      }
    }
    ASSERT_TRUE(cluster_->Load());
    ASSERT_TRUE(cluster_->WaitForClusterSize({1, 2, 3}, 3, seconds(120)))
        << "the cluster is not whole";
  }

  int port() const { return cluster_->haproxy_port(); }

  std::shared_ptr<grpc::Channel> Channel() const {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port()),
                                     grpc::InsecureChannelCredentials(), args);
  }

  // One report through HAProxy before the load: the watchers start after its cursor.
  std::string Baseline(const std::string& name) {
    auto stub = v1::ReportService::NewStub(Channel());
    v1::SubmitReportRequest r;
    r.set_request_id(absl::StrCat("baseline-", name));
    r.set_category_code("C01_ROAD_DAMAGE");
    r.set_description("基线");
    r.mutable_location()->set_grid_code(kCell1);
    r.set_urgency(v1::URGENT);
    for (int attempt = 0; attempt < 100; ++attempt) {
      grpc::ClientContext ctx;
      ctx.AddMetadata("authorization", std::string("Bearer ") + kLeader1);
      ctx.set_deadline(std::chrono::system_clock::now() + seconds(10));
      v1::SubmitReportResponse resp;
      grpc::Status s = stub->SubmitReport(&ctx, r, &resp);
      if (s.ok()) return resp.event_cursor();
      std::this_thread::sleep_for(milliseconds(200));  // the cluster settles after EnsureWhole
    }
    ADD_FAILURE() << "no baseline report went through";
    return "";
  }

  // Six watches through HAProxy (dispatchers' queues, leaders' cases), opened one after the
  // other: HAProxy's round robin puts two on each replica. Waits until each is open.
  std::vector<std::unique_ptr<Watcher>> OpenWatchers(const std::string& after) {
    struct Spec {
      const char* name;
      Watcher::Kind kind;
      const char* token;
    };
    const Spec specs[] = {{"queue/dispatcher-1", Watcher::kQueue, kDispatcher1},
                          {"queue/dispatcher-2", Watcher::kQueue, kDispatcher2},
                          {"cases/leader-1", Watcher::kCases, kLeader1},
                          {"cases/leader-2", Watcher::kCases, kLeader2},
                          {"cases/leader-3", Watcher::kCases, kLeader3},
                          {"queue/dispatcher-1b", Watcher::kQueue, kDispatcher1}};
    const double before = OpenStreams();
    std::vector<std::unique_ptr<Watcher>> out;
    for (const auto& s : specs) {
      out.push_back(std::make_unique<Watcher>(s.name, s.kind, s.token, port(), after));
      WaitFor([&] { return OpenStreams() >= before + out.size(); }, seconds(20));
    }
    std::string where;
    for (int i = 1; i <= 3; ++i) {
      absl::StrAppend(&where, i == 1 ? "" : ", ", "replica ", i, ": ",
                      cluster_->Sum(i, "gridline_open_streams"));
    }
    std::cout << "[ watchers ] " << out.size() << " open through HAProxy (" << where << ")\n";
    return out;
  }
  double OpenStreams() {
    double n = 0;
    for (int i = 1; i <= 3; ++i) n += cluster_->Sum(i, "gridline_open_streams");
    return n;
  }

  // Checks `condition` every 100 ms until it holds or `timeout` passes.
  static bool WaitFor(const std::function<bool()>& condition, seconds timeout) {
    const auto deadline = SteadyClock::now() + timeout;
    while (!condition()) {
      if (SteadyClock::now() >= deadline) return false;
      std::this_thread::sleep_for(milliseconds(100));
    }
    return true;
  }

  // Every acknowledged report is stored exactly once, as acknowledged: on node `node`, one case
  // per request id of this load (`prefix`), the acknowledged case, one REPORTED event each; and
  // through HAProxy a repeat of each request answers its case.
  void ExpectStoredExactlyOnce(const std::vector<Ack>& acks, const std::string& prefix, int node) {
    std::map<std::string, std::string> acked;  // request id -> case id
    for (const auto& a : acks) acked[a.request.request_id()] = a.case_id;
    EXPECT_EQ(acked.size(), acks.size()) << "a request id acknowledged twice";
    auto conn = cluster_->Node(node);
    ASSERT_TRUE(conn) << "node " << node << " does not answer";
    const std::string like = absl::StrCat("'", prefix, "-%'");
    auto rows = conn->Query(
        absl::StrCat("SELECT request_id, case_id FROM cases WHERE request_id LIKE ", like));
    ASSERT_TRUE(rows.ok()) << rows.status();
    std::map<std::string, std::string> stored;
    int lost = 0, duplicated = 0, other = 0;
    for (const auto& r : *rows) {
      if (!stored.emplace(r.Str(0), r.Str(1)).second) ++duplicated;
    }
    for (const auto& [request_id, case_id] : acked) {
      auto it = stored.find(request_id);
      if (it == stored.end()) {
        ++lost;
      } else if (it->second != case_id) {
        ++other;
      }
    }
    const int unacked = static_cast<int>(stored.size()) - static_cast<int>(acked.size()) + lost;
    auto events = conn->Query(
        absl::StrCat("SELECT c.case_id, COUNT(e.case_id) FROM cases c LEFT JOIN case_events e "
                     "ON e.case_id = c.case_id AND e.type = 1 WHERE c.request_id LIKE ",
                     like, " GROUP BY c.case_id HAVING COUNT(e.case_id) <> 1"));
    ASSERT_TRUE(events.ok()) << events.status();
    std::cout << absl::StrFormat(
        "[ reports  ] %zu acknowledged; on node %d: %d lost, %d duplicated, %d with another "
        "case, %d stored but never acknowledged, %zu with other than one REPORTED event\n",
        acked.size(), node, lost, duplicated, other, unacked, events->size());
    EXPECT_EQ(lost, 0) << "acknowledged reports are missing";
    EXPECT_EQ(duplicated, 0) << "a request id has two cases";
    EXPECT_EQ(other, 0) << "a report is stored under another case than acknowledged";
    EXPECT_EQ(unacked, 0) << "every report was retried until acknowledged";
    EXPECT_TRUE(events->empty()) << events->front().Str(0) << " has " << events->front().Int(1)
                                 << " REPORTED events";

    auto stub = v1::ReportService::NewStub(Channel());
    int answered_otherwise = 0;
    for (const auto& a : acks) {
      grpc::ClientContext ctx;
      ctx.AddMetadata("authorization", "Bearer " + a.token);
      ctx.set_deadline(std::chrono::system_clock::now() + seconds(20));
      v1::SubmitReportResponse again;
      grpc::Status s = stub->SubmitReport(&ctx, a.request, &again);
      if (!s.ok() || again.case_().case_id() != a.case_id) ++answered_otherwise;
    }
    EXPECT_EQ(answered_otherwise, 0) << "repeats of acknowledged requests answered another case";
  }

  // Each watcher got what a fresh stream from `after` gets through the newest acknowledged event:
  // the same events in the same order (so none lost, none twice), including the REPORTED event
  // of every acknowledged report it may see.
  void ExpectWatchersComplete(std::vector<std::unique_ptr<Watcher>>& watchers,
                              const std::vector<Ack>& acks, const std::string& after) {
    int64_t head = 0;
    for (const auto& a : acks) head = std::max(head, a.seq);
    auto channel = Channel();
    auto report = v1::ReportService::NewStub(channel);
    auto dispatch = v1::DispatchService::NewStub(channel);
    int reconnects = 0;
    std::string summary;
    for (auto& w : watchers) {
      SCOPED_TRACE(w->name());
      std::set<std::string> expected;
      for (const auto& a : acks) {
        if (w->Sees(a)) expected.insert(a.case_id);
      }
      EXPECT_TRUE(w->WaitForCases(expected, seconds(60))) << "the watch lacks reports after 60 s";
      StreamReader fresh(
          w->token(),
          [&](grpc::ClientContext* ctx) -> std::unique_ptr<grpc::ClientReader<v1::WatchEvent>> {
            if (w->kind() == Watcher::kCases) {
              v1::WatchCasesRequest req;
              req.set_after_cursor(after);
              return report->WatchCases(ctx, req);
            }
            v1::WatchQueueRequest req;
            req.set_after_cursor(after);
            return dispatch->WatchQueue(ctx, req);
          });
      std::vector<std::string> want;
      for (const auto& e : fresh.EventsThrough(head, 60000)) {
        if (SeqOf(e.cursor()) <= head) want.push_back(e.cursor());
      }
      std::vector<std::string> got;
      std::set<std::string> reported;
      int64_t previous = SeqOf(after);
      int out_of_order = 0;
      for (const auto& e : w->events()) {
        const int64_t seq = SeqOf(e.cursor());
        if (seq <= previous) ++out_of_order;
        previous = std::max(previous, seq);
        if (seq <= head) got.push_back(e.cursor());
        if (e.type() == v1::REPORTED) reported.insert(e.case_id());
      }
      EXPECT_EQ(out_of_order, 0) << "events repeated or out of order";
      EXPECT_EQ(got, want) << "the watch differs from a fresh stream from its first cursor";
      EXPECT_TRUE(std::includes(reported.begin(), reported.end(), expected.begin(), expected.end()))
          << "reports missing from the watch";
      EXPECT_EQ(w->resyncs(), 0) << "the cursor expired";
      reconnects += w->reconnects();
      absl::StrAppend(&summary, summary.empty() ? "" : ", ", w->name(), " ", got.size(), " (",
                      w->reconnects(), " reconnects)");
    }
    std::cout << "[ watchers ] events through #" << head << ": " << summary << "\n";
    last_reconnects_ = reconnects;
  }

  void PrintStoreCounters(const std::string& when) {
    std::string out;
    for (int i = 1; i <= 3; ++i) {
      absl::StrAppend(&out, i == 1 ? "" : "; ", "replica ", i, ": ",
                      cluster_->Sum(i, "gridline_store_transaction_conflicts_total"),
                      " conflicts, ", cluster_->Sum(i, "gridline_store_transaction_retries_total"),
                      " retries");
    }
    std::cout << "[ store    ] " << when << " (since each replica started): " << out << "\n";
  }

  // wsrep_local_commits of each node (transactions it took from its own clients), -1 if down.
  std::vector<int64_t> LocalCommits() {
    std::vector<int64_t> out;
    for (int i = 1; i <= 3; ++i) out.push_back(cluster_->WsrepInt(i, "wsrep_local_commits"));
    return out;
  }
  static std::string Deltas(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
    std::string out;
    for (size_t i = 0; i < a.size(); ++i) {
      absl::StrAppend(&out, i == 0 ? "" : ", ", "node ", i + 1, ": ",
                      a[i] < 0 || b[i] < 0 ? std::string("down") : std::to_string(b[i] - a[i]));
    }
    return out;
  }

  static std::string unusable_;
  static std::string start_error_;
  static TempDir* dir_;
  static Cluster* cluster_;
  int last_reconnects_ = 0;
};

std::string ClusterTest::unusable_;
std::string ClusterTest::start_error_;
TempDir* ClusterTest::dir_ = nullptr;
Cluster* ClusterTest::cluster_ = nullptr;

constexpr int kWriters = 6;

// Writers on all three replicas (HAProxy spreads each connection's calls round robin) for a few
// seconds (GRIDLINE_CLUSTER_SOAK_SECONDS, deploy/cluster/soak.sh): the rate, the latency, and how
// often the store had to retry a transaction. Nothing is asserted but exactly-once.
TEST_F(ClusterTest, ThroughputWithWritersOnEveryReplica) {
  int soak_seconds = 5;
  if (const char* s = std::getenv("GRIDLINE_CLUSTER_SOAK_SECONDS")) {
    ASSERT_TRUE(absl::SimpleAtoi(s, &soak_seconds)) << s;
  }
  int writers = kWriters;
  if (const char* s = std::getenv("GRIDLINE_CLUSTER_SOAK_WRITERS")) {
    ASSERT_TRUE(absl::SimpleAtoi(s, &writers)) << s;
  }
  Baseline("throughput");
  double conflicts_before = 0, retries_before = 0;
  for (int i = 1; i <= 3; ++i) {
    conflicts_before += cluster_->Sum(i, "gridline_store_transaction_conflicts_total");
    retries_before += cluster_->Sum(i, "gridline_store_transaction_retries_total");
  }
  const int64_t cert_before = cluster_->WsrepInt(1, "wsrep_local_cert_failures") +
                              cluster_->WsrepInt(2, "wsrep_local_cert_failures") +
                              cluster_->WsrepInt(3, "wsrep_local_cert_failures");
  const auto commits_before = LocalCommits();
  Load load(port(), "t", writers);
  ASSERT_TRUE(load.WaitForAcks(20, seconds(60))) << load.FailureSummary();
  const size_t from = load.acks_count();
  const auto start = SteadyClock::now();
  // The measured interval is the load itself; the sleep times it, it synchronises nothing.
  std::this_thread::sleep_for(seconds(soak_seconds));
  const size_t to = load.acks_count();
  const double elapsed = SecondsBetween(start, SteadyClock::now());
  load.Stop();
  double conflicts = -conflicts_before, retries = -retries_before;
  for (int i = 1; i <= 3; ++i) {
    conflicts += cluster_->Sum(i, "gridline_store_transaction_conflicts_total");
    retries += cluster_->Sum(i, "gridline_store_transaction_retries_total");
  }
  const int64_t cert = cluster_->WsrepInt(1, "wsrep_local_cert_failures") +
                       cluster_->WsrepInt(2, "wsrep_local_cert_failures") +
                       cluster_->WsrepInt(3, "wsrep_local_cert_failures") - cert_before;
  std::vector<double> ms = load.latencies_ms();
  std::sort(ms.begin(), ms.end());
  auto pct = [&](double p) {
    return ms.empty() ? 0.0 : ms[std::min(ms.size() - 1, static_cast<size_t>(p * ms.size()))];
  };
  const size_t total = load.acks_count();
  std::cout << absl::StrFormat(
      "[ measure  ] %d writers through HAProxy, %.1f s: %.0f reports/s (%zu reports); "
      "SubmitReport p50 %.1f ms, p99 %.1f ms; store conflicts %.0f, retries %.0f (%.2f%% of "
      "reports); Galera certification failures %d; commits taken by %s; failed attempts: %s\n",
      writers, elapsed, (to - from) / elapsed, total, pct(0.5), pct(0.99), conflicts, retries,
      total ? 100.0 * retries / total : 0.0, static_cast<int>(cert),
      Deltas(commits_before, LocalCommits()), load.FailureSummary());
  EXPECT_TRUE(load.problems().empty()) << absl::StrJoin(load.problems(), "\n");
  ExpectStoredExactlyOnce(load.acks(), "t", 1);
}

// a. A replica is SIGKILLed while writers and watchers work through HAProxy, then started again.
TEST_F(ClusterTest, SigkillOfAReplicaUnderLoadLosesAndRepeatsNothing) {
  const std::string after = Baseline("replica-kill");
  auto watchers = OpenWatchers(after);
  const auto commits_before = LocalCommits();
  Load load(port(), "a", kWriters);
  ASSERT_TRUE(load.WaitForAcks(60, seconds(60))) << load.FailureSummary();

  const int victim = 2;
  const auto killed_at = SteadyClock::now();
  ASSERT_EQ(kill(cluster_->replica_pid(victim), SIGKILL), 0);
  const size_t at_kill = load.acks_count();
  EXPECT_TRUE(load.WaitForAcks(at_kill + 60, seconds(60)))
      << "writes stopped with a replica down: " << load.FailureSummary();
  ASSERT_EQ(cluster_->Script("start.sh", {cluster_->dir(), "--replica", std::to_string(victim)},
                             seconds(120)),
            0)
      << cluster_->last_log();
  const auto restarted_at = SteadyClock::now();
  EXPECT_TRUE(load.WaitForAcks(load.acks_count() + 60, seconds(60))) << load.FailureSummary();
  load.Stop();

  std::cout << absl::StrFormat(
      "[ replica  ] SIGKILL of replica %d: longest time without an acknowledged write %.2f s "
      "(until its restart %.1f s later); failed attempts, retried: %s; commits taken by %s\n",
      victim, load.LongestGap(killed_at - seconds(1), restarted_at),
      SecondsBetween(killed_at, restarted_at), load.FailureSummary(),
      Deltas(commits_before, LocalCommits()));
  EXPECT_TRUE(load.problems().empty()) << absl::StrJoin(load.problems(), "\n");
  const std::vector<Ack> acks = load.acks();
  ExpectStoredExactlyOnce(acks, "a", 1);
  ExpectWatchersComplete(watchers, acks, after);
  EXPECT_GE(last_reconnects_, 1) << "no watch was on the killed replica";
  PrintStoreCounters("after a replica's SIGKILL");
}

// b. The node that takes the writes (node 1: the store's first host) is SIGKILLed under load;
// the store fails over to node 2. Then node 1 is started again and rejoins with every report.
TEST_F(ClusterTest, SigkillOfTheWriterNodeFailsOverWithoutLosingAReport) {
  if (cluster_->Str("STORE_HOSTS") != "all") {
    GTEST_SKIP() << "this gridline-server has no MysqlStore.hosts, so no store failover";
  }
  const std::string after = Baseline("node-kill");
  auto watchers = OpenWatchers(after);
  const auto commits_before = LocalCommits();
  Load load(port(), "b", kWriters);
  ASSERT_TRUE(load.WaitForAcks(60, seconds(60))) << load.FailureSummary();
  const auto commits_mid = LocalCommits();
  std::cout << "[ node     ] before the kill, commits taken by "
            << Deltas(commits_before, commits_mid) << "\n";

  const auto killed_at = SteadyClock::now();
  ASSERT_EQ(kill(cluster_->node_pid(1), SIGKILL), 0);
  const size_t at_kill = load.acks_count();
  EXPECT_TRUE(load.WaitForAcks(at_kill + 100, seconds(90)))
      << "writes did not resume on the other nodes: " << load.FailureSummary();
  const auto resumed_at = SteadyClock::now();
  load.Stop();
  const auto commits_after = LocalCommits();
  const double failover = load.LongestGap(killed_at - seconds(1), resumed_at);
  std::cout << absl::StrFormat(
      "[ node     ] SIGKILL of node 1 (the writer): failover (longest time without an "
      "acknowledged write) %.2f s; nodes 2 and 3 took %s; failed attempts, retried: %s\n",
      failover, Deltas(commits_mid, commits_after), load.FailureSummary());
  std::string moves;
  for (int i = 1; i <= 3; ++i) {
    absl::StrAppend(&moves, i == 1 ? "" : ", ", "replica ", i, ": ",
                    cluster_->Sum(i, "gridline_store_mysql_failovers_total"));
  }
  std::cout << "[ node     ] store failovers (gridline_store_mysql_failovers_total): " << moves
            << "\n";
  EXPECT_TRUE(load.problems().empty()) << absl::StrJoin(load.problems(), "\n");
  const std::vector<Ack> acks = load.acks();
  ExpectStoredExactlyOnce(acks, "b", 2);
  ExpectWatchersComplete(watchers, acks, after);
  PrintStoreCounters("after the writer node's SIGKILL");

  // Node 1 rejoins: IST from a donor's cache when it can, else a full SST.
  const auto restart = SteadyClock::now();
  ASSERT_EQ(cluster_->Script("start.sh", {cluster_->dir(), "--node", "1"}, seconds(240)), 0)
      << cluster_->last_log();
  ASSERT_TRUE(cluster_->Load());
  ASSERT_TRUE(cluster_->WaitForClusterSize({1, 2, 3}, 3, seconds(60)));
  const std::string log = ReadFile(cluster_->dir() + "/node1/mariadb.err");
  const bool sst = absl::StrContains(log, "SST succeeded") &&
                   log.rfind("SST succeeded") > log.rfind("Recovered position");
  std::cout << absl::StrFormat(
      "[ node     ] node 1 rejoined in %.1f s (%s)\n", SecondsBetween(restart, SteadyClock::now()),
      absl::StrContains(log, "IST received") ? "IST" : (sst ? "SST" : "state transfer"));
  ExpectStoredExactlyOnce(acks, "b", 1);
}

// c. A node that takes no writes (node 3) is SIGSTOPped under load: nodes 1 and 2 keep quorum
// and go on. After SIGCONT node 3 answers a direct query with a wsrep error or with every report
// acknowledged before the query, never with fewer; then it is back in the cluster.
TEST_F(ClusterTest, SigstopOfANonWriterNodeKeepsQuorumAndNeverServesStaleData) {
  const std::string after = Baseline("node-stop");
  auto watchers = OpenWatchers(after);
  Load load(port(), "c", kWriters);
  ASSERT_TRUE(load.WaitForAcks(40, seconds(60))) << load.FailureSummary();

  const int frozen = 3;
  const std::vector<int> others = {1, 2};
  const auto stopped_at = SteadyClock::now();
  ASSERT_EQ(kill(cluster_->node_pid(frozen), SIGSTOP), 0);
  EXPECT_TRUE(cluster_->WaitForClusterSize(others, 2, seconds(60)))
      << "nodes 1 and 2 did not drop node 3";
  const auto evicted_at = SteadyClock::now();
  EXPECT_TRUE(load.WaitForAcks(load.acks_count() + 60, seconds(60)))
      << "writes stopped without node 3: " << load.FailureSummary();
  const auto continued_at = SteadyClock::now();
  std::cout << absl::StrFormat(
      "[ node     ] SIGSTOP of node 3: dropped from the cluster after %.2f s; longest time "
      "without an acknowledged write %.2f s\n",
      SecondsBetween(stopped_at, evicted_at),
      load.LongestGap(stopped_at - seconds(1), continued_at));

  // Writers keep going while node 3 wakes up; each query must see every report acknowledged
  // before it began.
  ASSERT_EQ(kill(cluster_->node_pid(frozen), SIGCONT), 0);
  const auto woke_at = SteadyClock::now();
  int refused = 0, answered = 0, stale = 0;
  std::set<std::string> refusals;  // the distinct errors (their starts)
  bool rejoined = false;
  const auto deadline = SteadyClock::now() + seconds(90);
  while (SteadyClock::now() < deadline) {
    const std::set<std::string> before = load.acked_request_ids();
    std::string out;
    const int code =
        cluster_->Cli(frozen, "SELECT request_id FROM cases WHERE request_id LIKE 'c-%'", &out);
    if (code != 0) {
      ++refused;
      for (absl::string_view line : absl::StrSplit(out, '\n')) {
        if (absl::StartsWith(line, "ERROR")) {
          refusals.insert(std::string(line.substr(0, std::min<size_t>(line.size(), 60))));
        }
      }
    } else {
      ++answered;
      std::set<std::string> seen;
      for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
        seen.insert(std::string(line));
      }
      size_t missing = 0;
      for (const auto& id : before) missing += seen.count(id) == 0;
      if (missing > 0) {
        ++stale;
        ADD_FAILURE() << "node 3 answered without " << missing << " of " << before.size()
                      << " acknowledged reports";
      }
    }
    if (code == 0 && cluster_->Wsrep(frozen, "wsrep_local_state_comment") == "Synced" &&
        cluster_->WsrepInt(frozen, "wsrep_cluster_size") == 3) {
      rejoined = true;
      break;
    }
    std::this_thread::sleep_for(milliseconds(50));  // the pace of the queries
  }
  const auto rejoined_at = SteadyClock::now();
  load.Stop();
  EXPECT_TRUE(rejoined) << "node 3 did not rejoin within 90 s";
  std::cout << absl::StrFormat(
      "[ node     ] SIGCONT of node 3: back and Synced after %.2f s; %d direct queries refused "
      "(%s), %d answered, %d stale; failed attempts, retried: %s\n",
      SecondsBetween(woke_at, rejoined_at), refused, absl::StrJoin(refusals, " | "), answered,
      stale, load.FailureSummary());
  EXPECT_GE(answered, 1);
  EXPECT_TRUE(load.problems().empty()) << absl::StrJoin(load.problems(), "\n");
  const std::vector<Ack> acks = load.acks();
  ExpectStoredExactlyOnce(acks, "c", frozen);
  ExpectWatchersComplete(watchers, acks, after);
  PrintStoreCounters("at the end");
}

}  // namespace
}  // namespace gridline
