// watch_bench: the WatchCases benchmark (see BENCHMARKS.md and bench/run_watch_bench.sh).
//
// Two modes:
//
//   watch_bench --generate_org OUT.textproto --generate_tokens OUT.tsv --base_org FILE
//               --leaders N [--hot H]
//     Writes an organisation: FILE (the demo organisation: categories, departments, routing)
//     plus N new CELL grids with one grid leader each and H grid leaders on the two demo
//     STREET grids ("hot" watchers that see every case of their street), all with demo tokens;
//     and the token list the benchmark reads.
//
//   watch_bench --tokens FILE --watch_targets HOST:PORT[,...] --submit_targets HOST:PORT[,...]
//               --streams N --rate R --duration S [--server_pids PID[,...]] ...
//     Opens N WatchCases streams of N cell leaders (plus the hot leaders), each on a channel of
//     its own (a TCP connection of its own: local subchannel pool), spread round-robin over the
//     watch targets; uses the callback API, so no client thread per stream. Waits until every
//     stream has delivered its first message (the hub's heartbeat tick), then submits reports at
//     a steady, open-loop rate: each by a random cell leader into their own cell, round-robin
//     over the submit targets. Every delivered event's latency is the client's receive time
//     minus CaseEvent.event_time (the server takes that time just before the report's
//     transaction; same machine, same clock). Prints the figures as Markdown tables, per
//     submit target, so a run with streams on replica A and submits through A and B gives the
//     same-replica and cross-replica figures side by side.
#include <dirent.h>
#include <grpcpp/grpcpp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gridline/v1/report_service.grpc.pb.h"

namespace {

namespace v1 = ::gridline::v1;
using Clock = std::chrono::steady_clock;

// ---- flags ----------------------------------------------------------------------------------

struct Flags {
  // generate mode
  std::string generate_org, generate_tokens, base_org;
  int leaders = 10000;
  int hot = 0;
  // bench mode
  std::string tokens;
  std::vector<std::string> watch_targets, submit_targets;
  std::vector<int> server_pids;
  int db_pid = 0;  // the database server, for its CPU and RSS
  std::string label = "watch benchmark";
  int streams = 10000;
  bool hot_streams = true;
  double rate = 200;
  double duration_s = 60;
  double open_rate = 1000;     // new streams per second
  double open_timeout_s = 60;  // after the last stream was started
  double idle_s = 5;           // idle window measured with every stream open
  double drain_s = 5;          // after the last submit answered
  int max_in_flight = 2000;    // submits; beyond this a tick is skipped and counted
  int submit_channels = 2;     // per submit target
  bool sequential = false;     // one load phase per submit target instead of round-robin
  int timeline_s = 5;          // bucket of the timeline table; 0: no timeline
  std::string category = "C01_ROAD_DAMAGE";
};

[[noreturn]] void Usage(const std::string& error) {
  std::fprintf(stderr, "watch_bench: %s\n(see the header of bench/watch_bench.cc)\n",
               error.c_str());
  std::exit(2);
}

std::vector<std::string> SplitList(const std::string& v) {
  std::vector<std::string> out;
  for (absl::string_view p : absl::StrSplit(v, ',', absl::SkipEmpty())) out.emplace_back(p);
  return out;
}

double ToDouble(const std::string& name, const std::string& v) {
  double d = 0;
  if (!absl::SimpleAtod(v, &d)) Usage(absl::StrCat(name, ": '", v, "' is not a number"));
  return d;
}

int ToInt(const std::string& name, const std::string& v) {
  int i = 0;
  if (!absl::SimpleAtoi(v, &i)) Usage(absl::StrCat(name, ": '", v, "' is not a number"));
  return i;
}

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string name = arg, value;
    bool has_value = false;
    if (auto eq = arg.find('='); eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_value = true;
    }
    auto take = [&]() -> std::string {
      if (has_value) return value;
      if (i + 1 >= argc) Usage(name + " needs a value");
      return argv[++i];
    };
    if (name == "--generate_org") {
      f.generate_org = take();
    } else if (name == "--generate_tokens") {
      f.generate_tokens = take();
    } else if (name == "--base_org") {
      f.base_org = take();
    } else if (name == "--leaders") {
      f.leaders = ToInt(name, take());
    } else if (name == "--hot") {
      f.hot = ToInt(name, take());
    } else if (name == "--tokens") {
      f.tokens = take();
    } else if (name == "--watch_targets" || name == "--targets") {
      f.watch_targets = SplitList(take());
    } else if (name == "--submit_targets" || name == "--submit_target") {
      f.submit_targets = SplitList(take());
    } else if (name == "--server_pids" || name == "--server_pid") {
      for (const auto& p : SplitList(take())) f.server_pids.push_back(ToInt(name, p));
    } else if (name == "--db_pid") {
      f.db_pid = ToInt(name, take());
    } else if (name == "--label") {
      f.label = take();
    } else if (name == "--streams") {
      f.streams = ToInt(name, take());
    } else if (name == "--timeline") {
      f.timeline_s = ToInt(name, take());
    } else if (name == "--sequential") {
      f.sequential = true;
    } else if (name == "--no_hot_streams") {
      f.hot_streams = false;
    } else if (name == "--rate") {
      f.rate = ToDouble(name, take());
    } else if (name == "--duration") {
      f.duration_s = ToDouble(name, take());
    } else if (name == "--open_rate") {
      f.open_rate = ToDouble(name, take());
    } else if (name == "--open_timeout") {
      f.open_timeout_s = ToDouble(name, take());
    } else if (name == "--idle") {
      f.idle_s = ToDouble(name, take());
    } else if (name == "--drain") {
      f.drain_s = ToDouble(name, take());
    } else if (name == "--max_in_flight") {
      f.max_in_flight = ToInt(name, take());
    } else if (name == "--submit_channels") {
      f.submit_channels = ToInt(name, take());
    } else if (name == "--category") {
      f.category = take();
    } else {
      Usage(absl::StrCat("unknown argument '", arg, "'"));
    }
  }
  return f;
}

