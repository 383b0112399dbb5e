// sdk_bench: what the client SDK costs a handset (see BENCHMARKS.md, "Client SDK", and
// bench/run_sdk_bench.sh, which prepares the server's files and runs this).
//
//   sdk_bench --port P --work_dir DIR [--label L] [--phases submit,enqueue,flush,watch]
//             [counts, see Usage] -- SERVER_COMMAND...
//
// SERVER_COMMAND is a gridline-server command line without --listen; sdk_bench appends
// `--listen 127.0.0.1:P` and starts, stops, kills (SIGKILL) and restarts that server itself, so
// that it knows to the millisecond when the server went away and when it listens again. The
// server's output goes to DIR/server.log; the server dies with sdk_bench (PR_SET_PDEATHSIG).
//
// Phases, in this order (each prints a Markdown table on stdout; progress goes to stderr):
//   submit   ReportClient::SubmitReport, sequential, one client: no photo, 1 x 200 KiB, 3 x 1 MiB
//            (the photo uploads, with the SDK's SHA-256, are part of each call).
//   enqueue  Outbox::Enqueue on the device side (the server is stopped): no photo, 3 x 1 MiB,
//            1 x 200 KiB; on DIR's disk and, with --tmpfs_dir, on a tmpfs for comparison. The
//            calls to fdatasync/fsync of this process are counted and timed (this program
//            interposes them; SQLite calls fdatasync), and the outbox file is measured.
//   flush    Outbox::Flush after an outage: the 200 reports with 1 x 200 KiB queued while the
//            server was down; Flush is started while it is still down, the server is started
//            --flush_outage_ms later, and the deliveries are timed from the moment it listens.
//   watch    ReportClient::WatchCases: the time from SubmitReport (the same client) to the
//            REPORTED event on the watch; then the server is SIGKILLed and restarted, and another
//            handset (a fresh connection) submits a report as soon as it listens: the time from
//            "listening" to that event on the watch is the reconnect time.
//
// Every measured call must succeed: the program stops (exit 1) at the first unexpected error.
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "bench/bench_util.h"
#include "gridline/client/options.h"
#include "gridline/client/outbox.h"
#include "gridline/client/photo.h"
#include "gridline/client/report_client.h"
#include "gridline/client/report_connection.h"
#include "gridline/client/retry_policy.h"
#include "gridline/client/version.h"
#include "gridline/client/watch.h"
#include "tests/test_images.h"

// ---- fdatasync / fsync, counted ---------------------------------------------------------------
// This executable is linked with exported symbols (ENABLE_EXPORTS), so these definitions take
// the place of libc's for every library of the process, SQLite's outbox among them.

namespace {
std::atomic<int64_t> g_sync_calls{0};
std::atomic<int64_t> g_sync_ns{0};

template <typename Fn>
int TimedSync(Fn real, int fd) {
  auto t0 = std::chrono::steady_clock::now();
  int rc = real(fd);
  g_sync_ns +=
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  g_sync_calls++;
  return rc;
}
}  // namespace

extern "C" int fdatasync(int fd) {
  using Fn = int (*)(int);
  static Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "fdatasync"));
  return TimedSync(real, fd);
}

extern "C" int fsync(int fd) {
  using Fn = int (*)(int);
  static Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "fsync"));
  return TimedSync(real, fd);
}

namespace {

namespace gc = ::gridline::client;
namespace v1 = ::gridline::v1;
using Clock = std::chrono::steady_clock;

constexpr size_t kKiB = 1024;
constexpr size_t kMiB = 1024 * 1024;

// ---- flags ----------------------------------------------------------------------------------

struct Flags {
  int port = 0;
  std::string work_dir;
  std::string label = "SQLite";
  std::vector<std::string> server_command;
  std::vector<std::string> phases = {"submit", "enqueue", "flush", "watch"};
  std::string token = "demo-leader-1-a5afbedb015471db";
  std::string grid = "410184001001001";
  std::string category = "C01_ROAD_DAMAGE";
  std::string tmpfs_dir;  // empty: no tmpfs comparison
  int warmup = 20;
  int submit_n = 500;          // no photo
  int submit_small_n = 200;    // 1 x 200 KiB
  int submit_large_n = 100;    // 3 x 1 MiB
  int enqueue_n = 500;         // no photo
  int enqueue_large_n = 50;    // 3 x 1 MiB
  int flush_n = 200;           // 1 x 200 KiB each
  int flush_outage_ms = 2000;  // Flush runs this long against a stopped server
  int watch_n = 200;
  int restarts = 6;
  int outage_ms = 1000;  // SIGKILL to restart
  int long_restarts = 2;
  int long_outage_ms = 10000;
  double server_start_timeout_s = 60;
};

[[noreturn]] void Usage(const std::string& error) {
  std::fprintf(stderr,
               "sdk_bench: %s\n"
               "usage: sdk_bench --port P --work_dir DIR [--label L]\n"
               "         [--phases submit,enqueue,flush,watch] [--tmpfs_dir DIR]\n"
               "         [--token T] [--grid CODE] [--category CODE] [--warmup N]\n"
               "         [--submit_n N] [--submit_small_n N] [--submit_large_n N]\n"
               "         [--enqueue_n N] [--enqueue_large_n N] [--flush_n N]\n"
               "         [--flush_outage_ms MS] [--watch_n N] [--restarts N] [--outage_ms MS]\n"
               "         [--long_restarts N] [--long_outage_ms MS]\n"
               "         -- SERVER_COMMAND...   (without --listen)\n",
               error.c_str());
  std::exit(2);
}

int ToInt(const std::string& name, const std::string& v) {
  return gridline::bench::ParseNumber<int>(name, v, Usage);
}

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      for (++i; i < argc; ++i) f.server_command.push_back(argv[i]);
      break;
    }
    gridline::bench::FlagArg flag(argc, argv, &i, [](const std::string& e) { Usage(e); });
    const std::string name = flag.name();
    auto take = [&flag]() { return flag.Value(); };
    std::map<std::string, int*> ints = {
        {"--port", &f.port},
        {"--warmup", &f.warmup},
        {"--submit_n", &f.submit_n},
        {"--submit_small_n", &f.submit_small_n},
        {"--submit_large_n", &f.submit_large_n},
        {"--enqueue_n", &f.enqueue_n},
        {"--enqueue_large_n", &f.enqueue_large_n},
        {"--flush_n", &f.flush_n},
        {"--flush_outage_ms", &f.flush_outage_ms},
        {"--watch_n", &f.watch_n},
        {"--restarts", &f.restarts},
        {"--outage_ms", &f.outage_ms},
        {"--long_restarts", &f.long_restarts},
        {"--long_outage_ms", &f.long_outage_ms},
    };
    if (auto it = ints.find(name); it != ints.end()) {
      *it->second = ToInt(name, take());
    } else if (name == "--work_dir") {
      f.work_dir = take();
    } else if (name == "--label") {
      f.label = take();
    } else if (name == "--phases") {
      f.phases = absl::StrSplit(take(), ',', absl::SkipEmpty());
    } else if (name == "--token") {
      f.token = take();
    } else if (name == "--grid") {
      f.grid = take();
    } else if (name == "--category") {
      f.category = take();
    } else if (name == "--tmpfs_dir") {
      f.tmpfs_dir = take();
    } else if (name == "-h" || name == "--help") {
      Usage("help");
    } else {
      Usage(absl::StrCat("unknown argument '", arg, "'"));
    }
  }
  if (f.port <= 0) Usage("--port is required");
  if (f.work_dir.empty()) Usage("--work_dir is required");
  if (f.server_command.empty()) Usage("the server command (after --) is required");
  for (const auto& p : f.phases) {
    if (p != "submit" && p != "enqueue" && p != "flush" && p != "watch") {
      Usage(absl::StrCat("unknown phase '", p, "'"));
    }
  }
  return f;
}

