// Faults from outside, with real processes ("Hard to break", part 6). Each test runs the real
// gridline-server binary and breaks something under it while clients work over real gRPC:
//  - SIGKILL: the server is killed 5 times at seeded random moments while 8 clients upload photos
//    and submit reports, retrying with the same request id. Every acknowledged report exists
//    exactly once, no request id has two cases, every photo is intact.
//  - MariaDB restarts: a MariaDB of the test's own is stopped and started twice under load
//    (SIGTERM, then SIGKILL). grpc.health.v1 goes NOT_SERVING and back to SERVING without a
//    restart of gridline, clients see only UNAVAILABLE, nothing acknowledged is lost.
//  - A full disk: the running server's RLIMIT_FSIZE is lowered to 0 (SIGXFSZ ignored, so writes
//    fail with EFBIG), then lifted. Writes get UNAVAILABLE saying the disk is full, reads go on,
//    and afterwards the same server goes on, with an intact SQLite file and photo store.
//  - Slow readers: clients that never read their WatchCases, WatchQueue and WatchAssignments
//    streams while thousands of events are written. Everybody else's calls succeed (their
//    latency is printed with and without the slow readers, never asserted), the slow streams are
//    ended by the slow-consumer policy (ServerConfig.watch.slow_consumer_timeout_ms), and a
//    reader resuming from their cursor gets every event once, in order.
// On SQLite and on the MariaDB of the test command, unless a test says otherwise. Every wait has
// a deadline; the only sleeps are the seeded delays before a kill (the fault schedule) and the
// clients' retry backoff, and no assertion depends on them.
#include <gtest/gtest.h>
#include <pwd.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gridline/v1/department_service.grpc.pb.h"
#include "gridline/v1/dispatch_service.grpc.pb.h"
#include "gridline/v1/report_service.grpc.pb.h"
#include "server/util/sha256.h"
#include "tests/e2e_fixture.h"
#include "tests/stream_reader.h"
#include "tests/test_images.h"

namespace gridline {
namespace {

namespace v1 = ::gridline::v1;
using namespace testing;  // NOLINT: demo tokens
using SteadyClock = std::chrono::steady_clock;
using Health = grpc::health::v1::HealthCheckResponse;

constexpr char kCell2[] = "410184001002001";  // leader 2's cell, street 1
constexpr char kCell3[] = "410184002001001";  // leader 3's cell, street 2

// The seed of a test's randomness: GRIDLINE_FAULT_SEED to replay a run, else a fresh one. Printed.
uint64_t Seed() {
  uint64_t seed = 0;
  const char* env = std::getenv("GRIDLINE_FAULT_SEED");
  if (env == nullptr || !absl::SimpleAtoi(env, &seed)) {
    seed = (static_cast<uint64_t>(std::random_device()()) << 32) | std::random_device()();
  }
  std::cout << "[   seed   ] GRIDLINE_FAULT_SEED=" << seed << " replays this run\n";
  ::testing::Test::RecordProperty("seed", std::to_string(seed));
  return seed;
}

std::string CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    default:
      return absl::StrCat("code ", static_cast<int>(code));
  }
}

// One acknowledged report, as its client knows it.
struct Ack {
  std::string token;
  v1::SubmitReportRequest request;
  std::string case_id;
  std::string photo;  // the bytes of its photo, if it has one
};

// What the clients of a test share: what was acknowledged, the failed attempts by code, the
// problems found on the way, and a stop signal. The test waits on it for events (so many
// acknowledgements) with a deadline.
class Load {
 public:
  void Acked(Ack ack) {
    std::lock_guard<std::mutex> lock(mu_);
    acks_.push_back(std::move(ack));
    cv_.notify_all();
  }
  void Failed(const grpc::Status& s) {
    std::lock_guard<std::mutex> lock(mu_);
    ++failures_[s.error_code()];
    // A few distinct messages of each code (their starts: ids and ports differ).
    auto& seen = examples_[s.error_code()];
    const std::string start = s.error_message().substr(0, 40);
    if (seen.size() < 4 && std::none_of(seen.begin(), seen.end(), [&](const std::string& e) {
          return e.substr(0, 40) == start;
        })) {
      seen.push_back(s.error_message());
    }
  }
  void Problem(std::string what) {
    std::lock_guard<std::mutex> lock(mu_);
    problems_.push_back(std::move(what));
  }
  // True once `n` reports are acknowledged; false after `timeout` or once stopped.
  bool WaitForAcks(size_t n, std::chrono::seconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return acks_.size() >= n || stop_; }) &&
           acks_.size() >= n;
  }
  size_t acks() {
    std::lock_guard<std::mutex> lock(mu_);
    return acks_.size();
  }
  void Stop() {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    cv_.notify_all();
  }
  bool stopped() {
    std::lock_guard<std::mutex> lock(mu_);
    return stop_;
  }
  // Stops the clients at once, mid-report too (a test that failed half-way).
  void Abort() {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = aborted_ = true;
    cv_.notify_all();
  }
  bool aborted() {
    std::lock_guard<std::mutex> lock(mu_);
    return aborted_;
  }
  // The clients' pause between attempts (a handset's backoff, not a synchronisation): ends early
  // on Stop.
  void Backoff(int attempt) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(std::min(200, 10 * (attempt + 1))),
                 [&] { return stop_; });
  }
  std::vector<Ack> acked() {
    std::lock_guard<std::mutex> lock(mu_);
    return acks_;
  }
  std::map<grpc::StatusCode, int> failures() {
    std::lock_guard<std::mutex> lock(mu_);
    return failures_;
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
                      absl::StrJoin(examples_[code], "\" | \""), "\")");
    }
    return out.empty() ? "none" : out;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Ack> acks_;
  std::map<grpc::StatusCode, int> failures_;
  std::map<grpc::StatusCode, std::vector<std::string>> examples_;
  std::vector<std::string> problems_;
  bool stop_ = false;
  bool aborted_ = false;
};

