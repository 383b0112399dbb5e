// ingest_bench: how many reports per second one gridline-server files, against what the wire
// and the disk allow (issue 16; see BENCHMARKS.md, "Ingest", and bench/run_ingest_bench.sh, which
// starts the servers and the database and runs this once per store).
//
// Two modes:
//
//   ingest_bench --generate_org OUT.textproto --generate_tokens OUT.tsv --base_org FILE
//                [--leaders N]
//     Writes an organisation: FILE (the demo organisation: categories, departments, routing)
//     plus N new CELL grids with one grid leader each, all with demo tokens, and the token list.
//
//   ingest_bench --target HOST:PORT --tokens FILE --store sqlite|mysql [store flags]
//                [--metrics HOST:PORT] [--server_pid PID] [--db_pid PID] [--duration S] ...
//     For each variant, no photo and then one 200 KiB photo per report, measures three rates:
//
//     ingest  64 (--concurrency) reports in flight against the real server at --target, from
//             gRPC's callback API, closed loop: as soon as one report is acknowledged the next is
//             sent. Each report is a grid leader's: a category, their cell, coordinates, an
//             address, a Chinese description of 100-200 characters, its own request id. With a
//             photo, the report first uploads a JPEG of exactly 200 KiB (UploadAttachment:
//             metadata, then the bytes in the SDK's 512 KiB chunks: one chunk), unique per report,
//             and then names it. A report counts when SubmitReport answers OK (the server answers
//             only once the case is committed).
//     wire    the same client code, the same messages and the same concurrency against an echo
//             server: a ReportService in a child process (forked before gRPC starts) on loopback
//             that answers SubmitReport with a real SubmitReportResponse and UploadAttachment,
//             after reading every chunk, with a real Attachment (both captured from the ingest
//             run). What gRPC on this machine can carry with nothing behind it.
//     disk    the durable insert of the same rows through the store's SQL layer (SqlConnection):
//             a fresh store is opened (its migrations create the real schema), and the rows the
//             server stored in the ingest run are written again: its newest cases of the variant
//             (--template_rows), each with its first event, in turn, so the same grid leaders,
//             cells, categories and texts go into the same indexes; new random case ids, as the
//             server makes them; with a photo, a copy of one photo's attachment row each. They
//             are inserted by --batch per transaction,
//             one commit each, with the event sequence bumped once per batch, as
//             Store::BulkLoadCases does: SQLite with the driver's WAL and synchronous=FULL;
//             MariaDB as the server connects to it. With a photo, the batch's photo bytes are
//             first written as files of the blob store's layout and made durable with one
//             syncfs (--blob_sync fdatasync: one fdatasync per file instead). This is the
//             ceiling of a durable insert; it leaves out what the server does besides (figures,
//             routing, auth, the blob's SHA-256 and image check).
//
//     Each measurement: --warmup seconds, then --duration seconds counted. Prints a Markdown
//     table: the three rates, the latency, and ingest / min(wire, disk); then where the time
//     goes, per report: store transactions and their mean time (the server's
//     gridline_store_transaction_duration_seconds, from --metrics); the flushes and bytes written
//     of the device that holds --disk_dir (/sys/dev/block: every process on it counts); the
//     fsync/fdatasync/syncfs calls of the server, the database and this process, and the
//     server's sleeps (`perf stat` on the syscall tracepoints, when perf works); MariaDB's
//     statements, commits, InnoDB fsyncs and row lock waits (information_schema.global_status);
//     and the CPU time of the server, the echo server, this process and the database.
//
//   Flags of the bench mode (defaults in brackets):
//     --target HOST:PORT         the gridline-server
//     --tokens FILE              the grid leaders (--generate_tokens); reports go round them
//     --store sqlite|mysql       which store the server runs on (for the disk limit)
//     --disk_dir DIR             fresh SQLite files and photo files of the disk limit; its
//                                device is the one watched
//     --template_sqlite FILE     SQLite: the server's database, to copy rows from
//     --mysql_host H [127.0.0.1] --mysql_port P [3306] --mysql_user U [gridline]
//     --mysql_password_file F    MariaDB, for the disk limit and its counters
//     --template_database DB     MariaDB: the server's database, to copy rows from
//     --disk_database PREFIX     MariaDB: fresh databases PREFIX_none, PREFIX_photo
//                                [gridline_ingest_disk]
//     --metrics HOST:PORT        the server's metrics endpoint
//     --server_pid PID, --db_pid PID   for CPU time and system calls
//     --concurrency N [64]       calls in flight; --channels N [one per call in flight]
//     --client_threads N [2]     threads that build requests and start calls
//     --warmup S [3], --duration S [20]
//     --variants none,photo      --measures ingest,wire,disk   (a subset, in that order)
//     --batch N [64]             rows per transaction of the disk limit
//     --template_rows N [1024]   the ingest run's cases the disk limit writes again, in turn
//     --disk_threads N           writers of the disk limit [1 for SQLite, 8 for MariaDB]
//     --blob_sync syncfs|fdatasync [syncfs]
//     --perf PATH [perf]         "none": no system call counts
//     --label TEXT, --commit TEXT   for the table's title and header line
#include <dirent.h>
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <netdb.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
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
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "bench/bench_util.h"
#include "gridline/v1/report_service.grpc.pb.h"
#include "server/domain/errors.h"
#include "server/store/mysql_driver.h"
#include "server/store/sql.h"
#include "server/store/store.h"
#include "server/util/log.h"
#include "server/util/sha256.h"
#include "tests/test_images.h"

namespace {

namespace v1 = ::gridline::v1;
namespace store = ::gridline::store;
using Clock = std::chrono::steady_clock;
using gridline::bench::ThreeDigits;

constexpr size_t kPhotoBytes = 200 * 1024;
constexpr size_t kChunkBytes = 512 * 1024;  // the SDK's upload chunk (grpc_connection.cc)

// ---- flags ----------------------------------------------------------------------------------

struct Flags {
  // generate mode
  std::string generate_org, generate_tokens, base_org;
  int leaders = 256;
  // bench mode
  std::string target;      // the gridline-server
  std::string tokens;      // from --generate_tokens
  std::string metrics;     // the server's metrics endpoint, HOST:PORT
  int server_pid = 0;      // for its CPU time
  int db_pid = 0;          // mariadbd, for its CPU time
  std::string label = "";  // the table's title; default from --store
  std::string commit = "?";
  int concurrency = 64;
  int channels = 0;  // 0: one per call in flight (a handset per connection)
  int client_threads = 2;
  double warmup_s = 3;
  double duration_s = 20;
  std::vector<std::string> variants = {"none", "photo"};
  std::vector<std::string> measures = {"ingest", "wire", "disk"};
  // the disk limit
  std::string store;     // sqlite | mysql
  std::string disk_dir;  // fresh SQLite files and blob files go here; its device is watched
  std::string template_sqlite;
  std::string mysql_host = "127.0.0.1";
  int mysql_port = 3306;
  std::string mysql_user = "gridline";
  std::string mysql_password_file;
  std::string template_database;                       // the server's database
  std::string disk_database = "gridline_ingest_disk";  // prefix; one per variant
  int batch = 64;
  int template_rows = 1024;
  int disk_threads = 0;  // 0: 1 for SQLite (one writer at a time), 4 for MariaDB
  std::string blob_sync = "syncfs";
  std::string perf = "perf";  // counts syncs and sleeps if it works; "none": not
};

[[noreturn]] void Usage(const std::string& error) {
  std::fprintf(stderr, "ingest_bench: %s\n(see the header of bench/ingest_bench.cc)\n",
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
    if (arg == "-h" || arg == "--help") Usage("help");
    gridline::bench::FlagArg flag(argc, argv, &i, [](const std::string& e) { Usage(e); });
    const std::string name = flag.name();
    auto take = [&flag]() { return flag.Value(); };
    std::map<std::string, std::string*> strings = {
        {"--generate_org", &f.generate_org},
        {"--generate_tokens", &f.generate_tokens},
        {"--base_org", &f.base_org},
        {"--target", &f.target},
        {"--tokens", &f.tokens},
        {"--metrics", &f.metrics},
        {"--label", &f.label},
        {"--commit", &f.commit},
        {"--store", &f.store},
        {"--disk_dir", &f.disk_dir},
        {"--template_sqlite", &f.template_sqlite},
        {"--mysql_host", &f.mysql_host},
        {"--mysql_user", &f.mysql_user},
        {"--mysql_password_file", &f.mysql_password_file},
        {"--template_database", &f.template_database},
        {"--disk_database", &f.disk_database},
        {"--blob_sync", &f.blob_sync},
        {"--perf", &f.perf},
    };
    std::map<std::string, int*> ints = {
        {"--leaders", &f.leaders},
        {"--server_pid", &f.server_pid},
        {"--db_pid", &f.db_pid},
        {"--concurrency", &f.concurrency},
        {"--channels", &f.channels},
        {"--client_threads", &f.client_threads},
        {"--mysql_port", &f.mysql_port},
        {"--batch", &f.batch},
        {"--template_rows", &f.template_rows},
        {"--disk_threads", &f.disk_threads},
    };
    if (auto it = strings.find(name); it != strings.end()) {
      *it->second = take();
    } else if (auto it = ints.find(name); it != ints.end()) {
      *it->second = ToInt(name, take());
    } else if (name == "--warmup") {
      f.warmup_s = ToDouble(name, take());
    } else if (name == "--duration") {
      f.duration_s = ToDouble(name, take());
    } else if (name == "--variants") {
      f.variants = SplitList(take());
    } else if (name == "--measures") {
      f.measures = SplitList(take());
    } else {
      Usage(absl::StrCat("unknown argument '", arg, "'"));
    }
  }
  return f;
}

// ---- organisation generator -----------------------------------------------------------------

// The demo organisation's two streets; the generated communities are numbered from 201 so that
// they never collide with the demo's 001 and 002 (nor with watch_bench's, from 101).
constexpr const char* kStreets[] = {"410184001", "410184002"};
constexpr int kCellsPerCommunity = 100;

std::string TokenFor(int i) {
  std::mt19937_64 rng(0x696e67657374ULL ^ (uint64_t(i) * 0x9e3779b97f4a7c15ULL));
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(rng()));
  return absl::StrCat("ingest-leader-", i, "-", hex);
}