bool HasPhase(const Flags& f, const std::string& phase) {
  return std::find(f.phases.begin(), f.phases.end(), phase) != f.phases.end();
}

// ---- small helpers --------------------------------------------------------------------------

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "sdk_bench: %s\n", what.c_str());
  std::fflush(stdout);
  std::exit(1);
}

void Note(const std::string& what) {
  std::fprintf(stderr, "== %s\n", what.c_str());
  std::fflush(stderr);
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }
void SleepMs(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

std::string FormatMs(double ms) { return gridline::bench::ThreeDigits(ms); }
std::string FormatRate(double per_s) { return gridline::bench::ThreeDigits(per_s); }

std::string FormatBytes(double bytes) {
  char buf[32];
  if (bytes >= kMiB) {
    std::snprintf(buf, sizeof buf, "%.2f MiB", bytes / kMiB);
  } else if (bytes >= kKiB) {
    std::snprintf(buf, sizeof buf, "%.1f KiB", bytes / kKiB);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f B", bytes);
  }
  return buf;
}

struct Summary {
  size_t n = 0;
  double p50 = 0, p90 = 0, p99 = 0, max = 0, min = 0, mean = 0, sum = 0;
};

// Nearest-rank percentiles of values in ms (may be negative).
Summary Summarise(std::vector<double> v) {
  Summary s;
  s.n = v.size();
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  auto rank = [&](double q) {
    size_t i = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
    return v[std::min(v.size() - 1, i == 0 ? 0 : i - 1)];
  };
  s.p50 = rank(0.50);
  s.p90 = rank(0.90);
  s.p99 = rank(0.99);
  s.max = v.back();
  s.min = v.front();
  for (double x : v) s.sum += x;
  s.mean = s.sum / static_cast<double>(v.size());
  return s;
}

// "p50 / p90 / p99 / max" in ms.
std::string Quartet(const Summary& s) {
  return absl::StrCat(FormatMs(s.p50), " / ", FormatMs(s.p90), " / ", FormatMs(s.p99), " / ",
                      FormatMs(s.max));
}

int64_t FileSize(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
}

void RemoveOutboxFiles(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
}

struct SyncCounter {
  int64_t calls0 = g_sync_calls.load(), ns0 = g_sync_ns.load();
  int64_t calls() const { return g_sync_calls.load() - calls0; }
  double ms() const { return static_cast<double>(g_sync_ns.load() - ns0) / 1e6; }
};

// ---- photos and reports ---------------------------------------------------------------------

// Real PNGs (the server decodes every upload) padded with incompressible bytes to the size
// asked for (tests/test_images.h); each photo is unique, so no upload is a repeat of an earlier
// one. The picture itself is 1x1: the server's decoding costs less than for a camera photo.
class PhotoFactory {
 public:
  gc::Photo Make(size_t size) {
    std::string& base = bases_[size];
    if (base.empty()) {
      base.resize(size);
      std::mt19937_64 random(size);
      for (size_t i = 0; i + 8 <= size; i += 8) {
        uint64_t r = random();
        std::memcpy(&base[i], &r, 8);
      }
    }
    std::string tag = base;
    uint64_t stamp = ++counter_ ^ (static_cast<uint64_t>(getpid()) << 40) ^
                     static_cast<uint64_t>(Clock::now().time_since_epoch().count());
    std::memcpy(&tag[0], &stamp, std::min<size_t>(8, tag.size()));
    return gc::Photo{gridline::testing::TestPng(size, tag),
                     absl::StrCat("sdk-bench-", counter_, ".png")};
  }
  std::vector<gc::Photo> Make(int count, size_t size) {
    std::vector<gc::Photo> out;
    for (int i = 0; i < count; ++i) out.push_back(Make(size));
    return out;
  }

 private:
  std::map<size_t, std::string> bases_;
  uint64_t counter_ = 0;
};

v1::SubmitReportRequest MakeReport(const Flags& f, const std::string& what) {
  v1::SubmitReportRequest r;
  r.set_category_code(f.category);
  r.set_description(absl::StrCat("路面破损 sdk_bench: ", what));
  r.mutable_location()->set_grid_code(f.grid);
  r.mutable_location()->mutable_coordinates()->set_latitude(34.3962);
  r.mutable_location()->mutable_coordinates()->set_longitude(113.7394);
  r.set_urgency(v1::NORMAL);
  return r;
}

// ---- a connection that notes when calls end ---------------------------------------------------

// Forwards to the SDK's gRPC connection and keeps the time of every successful SubmitReport and
// of every WatchCases stream the Watch opens (its first attempt and every reconnect attempt).
class TimingConnection : public gc::ReportConnection {
 public:
  explicit TimingConnection(std::shared_ptr<gc::ReportConnection> inner)
      : inner_(std::move(inner)) {}

  gc::Options options() const override { return inner_->options(); }
  gc::StatusOr<v1::SubmitReportResponse> SubmitReport(
      const v1::SubmitReportRequest& request) override {
    auto r = inner_->SubmitReport(request);
    if (r.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      submitted_.push_back(Clock::now());
    }
    return r;
  }
  gc::StatusOr<v1::Attachment> UploadAttachment(const gc::PhotoUpload& photo) override {
    return inner_->UploadAttachment(photo);
  }
  gc::StatusOr<v1::ListReportCategoriesResponse> ListReportCategories(
      const v1::ListReportCategoriesRequest& request) override {
    return inner_->ListReportCategories(request);
  }
  std::unique_ptr<gc::EventStream> WatchCases(const v1::WatchCasesRequest& request) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      watch_opens_.push_back(Clock::now());
    }
    return inner_->WatchCases(request);
  }

  std::vector<Clock::time_point> submitted() const {
    std::lock_guard<std::mutex> lock(mu_);
    return submitted_;
  }
  std::vector<Clock::time_point> watch_opens() const {
    std::lock_guard<std::mutex> lock(mu_);
    return watch_opens_;
  }

 private:
  std::shared_ptr<gc::ReportConnection> inner_;
  mutable std::mutex mu_;
  std::vector<Clock::time_point> submitted_;
  std::vector<Clock::time_point> watch_opens_;
};