// ---- organisation generator -----------------------------------------------------------------

// The demo organisation's two streets; the generated communities are numbered from 101 so that
// they never collide with the demo's 001 and 002.
constexpr const char* kStreets[] = {"410184001", "410184002"};
constexpr int kCellsPerCommunity = 100;

std::string TokenFor(const std::string& who, int i) {
  std::mt19937_64 rng(0x6772696c696e65ULL ^ (uint64_t(i) * 0x9e3779b97f4a7c15ULL) ^
                      std::hash<std::string>()(who));
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(rng()));
  return absl::StrCat("bench-", who, "-", i, "-", hex);
}

int Generate(const Flags& f) {
  if (f.generate_org.empty() || f.generate_tokens.empty() || f.base_org.empty()) {
    Usage("--generate_org, --generate_tokens and --base_org go together");
  }
  if (f.leaders < 1 || f.leaders > 2 * 899 * kCellsPerCommunity) Usage("--leaders out of range");
  std::ifstream base(f.base_org);
  if (!base) Usage("cannot read " + f.base_org);
  std::stringstream base_text;
  base_text << base.rdbuf();
  std::ofstream org(f.generate_org);
  std::ofstream tokens(f.generate_tokens);
  if (!org || !tokens) Usage("cannot write the generated files");
  org << base_text.str() << "\n# ---- generated by watch_bench --generate_org: " << f.leaders
      << " cells with one grid leader each, " << f.hot << " street-level leaders\n";
  tokens << "# token\tuser_id\tgrid_code\tkind (cell: one cell; street: a whole street)\n";
  int communities = (f.leaders + kCellsPerCommunity - 1) / kCellsPerCommunity;
  for (int c = 0; c < communities; ++c) {
    std::string street = kStreets[c % 2];
    char community[32];
    std::snprintf(community, sizeof community, "%s%03d", street.c_str(), 101 + c / 2);
    org << "grids { code: \"" << community << "\" name: \"压测社区" << c + 1
        << "\" level: COMMUNITY parent_code: \"" << street << "\" }\n";
  }
  for (int i = 0; i < f.leaders; ++i) {
    int c = i / kCellsPerCommunity;
    char community[32], cell[40], user[32];
    std::snprintf(community, sizeof community, "%s%03d", kStreets[c % 2], 101 + c / 2);
    std::snprintf(cell, sizeof cell, "%s%03d", community, 1 + i % kCellsPerCommunity);
    std::snprintf(user, sizeof user, "u-bench-%05d", i + 1);
    std::string token = TokenFor("cell", i + 1);
    org << "grids { code: \"" << cell << "\" name: \"压测网格" << i + 1
        << "\" level: CELL parent_code: \"" << community << "\" }\n";
    org << "users { user { user_id: \"" << user << "\" display_name: \"压测网格员" << i + 1
        << "\" role: GRID_LEADER grid_code: \"" << cell << "\" } demo_token: \"" << token
        << "\" }\n";
    tokens << token << "\t" << user << "\t" << cell << "\tcell\n";
  }
  for (int i = 0; i < f.hot; ++i) {
    char user[32];
    std::snprintf(user, sizeof user, "u-bench-street-%03d", i + 1);
    std::string token = TokenFor("street", i + 1);
    const char* street = kStreets[i % 2];
    org << "users { user { user_id: \"" << user << "\" display_name: \"压测街道网格长" << i + 1
        << "\" role: GRID_LEADER grid_code: \"" << street << "\" } demo_token: \"" << token
        << "\" }\n";
    tokens << token << "\t" << user << "\t" << street << "\tstreet\n";
  }
  if (!org.good() || !tokens.good()) Usage("writing the generated files failed");
  std::printf("watch_bench: wrote %s (%d cells, %d leaders + %d street leaders) and %s\n",
              f.generate_org.c_str(), f.leaders, f.leaders, f.hot, f.generate_tokens.c_str());
  return 0;
}

// ---- /proc ----------------------------------------------------------------------------------

struct ProcSample {
  bool ok = false;
  int64_t rss_kb = 0;
  int threads = 0;
  int fds = 0;
  double cpu_s = 0;                    // user + system, whole process
  std::map<int, double> thread_cpu_s;  // per thread id
  std::map<int, std::string> thread_name;
};