int Generate(const Flags& f) {
  if (f.generate_org.empty() || f.generate_tokens.empty() || f.base_org.empty()) {
    Usage("--generate_org, --generate_tokens and --base_org go together");
  }
  if (f.leaders < 1 || f.leaders > 2 * 700 * kCellsPerCommunity) Usage("--leaders out of range");
  std::ifstream base(f.base_org);
  if (!base) Usage("cannot read " + f.base_org);
  std::stringstream base_text;
  base_text << base.rdbuf();
  std::ofstream org(f.generate_org);
  std::ofstream tokens(f.generate_tokens);
  if (!org || !tokens) Usage("cannot write the generated files");
  org << base_text.str() << "\n# ---- generated by ingest_bench --generate_org: " << f.leaders
      << " cells with one grid leader each\n";
  tokens << "# token\tuser_id\tgrid_code\n";
  const int communities = (f.leaders + kCellsPerCommunity - 1) / kCellsPerCommunity;
  auto community_of = [](int c) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%03d", kStreets[c % 2], 201 + c / 2);
    return std::string(buf);
  };
  for (int c = 0; c < communities; ++c) {
    org << "grids { code: \"" << community_of(c) << "\" name: \"录入测试社区" << c + 1
        << "\" level: COMMUNITY parent_code: \"" << kStreets[c % 2] << "\" }\n";
  }
  for (int i = 0; i < f.leaders; ++i) {
    const std::string community = community_of(i / kCellsPerCommunity);
    char cell[40], user[32];
    std::snprintf(cell, sizeof cell, "%s%03d", community.c_str(), 1 + i % kCellsPerCommunity);
    std::snprintf(user, sizeof user, "u-ingest-%05d", i + 1);
    const std::string token = TokenFor(i + 1);
    org << "grids { code: \"" << cell << "\" name: \"录入测试网格" << i + 1
        << "\" level: CELL parent_code: \"" << community << "\" }\n";
    org << "users { user { user_id: \"" << user << "\" display_name: \"录入测试网格员" << i + 1
        << "\" role: GRID_LEADER grid_code: \"" << cell << "\" } demo_token: \"" << token
        << "\" }\n";
    tokens << token << "\t" << user << "\t" << cell << "\n";
  }
  if (!org.good() || !tokens.good()) Usage("writing the generated files failed");
  std::printf("ingest_bench: wrote %s (%d cells with a grid leader each) and %s\n",
              f.generate_org.c_str(), f.leaders, f.generate_tokens.c_str());
  return 0;
}

struct Handset {
  std::string token, user_id, grid_code;
};

std::vector<Handset> LoadHandsets(const std::string& path) {
  std::ifstream in(path);
  if (!in) Usage("cannot read --tokens " + path);
  std::vector<Handset> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> parts = absl::StrSplit(line, '\t');
    if (parts.size() < 3) Usage("bad line in " + path + ": " + line);
    out.push_back({parts[0], parts[1], parts[2]});
  }
  if (out.empty()) Usage(path + " lists no grid leaders");
  return out;
}

// ---- what a grid leader reports ---------------------------------------------------------------

// Categories of the demo organisation that go to the acceptance center's triage (not accepted
// by rule): every report is one case and one REPORTED event, like the rows of the disk limit.
struct ReportKind {
  const char* category;
  const char* text;  // {road} {n} {a} {d} {u} are filled in
};

constexpr ReportKind kKinds[] = {
    {"C01_ROAD_DAMAGE",
     "巡查至{road}{n}号门前时发现机动车道路面出现塌陷，塌陷区域约{a}平方米、深约{d}厘米，边缘沥青"
     "碎裂松动，已有两辆电动车经过时险些摔倒。现场已用锥桶临时围挡并提醒过往车辆绕行，建议市政部门"
     "尽快派人修补，雨天前处理以免积水扩大塌陷范围。"},
    {"C02_STANDING_WATER",
     "{road}与人民路交叉口东北角因昨夜降雨形成大面积积水，积水长约{a}米、最深处约{d}厘米，雨水篦子"
     "被落叶和塑料袋堵塞，行人只能绕行机动车道，存在安全隐患。已联系沿街商户帮忙清理部分杂物，但排"
     "水口仍不通畅，请排水部门携带疏通设备到场处理。"},
    {"C03_WATER_PIPE_HAZARD",
     "{road}{n}号小区东门外绿化带内自来水管道破裂漏水，水流已漫到人行道上，附近住户反映家中水压明显"
     "下降。漏点位于燃气管道标识桩旁约{a}米处，开挖前需先确认管线位置。已通知物业关闭部分阀门，请供"
     "水公司尽快派人抢修并做好停水告知。"},
    {"C07_STREET_VENDING",
     "{road}{n}号菜市场门口每天早上六点至九点有十余个流动摊贩占用人行道和半幅机动车道摆摊售卖蔬菜水"
     "果，造成交通拥堵，垃圾随地丢弃，周边居民多次投诉。今日上午已现场劝离，但摊贩劝离后又返回，建"
     "议城管部门定时巡查并引导摊贩进入市场内经营。"},
    {"C08_ILLEGAL_CONSTRUCTION",
     "{road}{n}号院内一户居民未经审批在自家楼顶搭建彩钢板房，面积约{a}"
     "平方米，目前已完成框架搭建正在"
     "铺设顶板，邻居担心影响采光和房屋结构安全。已口头告知户主停止施工并拍照留存，请住建和城管部门"
     "上"
     "门核实，依法处理。"},
    {"C10_GARBAGE_PILING",
     "{road}{n}号楼西侧空地堆积大量生活垃圾和装修废料，估计约{a}"
     "立方米，已持续三天未清运，天气炎热散"
     "发异味，招引蚊蝇，附近幼儿园家长反映强烈。现场未发现乱倒者，已在周围拉设警示带，请环卫部门尽"
     "快"
     "清运并考虑在此处增设监控或垃圾收集点。"},
    {"C12_FIRE_HAZARD",
     "{road}{n}号沿街门面房二楼作为员工宿舍使用，楼道内堆放纸箱和电动车，有人在室内给电动车电瓶充电"
     "，私拉电线现象严重，仅有一个安全出口且被杂物部分堵塞。已当面告知负责人立即清理并停止室内充电"
     "，"
     "请消防部门上门检查，督促整改到位。"},
    {"C18_NEIGHBOUR_DISPUTE",
     "{road}{n}号楼{u}"
     "单元两户居民因楼上卫生间漏水渗到楼下天花板发生争执，双方情绪激动，今天下午在楼"
     "道内发生推搡，已劝开双方。楼下住户要求赔偿维修费用，楼上住户认为是老旧管道问题。建议社区调委"
     "会"
     "组织双方调解，必要时请物业协助查明漏水原因。"},
};

constexpr const char* kRoads[] = {"郑韩路",   "人民路", "文化路", "新华路",
                                  "中华北路", "新建路", "轩辕路", "西大街"};

// Builds reports and photos. Thread-safe: every call derives what it needs from `seq`.
class ReportMaker {
 public:
  ReportMaker() : nonce_(gridline::util::RandomHex(4)) {
    photo_template_ = gridline::testing::TestJpeg(kPhotoBytes);
  }

  void Fill(uint64_t seq, const Handset& who, v1::SubmitReportRequest* r) const {
    std::mt19937_64 rng(seq * 0x9e3779b97f4a7c15ULL + 1);
    const ReportKind& kind = kKinds[seq % (sizeof kKinds / sizeof kKinds[0])];
    const std::string road = kRoads[rng() % (sizeof kRoads / sizeof kRoads[0])];
    const std::string n = absl::StrCat(1 + rng() % 240);
    r->Clear();
    r->set_request_id(RequestId(seq));
    r->set_category_code(kind.category);
    r->set_description(absl::StrReplaceAll(kind.text, {{"{road}", road},
                                                       {"{n}", n},
                                                       {"{a}", absl::StrCat(2 + rng() % 30)},
                                                       {"{d}", absl::StrCat(5 + rng() % 40)},
                                                       {"{u}", absl::StrCat(1 + rng() % 6)}}));
    auto* loc = r->mutable_location();
    loc->set_grid_code(who.grid_code);
    // Around Xinzheng (34.39 N, 113.74 E), within a few kilometres.
    loc->mutable_coordinates()->set_latitude(34.39 + static_cast<double>(rng() % 40000) / 1e6);
    loc->mutable_coordinates()->set_longitude(113.72 + static_cast<double>(rng() % 40000) / 1e6);
    loc->set_address(absl::StrCat("河南省郑州市新郑市", road, n, "号附近"));
    const auto now = std::chrono::system_clock::now() - std::chrono::minutes(1 + rng() % 20);
    const int64_t us =
        std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
    r->mutable_observe_time()->set_seconds(us / 1000000);
    r->mutable_observe_time()->set_nanos(static_cast<int32_t>(us % 1000000) * 1000);
    r->set_urgency(rng() % 5 == 0 ? v1::URGENT : v1::NORMAL);
  }