// ---- retry and backoff, recorded ---------------------------------------------------------------

// What the SDK's retry loops and the Watch did: every retryable failure a call saw, and every
// backoff wait chosen. The policies are the SDK's defaults (LimitedTimeRetryPolicy(60 s),
// ExponentialBackoffPolicy(200 ms, 10 s, 2.0)), wrapped.
struct PolicyLog {
  struct Failure {
    Clock::time_point time;
    std::string status;
  };
  struct Wait {
    Clock::time_point start;
    std::chrono::milliseconds length;
  };
  std::mutex mu;
  std::vector<Failure> failures;
  std::vector<Wait> waits;

  std::vector<Failure> Failures() {
    std::lock_guard<std::mutex> lock(mu);
    return failures;
  }
  std::vector<Wait> Waits() {
    std::lock_guard<std::mutex> lock(mu);
    return waits;
  }
  // The wait that was under way at `t`, if any.
  std::optional<Wait> WaitAt(Clock::time_point t) {
    std::lock_guard<std::mutex> lock(mu);
    for (const auto& w : waits) {
      if (w.start <= t && t < w.start + w.length) return w;
    }
    return std::nullopt;
  }
};

class RecordingRetryPolicy : public gc::RetryPolicy {
 public:
  RecordingRetryPolicy(std::shared_ptr<PolicyLog> log, std::unique_ptr<gc::RetryPolicy> inner)
      : log_(std::move(log)), inner_(std::move(inner)) {}
  std::unique_ptr<gc::RetryPolicy> clone() const override {
    return std::make_unique<RecordingRetryPolicy>(log_, inner_->clone());
  }
  bool OnFailure(const gc::Status& status) override {
    {
      std::lock_guard<std::mutex> lock(log_->mu);
      log_->failures.push_back({Clock::now(), status.ToString()});
    }
    return inner_->OnFailure(status);
  }
  bool IsExhausted() const override { return inner_->IsExhausted(); }

 private:
  std::shared_ptr<PolicyLog> log_;
  std::unique_ptr<gc::RetryPolicy> inner_;
};

class RecordingBackoffPolicy : public gc::BackoffPolicy {
 public:
  RecordingBackoffPolicy(std::shared_ptr<PolicyLog> log, std::unique_ptr<gc::BackoffPolicy> inner)
      : log_(std::move(log)), inner_(std::move(inner)) {}
  std::unique_ptr<gc::BackoffPolicy> clone() const override {
    return std::make_unique<RecordingBackoffPolicy>(log_, inner_->clone());
  }
  std::chrono::milliseconds OnCompletion() override {
    auto wait = inner_->OnCompletion();
    std::lock_guard<std::mutex> lock(log_->mu);
    log_->waits.push_back({Clock::now(), wait});
    return wait;
  }

 private:
  std::shared_ptr<PolicyLog> log_;
  std::unique_ptr<gc::BackoffPolicy> inner_;
};

gc::Options ClientOptions(const Flags& f, const std::string& agent,
                          std::shared_ptr<PolicyLog> log = nullptr) {
  auto options = gc::Options{}
                     .set<gc::EndpointOption>(absl::StrCat("127.0.0.1:", f.port))
                     .set<gc::AuthTokenOption>(f.token)
                     .set<gc::InsecureChannelOption>(true)
                     .set<gc::UserAgentPrefixOption>(agent);
  if (log) {
    gc::Options defaults = gc::DefaultOptions({});
    options.set<gc::RetryPolicyOption>(std::make_shared<RecordingRetryPolicy>(
        log, defaults.get<gc::RetryPolicyOption>()->clone()));
    options.set<gc::BackoffPolicyOption>(std::make_shared<RecordingBackoffPolicy>(
        log, defaults.get<gc::BackoffPolicyOption>()->clone()));
  }
  return options;
}

// ---- the server process ---------------------------------------------------------------------