double TicksToSeconds(const std::string& stat_line, std::string* comm) {
  // The command name is in parentheses and may contain spaces: fields count from the last ')'.
  auto open = stat_line.find('(');
  auto close = stat_line.rfind(')');
  if (open == std::string::npos || close == std::string::npos) return 0;
  if (comm) *comm = stat_line.substr(open + 1, close - open - 1);
  std::istringstream rest(stat_line.substr(close + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; rest >> field; ++i) {  // field 3 is the state
    if (i == 14) utime = std::atof(field.c_str());
    if (i == 15) {
      stime = std::atof(field.c_str());
      break;
    }
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::string ReadFirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

ProcSample SampleProcess(int pid, bool per_thread) {
  ProcSample s;
  std::string dir = absl::StrCat("/proc/", pid);
  std::ifstream status(dir + "/status");
  if (!status) return s;
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) s.rss_kb = std::atoll(line.c_str() + 6);
    if (line.rfind("Threads:", 0) == 0) s.threads = std::atoi(line.c_str() + 8);
  }
  if (DIR* d = opendir((dir + "/fd").c_str())) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') ++s.fds;
    }
    closedir(d);
  }
  s.cpu_s = TicksToSeconds(ReadFirstLine(dir + "/stat"), nullptr);
  if (per_thread) {
    if (DIR* d = opendir((dir + "/task").c_str())) {
      while (dirent* e = readdir(d)) {
        if (e->d_name[0] == '.') continue;
        int tid = std::atoi(e->d_name);
        std::string comm;
        s.thread_cpu_s[tid] =
            TicksToSeconds(ReadFirstLine(absl::StrCat(dir, "/task/", tid, "/stat")), &comm);
        s.thread_name[tid] = comm;
      }
      closedir(d);
    }
  }
  s.ok = true;
  return s;
}

// The three busiest threads between two samples: share of one core, name and id.
std::string BusiestThreads(const ProcSample& a, const ProcSample& b, double wall_s) {
  std::vector<std::pair<double, int>> by_cpu;
  for (const auto& [tid, cpu] : b.thread_cpu_s) {
    auto it = a.thread_cpu_s.find(tid);
    by_cpu.emplace_back(cpu - (it == a.thread_cpu_s.end() ? 0 : it->second), tid);
  }
  std::sort(by_cpu.rbegin(), by_cpu.rend());
  std::string out;
  for (size_t i = 0; i < by_cpu.size() && i < 3 && wall_s > 0; ++i) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "%s%.0f%% %s[%d]", i ? ", " : "", 100 * by_cpu[i].first / wall_s,
                  b.thread_name.at(by_cpu[i].second).c_str(), by_cpu[i].second);
    out += buf;
  }
  return out;
}

// ---- time and statistics --------------------------------------------------------------------

int64_t WallMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

struct Percentiles {
  size_t n = 0;
  double p50_ms = 0, p99_ms = 0, max_ms = 0, mean_ms = 0;
};

Percentiles Summarise(std::vector<int64_t> us) {
  Percentiles p;
  p.n = us.size();
  if (us.empty()) return p;
  std::sort(us.begin(), us.end());
  auto at = [&](double q) {
    size_t i = static_cast<size_t>(q * static_cast<double>(us.size() - 1) + 0.5);
    return static_cast<double>(us[std::min(i, us.size() - 1)]) / 1000.0;
  };
  p.p50_ms = at(0.50);
  p.p99_ms = at(0.99);
  p.max_ms = static_cast<double>(us.back()) / 1000.0;
  double sum = 0;
  for (int64_t v : us) sum += static_cast<double>(v);
  p.mean_ms = sum / static_cast<double>(us.size()) / 1000.0;
  return p;
}

std::string Ms(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, ms < 10 ? "%.2f" : (ms < 100 ? "%.1f" : "%.0f"), ms);
  return buf;
}

std::string Mib(int64_t kb) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(kb) / 1024.0);
  return buf;
}

// ---- the watch streams ----------------------------------------------------------------------

struct Handset {
  std::string token, user_id, grid_code;
  bool hot = false;
};

struct Delivery {
  int64_t event_us;    // CaseEvent.event_time
  int64_t latency_us;  // received - event_us
  std::string case_id;
};

class Bench;

class Watcher final : public grpc::ClientReadReactor<v1::WatchEvent> {
 public:
  Watcher(Bench* bench, int index, std::shared_ptr<grpc::Channel> channel, const Handset& who)
      : bench_(bench),
        index_(index),
        channel_(std::move(channel)),
        stub_(v1::ReportService::NewStub(channel_)) {
    ctx_.AddMetadata("authorization", "Bearer " + who.token);
  }

  void Start() {
    stub_->async()->WatchCases(&ctx_, &request_, this);
    StartRead(&message_);
    StartCall();
  }
  void Cancel() { ctx_.TryCancel(); }

  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

  // Read only after OnDone.
  const std::vector<Delivery>& deliveries() const { return deliveries_; }
  const std::vector<int64_t>& heartbeat_us() const { return heartbeat_us_; }
  bool established() const { return established_; }
  int index() const { return index_; }

 private:
  Bench* bench_;
  int index_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ReportService::Stub> stub_;
  grpc::ClientContext ctx_;
  v1::WatchCasesRequest request_;
  v1::WatchEvent message_;
  std::vector<Delivery> deliveries_;
  std::vector<int64_t> heartbeat_us_;  // when each heartbeat arrived
  bool established_ = false;
};

