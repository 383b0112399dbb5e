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
//               --streams N --rate R --duration S [--server_pids PID[,...]] [--db_pid PID]
//               [--sequential] [--client_processes K] [--metrics_targets HOST:PORT[,...]] ...
//     Opens N WatchCases streams of N cell leaders (plus the street leaders), each on a channel
//     of its own (a TCP connection of its own: local subchannel pool), spread round-robin over
//     the watch targets, from K child processes that use the callback API (no thread per
//     stream). Waits until every stream has delivered its first message (the hub's heartbeat
//     tick), then submits reports from this process at a steady, open-loop rate: each by a
//     random cell leader into their own cell, round-robin over the submit targets, or with
//     --sequential one phase per submit target. Every delivered event's latency is the client's
//     receive time minus CaseEvent.event_time (the server takes that time just before the
//     report's transaction; same machine, same clock). Reads RSS, threads, open files and CPU
//     of the given server (and database) processes from /proc, and with --metrics_targets (the
//     servers' Prometheus endpoints, in --server_pids order) how often each read the event table
//     (gridline_feed_polls_total) and the peer notifications it sent and received, idle and
//     under load. Prints Markdown tables: with
//     streams on replica A and --sequential submits through A and then B, the same-replica and
//     cross-replica figures side by side.
#include <arpa/inet.h>
#include <dirent.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
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
#include "bench/bench_util.h"
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
  std::vector<std::string> metrics_targets;  // the servers' /metrics, in server_pids order
  int db_pid = 0;                            // the database server, for its CPU and RSS
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
  // > 0: do not wait for each stream's first message (for runs with heartbeats off); wait this
  // long after the last start and count every stream not ended as open.
  double establish_wait_s = 0;
  std::string category = "C01_ROAD_DAMAGE";
  int client_processes = 4;  // the watch streams are spread over this many child processes
};

[[noreturn]] void Usage(const std::string& error) {
  std::fprintf(stderr, "watch_bench: %s\n(see the header of bench/watch_bench.cc)\n",
               error.c_str());
  std::exit(2);
}

using gridline::bench::SplitList;

double ToDouble(const std::string& name, const std::string& v) {
  return gridline::bench::ParseNumber<double>(name, v, Usage);
}

int ToInt(const std::string& name, const std::string& v) {
  return gridline::bench::ParseNumber<int>(name, v, Usage);
}

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    gridline::bench::FlagArg flag(argc, argv, &i, [](const std::string& e) { Usage(e); });
    const std::string name = flag.name();
    auto take = [&flag]() { return flag.Value(); };
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
    } else if (name == "--metrics_targets") {
      f.metrics_targets = SplitList(take());
    } else if (name == "--db_pid") {
      f.db_pid = ToInt(name, take());
    } else if (name == "--label") {
      f.label = take();
    } else if (name == "--streams") {
      f.streams = ToInt(name, take());
    } else if (name == "--establish_wait") {
      f.establish_wait_s = ToDouble(name, take());
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
    } else if (name == "--client_processes") {
      f.client_processes = ToInt(name, take());
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

// ---- the servers' Prometheus endpoints ------------------------------------------------------

// What the benchmark reads from one scrape: the reads of the event table by cause, and the peer
// notifications (issue 16).
struct MetricSample {
  bool ok = false;
  std::map<std::string, double> polls;  // reason -> count
  double sent_ok = 0, sent_failed = 0, sent_dropped = 0;
  double received_new = 0, received_known = 0, received_refused = 0;
  // gridline_store_commit_duration_seconds: all, and those within 10 and 20 ms.
  double commits = 0, commits_10ms = 0, commits_20ms = 0;
  double polls_total() const {
    double n = 0;
    for (const auto& [reason, v] : polls) n += v;
    return n;
  }
};

// The value of label `key` in "name{a="x",key="y"}", or "".
std::string LabelOf(const std::string& series, const std::string& key) {
  const std::string needle = key + "=\"";
  auto at = series.find(needle);
  if (at == std::string::npos) return "";
  at += needle.size();
  return series.substr(at, series.find('"', at) - at);
}

// GET /metrics over a plain socket (HTTP/1.0: the server closes after the answer).
MetricSample ScrapeMetrics(const std::string& target) {
  MetricSample m;
  const auto colon = target.rfind(':');
  if (colon == std::string::npos) return m;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::atoi(target.c_str() + colon + 1)));
  if (inet_pton(AF_INET, target.substr(0, colon).c_str(), &addr.sin_addr) != 1) return m;
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return m;
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return m;
  }
  const std::string request = "GET /metrics HTTP/1.0\r\nHost: " + target + "\r\n\r\n";
  if (write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
    close(fd);
    return m;
  }
  std::string response;
  char buf[65536];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;)
    response.append(buf, static_cast<size_t>(n));
  close(fd);
  const auto body = response.find("\r\n\r\n");
  if (response.rfind("HTTP/1.", 0) != 0 || body == std::string::npos) return m;
  std::istringstream in(response.substr(body + 4));
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    const std::string series = line.substr(0, space);
    const double v = std::atof(line.c_str() + space + 1);
    if (series.rfind("gridline_store_commit_duration_seconds_", 0) == 0) {
      if (series.rfind("gridline_store_commit_duration_seconds_count", 0) == 0) {
        m.commits += v;
      } else if (LabelOf(series, "le") == "0.01") {
        m.commits_10ms += v;
      } else if (LabelOf(series, "le") == "0.02") {
        m.commits_20ms += v;
      }
    } else if (series.rfind("gridline_feed_polls_total{", 0) == 0) {
      m.polls[LabelOf(series, "reason")] += v;
    } else if (series.rfind("gridline_peer_notifications_sent_total{", 0) == 0) {
      const std::string result = LabelOf(series, "result");
      (result == "ok" ? m.sent_ok : result == "failed" ? m.sent_failed : m.sent_dropped) += v;
    } else if (series.rfind("gridline_peer_notifications_received_total{", 0) == 0) {
      const std::string outcome = LabelOf(series, "outcome");
      (outcome == "new"     ? m.received_new
       : outcome == "known" ? m.received_known
                            : m.received_refused) += v;
    }
  }
  m.ok = true;
  return m;
}