// One gridline-server at a time, started from the main thread (PR_SET_PDEATHSIG is tied to the
// thread that forks). Its output is copied to the log by a reader thread, which also notes the
// moment the "listening on port" line arrives.
class ServerProcess {
 public:
  explicit ServerProcess(const Flags& f)
      : command_(f.server_command),
        log_path_(f.work_dir + "/server.log"),
        timeout_s_(f.server_start_timeout_s) {
    command_.push_back("--listen");
    command_.push_back(absl::StrCat("127.0.0.1:", f.port));
  }
  ~ServerProcess() {
    if (running()) Stop();
  }

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  // When Start forked, and when the server said it listens.
  Clock::time_point exec_time() const { return exec_time_; }
  Clock::time_point ready_time() const { return ready_time_; }

  // Starts the server and waits until it listens. Returns the moment it said so.
  Clock::time_point Start() {
    if (running()) Die("server already running");
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) Die(absl::StrCat("pipe2: ", std::strerror(errno)));
    std::vector<char*> argv;
    for (auto& a : command_) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t parent = getpid();
    {
      std::lock_guard<std::mutex> lock(mu_);
      ready_ = false;
      exited_ = false;
    }
    exec_time_ = Clock::now();
    pid_t pid = fork();
    if (pid < 0) Die(absl::StrCat("fork: ", std::strerror(errno)));
    if (pid == 0) {
      // Only async-signal-safe calls from here to exec.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
      int devnull = open("/dev/null", O_RDONLY);
      if (devnull >= 0) dup2(devnull, 0);
      dup2(fds[1], 1);
      dup2(fds[1], 2);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(fds[1]);
    pid_ = pid;
    reader_ = std::thread([this, fd = fds[0]] { ReadOutput(fd); });
    std::unique_lock<std::mutex> lock(mu_);
    bool ok = cv_.wait_for(lock, std::chrono::duration<double>(timeout_s_),
                           [this] { return ready_ || exited_; });
    if (!ok || !ready_) {
      lock.unlock();
      Kill();
      Die(absl::StrCat("the server did not start; see ", log_path_));
    }
    return ready_time_;
  }

  // SIGKILL: the process is gone without a goodbye, its connections are reset.
  void Kill() { End(SIGKILL, 0); }
  // SIGTERM, then SIGKILL after 20 s.
  void Stop() { End(SIGTERM, 20); }

 private:
  void End(int sig, int grace_s) {
    if (!running()) return;
    kill(pid_, sig);
    int status = 0;
    auto deadline = Clock::now() + std::chrono::seconds(grace_s);
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (Clock::now() >= deadline) {
        if (sig != SIGKILL) std::fprintf(stderr, "sdk_bench: server did not stop; killing it\n");
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      SleepMs(1);
    }
    pid_ = 0;
    if (reader_.joinable()) reader_.join();
  }

  void ReadOutput(int fd) {
    std::ofstream log(log_path_, std::ios::app);
    log << "---- sdk_bench: starting the server\n";
    std::string pending;
    char buf[4096];
    for (;;) {
      ssize_t n = read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      log.write(buf, n);
      log.flush();
      pending.append(buf, static_cast<size_t>(n));
      if (pending.find("listening on port") != std::string::npos) {
        auto now = Clock::now();
        std::lock_guard<std::mutex> lock(mu_);
        if (!ready_) {
          ready_ = true;
          ready_time_ = now;
          cv_.notify_all();
        }
        pending.clear();
      } else if (pending.size() > 65536) {
        pending.erase(0, pending.size() - 64);
      }
    }
    close(fd);
    std::lock_guard<std::mutex> lock(mu_);
    exited_ = true;
    cv_.notify_all();
  }

  std::vector<std::string> command_;
  std::string log_path_;
  double timeout_s_;
  pid_t pid_ = 0;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool ready_ = false;
  bool exited_ = false;
  Clock::time_point exec_time_, ready_time_;
};

// ---- phase: SubmitReport --------------------------------------------------------------------

struct SubmitRow {
  std::string payload;
  int photos = 0;
  size_t photo_bytes = 0;
  Summary latency;
  double wall_s = 0;
};

SubmitRow MeasureSubmit(const Flags& f, gc::ReportClient& client, PhotoFactory& factory,
                        const std::string& payload, int n, int photos, size_t photo_bytes) {
  Note(absl::StrCat("SubmitReport, ", payload, ", N=", n));
  SubmitRow row{payload, photos, photo_bytes, {}, 0};
  std::vector<double> ms;
  double wall_ms = 0;
  for (int i = 0; i < n; ++i) {
    std::vector<gc::Photo> batch = factory.Make(photos, photo_bytes);
    auto report = MakeReport(f, absl::StrCat(payload, " #", i));
    auto t0 = Clock::now();
    auto r = client.SubmitReport(report, batch);
    auto t1 = Clock::now();
    if (!r.ok()) Die(absl::StrCat("SubmitReport (", payload, "): ", r.status().ToString()));
    ms.push_back(Ms(t1 - t0));
    wall_ms += Ms(t1 - t0);
  }
  row.latency = Summarise(ms);
  row.wall_s = wall_ms / 1000.0;
  return row;
}