struct SubmitRecord {
  int target = 0;
  int handset = 0;
  bool ok = false;
  int64_t start_us = 0;  // wall clock
  int64_t rpc_us = 0;
};

class Bench {
 public:
  explicit Bench(Flags flags) : f_(std::move(flags)) {}
  int Run();

  // Called from gRPC's callback threads: short critical sections only, never a wait.
  void StreamEstablished() { established_.fetch_add(1); }
  void EventDelivered() { delivered_.fetch_add(1); }
  void StreamDone(bool established, const grpc::Status& status) {
    std::lock_guard<std::mutex> lock(mu_);
    ++done_;
    if (!established) ++failed_to_establish_;
    if (!cancelling_ || status.error_code() != grpc::StatusCode::CANCELLED) {
      ++end_status_[absl::StrCat(established ? "after first message: " : "before first message: ",
                                 status.error_code(), " ", status.error_message())];
    }
    cv_.notify_all();
  }

 private:
  void LoadHandsets();
  std::shared_ptr<grpc::Channel> NewChannel(const std::string& target, int distinct);
  std::vector<ProcSample> SampleServers(bool per_thread);
  void Submit(int target, int handset, int64_t seq);
  void SubmitLoop(const std::vector<int>& targets, Clock::time_point start);

  Flags f_;
  std::vector<Handset> cells_, hot_;
  std::vector<std::unique_ptr<Watcher>> watchers_;  // cells first, then hot
  std::vector<std::vector<std::unique_ptr<v1::ReportService::Stub>>> submit_stubs_;
  std::vector<std::shared_ptr<grpc::Channel>> submit_channels_;

  std::atomic<int> established_{0};
  std::atomic<int64_t> delivered_{0};
  std::atomic<int> in_flight_{0};
  std::atomic<int64_t> skipped_{0};

  std::mutex mu_;
  std::condition_variable cv_;
  int done_ = 0;
  int failed_to_establish_ = 0;
  bool cancelling_ = false;
  std::map<std::string, int> end_status_;
  std::map<std::string, int> submit_errors_;
  std::unordered_map<std::string, SubmitRecord> cases_;  // case_id -> how it was submitted
  std::vector<SubmitRecord> submits_;
  int submits_answered_ = 0;
  int64_t submitted_ = 0;
  int64_t next_seq_ = 0;  // submitter thread only
};

// One load phase: reports at the steady rate through `targets`, and what the processes spent.
struct Phase {
  std::vector<int> targets;
  std::vector<ProcSample> servers_a, servers_b;
  ProcSample db_a, db_b, client_a, client_b;
  double wall_s = 0;  // the submitting window
};

void Watcher::OnReadDone(bool ok) {
  if (!ok) return;  // the stream ended: OnDone follows
  if (!established_) {
    established_ = true;
    bench_->StreamEstablished();
  }
  if (message_.has_event()) {
    const auto& t = message_.event().event_time();
    int64_t sent = t.seconds() * 1000000 + t.nanos() / 1000;
    deliveries_.push_back({sent, WallMicros() - sent, message_.event().case_id()});
    bench_->EventDelivered();
  } else {
    heartbeat_us_.push_back(WallMicros());
  }
  StartRead(&message_);
}

void Watcher::OnDone(const grpc::Status& status) { bench_->StreamDone(established_, status); }

void Bench::LoadHandsets() {
  std::ifstream in(f_.tokens);
  if (!in) Usage("cannot read --tokens " + f_.tokens);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> parts = absl::StrSplit(line, '\t');
    if (parts.size() != 4) Usage("bad line in " + f_.tokens + ": " + line);
    Handset h{parts[0], parts[1], parts[2], parts[3] == "street"};
    (h.hot ? hot_ : cells_).push_back(std::move(h));
  }
  if (static_cast<int>(cells_.size()) < f_.streams) {
    Usage(absl::StrCat(f_.tokens, " has ", cells_.size(), " cell leaders, --streams wants ",
                       f_.streams));
  }
  cells_.resize(f_.streams);
  if (!f_.hot_streams) hot_.clear();
}

