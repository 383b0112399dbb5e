// Issue 16 with real replicas on one store (SQLite file or MariaDB): replicas tell each other
// about their commits (ServerConfig.cluster, gridline.internal.v1.PeerService), and whatever
// happens to those notifications (on, all dropped, repeated and held back, early, refused, sent
// to a peer that is down) every watch gets every event it may see exactly once, in order. The
// fault knobs are the cluster's test_* fields. The replicas here poll the event table every
// minute at most, unless the test wants the poll: an event that arrives came by notification.
// Counters come from each replica's Prometheus endpoint. Waits have deadlines; nothing is timed.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gridline/internal/v1/peer_service.grpc.pb.h"
#include "gridline/v1/dispatch_service.grpc.pb.h"
#include "gridline/v1/report_service.grpc.pb.h"
#include "server/util/sha256.h"
#include "tests/e2e_fixture.h"
#include "tests/stream_reader.h"

namespace gridline {
namespace {

namespace v1 = ::gridline::v1;
using namespace testing;  // NOLINT: demo tokens

constexpr char kSecret[] = "peers-e2e-secret-0123456789";

class PeersTest : public E2eTest {
 protected:
  struct Replica {
    std::unique_ptr<ServerProcess> process;
    int port = 0;
    int cluster_port = 0;
    int metrics_port = 0;
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<v1::ReportService::Stub> report;
    std::unique_ptr<v1::DispatchService::Stub> dispatch;
  };

  // `cluster` is the body of the replica's cluster { } block, apart from its listen address;
  // `poll_ms` its watch.poll_interval_ms.
  bool Start(Replica* r, const std::string& cluster, int poll_ms = 60000) {
    if (r->port == 0) r->port = FreePort();
    const std::string config =
        absl::StrCat("watch { heartbeat_interval_ms: 200 poll_interval_ms: ", poll_ms,
                     " reauth_interval_ms: 300 }\n", "shutdown_grace_ms: 3000\n",
                     "health_check_interval_ms: 200\n", "worker_threads: 4\n",
                     "metrics_listen_address: \"127.0.0.1:0\"\n",
                     "cluster { listen_address: \"127.0.0.1:", r->cluster_port, "\" secret: \"",
                     kSecret, "\" ", cluster, " }\n");
    r->process = StartConfiguredServer(r->port, config);
    if (!r->process) return false;
    // The start line comes right after the server answers health checks.
    const std::regex port_field("\"metrics_port\":([0-9]+)");
    WaitForFile(
        r->process->log_path(),
        [&](const std::string& text) { return std::regex_search(text, port_field); },
        std::chrono::seconds(30));
    std::smatch m;
    const std::string log = r->process->Log();
    if (!std::regex_search(log, m, port_field)) {
      ADD_FAILURE() << "no metrics port in the log:\n" << log;
      return false;
    }
    r->metrics_port = std::stoi(m[1]);
    r->channel = Channel(r->port);
    r->report = v1::ReportService::NewStub(r->channel);
    r->dispatch = v1::DispatchService::NewStub(r->channel);
    return true;
  }

  // Two replicas that list each other, each with `extra` in its cluster block.
  void StartPair(const std::string& extra_a, const std::string& extra_b, int poll_ms = 60000) {
    a_.cluster_port = FreePort();
    b_.cluster_port = FreePort();
    while (b_.cluster_port == a_.cluster_port) b_.cluster_port = FreePort();
    ASSERT_TRUE(Start(&a_,
                      absl::StrCat("peers: \"127.0.0.1:", b_.cluster_port,
                                   "\" poll_interval_ms: 60000 ", extra_a),
                      poll_ms));
    ASSERT_TRUE(Start(&b_,
                      absl::StrCat("peers: \"127.0.0.1:", a_.cluster_port,
                                   "\" poll_interval_ms: 60000 ", extra_b),
                      poll_ms));
  }

