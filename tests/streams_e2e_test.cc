// The three live streams over real gRPC, on SQLite and MariaDB: what each caller may see, and
// exactly-once in-order delivery with writers on two replicas, including a transaction that
// began before many others and commits after them.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gridline/v1/admin_service.grpc.pb.h"
#include "gridline/v1/department_service.grpc.pb.h"
#include "gridline/v1/dispatch_service.grpc.pb.h"
#include "gridline/v1/report_service.grpc.pb.h"
#include "server/store/mysql_driver.h"
#include "server/store/sql.h"
#include "server/util/sha256.h"
#include "tests/e2e_fixture.h"
#include "tests/stream_reader.h"

namespace gridline {
namespace {

namespace v1 = ::gridline::v1;
using namespace testing;  // NOLINT: demo tokens

std::vector<std::pair<std::string, v1::CaseEventType>> Summary(
    const std::vector<v1::CaseEvent>& events) {
  std::vector<std::pair<std::string, v1::CaseEventType>> out;
  for (const auto& e : events) out.emplace_back(e.case_id(), e.type());
  return out;
}

class StreamsTest : public E2eTest {
 protected:
  struct Replica {
    std::unique_ptr<ServerProcess> process;
    int port = 0;
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<v1::ReportService::Stub> report;
    std::unique_ptr<v1::DispatchService::Stub> dispatch;
    std::unique_ptr<v1::DepartmentService::Stub> dept;
  };

  void SetUp() override {
    E2eTest::SetUp();
    if (IsSkipped() || HasFailure()) return;
    ASSERT_TRUE(Start(&a_));
  }

  bool Start(Replica* r) {
    r->process = StartServer(&r->port);
    if (!r->process) return false;
    r->channel = Channel(r->port);
    r->report = v1::ReportService::NewStub(r->channel);
    r->dispatch = v1::DispatchService::NewStub(r->channel);
    r->dept = v1::DepartmentService::NewStub(r->channel);
    return true;
  }

  std::unique_ptr<StreamReader> Queue(Replica& r, const std::string& token,
                                      const std::string& grid = "") {
    return std::make_unique<StreamReader>(token, [&r, grid](grpc::ClientContext* ctx) {
      v1::WatchQueueRequest req;
      req.set_grid_code(grid);
      return r.dispatch->WatchQueue(ctx, req);
    });
  }
  std::unique_ptr<StreamReader> Assignments(Replica& r, const std::string& token,
                                            bool include_assisting = false) {
    return std::make_unique<StreamReader>(token, [&r, include_assisting](grpc::ClientContext* ctx) {
      v1::WatchAssignmentsRequest req;
      req.set_include_assisting(include_assisting);
      return r.dept->WatchAssignments(ctx, req);
    });
  }
  std::unique_ptr<StreamReader> Cases(Replica& r, const std::string& token) {
    return std::make_unique<StreamReader>(token, [&r](grpc::ClientContext* ctx) {
      return r.report->WatchCases(ctx, v1::WatchCasesRequest());
    });
  }