// A context for one attempt: waits for the server to be reachable (a killed server is being
// restarted), within `seconds`.
void Prepare(grpc::ClientContext* ctx, const std::string& token, int seconds = 10) {
  ctx->AddMetadata("authorization", "Bearer " + token);
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  ctx->set_wait_for_ready(true);
}

grpc::Status UploadOnce(v1::ReportService::Stub* stub, const std::string& token,
                        const std::string& bytes, std::string* id) {
  grpc::ClientContext ctx;
  Prepare(&ctx, token);
  v1::Attachment out;
  auto writer = stub->UploadAttachment(&ctx, &out);
  v1::UploadAttachmentRequest meta;
  meta.mutable_metadata()->set_sha256(util::Sha256Hex(bytes));
  meta.mutable_metadata()->set_size_bytes(static_cast<int64_t>(bytes.size()));
  v1::UploadAttachmentRequest chunk;
  chunk.set_chunk(bytes);
  if (writer->Write(meta)) writer->Write(chunk);
  writer->WritesDone();
  grpc::Status s = writer->Finish();
  *id = out.attachment_id();
  return s;
}

grpc::Status SubmitOnce(v1::ReportService::Stub* stub, const std::string& token,
                        const v1::SubmitReportRequest& req, v1::SubmitReportResponse* resp) {
  grpc::ClientContext ctx;
  Prepare(&ctx, token);
  return stub->SubmitReport(&ctx, req, resp);
}

grpc::Status DownloadOnce(v1::ReportService::Stub* stub, const std::string& token,
                          const std::string& id, std::string* bytes) {
  grpc::ClientContext ctx;
  Prepare(&ctx, token, 20);
  v1::DownloadAttachmentRequest req;
  req.set_attachment_id(id);
  auto reader = stub->DownloadAttachment(&ctx, req);
  v1::DownloadAttachmentResponse m;
  bytes->clear();
  while (reader->Read(&m)) {
    if (m.part_case() == v1::DownloadAttachmentResponse::kChunk) *bytes += m.chunk();
  }
  return reader->Finish();
}

// Runs `attempt` until it succeeds, fails with a status that is not worth retrying
// (`retryable` says which are), or `deadline` passes. Every failed attempt is counted in `load`.
grpc::Status Retry(Load* load, SteadyClock::time_point deadline,
                   const std::function<bool(const grpc::Status&)>& retryable,
                   const std::function<grpc::Status()>& attempt) {
  for (int n = 0;; ++n) {
    grpc::Status s = attempt();
    if (s.ok()) return s;
    load->Failed(s);
    if (!retryable(s) || SteadyClock::now() >= deadline || load->aborted()) return s;
    load->Backoff(n);
  }
}

// What a handset may see while its server is killed: the connection breaks (UNAVAILABLE) or the
// attempt's deadline passes while the server restarts.
bool ServerDownStatus(const grpc::Status& s) {
  return s.error_code() == grpc::StatusCode::UNAVAILABLE ||
         s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
}

// What the API promises while its database is down: UNAVAILABLE, nothing else.
bool StoreDownStatus(const grpc::Status& s) {
  return s.error_code() == grpc::StatusCode::UNAVAILABLE;
}

const char* CellOf(const std::string& token) {
  if (token == kLeader2) return kCell2;
  if (token == kLeader3) return kCell3;
  return kCell1;
}

// A grid leader's handset: reports, some with a photo uploaded first, each retried with its
// request id until acknowledged. Some acknowledged reports are sent once more (a handset whose
// answer was lost), which must return the same case.
class Handset {
 public:
  Handset(Load* load, std::shared_ptr<grpc::Channel> channel, std::string token, uint64_t seed,
          std::string prefix, std::function<bool(const grpc::Status&)> retryable)
      : load_(load),
        stub_(v1::ReportService::NewStub(channel)),
        token_(std::move(token)),
        rng_(seed),
        prefix_(std::move(prefix)),
        retryable_(std::move(retryable)) {}

  // Files report number `i`; false (with a problem recorded) if it could not be acknowledged.
  bool FileReport(int i, SteadyClock::time_point deadline) {
    const std::string request_id = absl::StrCat(prefix_, "-", i);
    v1::SubmitReportRequest req = E2eTestReport(request_id);
    req.mutable_location()->set_grid_code(CellOf(token_));
    // Street lights are filed by rule in a second transaction; road damage waits for triage.
    if (rng_() % 2 == 0) req.set_category_code("C04_STREET_LIGHT_OUT");
    Ack ack;
    ack.token = token_;
    if (rng_() % 3 == 0) {
      ack.photo = TestJpeg(1500 + rng_() % 6000, request_id);
      std::string id;
      grpc::Status s = Retry(load_, deadline, retryable_,
                             [&] { return UploadOnce(stub_.get(), token_, ack.photo, &id); });
      if (!s.ok()) {
        load_->Problem(absl::StrCat(request_id, ": upload: ", CodeName(s.error_code()), " ",
                                    s.error_message()));
        return false;
      }
      if (id != util::Sha256Hex(ack.photo)) {
        load_->Problem(absl::StrCat(request_id, ": the upload answered id ", id));
      }
      req.add_attachment_ids(id);
    }
    v1::SubmitReportResponse resp;
    grpc::Status s = Retry(load_, deadline, retryable_,
                           [&] { return SubmitOnce(stub_.get(), token_, req, &resp); });
    if (!s.ok()) {
      load_->Problem(
          absl::StrCat(request_id, ": submit: ", CodeName(s.error_code()), " ", s.error_message()));
      return false;
    }
    ack.request = req;
    ack.case_id = resp.case_().case_id();
    if (rng_() % 4 == 0) {  // the answer "was lost": the same report once more
      v1::SubmitReportResponse again;
      s = Retry(load_, deadline, retryable_,
                [&] { return SubmitOnce(stub_.get(), token_, req, &again); });
      if (!s.ok() || again.case_().case_id() != ack.case_id) {
        load_->Problem(absl::StrCat(request_id, ": a repeat answered ", CodeName(s.error_code()),
                                    " ", s.error_message(), " case ", again.case_().case_id(),
                                    ", not ", ack.case_id));
      }
    }
    load_->Acked(std::move(ack));
    return true;
  }