std::shared_ptr<grpc::Channel> Bench::NewChannel(const std::string& target, int distinct) {
  grpc::ChannelArguments args;
  // One TCP connection per handset: without this, channels with equal arguments share one.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt("gridline.bench.handset", distinct);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

std::vector<ProcSample> Bench::SampleServers(bool per_thread) {
  std::vector<ProcSample> out;
  for (int pid : f_.server_pids) out.push_back(SampleProcess(pid, per_thread));
  return out;
}

void Bench::Submit(int target, int handset, int64_t seq) {
  struct Call {
    grpc::ClientContext ctx;
    v1::SubmitReportRequest req;
    v1::SubmitReportResponse resp;
    Clock::time_point start;
    int64_t start_us;
  };
  auto* call = new Call;
  const Handset& who = cells_[handset];
  call->ctx.AddMetadata("authorization", "Bearer " + who.token);
  call->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  call->req.set_request_id(absl::StrCat("bench-", getpid(), "-", seq));
  call->req.set_category_code(f_.category);
  call->req.set_description(absl::StrCat("压测上报 ", seq, "：路面破损"));
  call->req.mutable_location()->set_grid_code(who.grid_code);
  call->req.mutable_location()->set_address("新郑市郑韩路");
  call->req.set_urgency(v1::NORMAL);
  auto& stubs = submit_stubs_[target];
  auto* stub = stubs[seq % stubs.size()].get();
  in_flight_.fetch_add(1);
  call->start = Clock::now();
  call->start_us = WallMicros();
  stub->async()->SubmitReport(
      &call->ctx, &call->req, &call->resp, [this, call, target, handset](grpc::Status status) {
        SubmitRecord r;
        r.target = target;
        r.handset = handset;
        r.ok = status.ok();
        r.start_us = call->start_us;
        r.rpc_us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - call->start)
                       .count();
        {
          std::lock_guard<std::mutex> lock(mu_);
          submits_.push_back(r);
          ++submits_answered_;
          if (status.ok()) {
            cases_[call->resp.case_().case_id()] = r;
          } else {
            ++submit_errors_[absl::StrCat(status.error_code(), " ", status.error_message())];
          }
        }
        in_flight_.fetch_sub(1);
        cv_.notify_all();
        delete call;
      });
}

void Bench::SubmitLoop(const std::vector<int>& targets, Clock::time_point start) {
  std::mt19937 rng(12345 + static_cast<unsigned>(next_seq_));
  std::uniform_int_distribution<int> pick(0, static_cast<int>(cells_.size()) - 1);
  const int64_t total = static_cast<int64_t>(f_.rate * f_.duration_s);
  const auto period = std::chrono::duration<double>(1.0 / f_.rate);
  for (int64_t i = 0; i < total; ++i) {
    std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(period * i));
    if (in_flight_.load() >= f_.max_in_flight) {
      skipped_.fetch_add(1);
      continue;
    }
    Submit(targets[i % targets.size()], pick(rng), next_seq_++);
    std::lock_guard<std::mutex> lock(mu_);
    ++submitted_;
  }
}