  std::string SubmitIn(Replica& r, const std::string& token, const std::string& cell) {
    auto req = Report("s-" + util::RandomHex(8));
    req.mutable_location()->set_grid_code(cell);
    v1::SubmitReportResponse resp;
    auto s = Call(r.report.get(), &v1::ReportService::Stub::SubmitReport, token, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.case_().case_id();
  }

  // The cursor position of the newest event of `case_id`.
  int64_t LastSeqOf(const std::string& case_id) {
    v1::ListCaseEventsRequest req;
    req.set_case_id(case_id);
    v1::ListCaseEventsResponse resp;
    auto s = Call(a_.report.get(), &v1::ReportService::Stub::ListCaseEvents, kOperator, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.events().empty() ? -1 : SeqOf(resp.events().rbegin()->cursor());
  }

  Replica a_;
};

constexpr char kCell2[] = "410184001002001";        // leader 2's cell, street 1
constexpr char kStreet2Cell[] = "410184002001001";  // leader 3's cell, street 2

TEST_P(StreamsTest, TheCentersQueueStreamShowsItsStreetsQueueEventsOnly) {
  auto d1 = Queue(a_, kDispatcher1);
  auto d2 = Queue(a_, kDispatcher2);
  ASSERT_TRUE(d1->WaitForHeartbeat());
  ASSERT_TRUE(d2->WaitForHeartbeat());

  const std::string mine = SubmitIn(a_, kLeader1, kCell1);
  const std::string theirs = SubmitIn(a_, kLeader3, kStreet2Cell);
  v1::Case c;
  v1::AcceptCaseRequest accept;
  accept.set_case_id(mine);
  ASSERT_TRUE(
      Call(a_.dispatch.get(), &v1::DispatchService::Stub::AcceptCase, kDispatcher1, accept, &c)
          .ok());
  v1::AcceptAssignmentRequest take;
  take.set_case_id(mine);
  ASSERT_TRUE(
      Call(a_.dept.get(), &v1::DepartmentService::Stub::AcceptAssignment, kStaffSz, take, &c).ok());
  v1::ReturnCaseRequest ret;
  ret.set_case_id(mine);
  ret.set_reason("不属本部门");
  ASSERT_TRUE(
      Call(a_.dept.get(), &v1::DepartmentService::Stub::ReturnCase, kStaffSz, ret, &c).ok());
  const int64_t last = std::max(LastSeqOf(mine), LastSeqOf(theirs));

  using P = std::pair<std::string, v1::CaseEventType>;
  EXPECT_EQ(Summary(d1->EventsThrough(last)),
            (std::vector<P>{{mine, v1::REPORTED},
                            {mine, v1::ACCEPTED_FOR_FILING},
                            {mine, v1::ROUTED},
                            {mine, v1::RETURNED_NOT_RESPONSIBLE}}))
      << "the department's own acceptance is not the center's business";
  EXPECT_EQ(Summary(d2->EventsThrough(last)), (std::vector<P>{{theirs, v1::REPORTED}}));

  // Narrowing to a grid outside the caller's subtree, and other roles, are refused.
  auto outside = Queue(a_, kDispatcher1, "410184002");
  auto end = outside->WaitForEnd();
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto leader = Queue(a_, kLeader1);
  end = leader->WaitForEnd();
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_P(StreamsTest, DepartmentStreamsFollowTheLeadAndWhatTheyAssist) {
  auto sz = Assignments(a_, kStaffSz);
  auto cg = Assignments(a_, kStaffCgStation);
  auto sw = Assignments(a_, kStaffSw);
  auto sw_assisting = Assignments(a_, kStaffSw, true);
  auto jd = Assignments(a_, kStaffJd1, true);
  for (auto* r : {sz.get(), cg.get(), sw.get(), sw_assisting.get(), jd.get()}) {
    ASSERT_TRUE(r->WaitForHeartbeat());
  }
  const std::string id = SubmitIn(a_, kLeader1, kCell1);
  v1::Case c;
  v1::AcceptCaseRequest accept;
  accept.set_case_id(id);
  ASSERT_TRUE(
      Call(a_.dispatch.get(), &v1::DispatchService::Stub::AcceptCase, kDispatcher1, accept, &c)
          .ok());
  v1::AcceptAssignmentRequest take;
  take.set_case_id(id);
  ASSERT_TRUE(
      Call(a_.dept.get(), &v1::DepartmentService::Stub::AcceptAssignment, kStaffSz, take, &c).ok());
  v1::RouteCaseRequest route;
  route.set_case_id(id);
  route.set_lead_department_code("CG-410184001");
  route.add_assisting_department_codes("SW");
  route.set_note("改派城管中队，水务配合");
  ASSERT_TRUE(
      Call(a_.dispatch.get(), &v1::DispatchService::Stub::RouteCase, kDispatcher1, route, &c).ok());
  ASSERT_TRUE(
      Call(a_.dept.get(), &v1::DepartmentService::Stub::AcceptAssignment, kStaffCgStation, take, &c)
          .ok());
  v1::AddProgressRequest progress;
  progress.set_case_id(id);
  progress.set_note("已关阀");
  ASSERT_TRUE(
      Call(a_.dept.get(), &v1::DepartmentService::Stub::AddProgress, kStaffSw, progress, &c).ok());
  const int64_t last = LastSeqOf(id);

  using P = std::pair<std::string, v1::CaseEventType>;
  EXPECT_EQ(Summary(sz->EventsThrough(last)), (std::vector<P>{{id, v1::ACCEPTED_FOR_FILING},
                                                              {id, v1::ROUTED},
                                                              {id, v1::ASSIGNMENT_ACCEPTED},
                                                              {id, v1::ROUTED}}))
      << "SZ learns the case was routed away from it, then nothing more";
  auto sz_events = sz->EventsThrough(last);
  ASSERT_EQ(sz_events.size(), 4u);
  EXPECT_EQ(sz_events[3].lead_department_code(), "CG-410184001");
  EXPECT_EQ(
      Summary(cg->EventsThrough(last)),
      (std::vector<P>{{id, v1::ROUTED}, {id, v1::ASSIGNMENT_ACCEPTED}, {id, v1::PROGRESS_ADDED}}));
  EXPECT_TRUE(sw->EventsThrough(last).empty()) << "assisting only, and not asked for";
  EXPECT_EQ(
      Summary(sw_assisting->EventsThrough(last)),
      (std::vector<P>{{id, v1::ROUTED}, {id, v1::ASSIGNMENT_ACCEPTED}, {id, v1::PROGRESS_ADDED}}));
  EXPECT_TRUE(jd->EventsThrough(last).empty()) << "the street office holds nothing here";

  auto leader = Assignments(a_, kLeader1);
  auto end = leader->WaitForEnd();
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

// Writers on two replicas commit interleaved transactions while watchers on both replicas
// follow. On MariaDB one transaction is also held up: it begins (the dispatcher's reject of a
// case whose row another connection has locked) before all the others and commits after them.
// Every watcher receives every event it may see exactly once, in cursor order, and the
// replicas agree.
TEST_P(StreamsTest, WritersOnTwoReplicasReachEveryWatcherExactlyOnceInOrder) {
  Replica b;
  ASSERT_TRUE(Start(&b));
  auto queue_a = Queue(a_, kDispatcher1);
  auto queue_b = Queue(b, kDispatcher1);
  auto leader_b = Cases(b, kLeader1);
  for (auto* r : {queue_a.get(), queue_b.get(), leader_b.get()}) ASSERT_TRUE(r->WaitForHeartbeat());

  // The held-up transaction (MariaDB: a row lock; SQLite has one writer at a time anyway).
  const std::string held = SubmitIn(a_, kLeader2, kCell2);
  std::unique_ptr<store::SqlConnection> locker;
  std::thread held_write;
  std::atomic<bool> held_done{false};
  // If an assertion ends the test early, release the row and join the writer (a joinable thread
  // going out of scope would abort the whole binary).
  struct ReleaseHeldWrite {
    std::unique_ptr<store::SqlConnection>& locker;
    std::thread& writer;
    ~ReleaseHeldWrite() {
      if (writer.joinable()) {
        if (locker) (void)locker->Rollback();
        writer.join();
      }
    }
  } release_held_write{locker, held_write};
  if (mysql_) {
    auto db = store::MakeMysqlDatabase(*mysql_);
    ASSERT_TRUE(db.ok()) << db.status();
    auto conn = (*db)->Connect();
    ASSERT_TRUE(conn.ok()) << conn.status();
    locker = *std::move(conn);
    ASSERT_TRUE(locker->Begin(true).ok());
    auto locked = locker->Query("SELECT version FROM cases WHERE case_id = ? FOR UPDATE", {held});
    ASSERT_TRUE(locked.ok() && locked->size() == 1u) << locked.status();
    held_write = std::thread([&] {
      v1::RejectCaseRequest reject;
      reject.set_case_id(held);
      reject.set_reason("测试：被挂起的事务");
      v1::Case c;
      auto s =
          Call(b.dispatch.get(), &v1::DispatchService::Stub::RejectCase, kDispatcher1, reject, &c);
      EXPECT_TRUE(s.ok()) << s.error_message();
      held_done = true;
    });
    // Wait until MariaDB shows the reject waiting for the row lock (with a deadline).
    auto watcher = Raw();
    ASSERT_TRUE(watcher);
    bool waiting = false;
    // Generous: on a loaded 2-core machine the reject may queue behind other work for a while.
    for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
         !waiting && !held_done && std::chrono::steady_clock::now() < deadline;) {
      // InnoDB lists the wait as LOCK WAIT, but MariaDB does not always list a transaction that
      // has changed nothing yet; the statement itself then shows in the process list: the
      // write's locking read of the case row (figures_sql.cc), or an UPDATE of cases that is
      // "Updating" while the only row it may touch is locked.
      auto rows = watcher->Query(
          "SELECT (SELECT COUNT(*) FROM information_schema.innodb_trx "
          "        WHERE trx_state = 'LOCK WAIT') + "
          "       (SELECT COUNT(*) FROM information_schema.processlist "
          "        WHERE (info LIKE 'UPDATE cases %' AND state = 'Updating') OR "
          "              info LIKE 'SELECT % FROM cases WHERE case_id IN (%) FOR UPDATE')");
      ASSERT_TRUE(rows.ok()) << rows.status();
      waiting = !rows->empty() && rows->front().Int(0) > 0;
    }
    if (!waiting) {  // what the database was doing instead
      auto list = watcher->Query(
          "SELECT CONCAT(id, ' ', command, ' ', COALESCE(state, ''), ' ', "
          "COALESCE(LEFT(info, 120), '')) FROM information_schema.processlist");
      if (list.ok()) {
        for (const auto& r : *list) std::cerr << "  processlist: " << r.Str(0) << "\n";
      }
      auto trx = watcher->Query(
          "SELECT CONCAT(trx_id, ' thread ', trx_mysql_thread_id, ' ', trx_state, ' locked ', "
          "trx_rows_locked, ' modified ', trx_rows_modified, ' ', "
          "COALESCE(LEFT(trx_query, 80), '')) "
          "FROM information_schema.innodb_trx");
      if (trx.ok()) {
        for (const auto& r : *trx) std::cerr << "  innodb_trx: " << r.Str(0) << "\n";
      }
      std::cerr << "---- replica b\n" << b.process->Log() << "\n";
    }
    ASSERT_TRUE(waiting) << "the reject never reached the locked row"
                         << (held_done ? " (it finished without waiting for it)" : "");
    EXPECT_FALSE(held_done.load());
  }

  constexpr int kThreads = 3, kEach = 8;
  std::mutex mu;
  std::vector<std::string> leader1_cases, leader2_cases;
  std::vector<std::thread> writers;
  for (int t = 0; t < 2 * kThreads; ++t) {
    writers.emplace_back([&, t] {
      Replica& r = t % 2 == 0 ? a_ : b;
      const bool one = t < kThreads;
      for (int i = 0; i < kEach; ++i) {
        std::string id = SubmitIn(r, one ? kLeader1 : kLeader2, one ? kCell1 : kCell2);
        std::lock_guard<std::mutex> lock(mu);
        (one ? leader1_cases : leader2_cases).push_back(id);
      }
    });
  }
  for (auto& w : writers) w.join();
  if (locker) {
    EXPECT_FALSE(held_done.load()) << "the held transaction waited for the row lock";
    ASSERT_TRUE(locker->Rollback().ok());
    held_write.join();
  }
  std::set<std::string> all(leader1_cases.begin(), leader1_cases.end());
  all.insert(leader2_cases.begin(), leader2_cases.end());
  int64_t last = 0;
  for (const auto& id : all) last = std::max(last, LastSeqOf(id));
  const int64_t held_seq = LastSeqOf(held);
  last = std::max(last, held_seq);
  all.insert(held);  // reported before the others, through A
  if (locker) {
    for (const auto& id : all) {
      if (id != held) EXPECT_LT(LastSeqOf(id), held_seq) << "the held transaction committed last";
    }
  }

  auto a_events = queue_a->EventsThrough(last);
  auto b_events = queue_b->EventsThrough(last);
  auto check = [&](const std::vector<v1::CaseEvent>& events, const char* who) {
    std::set<std::string> reported;
    int64_t prev = 0;
    for (const auto& e : events) {
      const int64_t seq = SeqOf(e.cursor());
      EXPECT_GT(seq, prev) << who << ": in order, without repeats";
      prev = seq;
      if (e.type() == v1::REPORTED) EXPECT_TRUE(reported.insert(e.case_id()).second) << who;
    }
    EXPECT_EQ(reported, all) << who << ": every report exactly once";
  };
  check(a_events, "queue on A");
  check(b_events, "queue on B");
  EXPECT_EQ(Summary(a_events), Summary(b_events)) << "both replicas send the same sequence";
  if (locker) {
    ASSERT_FALSE(a_events.empty());
    EXPECT_EQ(a_events.back().case_id(), held);
    EXPECT_EQ(a_events.back().type(), v1::REJECTED_INVALID);
  }
  // Leader 1's handset sees its own reports only (leader 2's cell is another grid).
  std::set<std::string> seen;
  for (const auto& e : leader_b->EventsThrough(last)) {
    EXPECT_TRUE(seen.insert(e.case_id()).second);
  }
  EXPECT_EQ(seen, std::set<std::string>(leader1_cases.begin(), leader1_cases.end()));
}

TEST_P(StreamsTest, RevokedTokensAndChangedScopesEndOpenStreams) {
  auto admin = v1::AdminService::NewStub(a_.channel);
  v1::IssueTokenRequest issue;
  issue.set_user_id("u-leader-001");
  issue.set_label("second handset");
  v1::IssueTokenResponse issued;
  ASSERT_TRUE(
      Call(admin.get(), &v1::AdminService::Stub::IssueToken, kOperator, issue, &issued).ok());
  auto revoked = Cases(a_, issued.token());
  auto moved = Queue(a_, kDispatcher2);
  auto kept = Cases(a_, kLeader1);  // the same user's other token stays valid
  for (auto* r : {revoked.get(), moved.get(), kept.get()}) ASSERT_TRUE(r->WaitForHeartbeat());

  v1::RevokeTokenRequest revoke;
  revoke.set_token_id(issued.token_info().token_id());
  v1::TokenInfo info;
  ASSERT_TRUE(
      Call(admin.get(), &v1::AdminService::Stub::RevokeToken, kOperator, revoke, &info).ok());
  auto end = revoked->WaitForEnd();
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->error_code(), grpc::StatusCode::UNAUTHENTICATED) << end->error_message();

  v1::UpdateUserRequest update;
  update.mutable_user()->set_user_id("u-dispatcher-002");
  update.mutable_user()->set_grid_code("410184001");
  update.mutable_update_mask()->add_paths("grid_code");
  v1::User user;
  ASSERT_TRUE(
      Call(admin.get(), &v1::AdminService::Stub::UpdateUser, kOperator, update, &user).ok());
  end = moved->WaitForEnd();
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->error_code(), grpc::StatusCode::UNAVAILABLE) << end->error_message();

  EXPECT_FALSE(kept->WaitForEnd(1000).has_value()) << "other streams go on";
}

// A handset that stops reading: the server's buffer for it stays bounded, the stream ends with a
// status, and resuming from the last cursor received loses nothing.
TEST_P(StreamsTest, ASlowConsumerIsCutOffAndResumesWithoutLoss) {
  if (GetParam() != Backend::kSqlite) GTEST_SKIP() << "the bulk events are written to SQLite";
  std::ofstream(dir_.path() + "/server.textproto")
      << "watch { heartbeat_interval_ms: 100 poll_interval_ms: 50 "
         "slow_consumer_timeout_ms: 400 }\n"
      << "worker_threads: 4\n";
  Replica b;
  ASSERT_TRUE(Start(&b));
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", std::string("Bearer ") + kLeader1);
  auto reader = b.report->WatchCases(&ctx, v1::WatchCasesRequest());
  v1::WatchEvent first;
  ASSERT_TRUE(reader->Read(&first));  // registered; from here on the client reads nothing
  ASSERT_TRUE(first.has_heartbeat());
  const int64_t start = SeqOf(first.heartbeat().cursor());

  // 6000 events of 2 KB for leader 1's cell, written in one transaction the way the store does.
  constexpr int kEvents = 6000;
  {
    auto db = store::MakeSqliteDatabase(dir_.path() + "/gridline.db");
    auto conn = db->Connect();
    ASSERT_TRUE(conn.ok()) << conn.status();
    ASSERT_TRUE((*conn)->Begin(true).ok());
    auto head = (*conn)->Query("SELECT last_seq FROM event_sequence WHERE id = 1");
    ASSERT_TRUE(head.ok() && head->size() == 1u);
    const int64_t base = head->front().Int(0);
    ASSERT_EQ(base, start);
    const std::string note(2000, 'x');
    for (int i = 1; i <= kEvents; ++i) {
      auto ins = (*conn)->Execute(
          "INSERT INTO case_events (seq, case_id, type, from_state, to_state, actor_user_id, "
          "actor_role, event_time, note, attachment_ids, category_code, grid_code, grid_path, "
          "lead_department_code, reporter_user_id, case_version, assisting, previous_lead) "
          "VALUES (?, 'bulk', 11, 3, 3, 'u-staff-sz-001', 3, ?, ?, '', 'C01_ROAD_DAMAGE', "
          "'410184001001001', '/410100/410184/410184001/410184001001/410184001001001/', 'SZ', "
          "'u-leader-001', ?, '', '')",
          {base + i, int64_t{1700000000000000}, note, int64_t{i}});
      ASSERT_TRUE(ins.ok()) << ins.status();
    }
    ASSERT_TRUE(
        (*conn)
            ->Execute("UPDATE event_sequence SET last_seq = ? WHERE id = 1", {base + kEvents})
            .ok());
    ASSERT_TRUE((*conn)->Commit().ok());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // well past 2 x the timeout

  // Now drain what was buffered: some events, then the end.
  int64_t last = start;
  int received = 0;
  v1::WatchEvent ev;
  while (reader->Read(&ev)) {
    if (!ev.has_event()) continue;
    ASSERT_EQ(SeqOf(ev.event().cursor()), last + 1) << "no gap before the cut";
    last = SeqOf(ev.event().cursor());
    ++received;
  }
  grpc::Status cut = reader->Finish();
  EXPECT_FALSE(cut.ok());
  EXPECT_TRUE(cut.error_code() == grpc::StatusCode::UNAVAILABLE ||
              cut.error_code() == grpc::StatusCode::CANCELLED)
      << cut.error_code() << " " << cut.error_message();
  EXPECT_LT(received, kEvents) << "the stream was cut before it could deliver everything";

  // Resume from the last cursor received: the rest arrives, each once, in order.
  auto resumed = std::make_unique<StreamReader>(kLeader1, [&](grpc::ClientContext* c) {
    v1::WatchCasesRequest req;
    req.set_after_cursor(absl::StrCat("g1-", last));
    return b.report->WatchCases(c, req);
  });
  auto rest = resumed->EventsThrough(start + kEvents, 60000);
  ASSERT_EQ(static_cast<int>(rest.size()), kEvents - received);
  for (size_t i = 0; i < rest.size(); ++i) {
    EXPECT_EQ(SeqOf(rest[i].cursor()), last + 1 + static_cast<int64_t>(i));
  }
  std::cout << "[          ] slow consumer took " << received << " of " << kEvents
            << " events before the cut (" << cut.error_code() << ")\n";
}

TEST_P(StreamsTest, DeadlineWarningsReachTheCenterAndTheLeadDepartmentOnce) {
  // Two replicas both look for due cases every second; "near" is 48 hours.
  std::ofstream(dir_.path() + "/server.textproto")
      << "watch { heartbeat_interval_ms: 200 poll_interval_ms: 50 }\n"
      << "deadline_warnings { check_interval_seconds: 1 warn_before_minutes: 2880 }\n"
      << "worker_threads: 4\n";
  Replica b, c;
  ASSERT_TRUE(Start(&b));
  ASSERT_TRUE(Start(&c));
  auto center = Queue(b, kDispatcher1);
  auto sz = Assignments(c, kStaffSz);
  auto other_street = Queue(c, kDispatcher2);
  for (auto* r : {center.get(), sz.get(), other_street.get()}) ASSERT_TRUE(r->WaitForHeartbeat());

  const std::string id = SubmitIn(b, kLeader1, kCell1);
  v1::AcceptCaseRequest accept;
  accept.set_case_id(id);
  v1::Case filed;
  ASSERT_TRUE(
      Call(b.dispatch.get(), &v1::DispatchService::Stub::AcceptCase, kDispatcher1, accept, &filed)
          .ok());
  auto warnings = [&](const std::vector<v1::CaseEvent>& events) {
    std::vector<std::string> notes;
    for (const auto& e : events) {
      if (e.type() == v1::OVERDUE_WARNING && e.case_id() == id) notes.push_back(e.note());
    }
    return notes;
  };
  // The URGENT case is due in 24 hours: within 48, so "due soon".
  auto got =
      warnings(center->WaitUntil([&](const auto& events) { return warnings(events).size() >= 1; }));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].rfind("due soon", 0), 0u) << got[0];