 private:
  static v1::SubmitReportRequest E2eTestReport(const std::string& request_id) {
    v1::SubmitReportRequest r;
    r.set_request_id(request_id);
    r.set_category_code("C01_ROAD_DAMAGE");
    r.set_description(absl::StrCat("井盖缺失 ", request_id));
    r.mutable_location()->set_address("新郑市郑韩路18号");
    r.set_urgency(v1::URGENT);
    return r;
  }

  Load* const load_;
  std::unique_ptr<v1::ReportService::Stub> stub_;
  const std::string token_;
  std::mt19937_64 rng_;
  const std::string prefix_;
  const std::function<bool(const grpc::Status&)> retryable_;
};

// The client threads of a test, joined on every way out of it (a failed ASSERT included).
class Clients {
 public:
  explicit Clients(Load* load) : load_(load) {}
  ~Clients() {
    if (!threads_.empty()) load_->Abort();
    Finish();
  }
  void Add(std::function<void()> body) { threads_.emplace_back(std::move(body)); }
  // Tells the clients to start no new report, and waits for them to end.
  void Join() {
    load_->Stop();
    Finish();
  }
  // Waits for the clients to end by themselves (they stop once their work is done).
  void Finish() {
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

 private:
  Load* const load_;
  std::vector<std::thread> threads_;
};

class FaultTest : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    if (IsSkipped() || HasFailure()) return;
    photos_ = dir_.path() + "/photos";
    // The photos of every backend in the test's directory (MariaDB's default is relative).
    std::ofstream(dir_.path() + "/server.textproto", std::ios::app)
        << "attachments { directory: '" << photos_ << "' }\n";
  }

  // Checks, through a fresh client, that every acknowledged report is stored as acknowledged:
  // its case reads back with its text and photo, a repeat of its request answers the same case,
  // its photo downloads intact; and, in the store, that there is one case per report and one
  // REPORTED event per case, with no request id twice.
  void CheckAcknowledged(int port, const std::vector<Ack>& acks) {
    auto stub = v1::ReportService::NewStub(Channel(port));
    std::set<std::string> case_ids;
    for (const Ack& ack : acks) {
      SCOPED_TRACE(ack.request.request_id());
      case_ids.insert(ack.case_id);
      v1::Case got;
      grpc::Status s = GetCase(stub.get(), ack.case_id, &got, ack.token);
      ASSERT_TRUE(s.ok()) << "an acknowledged report is gone: " << s.error_message();
      EXPECT_EQ(got.description(), ack.request.description());
      v1::SubmitReportResponse again;
      s = Submit(stub.get(), ack.request, &again, ack.token);
      ASSERT_TRUE(s.ok()) << s.error_message();
      EXPECT_EQ(again.case_().case_id(), ack.case_id) << "a second case for one request id";
      if (ack.photo.empty()) {
        EXPECT_EQ(got.before_photos_size(), 0);
        continue;
      }
      ASSERT_EQ(got.before_photos_size(), 1);
      EXPECT_EQ(got.before_photos(0).attachment_id(), util::Sha256Hex(ack.photo));
      std::string bytes;
      s = DownloadOnce(stub.get(), ack.token, got.before_photos(0).attachment_id(), &bytes);
      ASSERT_TRUE(s.ok()) << s.error_message();
      EXPECT_TRUE(bytes == ack.photo) << "the photo came back as " << bytes.size() << " bytes";
    }
    EXPECT_EQ(case_ids.size(), acks.size()) << "two reports answered with the same case";

    auto raw = Raw();
    ASSERT_TRUE(raw);
    auto cases = raw->Query("SELECT COUNT(*) FROM cases");
    ASSERT_TRUE(cases.ok()) << cases.status();
    EXPECT_EQ(cases->front().Int(0), static_cast<int64_t>(acks.size()))
        << "every report was acknowledged in the end, so there is one case per report";
    auto twice = raw->Query(
        "SELECT reporter_user_id, request_id, COUNT(*) FROM cases "
        "GROUP BY reporter_user_id, request_id HAVING COUNT(*) > 1");
    ASSERT_TRUE(twice.ok()) << twice.status();
    EXPECT_TRUE(twice->empty()) << twice->front().Str(1) << " has " << twice->front().Int(2)
                                << " cases";
    auto reported = raw->Query(
        "SELECT case_id, COUNT(*) FROM case_events WHERE type = 1 GROUP BY case_id "
        "HAVING COUNT(*) <> 1");
    ASSERT_TRUE(reported.ok()) << reported.status();
    EXPECT_TRUE(reported->empty())
        << reported->front().Str(0) << " was reported " << reported->front().Int(1) << " times";
  }

  // PRAGMA integrity_check of the SQLite file ("ok" when intact).
  std::string SqliteIntegrity() {
    auto raw = Raw();
    if (!raw) return "no connection";
    auto rows = raw->Query("PRAGMA integrity_check");
    if (!rows.ok()) return std::string(rows.status().message());
    std::string out;
    for (const auto& r : *rows) absl::StrAppend(&out, out.empty() ? "" : "; ", r.Str(0));
    return out;
  }

  std::string photos_;
};

// ---------------------------------------------------------------------------------------------
// 1. SIGKILL under concurrent load.