int Bench::Run() {
  if (f_.watch_targets.empty()) Usage("--watch_targets is required");
  if (f_.submit_targets.empty()) f_.submit_targets = {f_.watch_targets[0]};
  if (f_.rate <= 0 || f_.duration_s <= 0 || f_.open_rate <= 0) Usage("rates must be positive");
  LoadHandsets();

  // Every stream is a socket: raise the open-file limit as far as allowed.
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
  getrlimit(RLIMIT_NOFILE, &lim);
  const int total_streams = static_cast<int>(cells_.size() + hot_.size());
  std::fprintf(stderr, "watch_bench: open-file limit %llu; %d streams (%zu cell + %zu street)\n",
               static_cast<unsigned long long>(lim.rlim_cur), total_streams, cells_.size(),
               hot_.size());

  // Submit channels first, connected, so that the baseline includes them.
  for (size_t t = 0; t < f_.submit_targets.size(); ++t) {
    submit_stubs_.emplace_back();
    for (int c = 0; c < f_.submit_channels; ++c) {
      auto ch = NewChannel(f_.submit_targets[t], -1 - static_cast<int>(t * 100 + c));
      if (!ch->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10))) {
        std::fprintf(stderr, "watch_bench: cannot connect to %s\n", f_.submit_targets[t].c_str());
        return 1;
      }
      submit_channels_.push_back(ch);
      submit_stubs_.back().push_back(v1::ReportService::NewStub(ch));
    }
  }

  const auto baseline = SampleServers(false);
  const ProcSample client_baseline = SampleProcess(getpid(), false);

  // ---- open the streams, paced ----
  const auto open_start = Clock::now();
  std::vector<const Handset*> order;
  for (const auto& h : cells_) order.push_back(&h);
  for (const auto& h : hot_) order.push_back(&h);
  for (int i = 0; i < total_streams; ++i) {
    std::this_thread::sleep_until(
        open_start + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(static_cast<double>(i) / f_.open_rate)));
    const std::string& target = f_.watch_targets[i % f_.watch_targets.size()];
    watchers_.push_back(std::make_unique<Watcher>(this, i, NewChannel(target, i), *order[i]));
    watchers_.back()->Start();
    if ((i + 1) % 2000 == 0) {
      std::fprintf(stderr, "watch_bench: started %d streams, %d established\n", i + 1,
                   established_.load());
    }
  }
  const auto open_issued = Clock::now();
  std::fprintf(stderr, "watch_bench: %d streams started in %.1f s; waiting for first messages\n",
               total_streams, Seconds(open_issued - open_start));
  Clock::time_point all_established = open_issued;
  {
    auto deadline = open_issued + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(f_.open_timeout_s));
    auto next_note = Clock::now() + std::chrono::seconds(5);
    std::unique_lock<std::mutex> lock(mu_);
    while (established_.load() + failed_to_establish_ < total_streams && Clock::now() < deadline) {
      cv_.wait_for(lock, std::chrono::milliseconds(100));
      if (Clock::now() >= next_note) {
        next_note += std::chrono::seconds(5);
        std::fprintf(stderr, "watch_bench: %d established, %d ended\n", established_.load(), done_);
      }
    }
    all_established = Clock::now();
  }
  const int established_streams = established_.load();
  std::fprintf(stderr, "watch_bench: %d of %d streams established after %.1f s\n",
               established_streams, total_streams, Seconds(all_established - open_start));

  // ---- idle: every stream open, heartbeats only ----
  const auto with_streams = SampleServers(false);
  const auto idle_start = Clock::now();
  const auto idle_a = SampleServers(false);
  std::this_thread::sleep_for(std::chrono::duration<double>(f_.idle_s));
  const auto idle_b = SampleServers(false);
  const double idle_wall = Seconds(Clock::now() - idle_start);
  const int64_t delivered_before_load = delivered_.load();

  // ---- load: one phase (round-robin over the submit targets) or one per target ----
  std::vector<Phase> phases;
  if (f_.sequential) {
    for (size_t t = 0; t < f_.submit_targets.size(); ++t) {
      phases.push_back(Phase{{static_cast<int>(t)}});
    }
  } else {
    phases.emplace_back();
    for (size_t t = 0; t < f_.submit_targets.size(); ++t) {
      phases.back().targets.push_back(static_cast<int>(t));
    }
  }
  const int64_t load_start_us = WallMicros();
  for (Phase& phase : phases) {
    std::string via;
    for (int t : phase.targets)
      absl::StrAppend(&via, via.empty() ? "" : ", ", f_.submit_targets[t]);
    std::fprintf(stderr, "watch_bench: submitting %.0f reports/s for %.0f s via %s\n", f_.rate,
                 f_.duration_s, via.c_str());
    const int64_t delivered_before = delivered_.load();
    phase.servers_a = SampleServers(true);
    phase.db_a = f_.db_pid ? SampleProcess(f_.db_pid, false) : ProcSample();
    phase.client_a = SampleProcess(getpid(), false);
    const auto start = Clock::now();
    std::thread submitter([this, &phase, start] { SubmitLoop(phase.targets, start); });
    for (int s = 10; s < f_.duration_s; s += 10) {
      std::this_thread::sleep_until(start + std::chrono::seconds(s));
      std::fprintf(stderr, "watch_bench: t=%ds delivered %lld, submits in flight %d\n", s,
                   static_cast<long long>(delivered_.load() - delivered_before), in_flight_.load());
    }
    submitter.join();
    phase.wall_s = Seconds(Clock::now() - start);
    phase.servers_b = SampleServers(true);
    phase.db_b = f_.db_pid ? SampleProcess(f_.db_pid, false) : ProcSample();
    phase.client_b = SampleProcess(getpid(), false);
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::seconds(40), [&] { return in_flight_.load() == 0; });
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(f_.drain_s));
  }
  const auto after_load = SampleServers(false);
  const ProcSample client_loaded = SampleProcess(getpid(), false);

  // ---- close every stream ----
  int ended_before_close;
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancelling_ = true;
    ended_before_close = done_;
  }
  for (auto& w : watchers_) w->Cancel();
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(60), [&] { return done_ == total_streams; });
    if (done_ != total_streams) {
      std::fprintf(stderr, "watch_bench: only %d of %d streams ended after cancel\n", done_,
                   total_streams);
    }
  }
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const auto after_close = SampleServers(false);
  // Then drop the connections too (each watcher owns its channel), keeping what was received.
  std::vector<std::vector<Delivery>> received(watchers_.size());
  std::vector<bool> was_established(watchers_.size());
  std::map<int64_t, int> heartbeats_by_s;  // by second of arrival, wall clock
  for (size_t i = 0; i < watchers_.size(); ++i) {
    received[i] = watchers_[i]->deliveries();
    was_established[i] = watchers_[i]->established();
    for (int64_t t : watchers_[i]->heartbeat_us()) ++heartbeats_by_s[t / 1000000];
  }
  const auto disconnect_start = Clock::now();
  watchers_.clear();
  const double disconnect_s = Seconds(Clock::now() - disconnect_start);
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const auto after_disconnect = SampleServers(false);

  // ---- figures ----
  std::lock_guard<std::mutex> lock(mu_);
  // Latency per submit target and stream kind; expected deliveries: each accepted report to the
  // stream of its cell leader and of every street leader of its street.
  const size_t targets = f_.submit_targets.size();
  std::vector<std::vector<int64_t>> cell_lat(targets), hot_lat(targets);
  std::vector<int64_t> all_lat;
  std::set<std::pair<int, std::string>> got;  // (stream index, case id)
  int64_t delivered_known = 0, delivered_unknown = 0;
  for (size_t wi = 0; wi < received.size(); ++wi) {
    for (const Delivery& d : received[wi]) {
      auto it = cases_.find(d.case_id);
      if (it == cases_.end()) {
        ++delivered_unknown;
        continue;
      }
      ++delivered_known;
      bool hot = wi >= cells_.size();
      (hot ? hot_lat : cell_lat)[it->second.target].push_back(d.latency_us);
      all_lat.push_back(d.latency_us);
      got.emplace(static_cast<int>(wi), d.case_id);
    }
  }
  int64_t expected = 0, missing = 0;
  std::map<std::string, std::vector<int>> hot_by_street;
  for (size_t h = 0; h < hot_.size(); ++h) {
    hot_by_street[hot_[h].grid_code].push_back(static_cast<int>(cells_.size() + h));
  }
  for (const auto& [case_id, r] : cases_) {
    std::vector<int> should = {r.handset};
    const std::string street = cells_[r.handset].grid_code.substr(0, 9);
    for (int idx : hot_by_street[street]) should.push_back(idx);
    for (int idx : should) {
      if (!was_established[idx]) continue;
      ++expected;
      if (!got.count({idx, case_id})) ++missing;
    }
  }
  std::vector<std::vector<int64_t>> rpc_us(targets);
  std::vector<int> ok_by_target(targets, 0);
  for (const auto& s : submits_) {
    if (!s.ok) continue;
    rpc_us[s.target].push_back(s.rpc_us);
    ++ok_by_target[s.target];
  }

  auto PhaseName = [&](const Phase& phase) -> std::string {
    if (phases.size() == 1) return "";
    std::string via;
    for (int t : phase.targets)
      absl::StrAppend(&via, via.empty() ? "" : ", ", f_.submit_targets[t]);
    return absl::StrCat(" (submitting via ", via, ")");
  };
  std::printf("\n### %s\n\n", f_.label.c_str());
  std::printf("| figure | value |\n|---|---|\n");
  std::printf(
      "| watch streams requested / established | %d / %d (%zu cell leaders + %zu street "
      "leaders; one TCP connection each) |\n",
      total_streams, established_streams, cells_.size(), hot_.size());
  std::printf(
      "| streams started in / all established after | %.1f s / %.1f s (first message "
      "is the hub's heartbeat tick) |\n",
      Seconds(open_issued - open_start), Seconds(all_established - open_start));
  std::printf("| streams ended before the benchmark closed them | %d |\n", ended_before_close);
  for (size_t p = 0; p < f_.server_pids.size(); ++p) {
    const auto& b = baseline[p];
    const auto& w = with_streams[p];
    if (!b.ok || !w.ok) {
      std::printf("| server pid %d | not readable |\n", f_.server_pids[p]);
      continue;
    }
    std::string who = absl::StrCat("server ", p + 1, " (pid ", f_.server_pids[p], ")");
    int64_t per = established_streams > 0 ? (w.rss_kb - b.rss_kb) * 1024 / established_streams : 0;
    std::printf(
        "| %s RSS: no streams / streams open / after load / streams cancelled / connections "
        "closed | %s / %s / %s / %s / %s |\n",
        who.c_str(), Mib(b.rss_kb).c_str(), Mib(w.rss_kb).c_str(),
        Mib(after_load[p].rss_kb).c_str(), Mib(after_close[p].rss_kb).c_str(),
        Mib(after_disconnect[p].rss_kb).c_str());
    if (p == 0 || f_.watch_targets.size() > 1) {
      std::printf("| %s RSS per open stream | %.1f KiB |\n", who.c_str(),
                  static_cast<double>(per) / 1024.0);
    }
    std::printf(
        "| %s threads: no streams / streams open / after load / streams cancelled / connections "
        "closed | %d / %d / %d / %d / %d |\n",
        who.c_str(), b.threads, w.threads, after_load[p].threads, after_close[p].threads,
        after_disconnect[p].threads);
    std::printf(
        "| %s open fds: no streams / streams open / streams cancelled / connections closed | %d "
        "/ %d / %d / %d |\n",
        who.c_str(), b.fds, w.fds, after_close[p].fds, after_disconnect[p].fds);
    std::printf("| %s CPU, idle with streams open (%.0f s window) | %.0f%% of one core |\n",
                who.c_str(), idle_wall, 100 * (idle_b[p].cpu_s - idle_a[p].cpu_s) / idle_wall);
    for (const Phase& phase : phases) {
      std::printf("| %s CPU under load%s | %.0f%% of one core; busiest threads: %s |\n",
                  who.c_str(), PhaseName(phase).c_str(),
                  100 * (phase.servers_b[p].cpu_s - phase.servers_a[p].cpu_s) / phase.wall_s,
                  BusiestThreads(phase.servers_a[p], phase.servers_b[p], phase.wall_s).c_str());
    }
  }
  for (const Phase& phase : phases) {
    if (phase.db_a.ok && phase.db_b.ok) {
      std::printf("| database (pid %d) CPU under load%s; RSS | %.0f%% of one core; %s |\n",
                  f_.db_pid, PhaseName(phase).c_str(),
                  100 * (phase.db_b.cpu_s - phase.db_a.cpu_s) / phase.wall_s,
                  Mib(phase.db_b.rss_kb).c_str());
    }
  }
  for (const Phase& phase : phases) {
    std::printf("| benchmark client CPU under load%s (same machine) | %.0f%% of one core |\n",
                PhaseName(phase).c_str(),
                100 * (phase.client_b.cpu_s - phase.client_a.cpu_s) / phase.wall_s);
  }
  std::printf("| benchmark client RSS: before streams / with streams | %s / %s |\n",
              Mib(client_baseline.rss_kb).c_str(), Mib(client_loaded.rss_kb).c_str());
  std::printf("| client: time to close %d channels | %.1f s |\n", total_streams, disconnect_s);
  double submit_window = 0;
  for (const Phase& phase : phases) submit_window += phase.wall_s;
  std::printf(
      "| reports: offered / sent / answered OK / failed / skipped (over %d in flight) | "
      "%lld / %lld / %zu / %d / %lld (%.0f/s offered for %.0f s in all) |\n",
      f_.max_in_flight, static_cast<long long>(f_.rate * f_.duration_s * phases.size()),
      static_cast<long long>(submitted_), cases_.size(),
      submits_answered_ - static_cast<int>(cases_.size()), static_cast<long long>(skipped_.load()),
      f_.rate, submit_window);
  for (const auto& [err, n] : submit_errors_) {
    std::printf("| submit error | %d × %s |\n", n, err.c_str());
  }
  std::printf(
      "| events delivered (of reports above) / expected / missing | %lld / %lld / %lld "
      "(+%lld events of earlier runs) |\n",
      static_cast<long long>(delivered_known), static_cast<long long>(expected),
      static_cast<long long>(missing), static_cast<long long>(delivered_unknown));
  std::printf("| events delivered per second (while submitting) | %.0f |\n",
              static_cast<double>(delivered_known) / submit_window);
  for (const auto& [st, n] : end_status_) {
    std::printf("| streams ended by the server (%s) | %d |\n", st.c_str(), n);
  }

  std::printf(
      "\n| delivery latency, event_time to client receive | events | p50 ms | p99 ms | "
      "max ms | mean ms |\n|---|---|---|---|---|---|\n");
  auto row = [&](const std::string& what, const std::vector<int64_t>& v) {
    Percentiles p = Summarise(v);
    if (p.n == 0) return;
    std::printf("| %s | %zu | %s | %s | %s | %s |\n", what.c_str(), p.n, Ms(p.p50_ms).c_str(),
                Ms(p.p99_ms).c_str(), Ms(p.max_ms).c_str(), Ms(p.mean_ms).c_str());
  };
  for (size_t t = 0; t < targets; ++t) {
    std::string where = f_.submit_targets[t] == f_.watch_targets[0]
                            ? "same replica"
                            : (f_.watch_targets.size() == 1 ? "other replica" : "");
    std::string name = absl::StrCat("submitted via ", f_.submit_targets[t],
                                    where.empty() ? "" : absl::StrCat(" (", where, ")"));
    row(absl::StrCat(name, ", cell leader's stream"), cell_lat[t]);
    row(absl::StrCat(name, ", street leaders' streams"), hot_lat[t]);
  }
  row("all", all_lat);
  std::printf(
      "\n| SubmitReport RPC (client-observed) | OK | p50 ms | p99 ms | max ms | mean ms "
      "|\n|---|---|---|---|---|---|\n");
  for (size_t t = 0; t < targets; ++t) {
    Percentiles p = Summarise(rpc_us[t]);
    std::printf("| via %s | %d | %s | %s | %s | %s |\n", f_.submit_targets[t].c_str(),
                ok_by_target[t], Ms(p.p50_ms).c_str(), Ms(p.p99_ms).c_str(), Ms(p.max_ms).c_str(),
                Ms(p.mean_ms).c_str());
  }
  if (f_.timeline_s > 0) {
    // By the second of the event (commit) and of the submit call, from the first submit.
    const int64_t bucket_us = int64_t{f_.timeline_s} * 1000000;
    std::map<int64_t, std::vector<int64_t>> lat_by, rpc_by;
    for (const auto& r : received) {
      for (const Delivery& d : r) {
        if (cases_.count(d.case_id)) {
          lat_by[(d.event_us - load_start_us) / bucket_us].push_back(d.latency_us);
        }
      }
    }
    for (const auto& sub : submits_) {
      if (sub.ok) rpc_by[(sub.start_us - load_start_us) / bucket_us].push_back(sub.rpc_us);
    }
    std::printf(
        "\n| timeline: %d s from | reports OK | SubmitReport p99 / max ms | events delivered | "
        "delivery p50 / p99 / max ms | heartbeats received |\n|---|---|---|---|---|---|\n",
        f_.timeline_s);
    for (const auto& [b, rpcs] : rpc_by) {
      Percentiles r = Summarise(rpcs);
      Percentiles l = Summarise(lat_by[b]);
      int heartbeats = 0;
      for (int64_t sec = (load_start_us + b * bucket_us) / 1000000;
           sec < (load_start_us + (b + 1) * bucket_us) / 1000000; ++sec) {
        auto it = heartbeats_by_s.find(sec);
        if (it != heartbeats_by_s.end()) heartbeats += it->second;
      }
      std::printf("| %lld s | %zu | %s / %s | %zu | %s / %s / %s | %d |\n",
                  static_cast<long long>(b * f_.timeline_s), r.n, Ms(r.p99_ms).c_str(),
                  Ms(r.max_ms).c_str(), l.n, Ms(l.p50_ms).c_str(), Ms(l.p99_ms).c_str(),
                  Ms(l.max_ms).c_str(), heartbeats);
    }
  }
  std::printf("\n");
  std::fflush(stdout);
  // Tearing down thousands of channels adds nothing to the figures.
  std::_Exit(0);
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags = ParseFlags(argc, argv);
  if (!flags.generate_org.empty() || !flags.generate_tokens.empty()) return Generate(flags);
  Bench bench(std::move(flags));
  return bench.Run();
}