void PhaseSubmit(const Flags& f, PhotoFactory& factory) {
  gc::ReportClient client(gc::MakeReportConnection(ClientOptions(f, "sdk-bench")));
  Note(absl::StrCat("warm-up: ", f.warmup, " reports"));
  for (int i = 0; i < f.warmup; ++i) {
    auto r = client.SubmitReport(MakeReport(f, "warm-up"), factory.Make(i % 2, 200 * kKiB));
    if (!r.ok()) Die(absl::StrCat("warm-up SubmitReport: ", r.status().ToString()));
  }
  std::vector<SubmitRow> rows;
  rows.push_back(MeasureSubmit(f, client, factory, "no photo", f.submit_n, 0, 0));
  rows.push_back(
      MeasureSubmit(f, client, factory, "1 photo x 200 KiB", f.submit_small_n, 1, 200 * kKiB));
  rows.push_back(
      MeasureSubmit(f, client, factory, "3 photos x 1 MiB", f.submit_large_n, 3, 1 * kMiB));

  std::printf("\n#### %s: `ReportClient::SubmitReport`, sequential, one client\n\n",
              f.label.c_str());
  std::printf(
      "| payload (photos uploaded in the call) | N | p50 ms | p90 ms | p99 ms | max ms | mean ms "
      "| reports/s | photo MiB/s |\n|---|---|---|---|---|---|---|---|---|\n");
  for (const auto& r : rows) {
    double per_s = static_cast<double>(r.latency.n) / r.wall_s;
    double mib = static_cast<double>(r.photos) * static_cast<double>(r.photo_bytes) / kMiB;
    std::printf("| %s | %zu | %s | %s | %s | %s | %s | %s | %s |\n", r.payload.c_str(), r.latency.n,
                FormatMs(r.latency.p50).c_str(), FormatMs(r.latency.p90).c_str(),
                FormatMs(r.latency.p99).c_str(), FormatMs(r.latency.max).c_str(),
                FormatMs(r.latency.mean).c_str(), FormatRate(per_s).c_str(),
                r.photos ? FormatRate(per_s * mib).c_str() : "–");
  }
  std::fflush(stdout);
}

// ---- phase: Outbox::Enqueue -----------------------------------------------------------------

struct EnqueueRow {
  std::string payload;
  std::string where;
  int photos = 0;
  size_t photo_bytes = 0;
  Summary latency;
  double wall_s = 0;
  int64_t syncs = 0;
  double sync_ms = 0;
  int64_t open_bytes = 0;    // db + -wal + -shm with the outbox open
  int64_t closed_bytes = 0;  // db after closing (the WAL checkpointed and removed)
};

// Queues `n` reports into a new outbox at `path`; leaves the file there, closed.
EnqueueRow MeasureEnqueue(const Flags& f, PhotoFactory& factory, const std::string& path,
                          const std::string& where, const std::string& payload, int n, int photos,
                          size_t photo_bytes) {
  Note(absl::StrCat("Outbox::Enqueue, ", payload, ", ", where, ", N=", n));
  RemoveOutboxFiles(path);
  EnqueueRow row;
  row.payload = payload;
  row.where = where;
  row.photos = photos;
  row.photo_bytes = photo_bytes;
  auto outbox = gc::Outbox::Open(path);
  if (!outbox.ok()) Die(absl::StrCat("Outbox::Open ", path, ": ", outbox.status().ToString()));
  std::vector<double> ms;
  double wall_ms = 0;
  SyncCounter syncs;
  for (int i = 0; i < n; ++i) {
    std::vector<gc::Photo> batch = factory.Make(photos, photo_bytes);
    auto report = MakeReport(f, absl::StrCat("queued, ", payload, " #", i));
    auto t0 = Clock::now();
    auto e = (*outbox)->Enqueue(std::move(report), std::move(batch));
    auto t1 = Clock::now();
    if (!e.ok()) Die(absl::StrCat("Outbox::Enqueue: ", e.status().ToString()));
    ms.push_back(Ms(t1 - t0));
    wall_ms += Ms(t1 - t0);
  }
  row.syncs = syncs.calls();
  row.sync_ms = syncs.ms();
  row.latency = Summarise(ms);
  row.wall_s = wall_ms / 1000.0;
  row.open_bytes = FileSize(path) + FileSize(path + "-wal") + FileSize(path + "-shm");
  outbox->reset();  // closes: SQLite checkpoints the WAL into the file and removes it
  row.closed_bytes = FileSize(path) + FileSize(path + "-wal");
  return row;
}

void PrintEnqueueTable(const Flags& f, const std::vector<EnqueueRow>& rows) {
  std::printf(
      "\n#### %s run: `Outbox::Enqueue` on the device side (SQLite WAL, synchronous=FULL), "
      "sequential\n\n",
      f.label.c_str());
  std::printf(
      "| payload | outbox on | N | p50 ms | p90 ms | p99 ms | max ms | mean ms | enqueues/s | "
      "fdatasync per Enqueue | time in fdatasync | outbox file per report: open (db+WAL) / "
      "closed |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (const auto& r : rows) {
    double n = static_cast<double>(r.latency.n);
    std::printf(
        "| %s | %s | %zu | %s | %s | %s | %s | %s | %s | %.1f | %.0f %% (%s ms each) | %s / %s |\n",
        r.payload.c_str(), r.where.c_str(), r.latency.n, FormatMs(r.latency.p50).c_str(),
        FormatMs(r.latency.p90).c_str(), FormatMs(r.latency.p99).c_str(),
        FormatMs(r.latency.max).c_str(), FormatMs(r.latency.mean).c_str(),
        FormatRate(n / r.wall_s).c_str(), static_cast<double>(r.syncs) / n,
        100.0 * r.sync_ms / (r.wall_s * 1000.0),
        FormatMs(r.syncs ? r.sync_ms / static_cast<double>(r.syncs) : 0).c_str(),
        FormatBytes(static_cast<double>(r.open_bytes) / n).c_str(),
        FormatBytes(static_cast<double>(r.closed_bytes) / n).c_str());
  }
  std::fflush(stdout);
}

std::string FlushOutboxPath(const Flags& f) { return f.work_dir + "/flush.outbox"; }

// ---- phase: Outbox::Flush after an outage ---------------------------------------------------