TEST_P(FaultTest, FiveSigkillsUnderEightClientsLoseNothingAndDuplicateNothing) {
  const uint64_t seed = Seed();
  std::mt19937_64 rng(seed);
  const int port = FreePort();
  auto server = StartServerAt(port);
  ASSERT_TRUE(server);

  constexpr int kClients = 8;
  constexpr int kReportsEach = 10;
  constexpr int kKills = 5;
  constexpr int kReports = kClients * kReportsEach;
  const char* const kTokens[] = {kLeader1, kLeader2, kLeader3};
  Load load;
  Clients clients(&load);
  const auto deadline = SteadyClock::now() + std::chrono::seconds(150);
  for (int c = 0; c < kClients; ++c) {
    clients.Add([&, c, client_seed = rng()] {
      Handset handset(&load, Channel(port), kTokens[c % 3], client_seed, absl::StrCat("kill-", c),
                      ServerDownStatus);
      for (int i = 0; i < kReportsEach && !load.stopped(); ++i) {
        if (!handset.FileReport(i, deadline)) return;
      }
    });
  }
  // The fault schedule: each kill once a share of the reports is in, after a seeded delay of
  // up to 40 ms, so that it lands in the middle of uploads, submits and commits.
  int kills = 0;
  for (; kills < kKills; ++kills) {
    const size_t due = static_cast<size_t>((kills + 1) * kReports / (kKills + 2));
    if (!load.WaitForAcks(due, std::chrono::seconds(60))) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 41));
    EXPECT_EQ(server->Stop(SIGKILL), 128 + SIGKILL);
    server = StartServerAt(port);
    ASSERT_TRUE(server) << "restart " << kills + 1;
  }
  clients.Finish();
  EXPECT_EQ(kills, kKills) << "the clients stalled at " << load.acks() << " acknowledgements";
  std::cout << "[  faults  ] " << kills << " SIGKILLs; failed attempts: " << load.FailureSummary()
            << "\n";
  EXPECT_TRUE(load.problems().empty()) << absl::StrJoin(load.problems(), "\n");
  for (const auto& [code, n] : load.failures()) {
    EXPECT_TRUE(code == grpc::StatusCode::UNAVAILABLE ||
                code == grpc::StatusCode::DEADLINE_EXCEEDED)
        << n << " attempts failed with " << CodeName(code);
  }
  const std::vector<Ack> acks = load.acked();
  ASSERT_EQ(acks.size(), static_cast<size_t>(kReports));
  CheckAcknowledged(port, acks);
  if (GetParam() == Backend::kSqlite) EXPECT_EQ(SqliteIntegrity(), "ok");
}

// ---------------------------------------------------------------------------------------------
// 2. MariaDB restarts under load.

// A MariaDB of the test's own (like deploy/lib.sh's start_throwaway_mariadb), which the test may
// stop and start: its data in `dir`, on a free loopback port, with a user who may do anything.
// Always stopped by the destructor (and killed with the test process, see ServerProcess).
class ThrowawayMariaDb {
 public:
  static constexpr char kUser[] = "gridline";
  static constexpr char kPassword[] = "fault-pw";

  explicit ThrowawayMariaDb(std::string dir) : dir_(std::move(dir)) {}
  ~ThrowawayMariaDb() {
    if (process_) process_->Stop(SIGTERM, std::chrono::seconds(30));
  }

  // Installs the data directory and starts the server. A failure is recorded.
  bool Install() {
    const std::string install_db = FindProgram("mariadb-install-db");
    mariadbd_ = FindProgram("mariadbd");
    if (install_db.empty() || mariadbd_.empty()) {
      ADD_FAILURE() << "mariadb-install-db or mariadbd not found (apt-get install mariadb-server)";
      return false;
    }
    const passwd* pw = getpwuid(getuid());
    user_ = pw != nullptr ? pw->pw_name : "root";
    std::filesystem::create_directories(dir_);
    ServerProcess install({"--no-defaults", "--datadir=" + dir_ + "/data",
                           "--auth-root-authentication-method=normal", "--user=" + user_},
                          dir_ + "/install.log", install_db);
    if (install.RunToExit(std::chrono::seconds(120)) != 0) {
      ADD_FAILURE() << "mariadb-install-db failed: " << install.Log();
      return false;
    }
    // Run at every start, so that the user exists from the first connection on.
    std::ofstream(dir_ + "/init.sql")
        << "CREATE USER IF NOT EXISTS '" << kUser << "'@'127.0.0.1' IDENTIFIED BY '" << kPassword
        << "';\nGRANT ALL ON *.* TO '" << kUser << "'@'127.0.0.1';\n";
    port_ = FreePort();
    return Start();
  }

  // Starts mariadbd on the data directory and waits until it is ready for connections.
  bool Start() {
    const std::string log = absl::StrCat(dir_, "/mariadb-", ++starts_, ".err");
    process_ = std::make_unique<ServerProcess>(
        std::vector<std::string>{
            "--no-defaults", "--datadir=" + dir_ + "/data", "--socket=" + dir_ + "/mysql.sock",
            absl::StrCat("--port=", port_), "--bind-address=127.0.0.1", "--user=" + user_,
            "--skip-name-resolve", "--innodb-buffer-pool-size=32M", "--log-error=" + log,
            "--pid-file=" + dir_ + "/mariadb.pid", "--init-file=" + dir_ + "/init.sql"},
        dir_ + "/mariadbd.out", mariadbd_);
    process_->Launch();
    const bool ready = WaitForFile(
        log,
        [&](const std::string& text) {
          return absl::StrContains(text, "ready for connections") || !process_->Running();
        },
        std::chrono::seconds(60));
    if (!ready || !process_->Running()) {
      std::ifstream in(log);
      std::stringstream text;
      text << in.rdbuf();
      ADD_FAILURE() << "MariaDB did not start: " << text.str();
      return false;
    }
    return true;
  }

  // Stops mariadbd with `sig` (SIGTERM: a clean shutdown; SIGKILL: a crash); its exit status.
  int Stop(int sig) {
    const int status = process_->Stop(sig, std::chrono::seconds(60));
    process_.reset();
    return status;
  }

  store::MysqlOptions Options(const std::string& database) const {
    store::MysqlOptions o;
    o.host = "127.0.0.1";
    o.port = port_;
    o.user = kUser;
    o.password = kPassword;
    o.database = database;
    o.create_database = true;
    return o;
  }

 private:
  const std::string dir_;
  std::string mariadbd_;
  std::string user_;
  int port_ = 0;
  int starts_ = 0;
  std::unique_ptr<ServerProcess> process_;
};