  // A JPEG of exactly 200 KiB, unique to `seq`: its padding comment starts with the request id.
  std::string Photo(uint64_t seq) const {
    std::string bytes = photo_template_;
    const std::string tag = RequestId(seq);
    // TestJpeg: SOI (2 bytes), then a COM segment (FF FE, 2-byte length) of filler.
    std::memcpy(&bytes[6], tag.data(), tag.size());
    return bytes;
  }

  std::string RequestId(uint64_t seq) const { return absl::StrCat("ingest-", nonce_, "-", seq); }

  // Numbers every report of the run: each has its own request id.
  uint64_t NextSeq() const { return next_seq_.fetch_add(1); }

 private:
  mutable std::atomic<uint64_t> next_seq_{0};
  std::string nonce_;
  std::string photo_template_;
};

// ---- helpers: time, percentiles, /proc, /sys, the metrics endpoint ----------------------------

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

struct Percentiles {
  size_t n = 0;
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
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
  return p;
}

// User + system CPU seconds of a process (0 when it is not there).
double ProcessCpuSeconds(int pid) {
  if (pid <= 0) return 0;
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(in, line)) return 0;
  auto close = line.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(line.substr(close + 2));
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

double SelfCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Busy CPU seconds of the whole machine: everything but idle and I/O wait, over all cores.
double MachineBusySeconds() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  in >> cpu;
  std::vector<double> v;
  double x;
  for (int i = 0; i < 8 && in >> x; ++i) v.push_back(x);
  if (cpu != "cpu" || v.size() < 5) return 0;
  double busy = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i != 3 && i != 4) busy += v[i];  // 3: idle, 4: iowait
  }
  return busy / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// The block device that holds `dir`: its cumulative flushes and sectors written.
struct DeviceStat {
  bool ok = false;
  int64_t flushes = 0, write_sectors = 0;
};

std::string DeviceStatPath(const std::string& dir) {
  struct stat st {};
  if (dir.empty() || stat(dir.c_str(), &st) != 0) return "";
  std::string path = absl::StrCat("/sys/dev/block/", major(st.st_dev), ":", minor(st.st_dev));
  return access((path + "/stat").c_str(), R_OK) == 0 ? path : "";
}

DeviceStat ReadDeviceStat(const std::string& sys_path) {
  DeviceStat d;
  if (sys_path.empty()) return d;
  std::ifstream in(sys_path + "/stat");
  std::vector<int64_t> v;
  int64_t x;
  while (in >> x) v.push_back(x);
  if (v.size() < 7) return d;
  d.ok = true;
  d.write_sectors = v[6];
  d.flushes = v.size() >= 16 ? v[15] : 0;  // kernels from 5.5 count flush requests
  return d;
}

std::string DeviceName(const std::string& sys_path) {
  if (sys_path.empty()) return "";
  std::ifstream in(sys_path + "/uevent");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("DEVNAME=", 0) == 0) return line.substr(8);
  }
  return "";
}

// GET http://endpoint/metrics; empty on any failure.
std::string HttpGetMetrics(const std::string& endpoint) {
  if (endpoint.empty()) return "";
  auto colon = endpoint.rfind(':');
  if (colon == std::string::npos) return "";
  addrinfo hints{}, *res = nullptr;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(endpoint.substr(0, colon).c_str(), endpoint.substr(colon + 1).c_str(), &hints,
                  &res) != 0) {
    return "";
  }
  int fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
  std::string out;
  if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) == 0) {
    const std::string req = "GET /metrics HTTP/1.0\r\nHost: bench\r\nConnection: close\r\n\r\n";
    if (write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
      char buf[65536];
      ssize_t n;
      while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    }
  }
  if (fd >= 0) close(fd);
  freeaddrinfo(res);
  return out;
}

// The sum over every label set of a sample family (e.g. "..._count").
double MetricSum(const std::string& text, const std::string& sample) {
  double sum = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::StartsWith(line, sample)) continue;
    absl::string_view rest = line.substr(sample.size());
    if (!rest.empty() && rest[0] != '{' && rest[0] != ' ') continue;  // a longer name
    auto space = line.rfind(' ');
    double v = 0;
    if (space != absl::string_view::npos && absl::SimpleAtod(line.substr(space + 1), &v)) sum += v;
  }
  return sum;
}

// What the processes and the device did between two moments.
struct Sample {
  Clock::time_point at;
  double server_cpu = 0, echo_cpu = 0, db_cpu = 0, self_cpu = 0;
  double machine_busy = 0;  // CPU seconds of every process on the machine (/proc/stat)
  DeviceStat device;
  double tx_count = 0, tx_sum = 0;
  std::map<std::string, double> db_status;  // MariaDB's global status counters
  std::map<std::string, double> syscalls;   // at the end of a window: counted over it
};

struct Window {
  double seconds = 0;
  double server_cpu = 0, echo_cpu = 0, db_cpu = 0, self_cpu = 0;
  double machine_busy = 0;
  bool device_ok = false;
  double flushes = 0, write_kib = 0;
  bool metrics_ok = false;
  double tx_count = 0, tx_sum = 0;
  std::map<std::string, double> db_status;  // increase over the window
  std::map<std::string, double> syscalls;   // see SyscallCounter
};

// The MariaDB counters that say where a report's time goes: statements, InnoDB's fsyncs, row
// lock waits.
constexpr const char* kDbStatus[] = {"Questions",
                                     "Com_commit",
                                     "Innodb_data_fsyncs",
                                     "Innodb_os_log_fsyncs",
                                     "Innodb_row_lock_waits",
                                     "Innodb_row_lock_time"};

void Subtract(const Sample& a, const Sample& b, Window* w) {
  w->seconds = Seconds(b.at - a.at);
  w->server_cpu = b.server_cpu - a.server_cpu;
  w->echo_cpu = b.echo_cpu - a.echo_cpu;
  w->db_cpu = b.db_cpu - a.db_cpu;
  w->self_cpu = b.self_cpu - a.self_cpu;
  w->machine_busy = b.machine_busy - a.machine_busy;
  w->device_ok = a.device.ok && b.device.ok;
  w->flushes = static_cast<double>(b.device.flushes - a.device.flushes);
  w->write_kib = static_cast<double>(b.device.write_sectors - a.device.write_sectors) / 2;
  w->metrics_ok = b.tx_count > 0;
  w->tx_count = b.tx_count - a.tx_count;
  w->tx_sum = b.tx_sum - a.tx_sum;
  w->syscalls = b.syscalls;
  for (const auto& [name, v] : b.db_status) {
    auto it = a.db_status.find(name);
    if (it != a.db_status.end()) w->db_status[name] = v - it->second;
  }
}

// System calls that make data durable, and sleeps, counted with `perf stat` on the kernel's
// syscall tracepoints (counted in the kernel: cheap, unlike strace). Keys: "syncs" (fsync,
// fdatasync and syncfs of every watched process: the server, the database, this process) and
// "server_sleeps" (clock_nanosleep and nanosleep of the first pid: SQLite's busy handler sleeps
// while another connection holds the write lock). Nothing when perf is missing or not allowed.
class SyscallCounter {
 public:
  explicit SyscallCounter(std::string perf) : perf_(std::move(perf)) {}

  void Start(const std::vector<int>& pids) {
    if (perf_.empty() || perf_ == "none") return;
    for (size_t i = 0; i < pids.size(); ++i) {
      if (pids[i] <= 0) continue;
      char path[] = "/tmp/ingest-bench-perf.XXXXXX";
      int fd = mkstemp(path);
      if (fd < 0) continue;
      close(fd);
      // posix_spawn, not fork: this process runs gRPC's threads.
      const std::string pid = absl::StrCat(pids[i]);
      std::vector<std::string> args = {
          perf_,
          "stat",
          "-x",
          ",",
          "-e",
          "syscalls:sys_enter_fsync,syscalls:sys_enter_fdatasync,syscalls:sys_enter_syncfs,"
          "syscalls:sys_enter_clock_nanosleep,syscalls:sys_enter_nanosleep",
          "-p",
          pid,
          "-o",
          path};
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      posix_spawn_file_actions_t actions;
      posix_spawn_file_actions_init(&actions);
      posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
      posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
      pid_t child = -1;
      const int rc = posix_spawnp(&child, perf_.c_str(), &actions, nullptr, argv.data(), environ);
      posix_spawn_file_actions_destroy(&actions);
      if (rc != 0) {
        std::remove(path);
        continue;
      }
      running_.push_back({child, path, i == 0});
    }
    if (!running_.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }

  std::map<std::string, double> Stop() {
    std::map<std::string, double> out;
    bool counted = false;
    for (const Run& r : running_) {
      kill(r.perf, SIGINT);
      int status = 0;
      waitpid(r.perf, &status, 0);
      std::ifstream in(r.file);
      std::string line;
      while (std::getline(in, line)) {
        std::vector<std::string> fields = absl::StrSplit(line, ',');
        if (fields.size() < 3 || line[0] == '#') continue;
        double v = 0;
        if (!absl::SimpleAtod(fields[0], &v)) v = 0;  // "<not counted>": the process slept
        const std::string& event = fields[2];
        if (!absl::StartsWith(event, "syscalls:")) continue;
        counted = true;
        if (absl::StrContains(event, "sync")) out["syncs"] += v;
        if (absl::StrContains(event, "sleep") && r.first) out["server_sleeps"] += v;
      }
      std::remove(r.file.c_str());
    }
    running_.clear();
    if (!counted) out.clear();
    return out;
  }

 private:
  struct Run {
    pid_t perf;
    std::string file;
    bool first;
  };
  std::string perf_;
  std::vector<Run> running_;
};

// ---- the echo server: a child process -------------------------------------------------------

// Answers every SubmitReport with the same real response and every upload, after reading all of
// it, with the same real Attachment. No checks, no storage: gRPC's cost alone.
class EchoService final : public v1::ReportService::CallbackService {
 public:
  EchoService(v1::SubmitReportResponse response, v1::Attachment attachment)
      : response_(std::move(response)), attachment_(std::move(attachment)) {}