void PhaseFlush(const Flags& f, ServerProcess& server, PhotoFactory& factory, bool prepared) {
  const std::string path = FlushOutboxPath(f);
  if (server.running()) {
    Note("stopping the server");
    server.Stop();
  }
  if (!prepared) {
    MeasureEnqueue(f, factory, path, "disk", "1 photo x 200 KiB", f.flush_n, 1, 200 * kKiB);
  }
  auto outbox = gc::Outbox::Open(path);
  if (!outbox.ok()) Die(absl::StrCat("Outbox::Open: ", outbox.status().ToString()));
  auto pending = (*outbox)->PendingCount();
  if (!pending.ok() || *pending != f.flush_n) Die("the flush outbox is not as queued");

  // The handset app: a connection with the SDK's defaults (retries for 60 s, backoff 0.2-10 s).
  auto policy_log = std::make_shared<PolicyLog>();
  auto timing = std::make_shared<TimingConnection>(
      gc::MakeReportConnection(ClientOptions(f, "sdk-bench", policy_log)));
  gc::ReportClient client(timing);
  Note(absl::StrCat("Outbox::Flush of ", f.flush_n, " reports; the server comes back after ",
                    f.flush_outage_ms, " ms"));
  SyncCounter syncs;
  auto t_flush = Clock::now();
  Clock::time_point t_done;
  gc::StatusOr<gc::FlushResult> result = gc::FlushResult{};
  int flushes = 0;
  std::thread flusher([&] {
    // A Flush stops at a transient failure that outlasts the SDK's retries; an OutboxSender
    // would flush again, so do the same (it does not happen with a short outage).
    for (;;) {
      ++flushes;
      result = (*outbox)->Flush(client);
      if (!result.ok() || result->pending == 0 ||
          Clock::now() - t_flush > std::chrono::minutes(3)) {
        break;
      }
    }
    t_done = Clock::now();
  });
  SleepMs(f.flush_outage_ms);
  auto t_exec = Clock::now();
  auto t_ready = server.Start();
  flusher.join();
  if (!result.ok()) Die(absl::StrCat("Outbox::Flush: ", result.status().ToString()));
  if (result->pending != 0 || result->failed != 0) {
    Die(absl::StrCat("Outbox::Flush left ", result->pending, " pending and ", result->failed,
                     " failed: ", result->stopped_by.ToString()));
  }
  auto sent = timing->submitted();
  if (sent.size() != static_cast<size_t>(f.flush_n)) Die("not every report was submitted once");
  const double total_s = Ms(t_done - t_ready) / 1000.0;
  const double steady_s = Ms(sent.back() - sent.front()) / 1000.0;
  const double photo_mib = 200.0 * kKiB / kMiB;
  std::vector<double> gaps;
  for (size_t i = 1; i < sent.size(); ++i) gaps.push_back(Ms(sent[i] - sent[i - 1]));
  Summary gap = Summarise(gaps);

  // Why the first delivery came when it did: the SDK's attempts around the restart.
  int failed_before = 0, failed_after = 0;
  std::string first_after;
  for (const auto& x : policy_log->Failures()) {
    if (x.time < t_ready) {
      failed_before++;
    } else {
      if (failed_after++ == 0) first_after = x.status.substr(0, 90);
    }
  }
  auto wait = policy_log->WaitAt(t_ready);

  std::printf(
      "\n#### %s: `Outbox::Flush` after an outage: %d queued reports with 1 photo x 200 KiB\n\n",
      f.label.c_str(), f.flush_n);
  std::printf("| figure | value |\n|---|---|\n");
  std::printf(
      "| Flush called with the server stopped; server started after / listening after that | "
      "%s ms / %s ms |\n",
      FormatMs(Ms(t_exec - t_flush)).c_str(), FormatMs(Ms(t_ready - t_exec)).c_str());
  std::printf(
      "| SDK attempts that failed (UNAVAILABLE) before / after the server listened | %d / %d%s |\n",
      failed_before, failed_after,
      failed_after ? absl::StrCat(" (first after: `", first_after, "`)").c_str() : "");
  if (wait) {
    std::printf(
        "| SDK backoff wait under way when the server began listening | %s ms left of %s ms |\n",
        FormatMs(Ms(wait->start + wait->length - t_ready)).c_str(),
        FormatMs(static_cast<double>(wait->length.count())).c_str());
  }
  std::printf("| **server listening → first report delivered** | **%s ms** |\n",
              FormatMs(Ms(sent.front() - t_ready)).c_str());
  std::printf("| first → last (%d-th) report delivered | %.2f s |\n", f.flush_n, steady_s);
  std::printf(
      "| **delivery rate, first to last delivery** | **%s reports/s, %s MiB/s of photos** |\n",
      FormatRate((f.flush_n - 1) / steady_s).c_str(),
      FormatRate((f.flush_n - 1) * photo_mib / steady_s).c_str());
  std::printf("| time per report (between deliveries) p50 / p90 / p99 / max | %s ms |\n",
              Quartet(gap).c_str());
  std::printf("| server listening → all %d delivered (Flush returned) | %.2f s (%s reports/s) |\n",
              f.flush_n, total_s, FormatRate(f.flush_n / total_s).c_str());
  std::printf("| Flush calls; sent / failed / pending | %d; %d / %d / %d |\n", flushes,
              result->sent, result->failed, result->pending);
  std::printf(
      "| fdatasync on the device during the flush | %lld (%.1f per report), %.0f ms in all |\n",
      static_cast<long long>(syncs.calls()), static_cast<double>(syncs.calls()) / f.flush_n,
      syncs.ms());
  std::fflush(stdout);
}

// ---- phase: WatchCases ----------------------------------------------------------------------

// Consumes a Watch on its own thread and notes when each case's REPORTED event arrived.
class WatchRecorder {
 public:
  explicit WatchRecorder(std::unique_ptr<gc::Watch> watch)
      : watch_(std::move(watch)), thread_([this] { Run(); }) {}
  ~WatchRecorder() {
    watch_->Cancel();
    thread_.join();
  }