// "12.3/s (interval 1.0, peer 11.3)": reads of the event table per second between two scrapes.
std::string PollRate(const MetricSample& a, const MetricSample& b, double wall_s) {
  if (!a.ok || !b.ok || wall_s <= 0) return "not scraped";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f/s", (b.polls_total() - a.polls_total()) / wall_s);
  std::string out = buf;
  std::string parts;
  for (const auto& [reason, v] : b.polls) {
    auto it = a.polls.find(reason);
    const double d = v - (it == a.polls.end() ? 0 : it->second);
    if (d <= 0) continue;
    std::snprintf(buf, sizeof buf, "%s%s %.2f", parts.empty() ? "" : ", ", reason.c_str(),
                  d / wall_s);
    parts += buf;
  }
  return parts.empty() ? out : out + " (" + parts + ")";
}

// "sent 120 ok / 0 failed / 0 dropped; received 118 new / 2 known".
std::string Notifications(const MetricSample& a, const MetricSample& b) {
  if (!a.ok || !b.ok) return "not scraped";
  char buf[160];
  std::snprintf(buf, sizeof buf,
                "sent %.0f ok / %.0f failed / %.0f dropped; received %.0f new / "
                "%.0f known",
                b.sent_ok - a.sent_ok, b.sent_failed - a.sent_failed,
                b.sent_dropped - a.sent_dropped, b.received_new - a.received_new,
                b.received_known - a.received_known);
  return buf;
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

std::string Ms(double ms) { return gridline::bench::ThreeDigits(ms); }

std::string Mib(int64_t kb) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(kb) / 1024.0);
  return buf;
}

// ---- handsets ---------------------------------------------------------------------------------

struct Handset {
  std::string token, user_id, grid_code;
  bool hot = false;
};

// The cell leaders (the first --streams of the file) followed by the street leaders.
std::vector<Handset> LoadHandsets(const Flags& f, int* cells) {
  std::ifstream in(f.tokens);
  if (!in) Usage("cannot read --tokens " + f.tokens);
  std::vector<Handset> cell, hot;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> parts = absl::StrSplit(line, '\t');
    if (parts.size() != 4) Usage("bad line in " + f.tokens + ": " + line);
    Handset h{parts[0], parts[1], parts[2], parts[3] == "street"};
    (h.hot ? hot : cell).push_back(std::move(h));
  }
  if (static_cast<int>(cell.size()) < f.streams) {
    Usage(
        absl::StrCat(f.tokens, " has ", cell.size(), " cell leaders, --streams wants ", f.streams));
  }
  cell.resize(f.streams);
  *cells = f.streams;
  if (f.hot_streams) cell.insert(cell.end(), hot.begin(), hot.end());
  return cell;
}