  grpc::ServerUnaryReactor* SubmitReport(grpc::CallbackServerContext* ctx,
                                         const v1::SubmitReportRequest* /*request*/,
                                         v1::SubmitReportResponse* response) override {
    *response = response_;
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerReadReactor<v1::UploadAttachmentRequest>* UploadAttachment(
      grpc::CallbackServerContext* /*ctx*/, v1::Attachment* response) override {
    class Reader final : public grpc::ServerReadReactor<v1::UploadAttachmentRequest> {
     public:
      Reader(v1::Attachment* response, const v1::Attachment& attachment)
          : response_(response), attachment_(attachment) {
        StartRead(&message_);
      }
      void OnReadDone(bool ok) override {
        if (ok) {
          StartRead(&message_);
          return;
        }
        *response_ = attachment_;
        Finish(grpc::Status::OK);
      }
      void OnDone() override { delete this; }

     private:
      v1::Attachment* response_;
      const v1::Attachment& attachment_;
      v1::UploadAttachmentRequest message_;
    };
    return new Reader(response, attachment_);
  }

 private:
  const v1::SubmitReportResponse response_;
  const v1::Attachment attachment_;
};

bool ReadFull(int fd, char* buf, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = read(fd, buf + done, n - done);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    done += static_cast<size_t>(r);
  }
  return true;
}

bool WriteFull(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    ssize_t n = write(fd, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// A length-prefixed string over a pipe.
bool SendBlob(int fd, const std::string& s) {
  uint64_t n = s.size();
  return WriteFull(fd, std::string(reinterpret_cast<const char*>(&n), sizeof n)) &&
         WriteFull(fd, s);
}

bool ReceiveBlob(int fd, std::string* s) {
  uint64_t n = 0;
  if (!ReadFull(fd, reinterpret_cast<char*>(&n), sizeof n) || n > (64u << 20)) return false;
  s->resize(n);
  return ReadFull(fd, s->data(), n);
}

// The child: waits for the two answers, serves them on a free loopback port (sent back), and
// stops when the parent closes the pipe or dies.
[[noreturn]] void RunEchoChild(int cmd_fd, int out_fd) {
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  std::string response_bytes, attachment_bytes;
  if (!ReceiveBlob(cmd_fd, &response_bytes) || !ReceiveBlob(cmd_fd, &attachment_bytes)) {
    std::_Exit(0);  // the parent did not need the echo
  }
  v1::SubmitReportResponse response;
  v1::Attachment attachment;
  response.ParseFromString(response_bytes);
  attachment.ParseFromString(attachment_bytes);
  EchoService service(std::move(response), std::move(attachment));
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    WriteFull(out_fd, "0\n");
    std::_Exit(1);
  }
  WriteFull(out_fd, absl::StrCat(port, "\n"));
  char c;
  while (read(cmd_fd, &c, 1) > 0) {
  }
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  std::_Exit(0);
}

struct EchoChild {
  pid_t pid = -1;
  int cmd_fd = -1, out_fd = -1;
  int port = 0;
};

// Forks the echo server's process; must run before this process starts gRPC.
EchoChild ForkEcho() {
  int to_child[2], from_child[2];
  if (pipe(to_child) != 0 || pipe(from_child) != 0) Usage("pipe failed");
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) Usage("fork failed");
  if (pid == 0) {
    close(to_child[1]);
    close(from_child[0]);
    RunEchoChild(to_child[0], from_child[1]);
  }
  close(to_child[0]);
  close(from_child[1]);
  return {pid, to_child[1], from_child[0], 0};
}

int StartEcho(EchoChild* echo, const v1::SubmitReportResponse& response,
              const v1::Attachment& attachment) {
  if (echo->port != 0) return echo->port;
  if (!SendBlob(echo->cmd_fd, response.SerializeAsString()) ||
      !SendBlob(echo->cmd_fd, attachment.SerializeAsString())) {
    Usage("the echo server's process is gone");
  }
  std::string line;
  char c;
  while (read(echo->out_fd, &c, 1) == 1 && c != '\n') line += c;
  echo->port = std::atoi(line.c_str());
  if (echo->port == 0) Usage("the echo server did not start");
  return echo->port;
}

// ---- the load generator: closed loop, N calls in flight, callback API -------------------------

// Runs posted tasks on threads this program owns, so that no gRPC reaction builds a request,
// hashes a photo or destroys a call's context.
class Executor {
 public:
  explicit Executor(int threads) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
  }
  ~Executor() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  void Post(std::function<void()> fn) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(fn));
    }
    cv_.notify_one();
  }

 private:
  void Loop() {
    while (true) {
      std::function<void()> fn;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;
        fn = std::move(queue_.front());
        queue_.pop_front();
      }
      fn();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

struct Completion {
  Clock::time_point end;
  int64_t latency_us;  // the whole report: upload and SubmitReport
  int64_t submit_us;   // SubmitReport alone
  bool ok;
};

struct LoadResult {
  int64_t ok = 0, failed = 0;
  double rate = 0;  // OK reports per second in the window
  Percentiles latency, submit_latency;
  std::map<std::string, int64_t> errors;
  Window window;
  v1::SubmitReportResponse response;  // one real answer (for the echo)
  v1::Attachment attachment;
};

class Load {
 public:
  Load(const Flags& f, const std::vector<Handset>& handsets, const ReportMaker& maker,
       const std::string& target, bool photo, std::function<Sample(bool begin)> sample)
      : f_(f), handsets_(handsets), maker_(maker), photo_(photo), sample_(std::move(sample)) {
    const int channels = f.channels > 0 ? f.channels : f.concurrency;
    for (int i = 0; i < channels; ++i) {
      grpc::ChannelArguments args;
      // One TCP connection per channel: channels with equal arguments would share one.
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      args.SetInt("gridline.bench.channel", i);
      channels_.push_back(
          grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args));
      stubs_.push_back(v1::ReportService::NewStub(channels_.back()));
    }
    slots_.resize(static_cast<size_t>(f.concurrency));
    for (size_t i = 0; i < slots_.size(); ++i) slots_[i].stub = stubs_[i % stubs_.size()].get();
  }

  LoadResult Run();

 private:
  struct Slot {
    v1::ReportService::Stub* stub = nullptr;
    uint64_t seq = 0;
    const Handset* who = nullptr;
    std::unique_ptr<grpc::ClientContext> ctx;
    v1::SubmitReportRequest request;
    v1::SubmitReportResponse response;
    Clock::time_point started, submit_started;
    std::vector<Completion> done;
  };

  class Upload final : public grpc::ClientWriteReactor<v1::UploadAttachmentRequest> {
   public:
    Upload(Load* load, Slot* slot, std::string bytes)
        : load_(load), slot_(slot), bytes_(std::move(bytes)) {}
    void Start() {
      ctx_.AddMetadata("authorization", "Bearer " + slot_->who->token);
      ctx_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
      auto* meta = message_.mutable_metadata();
      meta->set_sha256(gridline::util::Sha256Hex(bytes_));
      meta->set_size_bytes(static_cast<int64_t>(bytes_.size()));
      meta->set_file_name("IMG_0001.jpg");
      slot_->stub->async()->UploadAttachment(&ctx_, &attachment_, this);
      StartWrite(&message_);
      StartCall();
    }
    void OnWriteDone(bool ok) override {
      if (!ok) return;  // the server ended the call: OnDone follows
      if (offset_ >= bytes_.size()) return;
      const size_t n = std::min(kChunkBytes, bytes_.size() - offset_);
      message_.set_chunk(bytes_.substr(offset_, n));
      offset_ += n;
      if (offset_ >= bytes_.size()) {
        StartWriteLast(&message_, grpc::WriteOptions());
      } else {
        StartWrite(&message_);
      }
    }
    void OnDone(const grpc::Status& status) override {
      load_->executor_->Post([this, status] { load_->Uploaded(this, status); });
    }
    Slot* slot() const { return slot_; }
    const v1::Attachment& attachment() const { return attachment_; }

   private:
    Load* load_;
    Slot* slot_;
    std::string bytes_;
    size_t offset_ = 0;
    grpc::ClientContext ctx_;
    v1::UploadAttachmentRequest message_;
    v1::Attachment attachment_;
  };

  void Next(Slot* s);
  void Uploaded(Upload* upload, grpc::Status status);
  void Submit(Slot* s, const std::string& attachment_id);
  void Finished(Slot* s, const grpc::Status& status, Clock::time_point end);
  void Idle();
  void Error(const grpc::Status& status, const char* what);

  const Flags& f_;
  const std::vector<Handset>& handsets_;
  const ReportMaker& maker_;
  const bool photo_;
  std::function<Sample(bool begin)> sample_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<v1::ReportService::Stub>> stubs_;
  std::vector<Slot> slots_;
  std::unique_ptr<Executor> executor_;
  std::atomic<bool> stopping_{false};

  std::mutex mu_;
  std::condition_variable cv_;
  int active_ = 0;
  std::map<std::string, int64_t> errors_;
  bool have_response_ = false, have_attachment_ = false;
  v1::SubmitReportResponse response_;
  v1::Attachment attachment_;
};