  // Push the deadline into the past behind the servers' backs: the next check says "overdue".
  auto raw = Raw();
  ASSERT_TRUE(raw);
  ASSERT_TRUE(
      raw->Execute("UPDATE cases SET deadline_time = ? WHERE case_id = ?", {int64_t{1000000}, id})
          .ok());
  got = warnings(sz->WaitUntil([&](const auto& events) { return warnings(events).size() >= 2; }));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].rfind("overdue", 0), 0u) << got[1];

  // Several more rounds on both replicas add nothing: each warning was written once.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  v1::ListCaseEventsRequest list;
  list.set_case_id(id);
  v1::ListCaseEventsResponse history;
  ASSERT_TRUE(
      Call(b.report.get(), &v1::ReportService::Stub::ListCaseEvents, kLeader1, list, &history)
          .ok());
  int in_history = 0;
  for (const auto& e : history.events()) in_history += e.type() == v1::OVERDUE_WARNING;
  EXPECT_EQ(in_history, 2);
  EXPECT_EQ(warnings(center->EventsThrough(LastSeqOf(id))).size(), 2u);
  EXPECT_TRUE(warnings(other_street->EventsThrough(LastSeqOf(id))).empty());
}

// The replica a handset streams from dies (SIGKILL) mid-stream while reports keep arriving
// through another replica; after a restart the handset resumes from its last cursor and gets
// every report once.
TEST_P(StreamsTest, AStreamResumesAcrossASigkillOfItsServerWithoutLossOrRepeats) {
  Replica b;
  ASSERT_TRUE(Start(&b));
  auto before = Cases(b, kLeader1);
  ASSERT_TRUE(before->WaitForHeartbeat());
  constexpr int kReports = 20;
  std::vector<std::string> submitted;
  std::atomic<int> count{0};
  std::thread writer([&] {
    for (int i = 0; i < kReports; ++i) {
      submitted.push_back(SubmitIn(a_, kLeader1, kCell1));
      ++count;
      std::this_thread::sleep_for(std::chrono::milliseconds(40));
    }
  });
  before->WaitUntil([](const auto& events) { return events.size() >= 3; });
  b.process->Stop(SIGKILL);
  auto end = before->WaitForEnd();
  ASSERT_TRUE(end.has_value());
  EXPECT_FALSE(end->ok());
  auto got = before->Events();
  ASSERT_FALSE(got.empty());
  EXPECT_LT(count.load(), kReports) << "the server died while reports were still coming";

  ASSERT_TRUE(Start(&b));  // the restarted server
  auto after = std::make_unique<StreamReader>(kLeader1, [&](grpc::ClientContext* ctx) {
    v1::WatchCasesRequest req;
    req.set_after_cursor(got.back().cursor());
    return b.report->WatchCases(ctx, req);
  });
  writer.join();
  int64_t last = 0;
  for (const auto& id : submitted) last = std::max(last, LastSeqOf(id));
  for (const auto& e : after->EventsThrough(last)) got.push_back(e);
  std::vector<std::string> delivered;
  for (size_t i = 0; i < got.size(); ++i) {
    if (i > 0) EXPECT_GT(SeqOf(got[i].cursor()), SeqOf(got[i - 1].cursor()));
    delivered.push_back(got[i].case_id());
  }
  EXPECT_EQ(delivered, submitted) << "every report once, in order, across the crash";
}