std::shared_ptr<grpc::Channel> NewChannel(const std::string& target, int distinct) {
  grpc::ChannelArguments args;
  // One TCP connection per handset: without this, channels with equal arguments share one.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt("gridline.bench.handset", distinct);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

void RaiseFileLimit() {
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
}

void WriteAll(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    ssize_t n = write(fd, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

// ---- the watch streams: run in child processes ------------------------------------------------
//
// The client side runs in --client_processes children, forked before gRPC starts, each holding
// a share of the streams; the parent only submits and measures. This keeps per-process gRPC
// costs that grow with the number of calls in one process (Debian's libgrpc is built with
// assertions: every completion scans the list of outstanding operations of its queue) from
// dominating the client and blurring what the server does.
//
// Child -> parent, one line each: "S established failed done" every 200 ms; after "close":
// "B stream established ended_early", "D stream event_us latency_us case_id",
// "H second count" (heartbeats by arrival second), "T count<TAB>status", "END".
// Parent -> child: "close", then "exit".

struct Delivery {
  int64_t event_us;    // CaseEvent.event_time
  int64_t latency_us;  // received - event_us
  std::string case_id;
};

class WatchChild;

class Watcher final : public grpc::ClientReadReactor<v1::WatchEvent> {
 public:
  Watcher(WatchChild* child, int index, std::shared_ptr<grpc::Channel> channel, const Handset& who)
      : child_(child),
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

  // Reactions: never block (short critical sections only).
  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

  // Read only after OnDone.
  int index() const { return index_; }
  const std::vector<Delivery>& deliveries() const { return deliveries_; }
  const std::vector<int64_t>& heartbeat_us() const { return heartbeat_us_; }
  bool established() const { return established_; }
  bool ended_early() const { return ended_early_; }

 private:
  WatchChild* child_;
  int index_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ReportService::Stub> stub_;
  grpc::ClientContext ctx_;
  v1::WatchCasesRequest request_;
  v1::WatchEvent message_;
  std::vector<Delivery> deliveries_;
  std::vector<int64_t> heartbeat_us_;  // when each heartbeat arrived
  bool established_ = false;
  bool ended_early_ = false;  // before the benchmark cancelled it
};

class WatchChild {
 public:
  WatchChild(const Flags& f, int child, int children, int cmd_fd, int out_fd)
      : f_(f), child_(child), children_(children), cmd_fd_(cmd_fd), out_fd_(out_fd) {}
  [[noreturn]] void Run();

  void Established() { established_.fetch_add(1); }
  // True when the benchmark had cancelled the stream.
  bool Done(bool established, const grpc::Status& status) {
    std::lock_guard<std::mutex> lock(mu_);
    ++done_;
    if (!established) ++failed_;
    if (!cancelling_ || status.error_code() != grpc::StatusCode::CANCELLED) {
      ++end_status_[absl::StrCat(established ? "after first message: " : "before first message: ",
                                 status.error_code(), " ", status.error_message())];
    }
    cv_.notify_all();
    return cancelling_;
  }

 private:
  std::string ReadCommand();

  const Flags& f_;
  const int child_, children_, cmd_fd_, out_fd_;
  std::atomic<int> established_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  int done_ = 0, failed_ = 0;
  bool cancelling_ = false;
  std::map<std::string, int> end_status_;
};

void Watcher::OnReadDone(bool ok) {
  if (!ok) return;  // the stream ended: OnDone follows
  if (!established_) {
    established_ = true;
    child_->Established();
  }
  if (message_.has_event()) {
    const auto& t = message_.event().event_time();
    int64_t sent = t.seconds() * 1000000 + t.nanos() / 1000;
    deliveries_.push_back({sent, WallMicros() - sent, message_.event().case_id()});
  } else {
    heartbeat_us_.push_back(WallMicros());
  }
  StartRead(&message_);
}

void Watcher::OnDone(const grpc::Status& status) {
  ended_early_ = !child_->Done(established_, status);
}

std::string WatchChild::ReadCommand() {
  std::string line;
  char c;
  while (true) {
    ssize_t n = read(cmd_fd_, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return "exit";  // the parent is gone
    if (c == '\n') return line;
    line += c;
  }
}

void WatchChild::Run() {
  int cells = 0;
  std::vector<Handset> handsets = LoadHandsets(f_, &cells);
  std::vector<std::unique_ptr<Watcher>> watchers;
  const double rate = f_.open_rate / children_;
  const auto open_start = Clock::now();
  std::atomic<bool> stop_reporting{false};
  std::thread reporter([&] {
    std::string last;
    while (!stop_reporting.load()) {
      std::string line;
      {
        std::lock_guard<std::mutex> lock(mu_);
        line = absl::StrCat("S ", established_.load(), " ", failed_, " ", done_, "\n");
      }
      if (line != last) WriteAll(out_fd_, line);
      last = line;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  });
  int mine = 0;
  for (int i = child_; i < static_cast<int>(handsets.size()); i += children_, ++mine) {
    std::this_thread::sleep_until(
        open_start + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(static_cast<double>(mine) / rate)));
    const std::string& target = f_.watch_targets[i % f_.watch_targets.size()];
    watchers.push_back(std::make_unique<Watcher>(this, i, NewChannel(target, i), handsets[i]));
    watchers.back()->Start();
  }
  for (std::string command; command != "close" && command != "exit";) command = ReadCommand();
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancelling_ = true;
  }
  for (auto& w : watchers) w->Cancel();
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(60), [&] { return done_ == mine; });
    if (done_ != mine) {
      std::fprintf(stderr, "watch_bench: child %d: only %d of %d streams ended after cancel\n",
                   child_, done_, mine);
      std::_Exit(1);  // reading the watchers' state would race with their reactions
    }
  }
  stop_reporting = true;
  reporter.join();
  std::string out;
  std::map<int64_t, int> heartbeats_by_s;
  for (const auto& w : watchers) {
    absl::StrAppend(&out, "B ", w->index(), " ", w->established() ? 1 : 0, " ",
                    w->ended_early() ? 1 : 0, "\n");
    for (const Delivery& d : w->deliveries()) {
      absl::StrAppend(&out, "D ", w->index(), " ", d.event_us, " ", d.latency_us, " ", d.case_id,
                      "\n");
    }
    for (int64_t t : w->heartbeat_us()) ++heartbeats_by_s[t / 1000000];
    if (out.size() > (1 << 20)) {
      WriteAll(out_fd_, out);
      out.clear();
    }
  }
  for (const auto& [s, n] : heartbeats_by_s) absl::StrAppend(&out, "H ", s, " ", n, "\n");
  for (const auto& [st, n] : end_status_) {
    std::string text = st;
    std::replace(text.begin(), text.end(), '\n', ' ');
    absl::StrAppend(&out, "T ", n, "\t", text, "\n");
  }
  absl::StrAppend(&out, "END\n");
  WriteAll(out_fd_, out);
  ReadCommand();  // "exit": the parent has measured the server with the calls cancelled
  std::_Exit(0);  // closes every connection at once; tearing down channels one by one is slow
}

// ---- the parent: submits, measures, prints ----------------------------------------------------

struct SubmitRecord {
  int target = 0;
  int handset = 0;
  bool ok = false;
  int64_t start_us = 0;  // wall clock
  int64_t rpc_us = 0;
};

// One load phase: reports at the steady rate through `targets`, and what the processes spent.
struct Phase {
  std::vector<int> targets;
  std::vector<ProcSample> servers_a, servers_b;
  std::vector<MetricSample> metrics_a, metrics_b;
  ProcSample db_a, db_b;
  double client_a = 0, client_b = 0;  // CPU seconds of the benchmark's processes
  double wall_s = 0;                  // the submitting window
};

struct Child {
  pid_t pid = -1;
  int cmd_fd = -1, out_fd = -1;
  int established = 0, failed = 0, done = 0;
  bool finished = false;  // sent END, or died
  bool died = false;
};

class Bench {
 public:
  explicit Bench(Flags flags) : f_(std::move(flags)) {}
  int Run();

 private:
  void StartChildren();
  void ReadChild(int c);
  void SendAll(const std::string& command);
  std::vector<ProcSample> SampleServers(bool per_thread);
  std::vector<MetricSample> ScrapeServers();
  double ClientCpu();
  int64_t ClientRssKb();
  void Submit(int target, int handset, int64_t seq);
  void SubmitLoop(const std::vector<int>& targets, Clock::time_point start);
  void Report(const std::vector<Phase>& phases);

  Flags f_;
  std::vector<Handset> handsets_;  // cells first, then street leaders
  int cells_ = 0;
  std::vector<std::vector<std::unique_ptr<v1::ReportService::Stub>>> submit_stubs_;
  std::vector<std::shared_ptr<grpc::Channel>> submit_channels_;

  std::atomic<int> in_flight_{0};
  std::atomic<int64_t> skipped_{0};
  int64_t next_seq_ = 0;  // submitter thread only

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Child> children_;
  std::vector<std::thread> readers_;
  // From the children, after "close".
  std::vector<std::vector<Delivery>> received_;  // by stream
  std::vector<char> was_established_, ended_early_;
  std::map<int64_t, int> heartbeats_by_s_;
  std::map<std::string, int> end_status_;
  // From the submit callbacks.
  std::map<std::string, int> submit_errors_;
  std::unordered_map<std::string, SubmitRecord> cases_;  // case_id -> how it was submitted
  std::vector<SubmitRecord> submits_;
  int submits_answered_ = 0;
  int64_t submitted_ = 0;

  // Measurements for the report.
  int total_streams_ = 0, established_streams_ = 0;
  double started_s_ = 0, established_s_ = 0, idle_wall_ = 0;
  int64_t client_rss_kb_ = 0;
  std::vector<ProcSample> baseline_, with_streams_, idle_a_, idle_b_, after_load_, after_close_,
      after_disconnect_;
  std::vector<MetricSample> idle_metrics_a_, idle_metrics_b_;
  ProcSample db_end_;
  int64_t load_start_us_ = 0;
};

void Bench::StartChildren() {
  const int k = std::max(1, std::min(f_.client_processes, total_streams_));
  std::fflush(nullptr);
  for (int c = 0; c < k; ++c) {
    int to_child[2], from_child[2];
    if (pipe(to_child) != 0 || pipe(from_child) != 0) Usage("pipe failed");
    pid_t pid = fork();
    if (pid < 0) Usage("fork failed");
    if (pid == 0) {
      close(to_child[1]);
      close(from_child[0]);
      for (const Child& other : children_) {
        close(other.cmd_fd);
        close(other.out_fd);
      }
      WatchChild(f_, c, k, to_child[0], from_child[1]).Run();
    }
    close(to_child[0]);
    close(from_child[1]);
    Child child;
    child.pid = pid;
    child.cmd_fd = to_child[1];
    child.out_fd = from_child[0];
    children_.push_back(child);
  }
  for (int c = 0; c < k; ++c) readers_.emplace_back([this, c] { ReadChild(c); });
}

void Bench::ReadChild(int c) {
  FILE* in = fdopen(children_[c].out_fd, "r");
  char* buf = nullptr;
  size_t cap = 0;
  bool ended = false;
  while (in && getline(&buf, &cap, in) > 0) {
    std::string line(buf);
    if (!line.empty() && line.back() == '\n') line.pop_back();
    std::lock_guard<std::mutex> lock(mu_);
    if (line == "END") {
      ended = true;
      break;
    }
    if (line.size() < 2) continue;
    const char kind = line[0];
    std::string rest = line.substr(2);
    if (kind == 'T') {
      auto tab = rest.find('\t');
      end_status_[rest.substr(tab + 1)] += std::atoi(rest.c_str());
      continue;
    }
    std::vector<std::string> p = absl::StrSplit(rest, ' ');
    if (kind == 'S' && p.size() == 3) {
      children_[c].established = std::atoi(p[0].c_str());
      children_[c].failed = std::atoi(p[1].c_str());
      children_[c].done = std::atoi(p[2].c_str());
      cv_.notify_all();
    } else if (kind == 'B' && p.size() == 3) {
      int i = std::atoi(p[0].c_str());
      was_established_[i] = p[1] == "1";
      ended_early_[i] = p[2] == "1";
    } else if (kind == 'D' && p.size() == 4) {
      received_[std::atoi(p[0].c_str())].push_back(
          {std::atoll(p[1].c_str()), std::atoll(p[2].c_str()), p[3]});
    } else if (kind == 'H' && p.size() == 2) {
      heartbeats_by_s_[std::atoll(p[0].c_str())] += std::atoi(p[1].c_str());
    }
  }
  free(buf);
  std::lock_guard<std::mutex> lock(mu_);
  children_[c].finished = true;
  children_[c].died = !ended;
  cv_.notify_all();
}

void Bench::SendAll(const std::string& command) {
  for (const Child& c : children_) WriteAll(c.cmd_fd, command + "\n");
}

std::vector<ProcSample> Bench::SampleServers(bool per_thread) {
  std::vector<ProcSample> out;
  for (int pid : f_.server_pids) out.push_back(SampleProcess(pid, per_thread));
  return out;
}

std::vector<MetricSample> Bench::ScrapeServers() {
  std::vector<MetricSample> out;
  for (const auto& target : f_.metrics_targets) out.push_back(ScrapeMetrics(target));
  return out;
}

double Bench::ClientCpu() {
  double cpu = SampleProcess(getpid(), false).cpu_s;
  for (const Child& c : children_) cpu += SampleProcess(c.pid, false).cpu_s;
  return cpu;
}

int64_t Bench::ClientRssKb() {
  int64_t kb = SampleProcess(getpid(), false).rss_kb;
  for (const Child& c : children_) kb += SampleProcess(c.pid, false).rss_kb;
  return kb;
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
  const Handset& who = handsets_[handset];
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
  std::uniform_int_distribution<int> pick(0, cells_ - 1);
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
  handsets_ = LoadHandsets(f_, &cells_);
  total_streams_ = static_cast<int>(handsets_.size());
  received_.resize(total_streams_);
  was_established_.assign(total_streams_, 0);
  ended_early_.assign(total_streams_, 0);

  // Every stream is a socket: raise the open-file limit as far as allowed (children inherit).
  RaiseFileLimit();
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  std::fprintf(stderr,
               "watch_bench: open-file limit %llu; %d streams (%d cell + %d street) in %d client "
               "process(es)\n",
               static_cast<unsigned long long>(lim.rlim_cur), total_streams_, cells_,
               total_streams_ - cells_, std::max(1, std::min(f_.client_processes, total_streams_)));

  // The baseline: before any stream, and before this process starts gRPC (the children are
  // forked from a process without gRPC threads).
  baseline_ = SampleServers(false);
  const auto open_start = Clock::now();
  StartChildren();

  // Submit channels, connected.
  for (size_t t = 0; t < f_.submit_targets.size(); ++t) {
    submit_stubs_.emplace_back();
    for (int c = 0; c < f_.submit_channels; ++c) {
      auto ch = NewChannel(f_.submit_targets[t], -1 - static_cast<int>(t * 100 + c));
      if (!ch->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10))) {
        std::fprintf(stderr, "watch_bench: cannot connect to %s\n", f_.submit_targets[t].c_str());
        SendAll("close");
        SendAll("exit");
        return 1;
      }
      submit_channels_.push_back(ch);
      submit_stubs_.back().push_back(v1::ReportService::NewStub(ch));
    }
  }

  // ---- wait until every stream is open ----
  const double start_s = total_streams_ / f_.open_rate;
  started_s_ = start_s;
  {
    const auto wait_from = open_start + std::chrono::duration_cast<Clock::duration>(
                                            std::chrono::duration<double>(start_s));
    auto deadline =
        wait_from + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                        f_.establish_wait_s > 0 ? f_.establish_wait_s : f_.open_timeout_s));
    auto next_note = Clock::now() + std::chrono::seconds(5);
    std::unique_lock<std::mutex> lock(mu_);
    while (Clock::now() < deadline) {
      int est = 0, failed = 0;
      bool all_dead = true;
      for (const Child& c : children_) {
        est += c.established;
        failed += c.failed;
        all_dead = all_dead && c.finished;
      }
      if (all_dead) Usage("every client process ended before the streams were open");
      if (f_.establish_wait_s <= 0 && est + failed >= total_streams_) break;
      cv_.wait_for(lock, std::chrono::milliseconds(100));
      if (Clock::now() >= next_note) {
        next_note += std::chrono::seconds(5);
        std::fprintf(stderr, "watch_bench: %d established, %d failed\n", est, failed);
      }
    }
    int est = 0, done = 0;
    for (const Child& c : children_) {
      est += c.established;
      done += c.done;
    }
    // Without waiting for first messages, a stream counts as open unless it ended; its
    // deliveries then show whether the server really had it registered.
    established_streams_ = f_.establish_wait_s > 0 ? total_streams_ - done : est;
    established_s_ = Seconds(Clock::now() - open_start);
  }
  std::fprintf(stderr, "watch_bench: %d of %d streams open after %.1f s\n", established_streams_,
               total_streams_, established_s_);

  // ---- idle: every stream open, heartbeats only ----
  with_streams_ = SampleServers(false);
  client_rss_kb_ = ClientRssKb();
  const auto idle_start = Clock::now();
  idle_a_ = SampleServers(true);
  idle_metrics_a_ = ScrapeServers();
  std::this_thread::sleep_for(std::chrono::duration<double>(f_.idle_s));
  idle_metrics_b_ = ScrapeServers();
  idle_b_ = SampleServers(true);
  idle_wall_ = Seconds(Clock::now() - idle_start);

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
  load_start_us_ = WallMicros();
  for (Phase& phase : phases) {
    std::string via;
    for (int t : phase.targets) {
      absl::StrAppend(&via, via.empty() ? "" : ", ", f_.submit_targets[t]);
    }
    std::fprintf(stderr, "watch_bench: submitting %.0f reports/s for %.0f s via %s\n", f_.rate,
                 f_.duration_s, via.c_str());
    phase.servers_a = SampleServers(true);
    phase.metrics_a = ScrapeServers();
    phase.db_a = f_.db_pid ? SampleProcess(f_.db_pid, false) : ProcSample();
    phase.client_a = ClientCpu();
    const auto start = Clock::now();
    std::thread submitter([this, &phase, start] { SubmitLoop(phase.targets, start); });
    for (int s = 10; s < f_.duration_s; s += 10) {
      std::this_thread::sleep_until(start + std::chrono::seconds(s));
      std::lock_guard<std::mutex> lock(mu_);
      std::fprintf(stderr, "watch_bench: t=%ds answered %d, in flight %d\n", s, submits_answered_,
                   in_flight_.load());
    }
    submitter.join();
    phase.wall_s = Seconds(Clock::now() - start);
    phase.metrics_b = ScrapeServers();
    phase.servers_b = SampleServers(true);
    phase.db_b = f_.db_pid ? SampleProcess(f_.db_pid, false) : ProcSample();
    phase.client_b = ClientCpu();
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::seconds(40), [&] { return in_flight_.load() == 0; });
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(f_.drain_s));
  }
  after_load_ = SampleServers(false);
  if (f_.db_pid) db_end_ = SampleProcess(f_.db_pid, false);

  // ---- cancel every stream, then close the connections ----
  SendAll("close");
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(90), [&] {
      for (const Child& c : children_) {
        if (!c.finished) return false;
      }
      return true;
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(3));
  after_close_ = SampleServers(false);
  SendAll("exit");
  for (const Child& c : children_) waitpid(c.pid, nullptr, 0);
  for (auto& r : readers_) r.join();
  std::this_thread::sleep_for(std::chrono::seconds(3));
  after_disconnect_ = SampleServers(false);

  std::lock_guard<std::mutex> lock(mu_);
  for (const Child& c : children_) {
    if (c.died) std::fprintf(stderr, "watch_bench: client process %d died\n", c.pid);
  }
  Report(phases);
  std::fflush(stdout);
  std::_Exit(0);  // the submit channels' teardown adds nothing
}