void Load::Error(const grpc::Status& status, const char* what) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string key =
      absl::StrCat(what, ": ", status.error_code(), " ", status.error_message().substr(0, 160));
  if (++errors_[key] == 1) std::fprintf(stderr, "ingest_bench: %s\n", key.c_str());
}

void Load::Idle() {
  std::lock_guard<std::mutex> lock(mu_);
  --active_;
  cv_.notify_all();
}

void Load::Next(Slot* s) {
  if (stopping_.load()) {
    Idle();
    return;
  }
  s->seq = maker_.NextSeq();
  s->who = &handsets_[s->seq % handsets_.size()];
  s->started = Clock::now();
  if (photo_) {
    auto* upload = new Upload(this, s, maker_.Photo(s->seq));
    upload->Start();
  } else {
    Submit(s, "");
  }
}

void Load::Uploaded(Upload* upload, grpc::Status status) {
  Slot* s = upload->slot();
  std::string id = upload->attachment().attachment_id();
  if (status.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!have_attachment_) {
      attachment_ = upload->attachment();
      have_attachment_ = true;
    }
  }
  delete upload;
  if (!status.ok()) {
    Error(status, "UploadAttachment");
    s->done.push_back({Clock::now(), 0, 0, false});
    Next(s);
    return;
  }
  Submit(s, id);
}

void Load::Submit(Slot* s, const std::string& attachment_id) {
  maker_.Fill(s->seq, *s->who, &s->request);
  if (!attachment_id.empty()) s->request.add_attachment_ids(attachment_id);
  s->ctx = std::make_unique<grpc::ClientContext>();
  s->ctx->AddMetadata("authorization", "Bearer " + s->who->token);
  s->ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  s->response.Clear();
  s->submit_started = Clock::now();
  s->stub->async()->SubmitReport(
      s->ctx.get(), &s->request, &s->response, [this, s](grpc::Status status) {
        const auto end = Clock::now();
        executor_->Post([this, s, status, end] { Finished(s, status, end); });
      });
}

void Load::Finished(Slot* s, const grpc::Status& status, Clock::time_point end) {
  s->ctx.reset();
  if (status.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!have_response_) {
      response_ = s->response;
      have_response_ = true;
    }
  } else {
    Error(status, "SubmitReport");
  }
  s->done.push_back(
      {end, std::chrono::duration_cast<std::chrono::microseconds>(end - s->started).count(),
       std::chrono::duration_cast<std::chrono::microseconds>(end - s->submit_started).count(),
       status.ok()});
  Next(s);
}

LoadResult Load::Run() {
  executor_ = std::make_unique<Executor>(std::max(1, f_.client_threads));
  for (auto& ch : channels_) {
    if (!ch->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10))) {
      Usage("cannot connect to the target");
    }
  }
  active_ = static_cast<int>(slots_.size());
  for (auto& s : slots_) {
    Slot* slot = &s;
    executor_->Post([this, slot] { Next(slot); });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(f_.warmup_s));
  const Sample a = sample_(true);
  std::this_thread::sleep_for(std::chrono::duration<double>(f_.duration_s));
  const Sample b = sample_(false);
  stopping_ = true;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, std::chrono::seconds(120), [&] { return active_ == 0; })) {
      std::fprintf(stderr, "ingest_bench: %d calls did not end within 120 s\n", active_);
      std::fflush(nullptr);
      std::_Exit(1);
    }
  }
  executor_.reset();

  LoadResult r;
  std::vector<int64_t> latency, submit;
  for (const auto& s : slots_) {
    for (const Completion& c : s.done) {
      if (c.end < a.at || c.end > b.at) continue;
      if (c.ok) {
        ++r.ok;
        latency.push_back(c.latency_us);
        submit.push_back(c.submit_us);
      } else {
        ++r.failed;
      }
    }
  }
  Subtract(a, b, &r.window);
  r.rate = static_cast<double>(r.ok) / r.window.seconds;
  r.latency = Summarise(std::move(latency));
  r.submit_latency = Summarise(std::move(submit));
  r.errors = errors_;
  r.response = response_;
  r.attachment = attachment_;
  return r;
}

// ---- the disk limit: batched durable inserts through the store's SQL layer --------------------

struct Column {
  std::string name;
  enum Kind { kInt, kDouble, kText } kind = kText;
};

struct TableRow {
  std::string table;
  std::vector<Column> columns;
  std::vector<store::SqlValue> values;

  int Index(const std::string& name) const {
    for (size_t i = 0; i < columns.size(); ++i) {
      if (columns[i].name == name) return static_cast<int>(i);
    }
    return -1;
  }
  void Set(std::vector<store::SqlValue>* row, const std::string& name, store::SqlValue v) const {
    int i = Index(name);
    if (i >= 0) (*row)[static_cast<size_t>(i)] = std::move(v);
  }
};

absl::StatusOr<std::vector<Column>> Columns(store::SqlConnection& conn, store::Dialect dialect,
                                            const std::string& table) {
  auto rows = dialect == store::Dialect::kSqlite
                  ? conn.Query("SELECT name, type FROM pragma_table_info(?) ORDER BY cid", {table})
                  : conn.Query(
                        "SELECT column_name, data_type FROM information_schema.columns WHERE "
                        "table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position",
                        {table});
  if (!rows.ok()) return rows.status();
  std::vector<Column> out;
  for (const auto& r : *rows) {
    Column c;
    c.name = r.Str(0);
    std::string type = r.Str(1);
    std::transform(type.begin(), type.end(), type.begin(), ::toupper);
    if (type.find("INT") != std::string::npos) {
      c.kind = Column::kInt;
    } else if (type.find("DOUBLE") != std::string::npos || type.find("REAL") != std::string::npos ||
               type.find("FLOAT") != std::string::npos) {
      c.kind = Column::kDouble;
    }
    out.push_back(std::move(c));
  }
  if (out.empty()) return absl::NotFoundError(absl::StrCat("table ", table, " has no columns"));
  return out;
}

// The rows of `table` WHERE `where` (at least one), each with its columns.
absl::StatusOr<std::vector<TableRow>> ReadRows(store::SqlConnection& conn, store::Dialect dialect,
                                               const std::string& table, const std::string& where,
                                               const store::SqlParams& params) {
  auto cols = Columns(conn, dialect, table);
  if (!cols.ok()) return cols.status();
  std::vector<std::string> names;
  for (const auto& c : *cols) names.push_back(c.name);
  auto rows = conn.Query(
      absl::StrCat("SELECT ", absl::StrJoin(names, ", "), " FROM ", table, " WHERE ", where),
      params);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return absl::NotFoundError(absl::StrCat("no row in ", table, ": ", where));
  std::vector<TableRow> out;
  for (const store::SqlRow& r : *rows) {
    TableRow t{table, *cols, {}};
    for (size_t i = 0; i < cols->size(); ++i) {
      if (r.IsNull(i)) {
        t.values.emplace_back(nullptr);
      } else if ((*cols)[i].kind == Column::kInt) {
        t.values.emplace_back(r.Int(i));
      } else if ((*cols)[i].kind == Column::kDouble) {
        t.values.emplace_back(r.Double(i));
      } else {
        t.values.emplace_back(r.Str(i));
      }
    }
    out.push_back(std::move(t));
  }
  return out;
}

absl::StatusOr<TableRow> ReadRow(store::SqlConnection& conn, store::Dialect dialect,
                                 const std::string& table, const std::string& where,
                                 const store::SqlParams& params) {
  auto rows = ReadRows(conn, dialect, table, where, params);
  if (!rows.ok()) return rows.status();
  return std::move(rows->front());
}

std::string MultiRowInsert(const TableRow& t, int rows) {
  std::vector<std::string> names;
  for (const auto& c : t.columns) names.push_back(c.name);
  const std::string one =
      absl::StrCat("(", absl::StrJoin(std::vector<std::string>(names.size(), "?"), ", "), ")");
  return absl::StrCat(
      "INSERT INTO ", t.table, " (", absl::StrJoin(names, ", "), ") VALUES ",
      absl::StrJoin(std::vector<std::string>(static_cast<size_t>(rows), one), ", "));
}

// The rows the ingest run stored, to write again: its newest cases of the variant (up to
// --template_rows, each with its first event), so that the disk limit writes the same rows, spread
// over the same grid leaders, cells and categories, into the same indexes, as the server did.
struct Templates {
  std::vector<TableRow> cases, events;
  std::optional<TableRow> attachment;
};

struct DiskResult {
  double rate = 0;  // rows (cases, each with its event) per second
  int64_t rows = 0, batches = 0, conflicts = 0;
  std::string error;
  Window window;
  std::string settings;  // the durability settings in effect
  Percentiles commit;    // time of a whole batch, blobs included
};

class DiskLimit {
 public:
  DiskLimit(const Flags& f, bool photo, std::function<Sample(bool begin)> sample)
      : f_(f), photo_(photo), sample_(std::move(sample)) {}
  DiskResult Run();

 private:
  absl::StatusOr<std::unique_ptr<store::SqlDatabase>> Database(const std::string& name_or_path,
                                                               bool create);
  absl::Status ReadTemplates();
  void Worker(int index);
  absl::Status Batch(store::SqlConnection& conn, int index, uint64_t first);
  absl::Status WriteBlobs(const std::vector<std::string>& ids);

  const Flags& f_;
  const bool photo_;
  std::function<Sample(bool begin)> sample_;
  std::string password_;
  std::string disk_target_;  // the fresh SQLite file or MariaDB database
  std::unique_ptr<store::SqlDatabase> db_;
  Templates t_;
  std::string blob_dir_;
  std::string photo_bytes_;
  std::string insert_cases_, insert_events_, insert_attachments_;
  std::atomic<uint64_t> next_{0};
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<std::pair<Clock::time_point, int64_t>> commits_;  // end, batch duration (us)
  int64_t conflicts_ = 0;
  std::string error_;
};