  // "name{labels}" -> value, as Prometheus would scrape it.
  std::map<std::string, double> Scrape(const Replica& r) {
    const std::string out = absl::StrCat(dir_.path(), "/scrape-", r.port, ".txt");
    const std::string cmd = absl::StrCat("curl -sS --max-time 20 -o ", out,
                                         " http://127.0.0.1:", r.metrics_port, "/metrics");
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    std::ifstream in(out);
    std::map<std::string, double> samples;
    for (std::string line; std::getline(in, line);) {
      if (line.empty() || line[0] == '#') continue;
      const size_t space = line.rfind(' ');
      double v = 0;
      if (absl::SimpleAtod(line.substr(space + 1), &v)) samples[line.substr(0, space)] = v;
    }
    return samples;
  }
  static double Polls(std::map<std::string, double>& m, const std::string& reason) {
    return m[absl::StrCat("gridline_feed_polls_total{reason=\"", reason, "\"}")];
  }
  static double Received(std::map<std::string, double>& m, const std::string& outcome) {
    return m[absl::StrCat("gridline_peer_notifications_received_total{outcome=\"", outcome, "\"}")];
  }
  static double Sent(std::map<std::string, double>& m, int peer_port, const std::string& result) {
    return m[absl::StrCat("gridline_peer_notifications_sent_total{peer=\"127.0.0.1:", peer_port,
                          "\",result=\"", result, "\"}")];
  }

  std::unique_ptr<StreamReader> Queue(Replica& r) {
    return std::make_unique<StreamReader>(kDispatcher1, [&r](grpc::ClientContext* ctx) {
      return r.dispatch->WatchQueue(ctx, v1::WatchQueueRequest());
    });
  }