TEST_P(FaultTest, TwoMariaDbRestartsUnderLoadAreOnlyUnavailableAndLoseNothing) {
  if (GetParam() != Backend::kMariaDb) GTEST_SKIP() << "restarts a MariaDB of its own";
  const uint64_t seed = Seed();
  std::mt19937_64 rng(seed);
  ThrowawayMariaDb mariadb(dir_.path() + "/mariadb");
  ASSERT_TRUE(mariadb.Install());
  mysql_ = mariadb.Options("gridline_fault");
  std::ofstream(dir_.path() + "/mysql.pw") << mysql_->password << "\n";
  const int port = FreePort();
  auto server = StartServerAt(port);
  ASSERT_TRUE(server);
  auto channel = Channel(port);
  HealthWatch health(channel);
  ASSERT_TRUE(health.WaitFor(Health::SERVING, std::chrono::seconds(10)));

  constexpr int kClients = 4;
  constexpr int kPerPhase = 12;  // acknowledgements before, between and after the restarts
  Load load;
  Clients clients(&load);
  const auto deadline = SteadyClock::now() + std::chrono::seconds(150);
  for (int c = 0; c < kClients; ++c) {
    clients.Add([&, c, client_seed = rng()] {
      Handset handset(&load, channel, c % 2 == 0 ? kLeader1 : kLeader3, client_seed,
                      absl::StrCat("db-restart-", c), StoreDownStatus);
      for (int i = 0; !load.stopped(); ++i) {
        if (!handset.FileReport(i, deadline)) return;
      }
    });
  }
  for (int restart = 0; restart < 2; ++restart) {
    SCOPED_TRACE(absl::StrCat("restart ", restart + 1));
    ASSERT_TRUE(load.WaitForAcks(load.acks() + kPerPhase, std::chrono::seconds(60)))
        << "no progress; failed attempts: " << load.FailureSummary();
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 41));  // the fault schedule
    const int sig = restart == 0 ? SIGTERM : SIGKILL;  // a clean shutdown, then a crash
    EXPECT_EQ(mariadb.Stop(sig), sig == SIGTERM ? 0 : 128 + SIGKILL);
    EXPECT_TRUE(health.WaitFor(Health::NOT_SERVING, std::chrono::seconds(20)))
        << "health must drop to NOT_SERVING while MariaDB is down";
    ASSERT_TRUE(mariadb.Start());
    EXPECT_TRUE(health.WaitFor(Health::SERVING, std::chrono::seconds(30)))
        << "and come back to SERVING once it answers again";
  }
  ASSERT_TRUE(load.WaitForAcks(load.acks() + kPerPhase, std::chrono::seconds(60)))
      << "no progress after the restarts; failed attempts: " << load.FailureSummary();
  clients.Join();
  EXPECT_TRUE(server->Running()) << "gridline must ride out the restarts: " << server->Log();
  EXPECT_TRUE(absl::StrContains(server->Log(), "\"event\":\"store_reconnect\""))
      << "the restarts left no pooled connection to replace: the test broke nothing";
  std::cout << "[  faults  ] 2 MariaDB restarts; " << load.acks()
            << " reports acknowledged; failed attempts: " << load.FailureSummary() << "\n";
  EXPECT_TRUE(load.problems().empty()) << absl::StrJoin(load.problems(), "\n");
  for (const auto& [code, n] : load.failures()) {
    EXPECT_EQ(code, grpc::StatusCode::UNAVAILABLE)
        << n << " attempts failed with " << CodeName(code) << "; " << load.FailureSummary();
  }
  CheckAcknowledged(port, load.acked());
  EXPECT_EQ(server->Stop(SIGTERM), 0) << server->Log();
}

// ---------------------------------------------------------------------------------------------
// 3. The disk fills up.

// Sets the soft RLIMIT_FSIZE of the running process `pid` (the hard limit stays): no file of it
// may be written past `bytes`, as on a full disk. RLIM_INFINITY lifts it.
void LimitFileSize(pid_t pid, rlim_t bytes) {
  rlimit old{};
  ASSERT_EQ(prlimit(pid, RLIMIT_FSIZE, nullptr, &old), 0) << strerror(errno);
  rlimit limit{bytes, old.rlim_max};
  ASSERT_EQ(prlimit(pid, RLIMIT_FSIZE, &limit, nullptr), 0) << strerror(errno);
}

// The status of a write refused because the disk is full: retryable, and saying why.
void ExpectDiskFull(const grpc::Status& s, const char* what) {
  EXPECT_TRUE(s.error_code() == grpc::StatusCode::UNAVAILABLE ||
              s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED)
      << what << ": " << CodeName(s.error_code()) << " " << s.error_message();
  EXPECT_TRUE(absl::StrContains(s.error_message(), "disk is full"))
      << what << ": " << s.error_message();
  std::cout << "[  faults  ] disk full: " << what << " -> " << CodeName(s.error_code()) << " \""
            << s.error_message() << "\"\n";
}