  // When `case_id`'s REPORTED event arrived; nullopt when not within `timeout`.
  std::optional<Clock::time_point> WaitFor(const std::string& case_id,
                                           std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return arrived_.count(case_id) || !ended_.ok(); });
    auto it = arrived_.find(case_id);
    if (it == arrived_.end()) return std::nullopt;
    return it->second;
  }
  // The first arrival at or after `t`, waiting up to `timeout`.
  std::optional<Clock::time_point> FirstAfter(Clock::time_point t,
                                              std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    std::optional<Clock::time_point> first;
    cv_.wait_for(lock, timeout, [&] {
      for (auto a : arrivals_) {
        if (a >= t && (!first || a < *first)) first = a;
      }
      return first.has_value() || !ended_.ok();
    });
    return first;
  }
  gc::Watch& watch() { return *watch_; }
  gc::Status ended() {
    std::lock_guard<std::mutex> lock(mu_);
    return ended_;
  }
  int resyncs() {
    std::lock_guard<std::mutex> lock(mu_);
    return resyncs_;
  }

 private:
  void Run() {
    for (;;) {
      auto update = watch_->Next();
      auto now = Clock::now();
      std::lock_guard<std::mutex> lock(mu_);
      if (!update.ok()) {
        ended_ = update.status().ok() ? absl::UnknownError("?") : update.status();
        cv_.notify_all();
        return;
      }
      if (update->kind == gc::WatchUpdate::Kind::kResyncRequired) {
        resyncs_++;
        continue;
      }
      if (update->event.type() != v1::REPORTED) continue;
      arrived_.emplace(update->event.case_id(), now);
      arrivals_.push_back(now);
      cv_.notify_all();
    }
  }

  std::unique_ptr<gc::Watch> watch_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Clock::time_point> arrived_;
  std::vector<Clock::time_point> arrivals_;
  gc::Status ended_;
  int resyncs_ = 0;
  std::thread thread_;  // last: starts after the members it uses
};

struct RestartCycle {
  int outage_ms = 0;
  double start_ms = 0;             // exec → listening
  double ready_to_event_ms = 0;    // listening → the first event on the watch
  double ready_to_submit_ms = 0;   // listening → the other handset's SubmitReport returned
  double ready_to_attempt_ms = 0;  // listening → the watch's stream attempt that got through
  int attempts = 0;                // the watch's stream attempts from the kill to the event
  int attempts_after = 0;          // of which after listening
  double wait_left_ms = -1;        // the Watch's backoff wait under way at listening: left
  double wait_ms = -1;             // and its length
};