  // A report through `r`; returns its case id and sets `*seq` to its event's position.
  std::string SubmitThrough(Replica& r, int64_t* seq) {
    v1::SubmitReportResponse resp;
    auto s = Submit(r.report.get(), Report("p-" + util::RandomHex(8)), &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    *seq = std::max(*seq, SeqOf(resp.event_cursor()));
    return resp.case_().case_id();
  }

  // Writers on both replicas (or only on `only`), `each` reports per thread, 2 threads per
  // replica. Returns the case ids; `*last` is the newest event position.
  std::set<std::string> Write(int each, int64_t* last, Replica* only = nullptr) {
    std::mutex mu;
    std::set<std::string> ids;
    std::vector<std::thread> writers;
    for (int t = 0; t < 4; ++t) {
      Replica& r = only != nullptr ? *only : (t % 2 == 0 ? a_ : b_);
      writers.emplace_back([&, t] {
        (void)t;
        for (int i = 0; i < each; ++i) {
          int64_t seq = 0;
          std::string id = SubmitThrough(r, &seq);
          std::lock_guard<std::mutex> lock(mu);
          ids.insert(id);
          *last = std::max(*last, seq);
        }
      });
    }
    for (auto& w : writers) w.join();
    return ids;
  }

  // Every report in `ids` exactly once, everything in cursor order.
  static void ExpectOnceInOrder(const std::vector<v1::CaseEvent>& events,
                                const std::set<std::string>& ids, const char* who) {
    std::set<std::string> reported;
    int64_t prev = 0;
    for (const auto& e : events) {
      const int64_t seq = SeqOf(e.cursor());
      EXPECT_GT(seq, prev) << who << ": in order, without repeats";
      prev = seq;
      if (e.type() == v1::REPORTED) {
        EXPECT_TRUE(reported.insert(e.case_id()).second) << who << ": twice " << e.case_id();
      }
    }
    EXPECT_EQ(reported, ids) << who << ": every report exactly once";
  }

  std::unique_ptr<internal::v1::PeerService::Stub> PeerStub(int cluster_port) {
    return internal::v1::PeerService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", cluster_port), grpc::InsecureChannelCredentials()));
  }
  static grpc::Status Hint(internal::v1::PeerService::Stub* stub, int64_t head,
                           const std::string& secret) {
    grpc::ClientContext ctx;
    if (!secret.empty()) ctx.AddMetadata("x-gridline-peer-secret", secret);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    internal::v1::EventsCommittedRequest req;
    req.set_head_seq(head);
    req.set_sender_id("the-test");
    internal::v1::EventsCommittedResponse resp;
    return stub->EventsCommitted(&ctx, req, &resp);
  }

  // The newest event position in the store.
  int64_t LastSeq() {
    auto raw = Raw();
    if (!raw) return -1;
    auto rows = raw->Query("SELECT last_seq FROM event_sequence WHERE id = 1");
    EXPECT_TRUE(rows.ok() && rows->size() == 1u) << rows.status();
    return rows.ok() && !rows->empty() ? rows->front().Int(0) : -1;
  }

  Replica a_, b_;
};

TEST_P(PeersTest, ReportsThroughOneReplicaReachAWatchOnTheOtherByNotification) {
  ASSERT_NO_FATAL_FAILURE(StartPair("", ""));
  auto queue_a = Queue(a_);
  ASSERT_TRUE(queue_a->WaitForHeartbeat());
  int64_t last = 0;
  // Only through B: A reads the table on its own once a minute, and commits nothing itself.
  const std::set<std::string> ids = Write(4, &last, &b_);
  ExpectOnceInOrder(queue_a->EventsThrough(last), ids, "queue on A");

  auto a = Scrape(a_);
  auto b = Scrape(b_);
  EXPECT_GE(Received(a, "new"), 1) << "A heard of B's commits";
  EXPECT_GE(Polls(a, "peer"), 1) << "and read the table because of them";
  EXPECT_GE(Sent(b, a_.cluster_port, "ok"), 1);
  EXPECT_EQ(Received(a, "refused"), 0);
}

TEST_P(PeersTest, WithEveryNotificationDroppedThePollStillDeliversEachEventOnceInOrder) {
  // The fallback: no peer is ever heard from, so each replica polls every 50 ms.
  ASSERT_NO_FATAL_FAILURE(
      StartPair("test_drop_notifications: true", "test_drop_notifications: true", /*poll_ms=*/50));
  auto queue_a = Queue(a_);
  auto queue_b = Queue(b_);
  for (auto* q : {queue_a.get(), queue_b.get()}) ASSERT_TRUE(q->WaitForHeartbeat());
  int64_t last = 0;
  const std::set<std::string> ids = Write(5, &last);
  const auto on_a = queue_a->EventsThrough(last);
  const auto on_b = queue_b->EventsThrough(last);
  ExpectOnceInOrder(on_a, ids, "queue on A");
  ExpectOnceInOrder(on_b, ids, "queue on B");
  ASSERT_EQ(on_a.size(), on_b.size());
  for (size_t i = 0; i < on_a.size(); ++i) EXPECT_EQ(on_a[i].cursor(), on_b[i].cursor());

  for (Replica* r : {&a_, &b_}) {
    auto m = Scrape(*r);
    const int other = r == &a_ ? b_.cluster_port : a_.cluster_port;
    EXPECT_GE(Sent(m, other, "dropped"), 1);
    EXPECT_EQ(Sent(m, other, "ok"), 0);
    EXPECT_EQ(Received(m, "new") + Received(m, "known"), 0) << "nothing arrived";
    EXPECT_EQ(m["gridline_peers_heard"], 0);
    EXPECT_GE(Polls(m, "interval"), 1);
  }
}

TEST_P(PeersTest, RepeatedAndDelayedNotificationsDeliverEachEventOnceInOrder) {
  const std::string faults = "test_duplicate_notifications: true test_delay_notifications_ms: 150";
  ASSERT_NO_FATAL_FAILURE(StartPair(faults, faults));
  auto queue_a = Queue(a_);
  auto queue_b = Queue(b_);
  for (auto* q : {queue_a.get(), queue_b.get()}) ASSERT_TRUE(q->WaitForHeartbeat());
  int64_t last = 0;
  std::set<std::string> ids = Write(4, &last);
  // And one last report through each replica alone: the other learns of it only by a (held
  // back, repeated) notification.
  for (Replica* r : {&a_, &b_}) {
    int64_t seq = 0;
    ids.insert(SubmitThrough(*r, &seq));
    last = std::max(last, seq);
  }
  ExpectOnceInOrder(queue_a->EventsThrough(last), ids, "queue on A");
  ExpectOnceInOrder(queue_b->EventsThrough(last), ids, "queue on B");
  auto a = Scrape(a_);
  EXPECT_GE(Received(a, "new") + Received(a, "known"), 2);
  EXPECT_EQ(Polls(a, "interval"), 0);
}

// A notification that arrives before the commit it announces is visible: the replica reads,
// finds nothing, and follows the notification up until the event is there.
TEST_P(PeersTest, AnEarlyNotificationIsFollowedUpUntilItsEventArrives) {
  a_.cluster_port = FreePort();
  b_.cluster_port = FreePort();
  ASSERT_TRUE(Start(&a_, absl::StrCat("peers: \"127.0.0.1:", b_.cluster_port,
                                      "\" poll_interval_ms: 60000 "
                                      "early_notification_wait_ms: 120000")));
  // B tells nobody anything.
  ASSERT_TRUE(Start(&b_, absl::StrCat("peers: \"127.0.0.1:", a_.cluster_port,
                                      "\" test_drop_notifications: true")));
  auto queue_a = Queue(a_);
  ASSERT_TRUE(queue_a->WaitForHeartbeat());
  const int64_t before = LastSeq();
  ASSERT_GE(before, 0);
  auto stub = PeerStub(a_.cluster_port);
  ASSERT_TRUE(Hint(stub.get(), before + 1, kSecret).ok()) << "early: nothing is committed yet";
  int64_t seq = 0;
  const std::string id = SubmitThrough(b_, &seq);
  ASSERT_EQ(seq, before + 1);
  ExpectOnceInOrder(queue_a->EventsThrough(seq), {id}, "queue on A");
  auto a = Scrape(a_);
  EXPECT_GE(Polls(a, "peer") + Polls(a, "retry"), 1);
  EXPECT_EQ(Polls(a, "interval"), 0);
  EXPECT_EQ(Polls(a, "commit"), 0);
}

TEST_P(PeersTest, ANotificationWithoutTheSecretIsRefusedAndCausesNoRead) {
  a_.cluster_port = FreePort();
  ASSERT_TRUE(Start(&a_, ""));  // takes notifications, sends none
  const int64_t before = LastSeq();
  auto stub = PeerStub(a_.cluster_port);
  EXPECT_EQ(Hint(stub.get(), before + 5, "").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Hint(stub.get(), before + 5, "peers-e2e-secret-0123456780").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Hint(stub.get(), -1, kSecret).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto a = Scrape(a_);
  EXPECT_EQ(Received(a, "refused"), 2);
  EXPECT_EQ(Received(a, "invalid"), 1);
  EXPECT_EQ(Polls(a, "peer") + Polls(a, "retry"), 0) << "a refused call never reaches the hub";
  // One log line for both refusals (at most one a minute), without the secret tried.
  const std::string log = a_.process->Log();
  size_t lines = 0;
  for (size_t at = log.find("\"event\":\"peer_refused\""); at != std::string::npos;
       at = log.find("\"event\":\"peer_refused\"", at + 1)) {
    ++lines;
  }
  EXPECT_EQ(lines, 1u) << log;
  EXPECT_EQ(log.find("0123456780"), std::string::npos);
}

// Replica A lists three peers: one that accepts connections and never answers, one whose port
// is closed, and B. Every report through A commits and answers, and B hears of every one by
// notification. (That a commit never waits for a notification is checked without timing in
// PeerNotifierTest.APeerThatNeverAnswersDoesNotHoldUpTheOthers: a transport that never answers.)
TEST_P(PeersTest, APeerThatIsDownHoldsUpNeitherCommitsNorTheOtherPeers) {
  const int hole = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(hole, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(hole, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(hole, 16), 0);  // never accepted: connections wait in the backlog, unread
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(hole, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int hole_port = ntohs(addr.sin_port);
  struct CloseHole {
    int fd;
    ~CloseHole() { close(fd); }
  } close_hole{hole};
  const int closed_port = FreePort();

  a_.cluster_port = FreePort();
  b_.cluster_port = FreePort();
  while (b_.cluster_port == a_.cluster_port) b_.cluster_port = FreePort();
  ASSERT_TRUE(Start(
      &b_, absl::StrCat("peers: \"127.0.0.1:", a_.cluster_port, "\" poll_interval_ms: 60000")));
  ASSERT_TRUE(Start(&a_, absl::StrCat("peers: \"127.0.0.1:", hole_port, "\" peers: \"127.0.0.1:",
                                      closed_port, "\" peers: \"127.0.0.1:", b_.cluster_port,
                                      "\" poll_interval_ms: 60000 notify_deadline_ms: 5000")));
  auto queue_b = Queue(b_);
  ASSERT_TRUE(queue_b->WaitForHeartbeat());
  int64_t last = 0;
  std::set<std::string> ids;
  for (int i = 0; i < 10; ++i) ids.insert(SubmitThrough(a_, &last));  // each answered OK
  ExpectOnceInOrder(queue_b->EventsThrough(last), ids, "queue on B");
  auto a = Scrape(a_);
  EXPECT_EQ(Sent(a, hole_port, "ok"), 0);
  EXPECT_EQ(Sent(a, closed_port, "ok"), 0);
  EXPECT_GE(Sent(a, b_.cluster_port, "ok"), 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, PeersTest,
                         ::testing::Values(Backend::kSqlite, Backend::kMariaDb),
                         [](const auto& info) { return BackendName(info.param); });

}  // namespace
}  // namespace gridline