TEST_P(FaultTest, AFullDiskRefusesWritesRetryablyKeepsReadsAndCorruptsNothing) {
  const bool sqlite = GetParam() == Backend::kSqlite;
  // The server inherits SIGXFSZ ignored, so that a write past the limit fails with EFBIG (as
  // ENOSPC on a full disk) instead of killing it.
  struct sigaction ignore {
  }, old{};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGXFSZ, &ignore, &old);
  const int port = FreePort();
  auto server = StartServerAt(port);
  sigaction(SIGXFSZ, &old, nullptr);
  ASSERT_TRUE(server);
  auto stub = v1::ReportService::NewStub(Channel(port));

  // Before: a report with a photo.
  const std::string photo1 = TestJpeg(5000, "before the disk filled");
  std::string photo1_id;
  ASSERT_TRUE(UploadOnce(stub.get(), kLeader1, photo1, &photo1_id).ok());
  v1::SubmitReportRequest first = Report("disk-1");
  first.add_attachment_ids(photo1_id);
  v1::SubmitReportResponse first_resp;
  ASSERT_TRUE(Submit(stub.get(), first, &first_resp).ok());

  // The disk is full: no file of the server may be written any more (photos on every backend,
  // the database too on SQLite).
  LimitFileSize(server->pid(), 0);
  const v1::SubmitReportRequest second = Report("disk-2", "下水道堵塞，污水外溢");
  v1::SubmitReportResponse second_resp;
  if (sqlite) {
    for (int attempt = 0; attempt < 2; ++attempt) {  // a retry meets the same full disk
      ExpectDiskFull(Submit(stub.get(), second, &second_resp), "SubmitReport");
    }
  } else {  // MariaDB's disk is elsewhere: only the photos are refused
    grpc::Status s = Submit(stub.get(), second, &second_resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
  }
  const std::string photo2 = TestJpeg(6000, "while the disk was full");
  std::string photo2_id;
  ExpectDiskFull(UploadOnce(stub.get(), kLeader1, photo2, &photo2_id), "UploadAttachment");

  // Reads go on: the case, the list, the photo, the event feed.
  v1::Case got;
  grpc::Status s = GetCase(stub.get(), first_resp.case_().case_id(), &got);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(got.description(), first.description());
  {
    v1::ListMyCasesResponse mine;
    s = Call(stub.get(), &v1::ReportService::Stub::ListMyCases, kLeader1, v1::ListMyCasesRequest(),
             &mine);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(mine.cases_size(), sqlite ? 1 : 2);
  }
  std::string bytes;
  s = DownloadOnce(stub.get(), kLeader1, photo1_id, &bytes);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(bytes == photo1);
  {
    StreamReader feed(kLeader1, [&](grpc::ClientContext* ctx) {
      v1::WatchCasesRequest req;
      req.set_after_cursor("g1-0");
      return stub->WatchCases(ctx, req);
    });
    auto events = feed.EventsThrough(SeqOf(first_resp.event_cursor()));
    ASSERT_GE(events.size(), 1u);
    EXPECT_EQ(events[0].case_id(), first_resp.case_().case_id());
  }

  // Space is freed: the same server goes on. The refused report goes in on its retry, once.
  LimitFileSize(server->pid(), RLIM_INFINITY);
  s = Submit(stub.get(), second, &second_resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_TRUE(UploadOnce(stub.get(), kLeader1, photo2, &photo2_id).ok());
  v1::SubmitReportRequest third = Report("disk-3", "路灯杆倾斜");
  third.add_attachment_ids(photo2_id);
  v1::SubmitReportResponse third_resp;
  s = Submit(stub.get(), third, &third_resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(server->Running());

  // Nothing is corrupt: after a crash and a restart every case and photo reads back, the
  // refused report is one case, and SQLite's file is intact.
  EXPECT_EQ(server->Stop(SIGKILL), 128 + SIGKILL);
  if (sqlite) EXPECT_EQ(SqliteIntegrity(), "ok");
  server = StartServerAt(port);
  ASSERT_TRUE(server);
  std::vector<Ack> acks(3);
  acks[0] = {kLeader1, first, first_resp.case_().case_id(), photo1};
  acks[1] = {kLeader1, second, second_resp.case_().case_id(), ""};
  acks[2] = {kLeader1, third, third_resp.case_().case_id(), photo2};
  CheckAcknowledged(port, acks);
}

// ---------------------------------------------------------------------------------------------
// 4. Clients that never read their streams.

// A watch stream whose client reads the first message (the greeting heartbeat, so the stream is
// registered) and then nothing, until Drain: once the flow-control window of its connection is
// full, the server's write waits. The client learns that the server ended the call only when it
// reads again (the status comes after the messages the window let through).
class StalledReader : public grpc::ClientReadReactor<v1::WatchEvent> {
 public:
  // `kind`: 0 WatchCases, 1 WatchQueue, 2 WatchAssignments.
  StalledReader(int kind, const std::string& token, const std::shared_ptr<grpc::Channel>& ch)
      : report_(v1::ReportService::NewStub(ch)),
        dispatch_(v1::DispatchService::NewStub(ch)),
        dept_(v1::DepartmentService::NewStub(ch)) {
    ctx_.AddMetadata("authorization", "Bearer " + token);
    ctx_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
    if (kind == 0) {
      report_->async()->WatchCases(&ctx_, &cases_, this);
    } else if (kind == 1) {
      dispatch_->async()->WatchQueue(&ctx_, &queue_, this);
    } else {
      dept_->async()->WatchAssignments(&ctx_, &assignments_, this);
    }
    StartRead(&message_);
    StartCall();
  }
  ~StalledReader() override {
    ctx_.TryCancel();
    StartDraining();  // the call ends once what it holds is read
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return status_.has_value(); });  // a cancelled call always ends
  }
  void OnReadDone(bool ok) override {
    bool more;
    {
      std::lock_guard<std::mutex> lock(mu_);
      reading_ = false;
      if (ok && message_.has_heartbeat()) cursor_ = message_.heartbeat().cursor();
      if (ok && message_.has_event()) {
        cursor_ = message_.event().cursor();
        events_.push_back(cursor_);
      }
      more = ok && draining_;
      reading_ = more;
      cv_.notify_all();
    }
    if (more) StartRead(&message_);  // without the lock: a reaction may run inline
  }
  void OnDone(const grpc::Status& s) override {
    std::lock_guard<std::mutex> lock(mu_);
    status_ = s;
    cv_.notify_all();
  }
  // The cursor of the greeting ("" if the stream ended first).
  std::string WaitForGreeting(std::chrono::seconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return !cursor_.empty() || status_.has_value(); });
    return cursor_;
  }
  // Reads what the window let through, to the end of the call; returns its status.
  std::optional<grpc::Status> Drain(std::chrono::seconds timeout) {
    StartDraining();
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return status_.has_value(); });
    return status_;
  }
  // The cursors of the events read, and the last cursor (of an event or a heartbeat).
  std::vector<std::string> events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  std::string cursor() {
    std::lock_guard<std::mutex> lock(mu_);
    return cursor_;
  }

 private:
  // Reads from now on, one message after the other, unless a read is in flight already.
  void StartDraining() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      draining_ = true;
      if (reading_ || status_.has_value()) return;
      reading_ = true;
    }
    StartRead(&message_);
  }

  std::unique_ptr<v1::ReportService::Stub> report_;
  std::unique_ptr<v1::DispatchService::Stub> dispatch_;
  std::unique_ptr<v1::DepartmentService::Stub> dept_;
  v1::WatchCasesRequest cases_;
  v1::WatchQueueRequest queue_;
  v1::WatchAssignmentsRequest assignments_;
  grpc::ClientContext ctx_;
  v1::WatchEvent message_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool reading_ = true;  // the greeting
  bool draining_ = false;
  std::string cursor_;
  std::vector<std::string> events_;
  std::optional<grpc::Status> status_;
};