absl::StatusOr<std::unique_ptr<store::SqlDatabase>> DiskLimit::Database(
    const std::string& name_or_path, bool create) {
  if (f_.store == "sqlite") return store::MakeSqliteDatabase(name_or_path);
  store::MysqlOptions o;
  o.host = f_.mysql_host;
  o.port = f_.mysql_port;
  o.user = f_.mysql_user;
  o.password = password_;
  o.database = name_or_path;
  o.create_database = create;
  return store::MakeMysqlDatabase(o);
}

absl::Status DiskLimit::ReadTemplates() {
  auto db = Database(f_.store == "sqlite" ? f_.template_sqlite : f_.template_database, false);
  if (!db.ok()) return db.status();
  auto conn = (*db)->Connect();
  if (!conn.ok()) return conn.status();
  const store::Dialect d = (*db)->dialect();
  // The newest cases the ingest run stored of this variant, their first events, and one photo's
  // row (all photo rows have the same size).
  auto c = ReadRows(**conn, d, "cases",
                    absl::StrCat("reporter_user_id LIKE 'u-ingest-%' AND before_photos ",
                                 photo_ ? "<> ''" : "= ''", " ORDER BY create_time DESC LIMIT ",
                                 std::max(1, f_.template_rows)),
                    {});
  if (!c.ok()) return c.status();
  t_.cases = *std::move(c);
  for (const TableRow& row : t_.cases) {
    const std::string case_id = std::get<std::string>(row.values[row.Index("case_id")]);
    auto e = ReadRow(**conn, d, "case_events", "case_id = ? ORDER BY seq LIMIT 1", {case_id});
    if (!e.ok()) return e.status();
    t_.events.push_back(*std::move(e));
  }
  if (photo_) {
    const TableRow& first = t_.cases.front();
    const std::string photo = std::get<std::string>(first.values[first.Index("before_photos")]);
    auto a = ReadRow(**conn, d, "attachments", "attachment_id = ?", {photo});
    if (!a.ok()) return a.status();
    t_.attachment = *std::move(a);
  }
  return absl::OkStatus();
}

absl::Status DiskLimit::WriteBlobs(const std::vector<std::string>& ids) {
  std::vector<int> fds;
  absl::Status st;
  for (const auto& id : ids) {
    // The blob store's layout: <dir>/<first two hex digits>/<id>.
    const std::string path = absl::StrCat(blob_dir_, "/", id.substr(0, 2), "/", id);
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) {
      st = absl::UnavailableError(absl::StrCat("open ", path, ": ", std::strerror(errno)));
      break;
    }
    fds.push_back(fd);
    std::string bytes = photo_bytes_;
    std::memcpy(&bytes[6], id.data(), std::min<size_t>(id.size(), 64));
    if (!WriteFull(fd, bytes)) {
      st = absl::UnavailableError(absl::StrCat("write ", path, ": ", std::strerror(errno)));
      break;
    }
  }
  if (st.ok()) {
    if (f_.blob_sync == "fdatasync") {
      for (int fd : fds) {
        if (fdatasync(fd) != 0) st = absl::UnavailableError("fdatasync failed");
      }
      std::set<std::string> dirs;
      for (const auto& id : ids) dirs.insert(absl::StrCat(blob_dir_, "/", id.substr(0, 2)));
      for (const auto& dir : dirs) {
        int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
          fsync(dfd);
          close(dfd);
        }
      }
    } else if (!fds.empty() && syncfs(fds.front()) != 0) {
      st = absl::UnavailableError(absl::StrCat("syncfs: ", std::strerror(errno)));
    }
  }
  for (int fd : fds) close(fd);
  return st;
}

absl::Status DiskLimit::Batch(store::SqlConnection& conn, int index, uint64_t first) {
  const int n = f_.batch;
  const int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  store::SqlParams cases, events, attachments;
  std::vector<std::string> blob_ids;
  std::vector<std::string> case_ids;
  std::vector<size_t> template_of;
  for (int i = 0; i < n; ++i) {
    const uint64_t k = first + static_cast<uint64_t>(i);
    char hex[32];
    std::snprintf(hex, sizeof hex, "%02x%022llx", index & 0xff, static_cast<unsigned long long>(k));
    // "c" + 24 random hex digits, as the server makes case ids (CaseService).
    const std::string case_id = absl::StrCat("c", gridline::util::RandomHex(12));
    case_ids.push_back(case_id);
    const size_t which = static_cast<size_t>(k % t_.cases.size());
    const TableRow& tc = t_.cases[which];
    template_of.push_back(which);
    std::vector<store::SqlValue> c = tc.values;
    tc.Set(&c, "case_id", case_id);
    tc.Set(&c, "request_id", absl::StrCat("disk-", hex));
    for (const char* col : {"create_time", "update_time", "state_time"}) tc.Set(&c, col, now);
    std::string blob_id;
    if (photo_) {
      // A distinct 64-digit id per photo; the blob's first bytes say which.
      blob_id = gridline::util::Sha256Hex(case_id);
      blob_ids.push_back(blob_id);
      tc.Set(&c, "before_photos", blob_id);
      std::vector<store::SqlValue> a = t_.attachment->values;
      t_.attachment->Set(&a, "attachment_id", blob_id);
      t_.attachment->Set(&a, "create_time", now);
      t_.attachment->Set(&a, "touch_time", now);
      t_.attachment->Set(&a, "referenced", int64_t{1});
      attachments.insert(attachments.end(), a.begin(), a.end());
    }
    cases.insert(cases.end(), c.begin(), c.end());
  }
  if (photo_) {
    if (auto st = WriteBlobs(blob_ids); !st.ok()) return st;
  }
  if (auto st = conn.Begin(true); !st.ok()) return st;
  auto fail = [&](absl::Status st) {
    conn.Rollback().IgnoreError();
    return st;
  };
  if (photo_) {
    if (auto r = conn.Execute(insert_attachments_, attachments); !r.ok()) return fail(r.status());
  }
  if (auto r = conn.Execute(insert_cases_, cases); !r.ok()) return fail(r.status());
  // The events last, as the server appends them: the sequence row is locked until the commit.
  if (auto r = conn.Execute("UPDATE event_sequence SET last_seq = last_seq + ? WHERE id = 1",
                            {static_cast<int64_t>(n)});
      !r.ok()) {
    return fail(r.status());
  }
  auto top = conn.Query("SELECT last_seq FROM event_sequence WHERE id = 1");
  if (!top.ok()) return fail(top.status());
  if (top->empty()) return fail(absl::InternalError("event_sequence row missing"));
  int64_t seq = top->front().Int(0) - n;
  for (int i = 0; i < n; ++i) {
    const TableRow& te = t_.events[template_of[static_cast<size_t>(i)]];
    std::vector<store::SqlValue> e = te.values;
    te.Set(&e, "seq", ++seq);
    te.Set(&e, "case_id", case_ids[static_cast<size_t>(i)]);
    te.Set(&e, "event_time", now);
    if (photo_) te.Set(&e, "attachment_ids", blob_ids[static_cast<size_t>(i)]);
    events.insert(events.end(), e.begin(), e.end());
  }
  if (auto r = conn.Execute(insert_events_, events); !r.ok()) return fail(r.status());
  if (auto st = conn.Commit(); !st.ok()) return fail(st);
  return absl::OkStatus();
}

void DiskLimit::Worker(int index) {
  auto conn = db_->Connect();
  if (!conn.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    error_ = conn.status().ToString();
    return;
  }
  while (!stop_.load()) {
    const uint64_t first = next_.fetch_add(static_cast<uint64_t>(f_.batch));
    const auto t0 = Clock::now();
    absl::Status st = Batch(**conn, index, first);
    const auto t1 = Clock::now();
    std::lock_guard<std::mutex> lock(mu_);
    if (st.ok()) {
      commits_.emplace_back(t1,
                            std::chrono::duration_cast<std::chrono::microseconds>(t1 - t0).count());
    } else if (gridline::domain::IsRetryable(st) || st.code() == absl::StatusCode::kAborted) {
      ++conflicts_;
    } else {
      error_ = st.ToString();
      return;
    }
  }
}