void PhaseWatch(const Flags& f, ServerProcess& server) {
  if (!server.running()) {
    Note("starting the server");
    server.Start();
  }
  auto policy_log = std::make_shared<PolicyLog>();
  auto timing = std::make_shared<TimingConnection>(
      gc::MakeReportConnection(ClientOptions(f, "sdk-bench", policy_log)));
  gc::ReportClient client(timing);
  constexpr auto kEventTimeout = std::chrono::seconds(60);

  // Anchor the watch at a report of ours, so that nothing after it can be missed however late
  // the stream opens; then a few round trips to have the stream open and warm.
  auto anchor = client.SubmitReport(MakeReport(f, "watch anchor"));
  if (!anchor.ok()) Die(absl::StrCat("SubmitReport: ", anchor.status().ToString()));
  gc::WatchOptions options;
  options.after_cursor = anchor->event_cursor();
  WatchRecorder recorder(client.WatchCases(options));
  Note(absl::StrCat("WatchCases: ", f.warmup, " warm-up and ", f.watch_n, " measured reports"));
  std::vector<double> after_return, after_call;
  int early = 0;
  for (int i = 0; i < f.warmup + f.watch_n; ++i) {
    auto t0 = Clock::now();
    auto r = client.SubmitReport(MakeReport(f, absl::StrCat("watched #", i)));
    auto t1 = Clock::now();
    if (!r.ok()) Die(absl::StrCat("SubmitReport: ", r.status().ToString()));
    auto arrived = recorder.WaitFor(r->case_().case_id(), kEventTimeout);
    if (!arrived) {
      Die(absl::StrCat("no REPORTED event for ", r->case_().case_id(), " on the watch (",
                       recorder.ended().ToString(), ")"));
    }
    if (i < f.warmup) continue;
    after_return.push_back(Ms(*arrived - t1));
    after_call.push_back(Ms(*arrived - t0));
    if (*arrived < t1) early++;
  }
  Summary ret = Summarise(after_return), call = Summarise(after_call);

  // Kill and restart: the other handset reports as soon as the server listens again.
  std::vector<RestartCycle> cycles;
  std::vector<int> outages(static_cast<size_t>(std::max(0, f.restarts)), f.outage_ms);
  outages.insert(outages.end(), static_cast<size_t>(std::max(0, f.long_restarts)),
                 f.long_outage_ms);
  for (size_t c = 0; c < outages.size(); ++c) {
    Note(absl::StrCat("restart ", c + 1, "/", outages.size(), ": SIGKILL, ", outages[c],
                      " ms down, start"));
    RestartCycle cycle;
    cycle.outage_ms = outages[c];
    const size_t opens_before = timing->watch_opens().size();
    server.Kill();
    SleepMs(outages[c]);
    auto t_ready = server.Start();
    cycle.start_ms = Ms(t_ready - server.exec_time());
    // Another grid leader's handset: a connection of its own that had no part in the outage.
    gc::ReportClient other(gc::MakeReportConnection(ClientOptions(f, "sdk-bench-other-handset")));
    auto r = other.SubmitReport(MakeReport(f, absl::StrCat("after restart ", c + 1)));
    auto t_submitted = Clock::now();
    if (!r.ok()) Die(absl::StrCat("SubmitReport after the restart: ", r.status().ToString()));
    cycle.ready_to_submit_ms = Ms(t_submitted - t_ready);
    auto first = recorder.FirstAfter(t_ready, kEventTimeout);
    if (!first) {
      Die(absl::StrCat("no event on the watch within 60 s of the restart (",
                       recorder.ended().ToString(), ")"));
    }
    cycle.ready_to_event_ms = Ms(*first - t_ready);
    auto opens = timing->watch_opens();
    Clock::time_point last_attempt{};
    for (size_t i = opens_before; i < opens.size(); ++i) {
      if (opens[i] <= *first) {
        last_attempt = opens[i];
        cycle.attempts++;
        if (opens[i] >= t_ready) cycle.attempts_after++;
      }
    }
    cycle.ready_to_attempt_ms = Ms(last_attempt - t_ready);
    if (auto wait = policy_log->WaitAt(t_ready)) {
      cycle.wait_left_ms = Ms(wait->start + wait->length - t_ready);
      cycle.wait_ms = static_cast<double>(wait->length.count());
    }
    if (!recorder.WaitFor(r->case_().case_id(), kEventTimeout)) Die("the report's event is lost");
    cycles.push_back(cycle);
    SleepMs(200);
  }

  std::printf("\n#### %s: `ReportClient::WatchCases`, the reporter's own watch\n\n",
              f.label.c_str());
  std::printf("| figure | N | p50 ms | p90 ms | p99 ms | max ms |\n|---|---|---|---|---|---|\n");
  std::printf(
      "| SubmitReport returned → REPORTED event delivered by `Watch::Next` | %zu | %s | %s | %s | "
      "%s |\n",
      ret.n, FormatMs(ret.p50).c_str(), FormatMs(ret.p90).c_str(), FormatMs(ret.p99).c_str(),
      FormatMs(ret.max).c_str());
  std::printf("| SubmitReport called → REPORTED event delivered | %zu | %s | %s | %s | %s |\n",
              call.n, FormatMs(call.p50).c_str(), FormatMs(call.p90).c_str(),
              FormatMs(call.p99).c_str(), FormatMs(call.max).c_str());
  std::printf("\n(Negative: the event arrived before the SubmitReport response; %d of %zu did.)\n",
              early, ret.n);

  if (!cycles.empty()) {
    std::printf(
        "\n#### %s: the watch after the server is SIGKILLed and restarted (another handset "
        "reports as soon as the server listens)\n\n",
        f.label.c_str());
    std::printf(
        "| cycle | down for (kill → start) | server start → listening | listening → other "
        "handset's SubmitReport OK | Watch backoff wait under way at listening: left / length | "
        "listening → watch attempt that got through | **listening → first event on the watch** | "
        "watch stream attempts since the kill (after listening) |\n"
        "|---|---|---|---|---|---|---|---|\n");
    for (size_t c = 0; c < cycles.size(); ++c) {
      const auto& y = cycles[c];
      std::string wait =
          y.wait_ms < 0 ? std::string("none")
                        : absl::StrCat(FormatMs(y.wait_left_ms), " / ", FormatMs(y.wait_ms), " ms");
      std::printf("| %zu | %d ms | %s ms | %s ms | %s | %s ms | **%s ms** | %d (%d) |\n", c + 1,
                  y.outage_ms, FormatMs(y.start_ms).c_str(), FormatMs(y.ready_to_submit_ms).c_str(),
                  wait.c_str(), FormatMs(y.ready_to_attempt_ms).c_str(),
                  FormatMs(y.ready_to_event_ms).c_str(), y.attempts, y.attempts_after);
    }
    std::map<int, std::vector<double>> by_outage;
    for (const auto& y : cycles) by_outage[y.outage_ms].push_back(y.ready_to_event_ms);
    std::printf(
        "\n| down for | cycles | listening → first event on the watch: p50 / max ms "
        "|\n|---|---|---|\n");
    for (const auto& [outage, v] : by_outage) {
      Summary s = Summarise(v);
      std::printf("| %d ms | %zu | %s / %s |\n", outage, s.n, FormatMs(s.p50).c_str(),
                  FormatMs(s.max).c_str());
    }
    std::printf("\n(The watch's reconnects in all: %d; re-syncs: %d.)\n",
                recorder.watch().reconnects(), recorder.resyncs());
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  Flags f = ParseFlags(argc, argv);
  std::signal(SIGPIPE, SIG_IGN);
  PhotoFactory factory;
  ServerProcess server(f);
  std::printf("\n### %s (client SDK %s)\n", f.label.c_str(), gc::VersionString().c_str());

  if (HasPhase(f, "submit")) {
    Note("starting the server");
    auto t_ready = server.Start();
    Note(absl::StrCat("server pid ", server.pid(), " listening after ",
                      FormatMs(Ms(t_ready - server.exec_time())), " ms"));
    PhaseSubmit(f, factory);
  }

  bool flush_prepared = false;
  if (HasPhase(f, "enqueue")) {
    if (server.running()) {
      Note("stopping the server (the Enqueue figures are the device's alone)");
      server.Stop();
    }
    std::vector<EnqueueRow> rows;
    const std::string disk = f.work_dir + "/enqueue.outbox";
    rows.push_back(MeasureEnqueue(f, factory, disk, "disk", "no photo", f.enqueue_n, 0, 0));
    RemoveOutboxFiles(disk);
    rows.push_back(MeasureEnqueue(f, factory, disk, "disk", "3 photos x 1 MiB", f.enqueue_large_n,
                                  3, 1 * kMiB));
    RemoveOutboxFiles(disk);
    rows.push_back(MeasureEnqueue(f, factory, FlushOutboxPath(f), "disk", "1 photo x 200 KiB",
                                  f.flush_n, 1, 200 * kKiB));
    flush_prepared = true;
    if (!f.tmpfs_dir.empty()) {
      const std::string ram = absl::StrCat(f.tmpfs_dir, "/sdk-bench-", getpid(), ".outbox");
      rows.push_back(MeasureEnqueue(f, factory, ram, "tmpfs", "no photo", f.enqueue_n, 0, 0));
      RemoveOutboxFiles(ram);
      rows.push_back(MeasureEnqueue(f, factory, ram, "tmpfs", "3 photos x 1 MiB", f.enqueue_large_n,
                                    3, 1 * kMiB));
      RemoveOutboxFiles(ram);
    }
    PrintEnqueueTable(f, rows);
  }

  if (HasPhase(f, "flush")) PhaseFlush(f, server, factory, flush_prepared);
  if (HasPhase(f, "watch")) PhaseWatch(f, server);

  if (server.running()) {
    Note("stopping the server");
    server.Stop();
  }
  std::fflush(stdout);
  return 0;
}