// The channel of a client that reads nothing: a small window (no growth by BDP probing) and a
// connection of its own, so that its stream stalls after a few kilobytes.
std::shared_ptr<grpc::Channel> StallingChannel(int port) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 8192);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port),
                                   grpc::InsecureChannelCredentials(), args);
}

// The lines of a server log about watch streams.
std::string WatchLines(const std::string& log) {
  std::string out;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    if (absl::StrContains(line, "Watch") || absl::StrContains(line, "stream")) {
      absl::StrAppend(&out, line, "\n");
    }
  }
  return out;
}

// Latencies in milliseconds.
struct Latencies {
  std::vector<double> ms;
  double Percentile(double p) const {
    if (ms.empty()) return 0;
    std::vector<double> sorted = ms;
    std::sort(sorted.begin(), sorted.end());
    const size_t i = std::min(sorted.size() - 1, static_cast<size_t>(p * sorted.size()));
    return sorted[i];
  }
  std::string Row() const {
    return absl::StrFormat("%6zu %9.1f %9.1f", ms.size(), Percentile(0.5), Percentile(0.99));
  }
};

TEST_P(FaultTest, StreamsNobodyReadsAreEndedAndCostOtherClientsNothing) {
  // Slow-consumer policy: a stream whose write waits 2 s is ended UNAVAILABLE, after 4 s the call
  // is cancelled.
  std::ofstream(dir_.path() + "/server.textproto")
      << "watch { heartbeat_interval_ms: 100 poll_interval_ms: 50 "
         "slow_consumer_timeout_ms: 2000 reauth_interval_ms: 60000 }\n"
      << "shutdown_grace_ms: 3000\nhealth_check_interval_ms: 200\nworker_threads: 4\n"
      << "attachments { directory: '" << photos_
      << "' }\n"
      // A thousand reports from three tokens in seconds: the load, not the rate limits, is the
      // subject here (security_e2e_test tests the limits).
      << "rate_limits { enabled: false }\n";
  const int port = FreePort();
  auto server = StartServerAt(port);
  ASSERT_TRUE(server);
  auto channel = Channel(port);
  auto report = v1::ReportService::NewStub(channel);
  auto dispatch = v1::DispatchService::NewStub(channel);
  auto dept = v1::DepartmentService::NewStub(channel);

  // The three kinds of stream and the user who watches each.
  struct Kind {
    const char* name;
    const char* method;
    const char* token;
  };
  const Kind kinds[] = {
      {"WatchCases", "/gridline.v1.ReportService/WatchCases", kLeader1},
      {"WatchQueue", "/gridline.v1.DispatchService/WatchQueue", kDispatcher1},
      {"WatchAssignments", "/gridline.v1.DepartmentService/WatchAssignments", kStaffSz}};
  auto open_reader = [&](int kind, const std::string& after) {
    return std::make_unique<StreamReader>(
        kinds[kind].token,
        [&, kind,
         after](grpc::ClientContext* ctx) -> std::unique_ptr<grpc::ClientReader<v1::WatchEvent>> {
          switch (kind) {
            case 0: {
              v1::WatchCasesRequest req;
              req.set_after_cursor(after);
              return report->WatchCases(ctx, req);
            }
            case 1: {
              v1::WatchQueueRequest req;
              req.set_after_cursor(after);
              return dispatch->WatchQueue(ctx, req);
            }
            default: {
              v1::WatchAssignmentsRequest req;
              req.set_after_cursor(after);
              return dept->WatchAssignments(ctx, req);
            }
          }
        });
  };
  // Readers that keep up, from the start: what every stream should deliver.
  std::vector<std::unique_ptr<StreamReader>> reference;
  for (int k = 0; k < 3; ++k) {
    reference.push_back(open_reader(k, ""));
    ASSERT_TRUE(reference.back()->WaitForHeartbeat()) << kinds[k].name;
  }

  // One phase: 4 handsets submit `kReports` reports (half of them filed by rule and routed to
  // SZ, so every kind of stream has events), while another user reads (GetCase, ListCases).
  constexpr int kReports = 500;
  std::string probe_case;
  {
    v1::SubmitReportResponse resp;
    ASSERT_TRUE(Submit(report.get(), Report("probe"), &resp, kLeader2).ok());
    probe_case = resp.case_().case_id();
  }
  int phase_number = 0;
  auto run_phase = [&](Latencies* writes, Latencies* reads) {
    ++phase_number;
    std::atomic<int> next{0};
    std::atomic<bool> writing{true};
    std::mutex mu;
    std::vector<std::string> failures;
    auto timed = [&](Latencies* into, const std::function<grpc::Status()>& call) {
      const auto start = SteadyClock::now();
      grpc::Status s = call();
      const double ms =
          std::chrono::duration<double, std::milli>(SteadyClock::now() - start).count();
      std::lock_guard<std::mutex> lock(mu);
      into->ms.push_back(ms);
      if (!s.ok())
        failures.push_back(absl::StrCat(CodeName(s.error_code()), " ", s.error_message()));
    };
    std::vector<std::thread> threads;
    for (int w = 0; w < 4; ++w) {
      threads.emplace_back([&] {
        for (int i; (i = next.fetch_add(1)) < kReports;) {
          v1::SubmitReportRequest req = Report(absl::StrCat("slow-", phase_number, "-", i));
          if (i % 2 == 0) req.set_category_code("C04_STREET_LIGHT_OUT");
          v1::SubmitReportResponse resp;
          timed(writes, [&] { return Submit(report.get(), req, &resp); });
        }
      });
    }
    threads.emplace_back([&] {
      for (int i = 0; writing.load(); ++i) {
        if (i % 2 == 0) {
          v1::Case c;
          timed(reads, [&] { return GetCase(report.get(), probe_case, &c, kLeader2); });
        } else {
          v1::ListCasesRequest req;
          req.set_page_size(20);
          v1::ListCasesResponse resp;
          timed(reads, [&] {
            return Call(dispatch.get(), &v1::DispatchService::Stub::ListCases, kDispatcher1, req,
                        &resp);
          });
        }
      }
    });
    for (int w = 0; w < 4; ++w) threads[w].join();
    writing = false;
    threads.back().join();
    EXPECT_TRUE(failures.empty()) << failures.size() << " calls failed, e.g. " << failures[0];
  };

  Latencies writes_alone, reads_alone, writes_stalled, reads_stalled;
  run_phase(&writes_alone, &reads_alone);

  // Now three clients open a stream each and read nothing more.
  std::vector<std::unique_ptr<StalledReader>> stalled;
  std::vector<std::string> stalled_from;
  for (int k = 0; k < 3; ++k) {
    stalled.push_back(std::make_unique<StalledReader>(k, kinds[k].token, StallingChannel(port)));
    stalled_from.push_back(stalled.back()->WaitForGreeting(std::chrono::seconds(10)));
    ASSERT_FALSE(stalled_from.back().empty()) << kinds[k].name << " sent no greeting";
  }
  run_phase(&writes_stalled, &reads_stalled);

  // The newest event: every stream has passed it once a heartbeat after it arrives.
  v1::SubmitReportResponse last;
  ASSERT_TRUE(Submit(report.get(), Report("slow-last"), &last).ok());
  const int64_t head = SeqOf(last.event_cursor());

  // Each stalled stream is ended by the slow-consumer policy: once its write has waited
  // slow_consumer_timeout_ms the server finishes it UNAVAILABLE (its call log says so; the status
  // waits behind the messages in the window), after twice that it cancels the call. The client
  // then reads what the window let through, and the end: CANCELLED (or UNAVAILABLE).
  for (int k = 0; k < 3; ++k) {
    SCOPED_TRACE(kinds[k].name);
    const std::string wanted = absl::StrCat("\"method\":\"", kinds[k].method, "\"");
    EXPECT_TRUE(WaitForFile(
        server->log_path(),
        [&](const std::string& log) {
          for (absl::string_view line : absl::StrSplit(log, '\n')) {
            if (absl::StrContains(line, "\"event\":\"call\"") && absl::StrContains(line, wanted) &&
                absl::StrContains(line, "\"code\":14")) {
              return true;
            }
          }
          return false;
        },
        std::chrono::seconds(30)))
        << "the server did not end a stream nobody reads; its log of the streams:\n"
        << WatchLines(server->Log());
    auto end = stalled[k]->Drain(std::chrono::seconds(20));
    ASSERT_TRUE(end.has_value()) << "the stream did not end";
    EXPECT_TRUE(end->error_code() == grpc::StatusCode::CANCELLED ||
                end->error_code() == grpc::StatusCode::UNAVAILABLE)
        << CodeName(end->error_code()) << " " << end->error_message();
  }

  // A reader resuming from the last cursor each stalled client received gets the rest: what it
  // read and what the resumed reader gets are exactly the reference's events after its greeting,
  // once each, in order.
  for (int k = 0; k < 3; ++k) {
    SCOPED_TRACE(kinds[k].name);
    std::vector<std::string> got = stalled[k]->events();
    auto resumed = open_reader(k, stalled[k]->cursor());
    for (const auto& e : resumed->EventsThrough(head, 60000)) got.push_back(e.cursor());
    std::vector<std::string> want;
    for (const auto& e : reference[k]->EventsThrough(head, 60000)) {
      if (SeqOf(e.cursor()) > SeqOf(stalled_from[k])) want.push_back(e.cursor());
    }
    EXPECT_GE(want.size(), static_cast<size_t>(kReports / 2)) << "too few events to stall";
    EXPECT_LT(stalled[k]->events().size(), want.size()) << "the stream never stalled";
    EXPECT_EQ(got, want);
    std::cout << "[  faults  ] " << kinds[k].name << ": the stalled client got "
              << stalled[k]->events().size() << " of " << want.size()
              << " events before the server ended its stream ("
              << CodeName(stalled[k]->Drain(std::chrono::seconds(0))->error_code()) << ")\n";
  }
  EXPECT_TRUE(server->Running());

  std::cout << absl::StrFormat(
      "[ latency  ] %s: other clients' calls while each phase writes %d reports (%d events in "
      "all)\n"
      "[ latency  ] %-26s %-26s %s\n"
      "[ latency  ] %-26s %6s %9s %9s   %6s %9s %9s\n"
      "[ latency  ] %-26s %s   %s\n"
      "[ latency  ] %-26s %s   %s\n",
      BackendName(GetParam()), kReports, head, "", "SubmitReport (4 handsets)",
      "GetCase/ListCases (1 reader)", "phase", "calls", "p50 ms", "p99 ms", "calls", "p50 ms",
      "p99 ms", "without slow readers", writes_alone.Row(), reads_alone.Row(),
      "with 3 stalled streams", writes_stalled.Row(), reads_stalled.Row());
}

INSTANTIATE_TEST_SUITE_P(Backends, FaultTest,
                         ::testing::Values(Backend::kSqlite, Backend::kMariaDb),
                         [](const auto& info) { return BackendName(info.param); });

}  // namespace
}  // namespace gridline