DiskResult DiskLimit::Run() {
  DiskResult r;
  if (f_.store == "mysql" && !f_.mysql_password_file.empty()) {
    std::ifstream in(f_.mysql_password_file);
    std::getline(in, password_);
  }
  if (auto st = ReadTemplates(); !st.ok()) {
    r.error = absl::StrCat("reading the rows to copy: ", st.ToString());
    return r;
  }
  const std::string suffix = photo_ ? "photo" : "none";
  // A fresh store: its migrations make the schema (and the event sequence row).
  absl::StatusOr<std::unique_ptr<store::Store>> fresh;
  if (f_.store == "sqlite") {
    disk_target_ = absl::StrCat(f_.disk_dir, "/disk-", suffix, ".db");
    std::filesystem::remove(disk_target_);
    store::SqliteOptions o;
    o.path = disk_target_;
    o.pool_size = 1;
    fresh = store::OpenSqliteStore(o);
  } else {
    disk_target_ = absl::StrCat(f_.disk_database, "_", suffix);
    store::MysqlOptions o;
    o.host = f_.mysql_host;
    o.port = f_.mysql_port;
    o.user = f_.mysql_user;
    o.password = password_;
    o.database = disk_target_;
    o.create_database = true;
    o.pool_size = 1;
    fresh = store::OpenMysqlStore(o);
  }
  if (!fresh.ok()) {
    r.error = absl::StrCat("opening the fresh store: ", fresh.status().ToString());
    return r;
  }
  fresh->reset();
  auto db = Database(disk_target_, false);
  if (!db.ok()) {
    r.error = db.status().ToString();
    return r;
  }
  db_ = *std::move(db);
  {
    auto conn = db_->Connect();
    if (!conn.ok()) {
      r.error = conn.status().ToString();
      return r;
    }
    auto q = f_.store == "sqlite"
                 ? (*conn)->Query(
                       "SELECT 'journal_mode=' || (SELECT journal_mode FROM pragma_journal_mode) "
                       "|| ', synchronous=' || (SELECT synchronous FROM pragma_synchronous) || "
                       "' (2 = FULL), SQLite ' || sqlite_version()")
                 : (*conn)->Query(
                       "SELECT CONCAT('innodb_flush_log_at_trx_commit=', "
                       "@@innodb_flush_log_at_trx_commit, ', log_bin=', @@log_bin, "
                       "', sync_binlog=', @@sync_binlog, ', innodb_doublewrite=', "
                       "@@innodb_doublewrite, ', MariaDB ', VERSION())");
    if (q.ok() && !q->empty()) r.settings = q->front().Str(0);
  }
  insert_cases_ = MultiRowInsert(t_.cases.front(), f_.batch);
  insert_events_ = MultiRowInsert(t_.events.front(), f_.batch);
  if (photo_) {
    insert_attachments_ = MultiRowInsert(*t_.attachment, f_.batch);
    blob_dir_ = absl::StrCat(f_.disk_dir, "/disk-blobs-", suffix);
    for (int i = 0; i < 256; ++i) {
      char sub[8];
      std::snprintf(sub, sizeof sub, "%02x", i);
      std::filesystem::create_directories(absl::StrCat(blob_dir_, "/", sub));
    }
    photo_bytes_ = gridline::testing::TestJpeg(kPhotoBytes);
  }
  const int threads = f_.disk_threads > 0 ? f_.disk_threads : (f_.store == "sqlite" ? 1 : 8);
  std::vector<std::thread> workers;
  for (int i = 0; i < threads; ++i) workers.emplace_back([this, i] { Worker(i); });
  std::this_thread::sleep_for(std::chrono::duration<double>(f_.warmup_s));
  const Sample a = sample_(true);
  std::this_thread::sleep_for(std::chrono::duration<double>(f_.duration_s));
  const Sample b = sample_(false);
  stop_ = true;
  for (auto& w : workers) w.join();
  std::vector<int64_t> durations;
  for (const auto& [end, us] : commits_) {
    if (end < a.at || end > b.at) continue;
    r.rows += f_.batch;
    ++r.batches;
    durations.push_back(us);
  }
  r.commit = Summarise(std::move(durations));
  r.conflicts = conflicts_;
  r.error = error_;
  Subtract(a, b, &r.window);
  r.window.server_cpu = r.window.echo_cpu = 0;  // idle meanwhile
  r.rate = static_cast<double>(r.rows) / r.window.seconds;
  if (photo_) std::filesystem::remove_all(blob_dir_);  // gigabytes on a fast disk
  r.settings += absl::StrCat("; ", threads, " thread", threads == 1 ? "" : "s", ", ", f_.batch,
                             " rows per transaction");
  return r;
}

// ---- the tables -------------------------------------------------------------------------------

struct VariantResults {
  std::optional<LoadResult> ingest, wire;
  std::optional<DiskResult> disk;
};

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "?";
}

std::string Ms(double ms) { return ThreeDigits(ms); }