// Issue 11: list, then watch from the list's feed_cursor, while writers on both replicas keep
// reporting and rejecting. The first page's cursor splits every change in two: those at or
// before it are in the list, those after it come on the stream, exactly once and in order.
TEST_P(StreamsTest, ListThenWatchFromTheFeedCursorMissesNothingUnderConcurrentWriters) {
  Replica b;
  ASSERT_TRUE(Start(&b));
  std::atomic<bool> stop{false};
  std::mutex written_mu;
  std::condition_variable written_cv;
  int written = 0;
  auto wrote = [&] {
    std::lock_guard<std::mutex> lock(written_mu);
    ++written;
    written_cv.notify_all();
  };
  std::vector<std::thread> writers;
  // Writers go on until told to stop (bounded, so a broken test cannot run forever): the test
  // stops them only once they have written more after the watch began.
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      Replica& submit = t % 2 == 0 ? a_ : b;
      Replica& reject = t % 2 == 0 ? b : a_;
      for (int i = 0; !stop.load() && i < 400; ++i) {
        const std::string id = SubmitIn(submit, kLeader1, kCell1);
        wrote();
        if (i % 2 == 0) {  // a second change to the same case, through the other replica
          v1::RejectCaseRequest req;
          req.set_case_id(id);
          req.set_reason("测试：重复上报");
          v1::Case c;
          auto s = Call(reject.dispatch.get(), &v1::DispatchService::Stub::RejectCase, kDispatcher1,
                        req, &c);
          EXPECT_TRUE(s.ok()) << s.error_message();
          wrote();
        }
      }
    });
  }
  // Wait for some history before listing (an event, with a deadline).
  {
    auto early = Cases(a_, kLeader1);
    early->WaitUntil([](const std::vector<v1::CaseEvent>& e) { return e.size() >= 6; });
  }
  // The list, in pages of 4 through B: the first page's feed_cursor is where the watch starts.
  std::map<std::string, int64_t> listed;  // case id -> listed version
  std::string feed;
  v1::ListMyCasesRequest page_req;
  page_req.set_page_size(4);
  for (int page = 0; page < 1000; ++page) {
    v1::ListMyCasesResponse resp;
    auto s = Call(b.report.get(), &v1::ReportService::Stub::ListMyCases, kLeader1, page_req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_FALSE(resp.feed_cursor().empty());
    if (page == 0) feed = resp.feed_cursor();
    for (const auto& c : resp.cases()) {
      EXPECT_TRUE(c.feed_cursor().empty()) << "a list carries one cursor for the page";
      listed.emplace(c.case_id(), c.version());
    }
    if (resp.next_page_token().empty()) break;
    page_req.set_page_token(resp.next_page_token());
  }
  const int64_t from = SeqOf(feed);
  auto watch = std::make_unique<StreamReader>(kLeader1, [&](grpc::ClientContext* ctx) {
    v1::WatchCasesRequest req;
    req.set_after_cursor(feed);
    return a_.report->WatchCases(ctx, req);
  });
  ASSERT_TRUE(watch->WaitForHeartbeat()) << "the stream's first message";
  {
    // Let the writers add at least a dozen more changes after the watch began (an event, with a
    // deadline), then stop them.
    std::unique_lock<std::mutex> lock(written_mu);
    const int target = written + 12;
    written_cv.wait_for(lock, std::chrono::seconds(60), [&] { return written >= target; });
  }
  stop = true;
  for (auto& w : writers) w.join();

  // The whole truth, from the permanent history.
  std::map<std::string, std::vector<v1::CaseEvent>> history;
  int64_t last = 0;
  v1::ListMyCasesRequest all_req;
  all_req.set_page_size(500);
  v1::ListMyCasesResponse all;
  ASSERT_TRUE(
      Call(a_.report.get(), &v1::ReportService::Stub::ListMyCases, kLeader1, all_req, &all).ok());
  for (const auto& c : all.cases()) {
    v1::ListCaseEventsRequest req;
    req.set_case_id(c.case_id());
    v1::ListCaseEventsResponse resp;
    ASSERT_TRUE(
        Call(a_.report.get(), &v1::ReportService::Stub::ListCaseEvents, kLeader1, req, &resp).ok());
    history[c.case_id()].assign(resp.events().begin(), resp.events().end());
    for (const auto& e : resp.events()) last = std::max(last, SeqOf(e.cursor()));
  }
  ASSERT_GT(last, from) << "writers kept writing after the list";

  // The stream: every event after the cursor, once, in order, and nothing at or before it.
  const std::vector<v1::CaseEvent> streamed = watch->EventsThrough(last);
  std::vector<int64_t> expected;
  for (const auto& [id, events] : history) {
    for (const auto& e : events) {
      if (SeqOf(e.cursor()) > from) expected.push_back(SeqOf(e.cursor()));
    }
  }
  std::sort(expected.begin(), expected.end());
  std::vector<int64_t> got;
  for (const auto& e : streamed) got.push_back(SeqOf(e.cursor()));
  EXPECT_EQ(got, expected);

  // The list: every change at or before the cursor is in it.
  for (const auto& [id, events] : history) {
    int64_t version_at_cursor = 0;
    for (const auto& e : events) {
      if (SeqOf(e.cursor()) <= from)
        version_at_cursor = std::max(version_at_cursor, e.case_version());
    }
    if (version_at_cursor == 0) continue;  // reported after the cursor: the stream has it
    auto it = listed.find(id);
    ASSERT_NE(it, listed.end()) << id << " existed at the cursor but is not in the list";
    EXPECT_GE(it->second, version_at_cursor) << id;
  }
  EXPECT_GT(written, 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, StreamsTest,
                         ::testing::Values(Backend::kSqlite, Backend::kMariaDb),
                         [](const auto& info) { return BackendName(info.param); });

}  // namespace
}  // namespace gridline