void Bench::Report(const std::vector<Phase>& phases) {
  auto phase_name = [&](const Phase& phase) -> std::string {
    if (phases.size() == 1) return "";
    std::string via;
    for (int t : phase.targets) {
      absl::StrAppend(&via, via.empty() ? "" : ", ", f_.submit_targets[t]);
    }
    return absl::StrCat(" (submitting via ", via, ")");
  };
  // Latency per submit target and stream kind; expected deliveries: each accepted report to the
  // stream of its cell leader and of every street leader of its street.
  const size_t targets = f_.submit_targets.size();
  std::vector<std::vector<int64_t>> cell_lat(targets), hot_lat(targets);
  std::vector<int64_t> all_lat;
  std::set<std::pair<int, std::string>> got;  // (stream, case id)
  int64_t delivered_known = 0, delivered_unknown = 0;
  for (int i = 0; i < total_streams_; ++i) {
    for (const Delivery& d : received_[i]) {
      auto it = cases_.find(d.case_id);
      if (it == cases_.end()) {
        ++delivered_unknown;
        continue;
      }
      ++delivered_known;
      (i >= cells_ ? hot_lat : cell_lat)[it->second.target].push_back(d.latency_us);
      all_lat.push_back(d.latency_us);
      got.emplace(i, d.case_id);
    }
  }
  auto counts_as_open = [&](int i) {
    return was_established_[i] || (f_.establish_wait_s > 0 && !ended_early_[i]);
  };
  std::map<std::string, std::vector<int>> hot_by_street;
  for (int i = cells_; i < total_streams_; ++i) hot_by_street[handsets_[i].grid_code].push_back(i);
  int64_t expected = 0, missing = 0;
  for (const auto& [case_id, r] : cases_) {
    std::vector<int> should = {r.handset};
    for (int i : hot_by_street[handsets_[r.handset].grid_code.substr(0, 9)]) should.push_back(i);
    for (int i : should) {
      if (!counts_as_open(i)) continue;
      ++expected;
      if (!got.count({i, case_id})) ++missing;
    }
  }
  int ended_early = 0;
  for (int i = 0; i < total_streams_; ++i) ended_early += ended_early_[i];
  std::vector<std::vector<int64_t>> rpc_us(targets);
  for (const auto& s : submits_) {
    if (s.ok) rpc_us[s.target].push_back(s.rpc_us);
  }

  std::printf("\n### %s\n\n", f_.label.c_str());
  std::printf("| figure | value |\n|---|---|\n");
  std::printf(
      "| watch streams requested / open | %d / %d (%d cell leaders + %d street leaders; one "
      "channel and TCP connection each; %zu client processes) |\n",
      total_streams_, established_streams_, cells_, total_streams_ - cells_, children_.size());
  std::printf("| streams started in / %s after | %.1f s / %.1f s%s |\n",
              f_.establish_wait_s > 0 ? "counted as open" : "all had a first message", started_s_,
              established_s_,
              f_.establish_wait_s > 0 ? " (not verified by a first message: see missing deliveries)"
                                      : " (the first message is the hub's heartbeat tick)");
  std::printf("| streams ended before the benchmark closed them | %d |\n", ended_early);
  for (size_t p = 0; p < f_.server_pids.size(); ++p) {
    const auto& b = baseline_[p];
    const auto& w = with_streams_[p];
    if (!b.ok || !w.ok) {
      std::printf("| server pid %d | not readable |\n", f_.server_pids[p]);
      continue;
    }
    std::string who = absl::StrCat("server ", p + 1, " (pid ", f_.server_pids[p], ")");
    std::printf(
        "| %s RSS: no streams / streams open / after load / streams cancelled / connections "
        "closed | %s / %s / %s / %s / %s |\n",
        who.c_str(), Mib(b.rss_kb).c_str(), Mib(w.rss_kb).c_str(),
        Mib(after_load_[p].rss_kb).c_str(), Mib(after_close_[p].rss_kb).c_str(),
        Mib(after_disconnect_[p].rss_kb).c_str());
    if (w.fds - b.fds > 100 && established_streams_ > 0) {
      std::printf("| %s RSS per open stream | %.1f KiB |\n", who.c_str(),
                  static_cast<double>(w.rss_kb - b.rss_kb) / established_streams_);
    }
    std::printf(
        "| %s threads: no streams / streams open / after load / streams cancelled / connections "
        "closed | %d / %d / %d / %d / %d |\n",
        who.c_str(), b.threads, w.threads, after_load_[p].threads, after_close_[p].threads,
        after_disconnect_[p].threads);
    std::printf(
        "| %s open fds: no streams / streams open / streams cancelled / connections closed | %d "
        "/ %d / %d / %d |\n",
        who.c_str(), b.fds, w.fds, after_close_[p].fds, after_disconnect_[p].fds);
    std::printf(
        "| %s CPU, idle with streams open (%.0f s window) | %.0f%% of one core (%.2f CPU-s); "
        "busiest threads: %s |\n",
        who.c_str(), idle_wall_, 100 * (idle_b_[p].cpu_s - idle_a_[p].cpu_s) / idle_wall_,
        idle_b_[p].cpu_s - idle_a_[p].cpu_s,
        BusiestThreads(idle_a_[p], idle_b_[p], idle_wall_).c_str());
    for (const Phase& phase : phases) {
      std::printf("| %s CPU under load%s | %.0f%% of one core; busiest threads: %s |\n",
                  who.c_str(), phase_name(phase).c_str(),
                  100 * (phase.servers_b[p].cpu_s - phase.servers_a[p].cpu_s) / phase.wall_s,
                  BusiestThreads(phase.servers_a[p], phase.servers_b[p], phase.wall_s).c_str());
    }
    if (p < f_.metrics_targets.size()) {
      std::printf("| %s reads of the event table, idle with streams open (%.0f s window) | %s |\n",
                  who.c_str(), idle_wall_,
                  PollRate(idle_metrics_a_[p], idle_metrics_b_[p], idle_wall_).c_str());
      std::printf("| %s peer notifications, idle | %s |\n", who.c_str(),
                  Notifications(idle_metrics_a_[p], idle_metrics_b_[p]).c_str());
      for (const Phase& phase : phases) {
        std::printf("| %s reads of the event table under load%s | %s |\n", who.c_str(),
                    phase_name(phase).c_str(),
                    PollRate(phase.metrics_a[p], phase.metrics_b[p], phase.wall_s).c_str());
        std::printf("| %s peer notifications under load%s | %s |\n", who.c_str(),
                    phase_name(phase).c_str(),
                    Notifications(phase.metrics_a[p], phase.metrics_b[p]).c_str());
      }
    }
    for (const Phase& phase : phases) {
      // The floor under SubmitReport's latency: its commit (on SQLite, the WAL's fsync).
      if (p >= phase.metrics_a.size() || p >= phase.metrics_b.size()) continue;
      const MetricSample& a = phase.metrics_a[p];
      const MetricSample& b = phase.metrics_b[p];
      if (!a.ok || !b.ok) continue;
      const double n = b.commits - a.commits;
      const double over10 = n - (b.commits_10ms - a.commits_10ms);
      const double over20 = n - (b.commits_20ms - a.commits_20ms);
      std::printf(
          "| %s store commits under load%s (the COMMIT alone; on SQLite the WAL's fsync) | %.0f; "
          "over 10 ms: %.0f (%.1f%%); over 20 ms: %.0f (%.1f%%) |\n",
          who.c_str(), phase_name(phase).c_str(), n, over10, n > 0 ? 100 * over10 / n : 0.0, over20,
          n > 0 ? 100 * over20 / n : 0.0);
    }
  }
  for (const Phase& phase : phases) {
    if (phase.db_a.ok && phase.db_b.ok) {
      std::printf("| database (pid %d) CPU under load%s | %.0f%% of one core |\n", f_.db_pid,
                  phase_name(phase).c_str(),
                  100 * (phase.db_b.cpu_s - phase.db_a.cpu_s) / phase.wall_s);
    }
  }
  if (db_end_.ok) {
    std::printf("| database (pid %d) RSS after load | %s |\n", f_.db_pid,
                Mib(db_end_.rss_kb).c_str());
  }
  for (const Phase& phase : phases) {
    std::printf(
        "| benchmark client CPU under load%s (all its processes, same machine) | %.0f%% "
        "of one core |\n",
        phase_name(phase).c_str(), 100 * (phase.client_b - phase.client_a) / phase.wall_s);
  }
  std::printf("| benchmark client RSS with the streams open (all processes) | %s |\n",
              Mib(client_rss_kb_).c_str());
  double submit_window = 0;
  for (const Phase& phase : phases) submit_window += phase.wall_s;
  std::printf(
      "| reports: offered / sent / answered OK / failed / skipped (over %d in flight) | "
      "%lld / %lld / %zu / %d / %lld (%.0f/s for %.0f s in all) |\n",
      f_.max_in_flight, static_cast<long long>(f_.rate * f_.duration_s * phases.size()),
      static_cast<long long>(submitted_), cases_.size(),
      submits_answered_ - static_cast<int>(cases_.size()), static_cast<long long>(skipped_.load()),
      f_.rate, submit_window);
  for (const auto& [err, n] : submit_errors_) {
    std::printf("| submit error | %d × %s |\n", n, err.c_str());
  }
  std::printf(
      "| events delivered (of the reports above) / expected / missing | %lld / %lld / %lld "
      "(+%lld other events) |\n",
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
  if (targets > 1) row("all", all_lat);
  std::printf(
      "\n| SubmitReport RPC (client-observed) | OK | p50 ms | p99 ms | max ms | mean ms "
      "|\n|---|---|---|---|---|---|\n");
  for (size_t t = 0; t < targets; ++t) {
    Percentiles p = Summarise(rpc_us[t]);
    std::printf("| via %s | %zu | %s | %s | %s | %s |\n", f_.submit_targets[t].c_str(), p.n,
                Ms(p.p50_ms).c_str(), Ms(p.p99_ms).c_str(), Ms(p.max_ms).c_str(),
                Ms(p.mean_ms).c_str());
  }
  if (f_.timeline_s > 0) {
    // By the time of the event (commit) and of the submit call, from the first submit.
    const int64_t bucket_us = int64_t{f_.timeline_s} * 1000000;
    std::map<int64_t, std::vector<int64_t>> lat_by, rpc_by;
    for (const auto& r : received_) {
      for (const Delivery& d : r) {
        if (cases_.count(d.case_id)) {
          lat_by[(d.event_us - load_start_us_) / bucket_us].push_back(d.latency_us);
        }
      }
    }
    for (const auto& sub : submits_) {
      if (sub.ok) rpc_by[(sub.start_us - load_start_us_) / bucket_us].push_back(sub.rpc_us);
    }
    std::printf(
        "\n| timeline: %d s from | reports OK | SubmitReport p99 / max ms | events delivered | "
        "delivery p50 / p99 / max ms | heartbeats received |\n|---|---|---|---|---|---|\n",
        f_.timeline_s);
    for (const auto& [b, rpcs] : rpc_by) {
      Percentiles r = Summarise(rpcs);
      Percentiles l = Summarise(lat_by[b]);
      int heartbeats = 0;
      for (int64_t sec = (load_start_us_ + b * bucket_us) / 1000000;
           sec < (load_start_us_ + (b + 1) * bucket_us) / 1000000; ++sec) {
        auto it = heartbeats_by_s_.find(sec);
        if (it != heartbeats_by_s_.end()) heartbeats += it->second;
      }
      std::printf("| %lld s | %zu | %s / %s | %zu | %s / %s / %s | %d |\n",
                  static_cast<long long>(b * f_.timeline_s), r.n, Ms(r.p99_ms).c_str(),
                  Ms(r.max_ms).c_str(), l.n, Ms(l.p50_ms).c_str(), Ms(l.p99_ms).c_str(),
                  Ms(l.max_ms).c_str(), heartbeats);
    }
  }
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags = ParseFlags(argc, argv);
  if (!flags.generate_org.empty() || !flags.generate_tokens.empty()) return Generate(flags);
  Bench bench(std::move(flags));
  return bench.Run();
}