// Counts per report, which may be far below one.
std::string Fraction(double v) {
  if (v <= 0 || v >= 1) return ThreeDigits(v);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

std::string PerItem(double total, double items, double scale = 1) {
  if (items <= 0) return "–";
  return Fraction(total * scale / items);
}

void PrintTables(const Flags& f, const std::map<std::string, VariantResults>& results,
                 const std::string& device) {
  const int cores = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  const std::string label =
      !f.label.empty() ? f.label : (f.store == "sqlite" ? "SQLite" : "MariaDB");
  std::printf("\n### %s: ingest against the wire and the disk\n\n", label.c_str());
  std::printf(
      "Commit %s; %d cores (%s); %d calls in flight over %d connections; %.0f s warm-up, %.0f s "
      "measured per figure.",
      f.commit.c_str(), cores, CpuModel().c_str(), f.concurrency,
      f.channels > 0 ? f.channels : f.concurrency, f.warmup_s, f.duration_s);
  for (const auto& [variant, r] : results) {
    if (r.disk) {
      std::printf(" Disk limit: %s.", r.disk->settings.c_str());
      break;
    }
  }
  std::printf("\n\n");
  std::printf(
      "| | ingest (reports/s) | ingest latency p50 / p99 | (a) wire (calls/s) | (b) disk (rows/s) "
      "| **ingest ÷ min(a, b)** |\n|---|---|---|---|---|---|\n");
  for (const std::string& variant : f.variants) {
    auto it = results.find(variant);
    if (it == results.end()) continue;
    const VariantResults& r = it->second;
    const double ingest = r.ingest ? r.ingest->rate : 0;
    const double a = r.wire ? r.wire->rate : 0;
    const double b = r.disk && r.disk->error.empty() ? r.disk->rate : 0;
    double limit = 0;
    if (a > 0 && b > 0) limit = std::min(a, b);
    if (a > 0 && b <= 0) limit = a;
    if (b > 0 && a <= 0) limit = b;
    std::printf("| %s | %s | %s | %s | %s | **%s** |\n",
                variant == "photo" ? "1 photo × 200 KiB" : "no photo",
                r.ingest ? ThreeDigits(ingest).c_str() : "–",
                r.ingest ? absl::StrCat(Ms(r.ingest->latency.p50_ms), " / ",
                                        Ms(r.ingest->latency.p99_ms), " ms")
                               .c_str()
                         : "–",
                r.wire ? ThreeDigits(a).c_str() : "–", b > 0 ? ThreeDigits(b).c_str() : "–",
                r.ingest && limit > 0 ? ThreeDigits(ingest / limit).c_str() : "–");
  }

  // Where the time goes: one column per measurement.
  struct Col {
    std::string title;
    const LoadResult* load = nullptr;
    const DiskResult* disk = nullptr;
    bool wire = false;
  };
  std::vector<Col> cols;
  for (const std::string& variant : f.variants) {
    auto it = results.find(variant);
    if (it == results.end()) continue;
    const std::string v = variant == "photo" ? "photo" : "no photo";
    if (it->second.ingest) cols.push_back({"ingest, " + v, &*it->second.ingest, nullptr, false});
    if (it->second.wire) cols.push_back({"wire, " + v, &*it->second.wire, nullptr, true});
    if (it->second.disk) cols.push_back({"disk, " + v, nullptr, &*it->second.disk, false});
  }
  if (cols.empty()) return;
  std::printf(
      "\nPer report (per echoed report for the wire, per row for the disk), in the measured "
      "windows:\n\n|");
  for (const auto& c : cols) std::printf(" | %s", c.title.c_str());
  std::printf(" |\n|---");
  for (size_t i = 0; i < cols.size(); ++i) std::printf("|---");
  std::printf("|\n");
  auto row = [&](const char* name, const std::function<std::string(const Col&)>& cell) {
    std::printf("| %s", name);
    for (const auto& c : cols) std::printf(" | %s", cell(c).c_str());
    std::printf(" |\n");
  };
  auto items = [](const Col& c) -> double {
    if (c.load) return static_cast<double>(c.load->ok);
    return static_cast<double>(c.disk->rows);
  };
  auto window = [](const Col& c) -> const Window& {
    return c.load ? c.load->window : c.disk->window;
  };
  row("rate (/s)", [](const Col& c) {
    return ThreeDigits(c.load ? c.load->rate : (c.disk->error.empty() ? c.disk->rate : 0));
  });
  row("latency p50 / p99 (ms): report; disk: a batch", [](const Col& c) {
    const Percentiles& p = c.load ? c.load->latency : c.disk->commit;
    return absl::StrCat(Ms(p.p50_ms), " / ", Ms(p.p99_ms));
  });
  row("SubmitReport alone p50 / p99 (ms)", [](const Col& c) -> std::string {
    if (!c.load) return "";
    return absl::StrCat(Ms(c.load->submit_latency.p50_ms), " / ",
                        Ms(c.load->submit_latency.p99_ms));
  });
  row("store transactions (commits)", [&](const Col& c) -> std::string {
    if (c.disk) return Fraction(1.0 / f.batch);
    if (c.wire || !c.load->window.metrics_ok) return "–";
    return PerItem(c.load->window.tx_count, items(c));
  });
  row("store transaction time, mean (ms)", [&](const Col& c) -> std::string {
    if (c.disk) return "";
    if (c.wire || !c.load->window.metrics_ok || c.load->window.tx_count <= 0) return "–";
    return Ms(1000 * c.load->window.tx_sum / c.load->window.tx_count);
  });
  row(absl::StrCat("device flushes (", device.empty() ? "?" : device, ", all processes)").c_str(),
      [&](const Col& c) {
        return window(c).device_ok ? PerItem(window(c).flushes, items(c)) : std::string("–");
      });
  row("KiB written to the device", [&](const Col& c) {
    return window(c).device_ok ? PerItem(window(c).write_kib, items(c)) : std::string("–");
  });
  auto syscalls = [&](const char* key, const Col& c) -> std::string {
    auto it = window(c).syscalls.find(key);
    return it == window(c).syscalls.end() ? "–" : PerItem(it->second, items(c));
  };
  row("fsync + fdatasync + syncfs calls (server, database, this process)",
      [&](const Col& c) { return syscalls("syncs", c); });
  if (f.server_pid > 0) {
    row("sleeps in gridline-server (clock_nanosleep)",
        [&](const Col& c) { return c.load && !c.wire ? syscalls("server_sleeps", c) : ""; });
  }
  for (const char* status : kDbStatus) {
    bool any = false;
    for (const auto& c : cols) any = any || window(c).db_status.count(status) > 0;
    if (!any) continue;
    row(absl::StrCat("MariaDB ", status,
                     std::string(status) == "Innodb_row_lock_time" ? " (ms)" : "")
            .c_str(),
        [&](const Col& c) -> std::string {
          auto it = window(c).db_status.find(status);
          return it == window(c).db_status.end() ? "–" : PerItem(it->second, items(c));
        });
  }
  row("CPU ms: gridline-server (ingest) / echo server (wire)", [&](const Col& c) -> std::string {
    if (c.disk) return "";
    const Window& w = window(c);
    if (c.wire) return PerItem(w.echo_cpu, items(c), 1000);
    return f.server_pid > 0 ? PerItem(w.server_cpu, items(c), 1000) : "–";
  });
  row("CPU ms: this process (client; disk: the writer)",
      [&](const Col& c) { return PerItem(window(c).self_cpu, items(c), 1000); });
  if (f.db_pid > 0) {
    row("CPU ms: mariadbd",
        [&](const Col& c) { return PerItem(window(c).db_cpu, items(c), 1000); });
  }
  row("CPU busy, share of all cores: these processes / the whole machine", [&](const Col& c) {
    const Window& w = window(c);
    const double busy = w.server_cpu + w.echo_cpu + w.db_cpu + w.self_cpu;
    if (w.seconds <= 0) return std::string("–");
    return absl::StrCat(ThreeDigits(100 * busy / (w.seconds * cores)), " / ",
                        ThreeDigits(100 * w.machine_busy / (w.seconds * cores)), " %");
  });
  row("failed", [](const Col& c) -> std::string {
    if (c.load) return absl::StrCat(c.load->failed);
    return c.disk->error.empty() ? absl::StrCat(c.disk->conflicts, " conflicts")
                                 : "error: " + c.disk->error.substr(0, 80);
  });
  for (const auto& c : cols) {
    if (!c.load) continue;
    for (const auto& [error, n] : c.load->errors) {
      std::printf("\n%s: %lld × %s", c.title.c_str(), static_cast<long long>(n), error.c_str());
    }
  }
  std::fflush(stdout);
}

int RunBench(const Flags& f, EchoChild* echo) {
  if (f.target.empty() || f.tokens.empty()) Usage("--target and --tokens are required");
  if (f.store != "sqlite" && f.store != "mysql") Usage("--store is sqlite or mysql");
  if (f.concurrency < 1 || f.batch < 1 || f.duration_s <= 0) Usage("bad counts");
  auto wants = [&](const std::string& m) {
    return std::find(f.measures.begin(), f.measures.end(), m) != f.measures.end();
  };
  if (wants("disk")) {
    if (f.disk_dir.empty()) Usage("--disk_dir is required for the disk limit");
    if (f.store == "sqlite" && f.template_sqlite.empty()) Usage("--template_sqlite is required");
    if (f.store == "mysql" && f.template_database.empty()) Usage("--template_database is required");
  }
  if (f.blob_sync != "syncfs" && f.blob_sync != "fdatasync") Usage("--blob_sync: syncfs|fdatasync");
  const std::vector<Handset> handsets = LoadHandsets(f.tokens);
  const ReportMaker maker;
  const std::string device_path = DeviceStatPath(f.disk_dir);
  // MariaDB's counters, through a connection of our own to the server's database.
  std::unique_ptr<store::SqlConnection> status_conn;
  if (f.store == "mysql" && !f.template_database.empty()) {
    store::MysqlOptions o;
    o.host = f.mysql_host;
    o.port = f.mysql_port;
    o.user = f.mysql_user;
    o.database = f.template_database;
    if (!f.mysql_password_file.empty()) {
      std::ifstream in(f.mysql_password_file);
      std::getline(in, o.password);
    }
    o.create_database = true;  // the server creates it too; it may not be up yet
    auto db = store::MakeMysqlDatabase(o);
    if (db.ok()) {
      auto conn = (*db)->Connect();
      if (conn.ok()) status_conn = *std::move(conn);
    }
  }
  SyscallCounter syscalls(f.perf);
  auto sample = [&](bool begin) {
    // The counters run over the window: started before its first sample, stopped after its last.
    if (begin) syscalls.Start({f.server_pid, f.db_pid, static_cast<int>(getpid())});
    Sample s;
    s.at = Clock::now();
    s.server_cpu = ProcessCpuSeconds(f.server_pid);
    s.echo_cpu = ProcessCpuSeconds(echo->pid);
    s.db_cpu = ProcessCpuSeconds(f.db_pid);
    s.self_cpu = SelfCpuSeconds();
    s.machine_busy = MachineBusySeconds();
    s.device = ReadDeviceStat(device_path);
    const std::string text = HttpGetMetrics(f.metrics);
    s.tx_count = MetricSum(text, "gridline_store_transaction_duration_seconds_count");
    s.tx_sum = MetricSum(text, "gridline_store_transaction_duration_seconds_sum");
    if (status_conn) {
      std::vector<std::string> names;
      for (const char* n : kDbStatus) names.push_back(absl::StrCat("'", n, "'"));
      auto rows = status_conn->Query(absl::StrCat(
          "SELECT variable_name, variable_value FROM information_schema.global_status WHERE "
          "variable_name IN (",
          absl::AsciiStrToUpper(absl::StrJoin(names, ", ")), ")"));
      if (rows.ok()) {
        for (const auto& r : *rows) {
          for (const char* n : kDbStatus) {
            if (absl::AsciiStrToUpper(n) == absl::AsciiStrToUpper(r.Str(0))) {
              s.db_status[n] = r.Double(1);
            }
          }
        }
      }
    }
    if (!begin) s.syscalls = syscalls.Stop();
    return s;
  };
  auto describe = [](const LoadResult& r) {
    return absl::StrCat(ThreeDigits(r.rate), "/s, p50 ", Ms(r.latency.p50_ms), " ms, p99 ",
                        Ms(r.latency.p99_ms), " ms, ", r.failed, " failed");
  };

  std::map<std::string, VariantResults> results;
  v1::SubmitReportResponse response;
  v1::Attachment attachment;
  // Every ingest first (the echo answers with what the server answered, the disk copies its
  // rows), then the wire, then the disk, while the server idles.
  if (wants("ingest")) {
    for (const std::string& variant : f.variants) {
      std::fprintf(stderr, "ingest_bench: ingest, %s ...\n", variant.c_str());
      Load load(f, handsets, maker, f.target, variant == "photo", sample);
      LoadResult r = load.Run();
      std::fprintf(stderr, "ingest_bench: ingest, %s: %s\n", variant.c_str(), describe(r).c_str());
      if (r.response.has_case_()) response = r.response;
      if (!r.attachment.attachment_id().empty()) attachment = r.attachment;
      results[variant].ingest = std::move(r);
    }
  }
  if (wants("wire")) {
    if (!response.has_case_()) Usage("the wire limit needs an ingest run first (its answers)");
    if (attachment.attachment_id().empty()) {
      attachment.set_attachment_id(std::string(64, 'a'));
      attachment.set_content_type("image/jpeg");
      attachment.set_size_bytes(static_cast<int64_t>(kPhotoBytes));
      *attachment.mutable_create_time() = response.case_().create_time();
    }
    const int port = StartEcho(echo, response, attachment);
    for (const std::string& variant : f.variants) {
      std::fprintf(stderr, "ingest_bench: wire, %s ...\n", variant.c_str());
      Load load(f, handsets, maker, absl::StrCat("127.0.0.1:", port), variant == "photo", sample);
      LoadResult r = load.Run();
      std::fprintf(stderr, "ingest_bench: wire, %s: %s\n", variant.c_str(), describe(r).c_str());
      results[variant].wire = std::move(r);
    }
  }
  if (wants("disk")) {
    for (const std::string& variant : f.variants) {
      std::fprintf(stderr, "ingest_bench: disk, %s ...\n", variant.c_str());
      DiskLimit disk(f, variant == "photo", sample);
      DiskResult r = disk.Run();
      std::fprintf(stderr, "ingest_bench: disk, %s: %s/s%s\n", variant.c_str(),
                   ThreeDigits(r.rate).c_str(), r.error.empty() ? "" : (", " + r.error).c_str());
      results[variant].disk = std::move(r);
    }
  }
  PrintTables(f, results, DeviceName(device_path));
  bool failed = false;
  for (const auto& [variant, r] : results) {
    if (r.disk && !r.disk->error.empty()) failed = true;
    if (r.ingest && r.ingest->ok == 0) failed = true;
  }
  return failed ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags = ParseFlags(argc, argv);
  if (!flags.generate_org.empty() || !flags.generate_tokens.empty()) return Generate(flags);
  // The fresh stores of the disk limit log their migrations otherwise.
  gridline::util::SetLogLevel(gridline::util::LogLevel::kWarning);
  // Before anything starts gRPC in this process.
  EchoChild echo = ForkEcho();
  signal(SIGPIPE, SIG_IGN);
  const int rc = RunBench(flags, &echo);
  close(echo.cmd_fd);
  int status = 0;
  waitpid(echo.pid, &status, 0);
  return rc;
}
