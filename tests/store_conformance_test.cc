// The store conformance suite: every test runs on SQLite and on the real MariaDB started by the
// test command. The store is never mocked.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "server/domain/types.h"
#include "server/store/mysql_driver.h"
#include "server/store/sql.h"
#include "server/store/store.h"
#include "server/util/clock.h"
#include "server/util/metrics.h"
#include "tests/test_support.h"

namespace gridline {
namespace {

using domain::Case;
using domain::CaseEvent;
using domain::CaseState;
using testing::Backend;

class StoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kMariaDb) {
      auto opts = testing::MysqlForTest(GetParam());
      if (!opts) return;  // skipped or failed
      mysql_ = *opts;
    } else {
      sqlite_.path = dir_.path() + "/store.db";
    }
    auto s = Open();
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
    ASSERT_TRUE(store_->ApplyOrganisation(Org()).ok());
  }

  // Another store on the same database (another replica), going by `clock` if given.
  absl::StatusOr<std::unique_ptr<store::Store>> Open(const util::Clock* clock = nullptr) {
    if (GetParam() == Backend::kMariaDb) {
      store::MysqlOptions o = mysql_;
      o.clock = clock;
      return store::OpenMysqlStore(o);
    }
    store::SqliteOptions o = sqlite_;
    o.clock = clock;
    return store::OpenSqliteStore(o);
  }

  // A raw connection to the same database, for what the Store interface rightly does not offer.
  std::unique_ptr<store::SqlConnection> Raw() {
    std::unique_ptr<store::SqlDatabase> db;
    if (GetParam() == Backend::kMariaDb) {
      db = *store::MakeMysqlDatabase(mysql_);
    } else {
      db = store::MakeSqliteDatabase(sqlite_.path);
    }
    auto conn = db->Connect();
    EXPECT_TRUE(conn.ok()) << conn.status();
    return conn.ok() ? *std::move(conn) : nullptr;
  }

  static domain::Organisation Org() {
    domain::Organisation org;
    org.grids = {{"410184", "新郑市", domain::GridLevel::kDistrict, "", ""},
                 {"410184001", "新建路街道", domain::GridLevel::kStreet, "410184", ""},
                 {"410184001001", "郑韩路社区", domain::GridLevel::kCommunity, "410184001", ""},
                 {"410184001001001", "第一网格", domain::GridLevel::kCell, "410184001001", ""}};

    org.departments = {{"CG", "城管局", "", "410184"}};
    domain::Category k;
    k.code = "C01";
    k.name = "路面破损";
    k.kind = domain::CategoryKind::kComponent;
    k.normal_deadline_hours = 72;
    org.categories = {k};
    org.users = {{"u1", "张三", domain::Role::kGridLeader, "410184001001001", "", false},
                 {"u2", "李四", domain::Role::kGridLeader, "410184001001001", "", true}};
    return org;
  }

  static Case NewCase(const std::string& id, const std::string& request_id) {
    Case c;
    c.case_id = id;
    c.state = CaseState::kPendingTriage;
    c.category_code = "C01";
    c.description = "路面塌陷，深约30厘米 🚧";
    c.grid_code = "410184001001001";
    c.grid_path = "/410184/410184001/410184001001/410184001001001/";
    c.latitude = 34.3961234567;
    c.longitude = 113.7392345678;
    c.address = "新郑市郑韩路18号";
    c.observe_time = 1700000000000000;
    c.urgency = domain::Urgency::kNormal;
    c.reporter_user_id = "u1";
    c.create_time = c.update_time = util::WallClock().NowMicros();
    c.version = 1;
    c.request_id = request_id;
    c.request_digest = std::string(64, 'a');
    return c;
  }

  static CaseEvent FirstEvent(const Case& c) {
    CaseEvent e;
    e.case_id = c.case_id;
    e.type = domain::EventType::kReported;
    e.to_state = c.state;
    e.actor_user_id = c.reporter_user_id;
    e.actor_role = domain::Role::kGridLeader;
    e.event_time = util::WallClock().NowMicros();
    e.category_code = c.category_code;
    e.grid_code = c.grid_code;
    e.grid_path = c.grid_path;
    e.reporter_user_id = c.reporter_user_id;
    e.case_version = 1;
    return e;
  }

  testing::TempDir dir_;
  store::SqliteOptions sqlite_;
  store::MysqlOptions mysql_;
  std::unique_ptr<store::Store> store_;
};

// One suite per storage interface (store.h), each on both engines; StoreTest keeps what is about
// the database as a whole (migrations, reconnects).
class CaseStoreTest : public StoreTest {};
class FeedStoreTest : public StoreTest {};
class OrganisationStoreTest : public StoreTest {};
class TokenStoreTest : public StoreTest {};
class AuditStoreTest : public StoreTest {};
class AttachmentStoreTest : public StoreTest {};
class SupervisionStoreTest : public StoreTest {};
class AccountabilityStoreTest : public StoreTest {};
class PatrolStoreTest : public StoreTest {
 protected:
  static domain::Patrol NewPatrol(const std::string& id, const std::string& user,
                                  domain::Micros start) {
    domain::Patrol p;
    p.patrol_id = id;
    p.user_id = user;
    p.role = domain::Role::kGridLeader;
    p.grid_code = "410184001001001";
    p.grid_path = "/410184/410184001/410184001001/410184001001001/";
    p.state = domain::PatrolState::kActive;
    p.start_time = start;
    p.create_time = p.update_time = start;
    return p;
  }
};

TEST_P(StoreTest, MigrationsAreIdempotentAndRecorded) {
  store_.reset();
  auto again = Open();
  ASSERT_TRUE(again.ok()) << again.status();
  auto version = (*again)->SchemaVersion();
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, store::LatestSchemaVersion());
}

TEST_P(StoreTest, RefusesSchemaNewerThanItKnows) {
  auto raw = Raw();
  ASSERT_TRUE(raw);
  ASSERT_TRUE(raw->Execute("INSERT INTO schema_migrations (version, applied_time) VALUES (?, 0)",
                           {int64_t{store::LatestSchemaVersion() + 1}})
                  .ok());
  store_.reset();
  auto again = Open();
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition) << again.status();
  EXPECT_NE(again.status().message().find("newer"), absl::string_view::npos);
}

TEST_P(CaseStoreTest, CreateCaseStoresCaseAndFirstEventTogether) {
  Case c = NewCase("c1", "req-1");
  c.source = domain::CaseSource::kMedia;
  auto r = store_->CreateCase(c, FirstEvent(c));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->created);
  EXPECT_GT(r->first_event.seq, 0);
  auto got = store_->GetCase("c1");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->description, c.description);  // 4-byte UTF-8 survives (utf8mb4)
  EXPECT_EQ((*got)->address, c.address);
  EXPECT_DOUBLE_EQ((*got)->latitude, c.latitude);
  EXPECT_DOUBLE_EQ((*got)->longitude, c.longitude);
  EXPECT_EQ((*got)->grid_path, c.grid_path);
  EXPECT_EQ((*got)->source, domain::CaseSource::kMedia);
  auto events = store_->ListCaseEvents("c1");
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].type, domain::EventType::kReported);
  EXPECT_EQ((*events)[0].seq, r->first_event.seq);
}

TEST_P(CaseStoreTest, SameRequestIdCreatesOneCase) {
  Case c = NewCase("c1", "req-1");
  ASSERT_TRUE(store_->CreateCase(c, FirstEvent(c)).ok());
  Case retry = NewCase("c2", "req-1");  // a retry gets a new id from the service; still one case
  auto r = store_->CreateCase(retry, FirstEvent(retry));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->created);
  EXPECT_EQ(r->stored.case_id, "c1");
  auto none = store_->GetCase("c2");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto events = store_->ListEventsAfter(0, 100);
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->size(), 1u);
}

TEST_P(CaseStoreTest, ConcurrentRetriesOfOneRequestCreateOneCase) {
  std::vector<std::thread> threads;
  std::vector<std::string> ids(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      Case c = NewCase(absl::StrCat("c", i), "same-request");
      auto r = store_->CreateCase(c, FirstEvent(c));
      ids[i] = r.ok() ? r->stored.case_id : std::string(r.status().message());
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& id : ids) EXPECT_EQ(id, ids[0]);
  auto events = store_->ListEventsAfter(0, 100);
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->size(), 1u);
}

// The (count, sum) of the group sizes CreateCase has committed in this process.
std::pair<double, double> GroupCommitSizes(Backend backend) {
  util::Metrics& m = util::DefaultMetrics();
  m.DeclareHistogram("gridline_store_group_commit_size", "group sizes", {1, 2, 4, 8, 16, 32, 64});
  const std::string labels =
      absl::StrCat("{dialect=\"", backend == Backend::kMariaDb ? "mysql" : "sqlite", "\"} ");
  double count = 0, sum = 0;
  for (absl::string_view line : absl::StrSplit(m.Expose(), '\n')) {
    for (auto [suffix, out] : {std::pair<const char*, double*>{"_count", &count}, {"_sum", &sum}}) {
      const std::string prefix = absl::StrCat("gridline_store_group_commit_size", suffix, labels);
      if (absl::StartsWith(line, prefix)) {
        EXPECT_TRUE(absl::SimpleAtod(line.substr(prefix.size()), out)) << line;
      }
    }
  }
  return {count, sum};
}

// Runs `call(i)` for i in [0, n) on a thread each, and returns once every thread is about to
// make its call (which may then wait in the store); the caller joins them. False if they did
// not all start within 30 s.
bool StartCalls(int n, const std::function<void(int)>& call, std::vector<std::thread>* threads) {
  struct Latch {  // shared: a thread may still notify after this returns
    std::mutex mu;
    std::condition_variable cv;
    int started = 0;
  };
  auto latch = std::make_shared<Latch>();
  for (int i = 0; i < n; ++i) {
    threads->emplace_back([latch, call, i] {
      {
        std::lock_guard<std::mutex> lock(latch->mu);
        ++latch->started;
      }
      latch->cv.notify_all();
      call(i);
    });
  }
  std::unique_lock<std::mutex> lock(latch->mu);
  return latch->cv.wait_for(lock, std::chrono::seconds(30), [&] { return latch->started == n; });
}

// Group commit: concurrent CreateCase calls share a transaction, yet each is answered as if it
// ran alone. A raw transaction holds the write lock while the calls start, so that the first
// waits for it and the others queue behind it and commit together.
TEST_P(CaseStoreTest, AGroupCommitAnswersEachReportAsIfItRanAlone) {
  const auto before = GroupCommitSizes(GetParam());
  auto raw = Raw();
  ASSERT_TRUE(raw);
  ASSERT_TRUE(raw->Begin(true).ok());  // SQLite: BEGIN IMMEDIATE takes the write lock
  if (GetParam() == Backend::kMariaDb) {
    // On the empty table this locks the supremum: every insert into cases waits.
    ASSERT_TRUE(raw->Query("SELECT case_id FROM cases FOR UPDATE").ok());
  }
  constexpr int kCalls = 40;
  // i % 10 == 3: names a photo that is not stored (INVALID_ARGUMENT after its case row is
  // written: the savepoint must undo it). i % 10 == 7: a retry of call i - 1's request.
  auto request_of = [](int i) { return absl::StrCat("g-", i % 10 == 7 ? i - 1 : i); };
  std::vector<absl::StatusOr<store::CreateCaseResult>> results(kCalls,
                                                               absl::InternalError("not run"));
  std::vector<std::thread> threads;
  const bool started = StartCalls(
      kCalls,
      [&](int i) {
        Case c = NewCase(absl::StrCat("g", i), request_of(i));
        if (i % 10 == 3) c.before_photo_ids = {"no-such-photo"};
        results[i] = store_->CreateCase(c, FirstEvent(c));
      },
      &threads);
  ASSERT_TRUE(raw->Rollback().ok());
  if (!started) {
    for (auto& t : threads) t.join();
    FAIL() << "the calls did not all start within 30 s";
  }
  for (auto& t : threads) t.join();

  std::set<std::string> stored;
  for (int i = 0; i < kCalls; ++i) {
    SCOPED_TRACE(absl::StrCat("call ", i));
    if (i % 10 == 3) {
      EXPECT_EQ(results[i].status().code(), absl::StatusCode::kInvalidArgument)
          << results[i].status();
      auto got = store_->GetCase(absl::StrCat("g", i));
      ASSERT_TRUE(got.ok());
      EXPECT_FALSE(got->has_value()) << "a refused report was stored";
      continue;
    }
    ASSERT_TRUE(results[i].ok()) << results[i].status();
    stored.insert(results[i]->stored.case_id);
    EXPECT_EQ(results[i]->first_event.case_id, results[i]->stored.case_id);
    EXPECT_GT(results[i]->first_event.seq, 0);
    if (i % 10 == 7) {
      // The request and its retry: one case, created by exactly one of the two calls.
      EXPECT_EQ(results[i]->stored.case_id, results[i - 1]->stored.case_id);
      EXPECT_EQ(results[i]->first_event.seq, results[i - 1]->first_event.seq);
      EXPECT_NE(results[i]->created, results[i - 1]->created);
    } else if (i % 10 != 6) {
      EXPECT_TRUE(results[i]->created);
      EXPECT_EQ(results[i]->stored.case_id, absl::StrCat("g", i));
    }
  }
  constexpr size_t kStored = kCalls - kCalls / 10 - kCalls / 10;  // refused, retries
  EXPECT_EQ(stored.size(), kStored);
  auto count = store_->CountCases();
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, static_cast<int64_t>(kStored));
  // One event per stored case, numbered densely.
  auto events = store_->ListEventsAfter(0, 1000);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), kStored);
  std::set<std::string> with_event;
  for (size_t i = 0; i < events->size(); ++i) {
    EXPECT_EQ((*events)[i].seq, static_cast<int64_t>(i + 1));
    with_event.insert((*events)[i].case_id);
  }
  EXPECT_EQ(with_event, stored);
  // And the calls did share commits: some group held more than one report.
  const auto after = GroupCommitSizes(GetParam());
  EXPECT_GT(after.second - before.second, after.first - before.first)
      << "no group commit held more than one report";
}

// A group of new reports only (on MySQL their cases and their events go in with one statement
// each: InsertNewCases, FlushEvents). Every case is stored as sent, with its own event, numbered
// densely, and a second round of the same requests (now all stored) returns them unchanged.
TEST_P(CaseStoreTest, AGroupOfNewReportsIsStoredWholeAndRetriesFindIt) {
  const auto before = GroupCommitSizes(GetParam());
  auto raw = Raw();
  ASSERT_TRUE(raw);
  constexpr int kCalls = 30;
  auto run_round = [&](std::vector<absl::StatusOr<store::CreateCaseResult>>* results) {
    ASSERT_TRUE(raw->Begin(true).ok());
    if (GetParam() == Backend::kMariaDb) {
      ASSERT_TRUE(raw->Query("SELECT last_seq FROM event_sequence WHERE id = 1 FOR UPDATE").ok());
    }
    std::vector<std::thread> threads;
    const bool started = StartCalls(
        kCalls,
        [&](int i) {
          Case c = NewCase(absl::StrCat("n", i), absl::StrCat("n-", i));
          c.description = absl::StrCat("report ", i);
          (*results)[i] = store_->CreateCase(c, FirstEvent(c));
        },
        &threads);
    ASSERT_TRUE(raw->Rollback().ok());
    for (auto& t : threads) t.join();
    ASSERT_TRUE(started) << "the calls did not all start within 30 s";
  };
  std::vector<absl::StatusOr<store::CreateCaseResult>> first(kCalls, absl::InternalError("-"));
  run_round(&first);
  std::map<std::string, int64_t> seq_of;
  for (int i = 0; i < kCalls; ++i) {
    SCOPED_TRACE(absl::StrCat("call ", i));
    ASSERT_TRUE(first[i].ok()) << first[i].status();
    EXPECT_TRUE(first[i]->created);
    EXPECT_EQ(first[i]->first_event.case_id, absl::StrCat("n", i));
    seq_of[absl::StrCat("n", i)] = first[i]->first_event.seq;
    auto got = store_->GetCase(absl::StrCat("n", i));
    ASSERT_TRUE(got.ok() && got->has_value());
    EXPECT_EQ((*got)->description, absl::StrCat("report ", i));
    EXPECT_EQ((*got)->request_id, absl::StrCat("n-", i));
  }
  auto events = store_->ListEventsAfter(0, 1000);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), static_cast<size_t>(kCalls));
  for (size_t i = 0; i < events->size(); ++i) {
    EXPECT_EQ((*events)[i].seq, static_cast<int64_t>(i + 1));
    EXPECT_EQ(seq_of[(*events)[i].case_id], (*events)[i].seq) << "the event the call returned";
  }
  const auto after = GroupCommitSizes(GetParam());
  EXPECT_GT(after.second - before.second, after.first - before.first)
      << "no group commit held more than one report";

  // The same requests again, as a handset's retries: the stored cases, nothing new.
  std::vector<absl::StatusOr<store::CreateCaseResult>> again(kCalls, absl::InternalError("-"));
  run_round(&again);
  for (int i = 0; i < kCalls; ++i) {
    SCOPED_TRACE(absl::StrCat("retry ", i));
    ASSERT_TRUE(again[i].ok()) << again[i].status();
    EXPECT_FALSE(again[i]->created);
    EXPECT_EQ(again[i]->stored.case_id, absl::StrCat("n", i));
    EXPECT_EQ(again[i]->first_event.seq, seq_of[absl::StrCat("n", i)]);
  }
  auto count = store_->CountCases();
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, kCalls);
  auto after_retries = store_->ListEventsAfter(0, 1000);
  ASSERT_TRUE(after_retries.ok());
  EXPECT_EQ(after_retries->size(), static_cast<size_t>(kCalls));
}

TEST_P(FeedStoreTest, EventSequenceIsDenseAndOrderedUnderConcurrentWriters) {
  constexpr int kThreads = 6, kPerThread = 15;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        Case c = NewCase(absl::StrCat("c", t, "-", i), absl::StrCat("r", t, "-", i));
        if (!store_->CreateCase(c, FirstEvent(c)).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto events = store_->ListEventsAfter(0, 1000);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), static_cast<size_t>(kThreads * kPerThread));
  for (size_t i = 0; i < events->size(); ++i) EXPECT_EQ((*events)[i].seq, int64_t(i + 1));
  auto last = store_->LastEventSeq();
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, kThreads * kPerThread);
  auto page = store_->ListEventsAfter(40, 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 10u);
  EXPECT_EQ(page->front().seq, 41);
}

TEST_P(CaseStoreTest, UpdateCaseChecksVersionAndAppendsEvent) {
  Case c = NewCase("c1", "req-1");
  ASSERT_TRUE(store_->CreateCase(c, FirstEvent(c)).ok());
  Case next = c;
  next.state = CaseState::kDispatched;
  next.source = domain::CaseSource::kLeader;  // not a column a write changes
  CaseEvent e = FirstEvent(c);
  e.type = domain::EventType::kRouted;
  e.from_state = CaseState::kPendingTriage;
  e.to_state = CaseState::kDispatched;
  auto write = [&](const Case& c, int64_t expected) {
    store::CaseWrite w;
    w.c = c;
    w.expected_version = expected;
    w.events = {e};
    return store_->UpdateCase(w);
  };
  auto stale = write(next, /*expected_version=*/7);
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kAborted) << stale.status();
  auto ok = write(next, 1);
  ASSERT_TRUE(ok.ok()) << ok.status();
  ASSERT_EQ(ok->events.size(), 1u);
  EXPECT_EQ(ok->events[0].case_version, 2);
  auto got = store_->GetCase("c1");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->state, CaseState::kDispatched);
  EXPECT_EQ((*got)->version, 2);
  EXPECT_EQ((*got)->source, domain::CaseSource::kHandset) << "a case's source never changes";
  auto again = write(next, 1);  // the loser of a race
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAborted);
  auto missing = write(NewCase("nope", "x"), 1);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  auto events = store_->ListCaseEvents("c1");
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->size(), 2u);  // failed updates left nothing behind
}

TEST_P(TokenStoreTest, OrganisationLookupsAndTokens) {
  auto grid = store_->FindGrid("410184001001001");
  ASSERT_TRUE(grid.ok() && grid->has_value());
  EXPECT_EQ((*grid)->path, "/410184/410184001/410184001001/410184001001001/");
  EXPECT_EQ((*grid)->name, "第一网格");
  auto missing = store_->FindGrid("nope");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  auto cat = store_->FindCategory("C01");
  ASSERT_TRUE(cat.ok() && cat->has_value());
  EXPECT_EQ((*cat)->normal_deadline_hours, 72);

  domain::TokenInfo issued;
  issued.token_id = "tok-issued-1";
  issued.user_id = "u1";
  issued.label = "handset";
  issued.create_time = util::WallClock().NowMicros();
  issued.issued_by_user_id = "op";
  ASSERT_TRUE(store_->CreateToken(issued, std::string(64, 'b')).ok());
  ASSERT_TRUE(store_->PutDemoToken(std::string(64, 'c'), "u2").ok());
  ASSERT_TRUE(store_->PutDemoToken(std::string(64, 'd'), "u1").ok());
  auto u = store_->FindCallerByTokenHash(std::string(64, 'b'), util::WallClock().NowMicros());
  ASSERT_TRUE(u.ok() && u->has_value());
  EXPECT_EQ((*u)->user.user_id, "u1");
  EXPECT_EQ((*u)->user.role, domain::Role::kGridLeader);
  EXPECT_EQ((*u)->token_id, "tok-issued-1");
  EXPECT_FALSE((*u)->demo_token);
  // Demo tokens are marked, so that a server outside demo mode can refuse them.
  auto demo = store_->FindCallerByTokenHash(std::string(64, 'd'), util::WallClock().NowMicros());
  ASSERT_TRUE(demo.ok() && demo->has_value());
  EXPECT_TRUE((*demo)->demo_token);
  auto tokens = store_->ListTokens("u1", false, util::WallClock().NowMicros());
  ASSERT_TRUE(tokens.ok());
  ASSERT_EQ(tokens->size(), 2u);
  EXPECT_EQ(std::count_if(tokens->begin(), tokens->end(), [](auto& t) { return t.demo; }), 1);
  auto disabled =
      store_->FindCallerByTokenHash(std::string(64, 'c'), util::WallClock().NowMicros());
  ASSERT_TRUE(disabled.ok());
  EXPECT_FALSE(disabled->has_value());

  // Re-applying updates in place.
  auto org = Org();
  org.grids[3].name = "第一网格（改）";
  ASSERT_TRUE(store_->ApplyOrganisation(org).ok());
  grid = store_->FindGrid("410184001001001");
  ASSERT_TRUE(grid.ok() && grid->has_value());
  EXPECT_EQ((*grid)->name, "第一网格（改）");
  auto all = store_->ListGrids();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 4u);
}

// Issue 16: last_used_time is written in batches (not one write per authentication), yet a
// listing shows every use, at most one write a minute apart.
TEST_P(TokenStoreTest, UsesAreTouchedInBatchesAndShownByTheList) {
  const domain::Micros now = 1'800'000'000'000'000;
  const domain::Micros minute = 60'000'000;
  for (char c : {'5', '6'}) {
    domain::TokenInfo t;
    t.token_id = std::string("tok-touch-") + c;
    t.user_id = "u1";
    t.create_time = now;
    t.issued_by_user_id = "op";
    ASSERT_TRUE(store_->CreateToken(t, std::string(64, c)).ok());
  }
  auto last_used = [&](const std::string& id) -> domain::Micros {
    auto tokens = store_->ListTokens("u1", true, now + 10 * minute);
    EXPECT_TRUE(tokens.ok()) << tokens.status();
    if (!tokens.ok()) return -1;
    for (const auto& t : *tokens) {
      if (t.token_id == id) return t.last_used_time;
    }
    return -1;
  };
  ASSERT_TRUE(store_->FindCallerByTokenHash(std::string(64, '5'), now + 1).ok());
  ASSERT_TRUE(store_->FindCallerByTokenHash(std::string(64, '6'), now + 2).ok());
  EXPECT_EQ(last_used("tok-touch-5"), now + 1);
  EXPECT_EQ(last_used("tok-touch-6"), now + 2);
  ASSERT_TRUE(store_->FindCallerByTokenHash(std::string(64, '5'), now + 3).ok());
  EXPECT_EQ(last_used("tok-touch-5"), now + 1) << "touched at most once a minute";
  ASSERT_TRUE(store_->FindCallerByTokenHash(std::string(64, '5'), now + 2 * minute).ok());
  EXPECT_EQ(last_used("tok-touch-5"), now + 2 * minute);
}

// Issue 16: open streams re-check their tokens in batches. Each entry answers as a lookup of its
// own would: across chunks of 64, with repeats, unknown, revoked, expired and disabled users'
// tokens among them.
TEST_P(TokenStoreTest, ManyTokensAreFoundAtOnceEachAsAlone) {
  const domain::Micros now = 1'800'000'000'000'000;
  auto hash = [](int i) { return absl::StrCat(std::string(60, 'a'), 1000 + i); };
  std::vector<std::string> hashes;
  for (int i = 0; i < 150; ++i) {
    domain::TokenInfo t;
    t.token_id = absl::StrCat("tok-many-", i);
    t.user_id = "u1";
    t.create_time = now - 1000;
    t.issued_by_user_id = "op";
    if (i % 7 == 3)
      t.expire_time = now - 1;  // expired
    else if (i % 11 == 5)
      t.expire_time = now + 1000;  // expires later
    ASSERT_TRUE(store_->CreateToken(t, hash(i)).ok());
    if (i % 13 == 4) ASSERT_TRUE(store_->RevokeToken(t.token_id, now - 10).ok());
    hashes.push_back(hash(i));
  }
  ASSERT_TRUE(store_->PutDemoToken(hash(200), "u2").ok());  // u2 is disabled
  ASSERT_TRUE(store_->PutDemoToken(hash(201), "u1").ok());
  hashes.insert(hashes.begin() + 70, hash(200));
  hashes.insert(hashes.begin() + 10, hash(201));
  hashes.insert(hashes.begin() + 100, hash(999));  // unknown
  hashes.push_back(hash(5));                       // a repeat
  hashes.push_back(hash(5));

  auto many = store_->FindCallersByTokenHashes(hashes, now);
  ASSERT_TRUE(many.ok()) << many.status();
  ASSERT_EQ(many->size(), hashes.size());
  // A use found in a batch is a use: the listing shows it.
  auto tokens = store_->ListTokens("u1", false, now);
  ASSERT_TRUE(tokens.ok());
  int listed = 0;
  for (const auto& t : *tokens) {
    if (t.token_id == "tok-many-0") EXPECT_EQ(t.last_used_time, now);
    listed += t.token_id == "tok-many-0";
  }
  EXPECT_EQ(listed, 1);
  int found = 0;
  for (size_t i = 0; i < hashes.size(); ++i) {
    auto alone = store_->FindCallerByTokenHash(hashes[i], now);
    ASSERT_TRUE(alone.ok()) << alone.status();
    ASSERT_EQ((*many)[i].has_value(), alone->has_value()) << i << " " << hashes[i];
    if (!alone->has_value()) continue;
    ++found;
    EXPECT_EQ((*many)[i]->token_id, (*alone)->token_id);
    EXPECT_EQ((*many)[i]->user.user_id, (*alone)->user.user_id);
    EXPECT_EQ((*many)[i]->user.role, (*alone)->user.role);
    EXPECT_EQ((*many)[i]->demo_token, (*alone)->demo_token);
  }
  // 150 issued: 21 expired (i % 7 == 3), 12 revoked of which 2 also expired; the demo token of
  // u1 and both repeats count too.
  EXPECT_EQ(found, 150 - 21 - (12 - 2) + 1 + 2);
  EXPECT_FALSE((*many)[70 + 1].has_value()) << "u2 is disabled";
  ASSERT_TRUE((*many)[10].has_value());
  EXPECT_TRUE((*many)[10]->demo_token);

  auto none = store_->FindCallersByTokenHashes({}, now);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

// Issue 16: touches due are written in transactions of at most 128 (so that none holds the
// writer long), one per call on a request's path; the listing writes the rest. None is lost.
TEST_P(TokenStoreTest, TouchesDueAreWrittenInChunksAndNoneIsLost) {
  const domain::Micros now = 1'800'000'000'000'000;
  const domain::Micros second = 1'000'000;
  auto hash = [](int i) { return absl::StrCat(std::string(60, 'b'), 1000 + i); };
  std::vector<std::string> hashes;
  for (int i = 0; i < 300; ++i) {
    domain::TokenInfo t;
    t.token_id = absl::StrCat("tok-chunk-", 1000 + i);
    t.user_id = "u1";
    t.create_time = now - 1000;
    t.issued_by_user_id = "op";
    ASSERT_TRUE(store_->CreateToken(t, hash(i)).ok());
    hashes.push_back(hash(i));
  }
  auto many = store_->FindCallersByTokenHashes(hashes, now);
  ASSERT_TRUE(many.ok()) << many.status();
  // Due now (older than 5 s): this lookup writes one chunk, and notes its own use.
  ASSERT_TRUE(store_->FindCallerByTokenHash(hash(0), now + 6 * second).ok());
  auto tokens = store_->ListTokens("u1", false, now + 6 * second);
  ASSERT_TRUE(tokens.ok());
  int seen = 0;
  for (const auto& t : *tokens) {
    if (t.token_id.rfind("tok-chunk-", 0) != 0) continue;
    ++seen;
    EXPECT_EQ(t.last_used_time, t.token_id == "tok-chunk-1000" ? now + 6 * second : now)
        << t.token_id;
  }
  EXPECT_EQ(seen, 300);
}

// Issue 15: a binding travels with the token and with its rotation; rotation happens once.
TEST_P(TokenStoreTest, BindingsAndRotation) {
  const domain::Micros now = 1'800'000'000'000'000;
  domain::TokenInfo issued;
  issued.token_id = "tok-bound";
  issued.user_id = "u1";
  issued.label = "handset 7";
  issued.device_id = "IMEI-7";
  issued.create_time = now;
  issued.expire_time = now + 1000;
  issued.issued_by_user_id = "op";
  issued.client_cert_sha256 = std::string(64, 'e');
  ASSERT_TRUE(store_->CreateToken(issued, std::string(64, '1')).ok());
  auto caller = store_->FindCallerByTokenHash(std::string(64, '1'), now);
  ASSERT_TRUE(caller.ok() && caller->has_value());
  EXPECT_EQ((*caller)->client_cert_sha256, std::string(64, 'e'));

  auto rotated = store_->RotateToken("tok-bound", "tok-new", std::string(64, '2'), "op2",
                                     now + 5000, now + 100, now + 10);
  ASSERT_TRUE(rotated.ok()) << rotated.status();
  ASSERT_TRUE(rotated->has_value());
  ASSERT_TRUE((*rotated)->rotated);
  EXPECT_EQ((*rotated)->old_token.replaced_by_token_id, "tok-new");
  EXPECT_EQ((*rotated)->old_token.expire_time, now + 100);
  const domain::TokenInfo& fresh = (*rotated)->new_token;
  EXPECT_EQ(fresh.user_id, "u1");
  EXPECT_EQ(fresh.label, "handset 7");
  EXPECT_EQ(fresh.device_id, "IMEI-7");
  EXPECT_EQ(fresh.client_cert_sha256, std::string(64, 'e'));
  EXPECT_EQ(fresh.issued_by_user_id, "op2");
  EXPECT_EQ(fresh.expire_time, now + 5000);
  // Both work in the grace period; then only the new one.
  for (char hash : {'1', '2'}) {
    auto c = store_->FindCallerByTokenHash(std::string(64, hash), now + 50);
    ASSERT_TRUE(c.ok() && c->has_value()) << hash;
    EXPECT_EQ((*c)->client_cert_sha256, std::string(64, 'e'));
  }
  auto old_later = store_->FindCallerByTokenHash(std::string(64, '1'), now + 200);
  ASSERT_TRUE(old_later.ok());
  EXPECT_FALSE(old_later->has_value());
  auto listed = store_->ListTokens("u1", true, now + 200);
  ASSERT_TRUE(listed.ok());
  int seen = 0;
  for (const auto& t : *listed) {
    if (t.token_id == "tok-bound") {
      ++seen;
      EXPECT_EQ(t.replaced_by_token_id, "tok-new");
      EXPECT_EQ(t.client_cert_sha256, std::string(64, 'e'));
    }
  }
  EXPECT_EQ(seen, 1);

  // A second rotation of the same token writes nothing; an unknown token is nullopt.
  auto again = store_->RotateToken("tok-bound", "tok-other", std::string(64, '3'), "op", now + 5000,
                                   now + 100, now + 20);
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_FALSE((*again)->rotated);
  auto none = store_->FindCallerByTokenHash(std::string(64, '3'), now + 20);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto unknown = store_->RotateToken("tok-nope", "tok-x", std::string(64, '4'), "op", now + 5000,
                                     now + 100, now);
  ASSERT_TRUE(unknown.ok());
  EXPECT_FALSE(unknown->has_value());
  // A revoked token is not rotated either.
  ASSERT_TRUE(store_->RevokeToken("tok-new", now + 30).ok());
  auto revoked = store_->RotateToken("tok-new", "tok-y", std::string(64, '5'), "op", now + 5000,
                                     now + 100, now + 40);
  ASSERT_TRUE(revoked.ok() && revoked->has_value());
  EXPECT_FALSE((*revoked)->rotated);
}

// Issue 11: the feed's retention moves a horizon (how far back a watch may resume) and deletes
// nothing: the events are the case history.
TEST_P(FeedStoreTest, TheFeedHorizonMovesButTheHistoryStays) {
  for (int i = 0; i < 5; ++i) {
    Case c = NewCase(absl::StrCat("c", i), absl::StrCat("r", i));
    ASSERT_TRUE(store_->CreateCase(c, FirstEvent(c)).ok());
  }
  auto none = store_->AdvanceFeedHorizon(util::WallClock().NowMicros() - 3600LL * 1000000);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(*none, 0) << "no event is an hour old";
  auto horizon = store_->AdvanceFeedHorizon(util::WallClock().NowMicros() + 1000000);
  ASSERT_TRUE(horizon.ok()) << horizon.status();
  EXPECT_EQ(*horizon, 4) << "every event is older, but the newest stays resumable";
  auto through = store_->FeedHorizonSeq();
  ASSERT_TRUE(through.ok());
  EXPECT_EQ(*through, 4);
  auto back = store_->AdvanceFeedHorizon(util::WallClock().NowMicros() - 3600LL * 1000000);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, 4) << "the horizon never moves back";
  auto all = store_->ListEventsAfter(0, 100);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 5u) << "nothing was deleted";
  for (int i = 0; i < 5; ++i) {
    auto history = store_->ListCaseEvents(absl::StrCat("c", i));
    ASSERT_TRUE(history.ok());
    EXPECT_EQ(history->size(), 1u);
  }
}

TEST_P(StoreTest, RecoversWhenTheServerDropsItsConnections) {
  if (GetParam() != Backend::kMariaDb) GTEST_SKIP() << "only a network database drops links";
  ASSERT_TRUE(store_->Ping().ok());
  Case c = NewCase("c1", "req-1");
  ASSERT_TRUE(store_->CreateCase(c, FirstEvent(c)).ok());
  // Kill every connection the store holds, as a server restart or a network cut would.
  auto raw = Raw();
  ASSERT_TRUE(raw);
  auto ids = raw->Query(
      "SELECT id FROM information_schema.processlist WHERE db = ? AND id <> CONNECTION_ID()",
      {mysql_.database});
  ASSERT_TRUE(ids.ok()) << ids.status();
  ASSERT_FALSE(ids->empty());
  for (const auto& row : *ids) {
    ASSERT_TRUE(raw->Execute(absl::StrCat("KILL ", row.Int(0))).ok());
  }
  // Every call still works: broken connections are dropped and replaced.
  for (int i = 0; i < 10; ++i) {
    auto got = store_->GetCase("c1");
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_TRUE(got->has_value());
  }
  Case d = NewCase("c2", "req-2");
  auto r = store_->CreateCase(d, FirstEvent(d));
  ASSERT_TRUE(r.ok()) << r.status();
}

// Issue 17: a store over several hosts (a Galera cluster) sends its work to one at a time and
// moves on when that one fails. Plain MariaDB has wsrep off, so it is always "ready"; the
// failing nodes are a port that refuses connections and a proxy in front of the real server
// that can die or hang. Only MariaDB: SQLite has no hosts.

// A loopback port bound but not listening: a connection to it is refused at once, as by a node
// whose server is down.
class RefusingPort {
 public:
  RefusingPort() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << std::strerror(errno);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~RefusingPort() { close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A TCP proxy to the real MariaDB that plays a Galera node: it forwards both ways until Die()
// (every link closed, new connections refused: a node whose server was killed) or, after
// HangAfterCommit(), a link that sends COMMIT gets no answer any more (a node that committed
// and then stopped, SIGSTOP or a cut cable: the client does not know the commit happened).
class NodeProxy {
 public:
  NodeProxy(const std::string& host, int port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    EXPECT_EQ(getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found), 0);
    if (found != nullptr) {
      std::memcpy(&target_, found->ai_addr, found->ai_addrlen);
      target_len_ = found->ai_addrlen;
      freeaddrinfo(found);
    }
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(listen(listen_fd_, 64), 0);
    socklen_t len = sizeof a;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { Accept(); });
  }
  ~NodeProxy() { Die(); }
  int port() const { return port_; }
  // Returns once every link is closed and the port refuses.
  void Die() {
    dead_ = true;
    if (acceptor_.joinable()) acceptor_.join();
    for (auto& t : links_) t.join();
    links_.clear();
  }
  void HangAfterCommit() { hang_after_commit_ = true; }
  int links_hung() const { return links_hung_; }

 private:
  void Accept() {
    while (!dead_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      int client = accept(listen_fd_, nullptr, nullptr);
      if (client < 0) continue;
      int server = socket(target_.ss_family, SOCK_STREAM, 0);
      if (connect(server, reinterpret_cast<sockaddr*>(&target_), target_len_) != 0) {
        close(server);
        close(client);
        continue;
      }
      links_.emplace_back([this, client, server] { Forward(client, server); });
    }
    close(listen_fd_);  // from now on, connections are refused
  }

  void Forward(int client, int server) {
    bool hung = false;  // the server's answers are swallowed
    char buf[16384];
    while (!dead_) {
      pollfd p[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
      if (poll(p, 2, 20) <= 0) continue;
      if (p[0].revents != 0) {
        ssize_t n = read(client, buf, sizeof buf);
        if (n <= 0) break;
        // A COM_QUERY (0x03) packet of the text COMMIT.
        if (hang_after_commit_ && std::string(buf, n).find("\x03"
                                                           "COMMIT") != std::string::npos) {
          if (!hung) ++links_hung_;
          hung = true;
        }
        if (send(server, buf, n, MSG_NOSIGNAL) != n) break;
      }
      if (p[1].revents != 0) {
        ssize_t n = read(server, buf, sizeof buf);
        if (n <= 0) break;
        if (!hung && send(client, buf, n, MSG_NOSIGNAL) != n) break;
      }
    }
    close(client);
    close(server);
  }

  sockaddr_storage target_{};
  socklen_t target_len_ = 0;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> dead_{false};
  std::atomic<bool> hang_after_commit_{false};
  std::atomic<int> links_hung_{0};
  std::thread acceptor_;
  std::vector<std::thread> links_;  // only the acceptor adds, before it ends
};

// gridline_store_mysql_failovers_total in this process.
double MysqlFailovers() {
  util::Metrics& m = util::DefaultMetrics();
  m.DeclareCounter("gridline_store_mysql_failovers_total", "moves to another host");
  const std::string prefix = "gridline_store_mysql_failovers_total ";
  double value = 0;
  for (absl::string_view line : absl::StrSplit(m.Expose(), '\n')) {
    if (absl::StartsWith(line, prefix)) {
      EXPECT_TRUE(absl::SimpleAtod(line.substr(prefix.size()), &value)) << line;
    }
  }
  return value;
}

// The current host index of the stores on `database` (gridline_store_mysql_host_index), by
// host.
std::multimap<std::string, double> CurrentHosts(const std::string& database) {
  std::multimap<std::string, double> out;
  for (const auto& [labels, index] : store::MysqlCurrentHosts()) {
    std::string db, host;
    for (const auto& [k, v] : labels) (k == "database" ? db : host) = v;
    if (db == database) out.emplace(host, index);
  }
  return out;
}

TEST_P(StoreTest, MovesPastAHostThatRefusesToTheNextOne) {
  if (GetParam() != Backend::kMariaDb) GTEST_SKIP() << "only MySQL has hosts";
  RefusingPort down;
  const double before = MysqlFailovers();
  store::MysqlOptions o = mysql_;
  o.hosts = {{"127.0.0.1", down.port()}, {mysql_.host, mysql_.port}};
  auto opened = store::OpenMysqlStore(o);
  ASSERT_TRUE(opened.ok()) << opened.status();
  std::unique_ptr<store::Store> s = *std::move(opened);
  // Work that opens several connections: all of them go to the second host, without moving
  // again.
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      Case c = NewCase(absl::StrCat("m", t), absl::StrCat("rm", t));
      if (!s->CreateCase(c, FirstEvent(c)).ok()) ++failures;
      auto got = s->GetCase(c.case_id);
      if (!got.ok() || !got->has_value()) ++failures;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(MysqlFailovers() - before, 1) << "one move, from the refusing port to the server";
  const std::string real = absl::StrCat(mysql_.host, ":", mysql_.port);
  bool shown = false;  // beside the fixture's own store, on host 0 of its one host
  for (const auto& [host, index] : CurrentHosts(mysql_.database)) {
    shown = shown || (host == real && index == 1);
  }
  EXPECT_TRUE(shown) << "the gauge shows host 1 current";
}

TEST_P(StoreTest, StaysOnTheFirstHostWhileItAnswers) {
  if (GetParam() != Backend::kMariaDb) GTEST_SKIP() << "only MySQL has hosts";
  RefusingPort down;
  const double before = MysqlFailovers();
  store::MysqlOptions o = mysql_;
  o.hosts = {{mysql_.host, mysql_.port}, {"127.0.0.1", down.port()}};
  auto opened = store::OpenMysqlStore(o);
  ASSERT_TRUE(opened.ok()) << opened.status();
  std::unique_ptr<store::Store> s = *std::move(opened);
  for (int i = 0; i < 3; ++i) {
    Case c = NewCase(absl::StrCat("s", i), absl::StrCat("rs", i));
    ASSERT_TRUE(s->CreateCase(c, FirstEvent(c)).ok());
  }
  EXPECT_EQ(MysqlFailovers(), before);
  for (const auto& [host, index] : CurrentHosts(mysql_.database)) {
    EXPECT_EQ(host, absl::StrCat(mysql_.host, ":", mysql_.port));
    EXPECT_EQ(index, 0);
  }
}

// The current node dies with connections in the pool: the transaction that finds its
// connection broken moves the store to the next host, the idle connections to the dead node are
// dropped instead of failing one attempt each, and the next attempt succeeds there.
TEST_P(StoreTest, ATransactionOnADeadNodeRunsAgainOnTheNextHost) {
  if (GetParam() != Backend::kMariaDb) GTEST_SKIP() << "only MySQL has hosts";
  NodeProxy node(mysql_.host, mysql_.port);
  store::MysqlOptions o = mysql_;
  o.hosts = {{"127.0.0.1", node.port()}, {mysql_.host, mysql_.port}};
  auto opened = store::OpenMysqlStore(o);
  ASSERT_TRUE(opened.ok()) << opened.status();
  std::unique_ptr<store::Store> s = *std::move(opened);
  // Fill the pool with connections through the proxy.
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      Case c = NewCase(absl::StrCat("d", t), absl::StrCat("rd", t));
      EXPECT_TRUE(s->CreateCase(c, FirstEvent(c)).ok());
    });
  }
  for (auto& t : threads) t.join();
  const double before = MysqlFailovers();
  node.Die();
  Case c = NewCase("after", "r-after");
  auto r = s->CreateCase(c, FirstEvent(c));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->created);
  EXPECT_EQ(MysqlFailovers() - before, 1);
  for (int t = 0; t < 6; ++t) {
    auto got = s->GetCase(absl::StrCat("d", t));
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_TRUE(got->has_value());
  }
  EXPECT_EQ(MysqlFailovers() - before, 1) << "the store stays on the second host";
}

// The node commits a report and then hangs before the store hears it: after
// read_timeout_seconds the store gives up on it, runs the transaction again on the next host,
// and the request id finds the committed report: the same case, one case, one event.
TEST_P(StoreTest, AReportCommittedByANodeThatThenHangsIsNotWrittenTwice) {
  if (GetParam() != Backend::kMariaDb) GTEST_SKIP() << "only MySQL has hosts";
  NodeProxy node(mysql_.host, mysql_.port);
  store::MysqlOptions o = mysql_;
  o.hosts = {{"127.0.0.1", node.port()}, {mysql_.host, mysql_.port}};
  o.read_timeout_seconds = 2;
  auto opened = store::OpenMysqlStore(o);
  ASSERT_TRUE(opened.ok()) << opened.status();
  std::unique_ptr<store::Store> s = *std::move(opened);
  auto events_before = s->ListEventsAfter(0, 1000);
  ASSERT_TRUE(events_before.ok());
  const double before = MysqlFailovers();
  node.HangAfterCommit();
  Case c = NewCase("hang", "r-hang");
  const auto started = std::chrono::steady_clock::now();
  auto r = s->CreateCase(c, FirstEvent(c));
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(node.links_hung(), 1) << "the commit went through the proxy";
  EXPECT_EQ(r->stored.case_id, "hang");
  EXPECT_EQ(MysqlFailovers() - before, 1);
  EXPECT_GE(took, 2) << "the store waited read_timeout_seconds for the hung node";
  EXPECT_LT(took, 10) << "and not much longer";
  // The client retries the report (same request id) with a new case id: the same case.
  Case again = NewCase("hang-retry", "r-hang");
  auto r2 = s->CreateCase(again, FirstEvent(again));
  ASSERT_TRUE(r2.ok()) << r2.status();
  EXPECT_FALSE(r2->created);
  EXPECT_EQ(r2->stored.case_id, "hang");
  auto events = s->ListEventsAfter(0, 1000);
  ASSERT_TRUE(events.ok());
  int of_case = 0;
  for (const auto& e : *events) of_case += e.case_id == "hang" ? 1 : 0;
  EXPECT_EQ(of_case, 1);
  EXPECT_EQ(events->size(), events_before->size() + 1);
  auto raw = Raw();
  ASSERT_TRUE(raw);
  auto n = raw->Query("SELECT COUNT(*) FROM cases WHERE request_id = 'r-hang'");
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(n->front().Int(0), 1);
}

TEST_P(CaseStoreTest, CaseNumbersAreDenseUnderConcurrentFilings) {
  constexpr int kCases = 12;
  for (int i = 0; i < kCases; ++i) {
    Case c = NewCase(absl::StrCat("n", i), absl::StrCat("rn", i));
    ASSERT_TRUE(store_->CreateCase(c, FirstEvent(c)).ok());
  }
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kCases; i += 4) {
        store::CaseWrite w;
        auto got = store_->GetCase(absl::StrCat("n", i));
        if (!got.ok() || !got->has_value()) {
          ++failures;
          continue;
        }
        w.c = **got;
        w.c.state = CaseState::kDispatched;
        w.expected_version = w.c.version;
        w.case_number_prefix = "410184-2026-";
        w.events = {FirstEvent(w.c)};
        if (!store_->UpdateCase(w).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  std::set<std::string> numbers;
  for (int i = 0; i < kCases; ++i) {
    auto got = store_->GetCase(absl::StrCat("n", i));
    ASSERT_TRUE(got.ok() && got->has_value());
    numbers.insert((*got)->case_number);
  }
  std::set<std::string> expected;
  for (int i = 1; i <= kCases; ++i) expected.insert(absl::StrFormat("410184-2026-%06d", i));
  EXPECT_EQ(numbers, expected);
}

TEST_P(CaseStoreTest, ListCasesFiltersAndPagesWithoutGapsOrRepeats) {
  for (int i = 0; i < 7; ++i) {
    Case c = NewCase(absl::StrCat("l", i), absl::StrCat("rl", i));
    c.create_time = 1000 + i / 2;  // ties on the sort key exercise the id tie-break
    c.state_time = 1000 + i / 2;
    if (i % 2 == 1) {
      c.reporter_user_id = "u9";
      c.grid_code = "elsewhere";
      c.grid_path = "/x/elsewhere/";
    }
    c.lead_department_code = i < 3 ? "CG" : "";
    c.assisting_department_codes =
        i == 5 ? std::vector<std::string>{"AB1", "CG"} : std::vector<std::string>{};
    ASSERT_TRUE(store_->CreateCase(c, FirstEvent(c)).ok());
  }
  for (auto order : {store::CaseQuery::Order::kNewestFirst, store::CaseQuery::Order::kQueueOldest,
                     store::CaseQuery::Order::kDeadlineSoonest}) {
    store::CaseQuery q;
    q.order = order;
    q.limit = 2;
    std::vector<std::string> seen;
    for (int pages = 0; pages < 10; ++pages) {
      auto page = store_->ListCases(q);
      ASSERT_TRUE(page.ok()) << page.status();
      for (const auto& c : *page) seen.push_back(c.case_id);
      if (page->size() < 2) break;
      q.has_after = true;
      q.after_key = store::SortKey(page->back(), order);
      q.after_case_id = page->back().case_id;
    }
    std::set<std::string> unique(seen.begin(), seen.end());
    EXPECT_EQ(seen.size(), 7u);
    EXPECT_EQ(unique.size(), 7u);
  }
  store::CaseQuery subtree;
  subtree.subtree_grid_code = "410184001";
  auto in = store_->ListCases(subtree);
  ASSERT_TRUE(in.ok());
  EXPECT_EQ(in->size(), 4u);  // l0 l2 l4 l6
  subtree.or_reporter_user_id = "u9";
  in = store_->ListCases(subtree);
  ASSERT_TRUE(in.ok());
  EXPECT_EQ(in->size(), 7u);
  store::CaseQuery dept;
  dept.department_code = "CG";
  auto led = store_->ListCases(dept);
  ASSERT_TRUE(led.ok());
  EXPECT_EQ(led->size(), 3u);
  dept.include_assisting = true;
  led = store_->ListCases(dept);
  ASSERT_TRUE(led.ok());
  EXPECT_EQ(led->size(), 4u);
  dept.department_code = "A_1";  // must not match "AB1" as a LIKE wildcard
  led = store_->ListCases(dept);
  ASSERT_TRUE(led.ok());
  EXPECT_EQ(led->size(), 0u);
}

// Issue 11: the triage queue (oldest first over two states) is read one state at a time and
// merged, and a grid without children is read by its exact path: both must page exactly as one
// sorted read would.
TEST_P(CaseStoreTest, QueuesOverSeveralStatesAndLeafGridsPageInTheirOrder) {
  std::vector<Case> made;
  for (int i = 0; i < 11; ++i) {
    Case c = NewCase(absl::StrCat("q", i), absl::StrCat("rq", i));
    c.state = i % 3 == 0 ? CaseState::kReturned : CaseState::kPendingTriage;
    c.state_time = 5000 + (i * 7) % 5;  // interleaved across the states, with ties
    c.create_time = 9000 + (i * 5) % 4;
    if (i % 4 == 1) {  // in the street, not in the cell
      c.grid_code = "410184001";
      c.grid_path = "/410184/410184001/";
    }
    ASSERT_TRUE(store_->CreateCase(c, FirstEvent(c)).ok());
    made.push_back(c);
  }
  auto walk = [&](store::CaseQuery q) {
    std::vector<std::string> seen;
    q.limit = 3;
    for (int pages = 0; pages < 20; ++pages) {
      auto page = store_->ListCases(q);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      for (const auto& c : *page) seen.push_back(c.case_id);
      if (page->size() < 3) break;
      q.has_after = true;
      q.after_key = store::SortKey(page->back(), q.order);
      q.after_case_id = page->back().case_id;
    }
    return seen;
  };
  auto expect = [&](store::CaseQuery::Order order, bool desc, auto keep) {
    std::vector<Case> cs;
    for (const Case& c : made) {
      if (keep(c)) cs.push_back(c);
    }
    std::sort(cs.begin(), cs.end(), [&](const Case& a, const Case& b) {
      const int64_t ka = store::SortKey(a, order), kb = store::SortKey(b, order);
      if (ka != kb) return desc ? ka > kb : ka < kb;
      return desc ? a.case_id > b.case_id : a.case_id < b.case_id;
    });
    std::vector<std::string> ids;
    for (const Case& c : cs) ids.push_back(c.case_id);
    return ids;
  };

  store::CaseQuery queue;
  queue.states = {CaseState::kPendingTriage, CaseState::kReturned};
  queue.order = store::CaseQuery::Order::kQueueOldest;
  EXPECT_EQ(walk(queue), expect(queue.order, false, [](const Case&) { return true; }));
  queue.subtree_grid_code = "410184001001001";
  EXPECT_EQ(walk(queue), expect(queue.order, false,
                                [](const Case& c) { return c.grid_code == "410184001001001"; }));

  store::CaseQuery cell;
  cell.subtree_grid_code = "410184001001001";  // a cell without children
  cell.order = store::CaseQuery::Order::kNewestFirst;
  const auto in_cell = walk(cell);
  EXPECT_EQ(in_cell, expect(cell.order, true,
                            [](const Case& c) { return c.grid_code == "410184001001001"; }));
  EXPECT_EQ(in_cell.size(), 8u);
  store::CaseQuery street = cell;
  street.subtree_grid_code = "410184001";
  EXPECT_EQ(walk(street), expect(street.order, true, [](const Case&) { return true; }));
}

// Issue 12: assisting departments are rows of case_assisting, written with every case write
// (create, bulk load, update) and filled by the migration for cases stored before it.
TEST_P(CaseStoreTest, AssistingDepartmentsFollowEveryWriteAndTheMigration) {
  domain::Organisation more;
  more.departments = {{"AJ", "安监局", "", "410184"}, {"SJ", "市监局", "", "410184"}};
  auto version = store_->OrganisationVersion();
  ASSERT_TRUE(version.ok());
  ASSERT_TRUE(store_->ChangeOrganisation(more, {}, *version).ok());
  Case a1 = NewCase("a1", "ra1");
  a1.lead_department_code = "CG";
  a1.assisting_department_codes = {"SJ", "AJ"};
  ASSERT_TRUE(store_->CreateCase(a1, FirstEvent(a1)).ok());
  Case a2 = NewCase("a2", "ra2");
  a2.lead_department_code = "CG";
  a2.assisting_department_codes = {"AJ"};
  ASSERT_TRUE(store_->CreateCase(a2, FirstEvent(a2)).ok());
  store::BulkCase a3{NewCase("a3", "ra3"), {}};
  a3.c.lead_department_code = "CG";
  a3.c.assisting_department_codes = {"SJ"};
  a3.events = {FirstEvent(a3.c)};
  ASSERT_TRUE(store_->BulkLoadCases({a3}).ok());

  auto assisted_by = [&](const std::string& code) {
    store::CaseQuery q;
    q.department_code = code;
    q.include_assisting = true;
    q.order = store::CaseQuery::Order::kQueueOldest;
    auto rows = store_->ListCases(q);
    EXPECT_TRUE(rows.ok()) << rows.status();
    std::set<std::string> ids;
    if (rows.ok()) {
      for (const auto& c : *rows) ids.insert(c.case_id);
    }
    return ids;
  };
  using Ids = std::set<std::string>;
  EXPECT_EQ(assisted_by("AJ"), (Ids{"a1", "a2"}));
  EXPECT_EQ(assisted_by("SJ"), (Ids{"a1", "a3"}));
  EXPECT_EQ(assisted_by("CG"), (Ids{"a1", "a2", "a3"}));  // as lead
  auto stored = store_->GetCase("a1");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->assisting_department_codes, (std::vector<std::string>{"SJ", "AJ"}))
      << "the case keeps its own order";

  // Re-routed: AJ no longer assists a1.
  store::CaseWrite w;
  w.c = **stored;
  w.c.assisting_department_codes = {"SJ"};
  w.expected_version = (*stored)->version;
  ASSERT_TRUE(store_->UpdateCase(w).ok());
  EXPECT_EQ(assisted_by("AJ"), (Ids{"a2"}));
  EXPECT_EQ(assisted_by("SJ"), (Ids{"a1", "a3"}));
  auto referencing = store_->CountCasesReferencing({domain::OrgKind::kDepartment, "SJ"});
  ASSERT_TRUE(referencing.ok()) << referencing.status();
  EXPECT_EQ(*referencing, 2);

  // A database from before the table: the rows gone and migration 7 not recorded. Opening the
  // store runs the migration (and those after it) again, which fills the rows from the cases.
  store_.reset();
  auto raw = Raw();
  ASSERT_TRUE(raw);
  ASSERT_TRUE(raw->Execute("DELETE FROM case_assisting", {}).ok());
  ASSERT_TRUE(raw->Execute("DELETE FROM schema_migrations WHERE version >= 7", {}).ok());
  raw.reset();
  auto reopened = Open();
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  store_ = *std::move(reopened);
  EXPECT_EQ(assisted_by("AJ"), (Ids{"a2"}));
  EXPECT_EQ(assisted_by("SJ"), (Ids{"a1", "a3"}));
}

TEST_P(OrganisationStoreTest, OrganisationChangesAreVersionedAndMovesCarryCases) {
  Case c = NewCase("m1", "rm1");
  ASSERT_TRUE(store_->CreateCase(c, FirstEvent(c)).ok());
  auto v = store_->OrganisationVersion();
  ASSERT_TRUE(v.ok());
  domain::Organisation up;
  up.grids = {{"410184002", "新华路街道", domain::GridLevel::kStreet, "410184", ""},
              {"410184001001", "郑韩路社区", domain::GridLevel::kCommunity, "410184002", ""}};
  auto stale = store_->ChangeOrganisation(up, {}, *v - 1);
  EXPECT_EQ(stale.code(), absl::StatusCode::kAborted) << stale;
  ASSERT_TRUE(store_->ChangeOrganisation(up, {}, *v).ok());
  auto cell = store_->FindGrid("410184001001001");
  ASSERT_TRUE(cell.ok() && cell->has_value());
  EXPECT_EQ((*cell)->path, "/410184/410184002/410184001001/410184001001001/");
  auto moved = store_->GetCase("m1");
  ASSERT_TRUE(moved.ok() && moved->has_value());
  EXPECT_EQ((*moved)->grid_path, (*cell)->path);
  auto refs = store_->CountCasesReferencing({domain::OrgKind::kGrid, "410184001001001"});
  ASSERT_TRUE(refs.ok());
  EXPECT_EQ(*refs, 1);
  ASSERT_TRUE(store_->ChangeOrganisation({}, {{domain::OrgKind::kCategory, "C01"}}, *v + 1).ok());
  auto gone = store_->FindCategory("C01");
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
}

// Grids and categories are looked up in an in-memory snapshot (org_snapshot.h). A change made
// through the same store is seen by the next lookup; one made through another store (another
// replica) by the next lookup after a token lookup, which reads the organisation version with
// the token, or after 100 ms without one.
TEST_P(OrganisationStoreTest, LookupsSeeChangesHereAtOnceAndFromElsewhereAtTheNextCall) {
  util::ManualClock clock(1700000000000000);
  auto other = Open(&clock);
  ASSERT_TRUE(other.ok()) << other.status();
  store::Store& b = **other;
  ASSERT_TRUE(store_->PutDemoToken(std::string(64, 'e'), "u1").ok());
  auto name_of = [](store::Store& s, const std::string& code) -> std::string {
    auto k = s.FindCategory(code);
    EXPECT_TRUE(k.ok()) << k.status();
    return k.ok() && k->has_value() ? (*k)->name : "(none)";
  };
  auto change = [&](const std::string& name, const std::string& new_grid) {
    auto v = store_->OrganisationVersion();
    ASSERT_TRUE(v.ok());
    domain::Organisation up = Org();
    up.users.clear();
    up.categories[0].name = name;
    if (!new_grid.empty()) {
      up.grids.push_back({new_grid, "第二网格", domain::GridLevel::kCell, "410184001001", ""});
    }
    ASSERT_TRUE(store_->ChangeOrganisation(up, {}, *v).ok());
  };
  EXPECT_EQ(name_of(*store_, "C01"), "路面破损");  // both snapshots taken
  EXPECT_EQ(name_of(b, "C01"), "路面破损");

  // Here: at once, with no token lookup and no time passing.
  change("路面破损（一）", "410184001001002");
  EXPECT_EQ(name_of(*store_, "C01"), "路面破损（一）");
  auto added = store_->FindGrid("410184001001002");
  ASSERT_TRUE(added.ok());
  EXPECT_TRUE(added->has_value());

  // Elsewhere: b read the version at its last lookup and its clock has not moved, so it still
  // answers from its snapshot, until a call's token lookup reads the version.
  EXPECT_EQ(name_of(b, "C01"), "路面破损");
  auto caller = b.FindCallerByTokenHash(std::string(64, 'e'), clock.NowMicros());
  ASSERT_TRUE(caller.ok() && caller->has_value()) << caller.status();
  EXPECT_EQ(name_of(b, "C01"), "路面破损（一）");
  auto seen = b.FindGrid("410184001001002");
  ASSERT_TRUE(seen.ok());
  EXPECT_TRUE(seen->has_value());

  // Or once 100 ms have passed since it last read the version.
  change("路面破损（二）", "");
  EXPECT_EQ(name_of(b, "C01"), "路面破损（一）");
  clock.Advance(101 * 1000);
  EXPECT_EQ(name_of(b, "C01"), "路面破损（二）");

  // A deleted grid is gone from both.
  auto v = store_->OrganisationVersion();
  ASSERT_TRUE(v.ok());
  ASSERT_TRUE(
      store_->ChangeOrganisation({}, {{domain::OrgKind::kGrid, "410184001001002"}}, *v).ok());
  clock.Advance(101 * 1000);
  for (store::Store* s : {store_.get(), &b}) {
    auto gone = s->FindGrid("410184001001002");
    ASSERT_TRUE(gone.ok());
    EXPECT_FALSE(gone->has_value());
  }
}

// Grid boundaries (schema 14) are stored as given, larger than MySQL's TEXT (64 KiB) too, and
// a grid from before the column (NULL) reads as having none.
TEST_P(OrganisationStoreTest, GridBoundariesRoundTrip) {
  auto v = store_->OrganisationVersion();
  ASSERT_TRUE(v.ok());
  const std::string small =
      R"({"type":"Polygon","coordinates":[[[113.736,34.392],[113.742,34.392],)"
      R"([113.742,34.402],[113.736,34.402],[113.736,34.392]]]})";
  std::string big = R"({"type":"Polygon","coordinates":[[)";
  for (int i = 0; i < 4000; ++i) absl::StrAppend(&big, "[113.7", i, ",34.39", i, "],");
  absl::StrAppend(&big, "[113.70,34.390]]]}");
  ASSERT_GT(big.size(), 70000u);
  domain::Organisation up;
  up.grids = {
      {"410184009", "test street", domain::GridLevel::kStreet, "410184", "", big},
      {"410184009001", "test community", domain::GridLevel::kCommunity, "410184009", "", small}};
  ASSERT_TRUE(store_->ChangeOrganisation(up, {}, *v).ok());
  auto street = store_->FindGrid("410184009");
  ASSERT_TRUE(street.ok() && street->has_value()) << street.status();
  EXPECT_EQ((*street)->boundary_geojson, big);
  EXPECT_EQ((*street)->path, "/410184/410184009/");
  auto grids = store_->ListGrids();
  ASSERT_TRUE(grids.ok());
  auto org = store_->LoadOrganisation();
  ASSERT_TRUE(org.ok());
  for (const auto* list : {&*grids, &org->grids}) {
    auto it = std::find_if(list->begin(), list->end(),
                           [](const domain::Grid& g) { return g.code == "410184009001"; });
    ASSERT_NE(it, list->end());
    EXPECT_EQ(it->boundary_geojson, small);
    EXPECT_EQ(it->path, "/410184/410184009/410184009001/");
  }
  // An update replaces it (and clears it with ""), leaving the path alone.
  up.grids = {
      {"410184009001", "test community", domain::GridLevel::kCommunity, "410184009", "", ""}};
  ASSERT_TRUE(store_->ChangeOrganisation(up, {}, *v + 1).ok());
  auto community = store_->FindGrid("410184009001");
  ASSERT_TRUE(community.ok() && community->has_value());
  EXPECT_EQ((*community)->boundary_geojson, "");
  EXPECT_EQ((*community)->path, "/410184/410184009/410184009001/");
  auto raw = Raw();
  ASSERT_TRUE(raw);
  ASSERT_TRUE(raw->Execute("UPDATE grids SET boundary_geojson = NULL WHERE code = ?",
                           {std::string("410184009")})
                  .ok());
  // (Read by a store opened after the raw write: it did not move the organisation version,
  // which a store's in-memory snapshot goes by.)
  auto fresh = Open();
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  street = (*fresh)->FindGrid("410184009");
  ASSERT_TRUE(street.ok() && street->has_value());
  EXPECT_EQ((*street)->boundary_geojson, "");
}

// The bulk path (historic migrations, the figures benchmark): cases and their events in one
// transaction, numbered densely after what is there, readable like any other.
TEST_P(CaseStoreTest, BulkLoadStoresCasesAndNumbersTheirEventsInOrder) {
  Case first = NewCase("k0", "rk0");
  ASSERT_TRUE(store_->CreateCase(first, FirstEvent(first)).ok());  // seq 1
  std::vector<store::BulkCase> batch;
  for (int i = 1; i <= 3; ++i) {
    store::BulkCase b;
    b.c = NewCase(absl::StrCat("k", i), absl::StrCat("rk", i));
    b.c.state = CaseState::kDispatched;
    b.c.version = 2;
    CaseEvent reported = FirstEvent(b.c);
    CaseEvent routed = reported;
    routed.type = domain::EventType::kRouted;
    routed.from_state = CaseState::kPendingTriage;
    routed.to_state = CaseState::kDispatched;
    routed.case_version = 2;
    b.events = {reported, routed};
    batch.push_back(b);
  }
  ASSERT_TRUE(store_->BulkLoadCases(batch).ok());
  auto count = store_->CountCases();
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 4);
  auto all = store_->ListEventsAfter(0, 100);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 7u);
  for (size_t i = 0; i < all->size(); ++i) EXPECT_EQ((*all)[i].seq, static_cast<int64_t>(i + 1));
  EXPECT_EQ((*all)[1].case_id, "k1");
  EXPECT_EQ((*all)[2].type, domain::EventType::kRouted);
  auto last = store_->LastEventSeq();
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, 7);
  auto k2 = store_->GetCase("k2");
  ASSERT_TRUE(k2.ok() && k2->has_value());
  EXPECT_EQ((*k2)->state, CaseState::kDispatched);
  // A duplicate fails the whole batch, which leaves nothing behind.
  std::vector<store::BulkCase> again = {batch[0]};
  again[0].c.case_id = "k9";
  again.push_back(batch[1]);  // k2 exists
  EXPECT_FALSE(store_->BulkLoadCases(again).ok());
  EXPECT_EQ(*store_->CountCases(), 4);
  EXPECT_EQ(*store_->LastEventSeq(), 7);
}

// Issue 10, defect 7: a case write checked only by version used to write every column, so a
// write from a case read before a grid move put the old path back (the move does not change
// the version).
TEST_P(CaseStoreTest, ACaseWriteAfterAGridMoveKeepsTheNewPath) {
  Case c = NewCase("g1", "rg1");
  ASSERT_TRUE(store_->CreateCase(c, FirstEvent(c)).ok());
  auto loaded = store_->GetCase("g1");  // read before the move
  ASSERT_TRUE(loaded.ok() && loaded->has_value());
  auto v = store_->OrganisationVersion();
  ASSERT_TRUE(v.ok());
  domain::Organisation up;
  up.grids = {{"410184002", "新华路街道", domain::GridLevel::kStreet, "410184", ""},
              {"410184001001", "郑韩路社区", domain::GridLevel::kCommunity, "410184002", ""}};
  ASSERT_TRUE(store_->ChangeOrganisation(up, {}, *v).ok());
  const std::string moved_path = "/410184/410184002/410184001001/410184001001001/";

  Case next = **loaded;
  next.state = CaseState::kDispatched;
  store::CaseWrite w;
  w.c = next;
  w.expected_version = next.version;
  CaseEvent e = FirstEvent(next);
  e.type = domain::EventType::kRouted;
  e.from_state = CaseState::kPendingTriage;
  e.to_state = CaseState::kDispatched;
  w.events = {e};
  auto written = store_->UpdateCase(w);
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(written->stored.grid_path, moved_path);
  ASSERT_EQ(written->events.size(), 1u);
  EXPECT_EQ(written->events[0].grid_path, moved_path);  // streams route it by the new path
  auto got = store_->GetCase("g1");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->grid_path, moved_path);
  EXPECT_EQ((*got)->state, CaseState::kDispatched);
}

// The same race with real concurrency: grid moves back and forth while case writes run, each
// from a fresh read. Whatever interleaving the database picks, the case ends on its grid's path.
TEST_P(OrganisationStoreTest, GridMovesRacingCaseWritesLoseNoPath) {
  constexpr int kCases = 4;
  constexpr int kMoves = 30;
  for (int i = 0; i < kCases; ++i) {
    Case c = NewCase(absl::StrCat("r", i), absl::StrCat("rr", i));
    ASSERT_TRUE(store_->CreateCase(c, FirstEvent(c)).ok());
  }
  domain::Organisation street2;
  street2.grids = {{"410184002", "新华路街道", domain::GridLevel::kStreet, "410184", ""}};
  ASSERT_TRUE(store_->ApplyOrganisation(street2).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> writes{0};
  std::vector<std::thread> writers;
  for (int i = 0; i < kCases; ++i) {
    writers.emplace_back([&, i] {
      const std::string id = absl::StrCat("r", i);
      while (!stop.load()) {
        auto c = store_->GetCase(id);
        if (!c.ok() || !c->has_value()) continue;
        Case next = **c;
        next.description = absl::StrCat("write ", writes.load());
        store::CaseWrite w;
        w.c = next;
        w.expected_version = next.version;
        if (store_->UpdateCase(w).ok()) ++writes;
      }
    });
  }
  for (int m = 0; m < kMoves; ++m) {
    auto v = store_->OrganisationVersion();
    ASSERT_TRUE(v.ok());
    domain::Organisation up;
    up.grids = {{"410184001001", "郑韩路社区", domain::GridLevel::kCommunity,
                 m % 2 == 0 ? "410184002" : "410184001", ""}};
    auto st = store_->ChangeOrganisation(up, {}, *v);
    ASSERT_TRUE(st.ok() || absl::IsAborted(st)) << st;
  }
  stop = true;
  for (auto& t : writers) t.join();
  EXPECT_GT(writes.load(), 0);
  auto cell = store_->FindGrid("410184001001001");
  ASSERT_TRUE(cell.ok() && cell->has_value());
  for (int i = 0; i < kCases; ++i) {
    auto c = store_->GetCase(absl::StrCat("r", i));
    ASSERT_TRUE(c.ok() && c->has_value());
    EXPECT_EQ((*c)->grid_path, (*cell)->path) << "case r" << i;
  }
}

TEST_P(AuditStoreTest, EntriesListNewestFirstFilteredAndPaged) {
  for (int i = 0; i < 5; ++i) {
    domain::AuditEntry e;
    e.audit_entry_id = absl::StrCat("a", i);
    e.actor_user_id = i % 2 == 0 ? "op1" : "op2";
    e.actor_token_id = "t1";
    e.method = "/gridline.v1.AdminService/CreateGrid";
    e.resource_kind = "grid";
    e.resource_id = absl::StrCat("g", i);
    e.event_time = 1000 + i;
    e.status_code = i == 4 ? 7 : 0;
    e.status_message = i == 4 ? "denied" : "";
    e.request_summary = "grid { code: \"g\" }";
    e.peer = "ipv4:127.0.0.1:1";
    ASSERT_TRUE(store_->AppendAudit(e).ok());
  }
  store::AuditQuery q;
  q.limit = 2;
  auto first = store_->ListAudit(q);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].audit_entry_id, "a4");
  EXPECT_EQ((*first)[0].status_code, 7);
  EXPECT_EQ((*first)[0].status_message, "denied");
  EXPECT_EQ((*first)[1].audit_entry_id, "a3");
  q.has_after = true;
  q.after_time = (*first)[1].event_time;
  q.after_id = (*first)[1].audit_entry_id;
  q.limit = 10;
  auto rest = store_->ListAudit(q);
  ASSERT_TRUE(rest.ok()) << rest.status();
  ASSERT_EQ(rest->size(), 3u);
  EXPECT_EQ((*rest)[0].audit_entry_id, "a2");
  store::AuditQuery by;
  by.actor_user_id = "op2";
  auto op2 = store_->ListAudit(by);
  ASSERT_TRUE(op2.ok()) << op2.status();
  EXPECT_EQ(op2->size(), 2u);
  store::AuditQuery window;
  window.start_time = 1001;
  window.end_time = 1003;
  auto in = store_->ListAudit(window);
  ASSERT_TRUE(in.ok()) << in.status();
  EXPECT_EQ(in->size(), 2u) << "start inclusive, end exclusive";
}

TEST_P(AttachmentStoreTest, PhotosAreFoundReferencedByCasesAndOnlyUnusedOnesArePruned) {
  for (const char* id : {"p-used", "p-unused"}) {
    domain::Attachment a;
    a.attachment_id = std::string(id) + std::string(64 - std::strlen(id), '0');
    a.content_type = "image/jpeg";
    a.size_bytes = 1234;
    a.create_time = 1000;
    a.uploaded_by_user_id = "u1";
    bool created = false;
    ASSERT_TRUE(store_->PutAttachment(a, &created).ok());
    EXPECT_TRUE(created);
    a.uploaded_by_user_id = "u2";  // a second upload by someone else: the first one's stays
    ASSERT_TRUE(store_->PutAttachment(a, &created).ok()) << "idempotent on the id";
    EXPECT_FALSE(created);
    auto stored = store_->FindAttachments({a.attachment_id});
    ASSERT_TRUE(stored.ok() && stored->size() == 1u);
    EXPECT_EQ((*stored)[0].uploaded_by_user_id, "u1");
  }
  const std::string used = "p-used" + std::string(58, '0');
  const std::string unused = "p-unused" + std::string(56, '0');
  auto found = store_->FindAttachments({used, unused, "nope"});
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->size(), 2u);
  Case c = NewCase("ph1", "rph1");
  c.before_photo_ids = {used};
  ASSERT_TRUE(store_->CreateCase(c, FirstEvent(c)).ok());
  auto cases = store_->CasesUsingAttachment(used, 10);
  ASSERT_TRUE(cases.ok()) << cases.status();
  EXPECT_EQ(*cases, std::vector<std::string>{"ph1"});
  auto pruned = store_->PruneUnreferencedAttachments(util::WallClock().NowMicros() + 1000000);
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_EQ(*pruned, std::vector<std::string>{unused});
  found = store_->FindAttachments({used, unused});
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].attachment_id, used);
  EXPECT_TRUE((*found)[0].referenced);
}

// A patrol: started once whatever the retries, written only at its version, batches and visits
// stored once (a retry answers with the stored digest, whatever the version), points numbered
// on, reports counted, listed and summed in scope, and following a grid move.
TEST_P(PatrolStoreTest, PatrolsAreIdempotentVersionedListedAndSummed) {
  constexpr domain::Micros kDay = 86400LL * 1000000;
  // 2026-11-02 09:00 at UTC+8 (the store's default figures offset): local day boundaries matter.
  const domain::Micros t0 = 1793581200LL * 1000000;
  auto started = store_->StartPatrol(NewPatrol("p1", "u1", t0));
  ASSERT_TRUE(started.ok()) << started.status();
  EXPECT_TRUE(started->created);
  EXPECT_EQ(started->stored.version, 1);
  auto again = store_->StartPatrol(NewPatrol("p1", "u1", t0 + 5));
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->stored.start_time, t0);

  store::PatrolWrite w;
  w.patrol = started->stored;
  w.expected_version = 1;
  w.batch_id = "b1";
  w.batch_digest = "d1";
  for (int i = 0; i < 450; ++i) {  // more than one multi-row INSERT
    w.points.push_back({t0 + (i + 1) * 1000000LL, 34.39 + i * 1e-5, 113.73});
  }
  domain::ApplyTrackBatch(w.patrol, w.points);
  auto wrote = store_->UpdatePatrol(w);
  ASSERT_TRUE(wrote.ok()) << wrote.status();
  EXPECT_TRUE(wrote->created);
  EXPECT_EQ(wrote->stored.version, 2);
  // The same batch again: nothing written, its digest returned, even at a stale version.
  auto retry = store_->UpdatePatrol(w);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_FALSE(retry->created);
  EXPECT_EQ(retry->existing_digest, "d1");
  EXPECT_EQ(retry->stored.version, 2);
  auto digest = store_->FindTrackBatch("p1", "b1");
  ASSERT_TRUE(digest.ok() && digest->has_value());
  EXPECT_EQ(**digest, "d1");
  // Another batch at the old version: ABORTED, nothing stored.
  store::PatrolWrite stale = w;
  stale.batch_id = "b2";
  auto refused = store_->UpdatePatrol(stale);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kAborted) << refused.status();
  auto none = store_->FindTrackBatch("p1", "b2");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  auto points = store_->ListTrackPoints("p1", 440, 100);
  ASSERT_TRUE(points.ok()) << points.status();
  ASSERT_EQ(points->size(), 10u);
  EXPECT_EQ(points->front().time, t0 + 441 * 1000000LL);
  EXPECT_DOUBLE_EQ(points->back().latitude, 34.39 + 449 * 1e-5);

  // A visit, then its retry.
  store::PatrolWrite vw;
  vw.patrol = wrote->stored;
  vw.patrol.visit_count = 1;
  vw.expected_version = 2;
  domain::Visit visit;
  visit.visit_id = "v1";
  visit.patrol_id = "p1";
  visit.user_id = "u1";
  visit.grid_code = vw.patrol.grid_code;
  visit.grid_path = vw.patrol.grid_path;
  visit.kind = domain::VisitKind::kShop;
  visit.subject = "老王烩面馆";
  visit.note = "灭火器过期";
  visit.visit_time = t0 + 100 * 1000000LL;
  visit.request_digest = "vd";
  vw.visit = visit;
  ASSERT_TRUE(store_->UpdatePatrol(vw).ok());
  auto visit_retry = store_->UpdatePatrol(vw);
  ASSERT_TRUE(visit_retry.ok());
  EXPECT_FALSE(visit_retry->created);
  EXPECT_EQ(visit_retry->existing_digest, "vd");
  auto visits = store_->ListVisits("p1", false, 0, "", 10);
  ASSERT_TRUE(visits.ok());
  ASSERT_EQ(visits->size(), 1u);
  EXPECT_EQ((*visits)[0].subject, "老王烩面馆");
  EXPECT_EQ((*visits)[0].kind, domain::VisitKind::kShop);

  // A report naming the patrol counts, without moving the version.
  Case c = NewCase("pc1", "rp1");
  c.patrol_id = "p1";
  ASSERT_TRUE(store_->CreateCase(c, FirstEvent(c)).ok());
  auto got = store_->GetPatrol("p1");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->report_count, 1);
  EXPECT_EQ((*got)->version, 3);
  EXPECT_EQ((*got)->visit_count, 1);
  EXPECT_EQ((*got)->point_count, 450);
  ASSERT_TRUE((*got)->last_point.has_value());
  auto stored_case = store_->GetCase("pc1");
  ASSERT_TRUE(stored_case.ok() && stored_case->has_value());
  EXPECT_EQ((*stored_case)->patrol_id, "p1");

  // End it an hour after its start; a second patrol of u1 later that day (same local day), one
  // of u1 at 23:30 local the next day, and one of u2.
  store::PatrolWrite end;
  end.patrol = **got;
  end.patrol.state = domain::PatrolState::kEnded;
  end.patrol.end_time = t0 + 3600 * 1000000LL;
  end.expected_version = 3;
  ASSERT_TRUE(store_->UpdatePatrol(end).ok());
  ASSERT_TRUE(store_->StartPatrol(NewPatrol("p2", "u1", t0 + 5 * 3600 * 1000000LL)).ok());
  ASSERT_TRUE(
      store_->StartPatrol(NewPatrol("p3", "u1", t0 + kDay + 14 * 3600 * 1000000LL + 1800000000))
          .ok());
  ASSERT_TRUE(store_->StartPatrol(NewPatrol("p4", "u2", t0 + 60)).ok());

  store::PatrolQuery all;
  auto figures = store_->SumPatrolFigures(all, t0, t0 + 3 * kDay);
  ASSERT_TRUE(figures.ok()) << figures.status();
  ASSERT_EQ(figures->size(), 2u);
  const domain::PatrolFigures& u1 = (*figures)[0];
  EXPECT_EQ(u1.user_id, "u1");
  EXPECT_EQ(u1.patrol_count, 3);
  EXPECT_EQ(u1.duration, 3600 * 1000000LL);  // the active ones have no points
  EXPECT_NEAR(u1.length_metres, wrote->stored.length_metres, 1e-6);
  EXPECT_EQ(u1.patrol_days, 2);
  EXPECT_EQ(u1.visit_count, 1);
  EXPECT_EQ(u1.report_count, 1);
  EXPECT_EQ((*figures)[1].user_id, "u2");
  auto days = store_->CountPatrolDays(all, t0, t0 + 3 * kDay);
  ASSERT_TRUE(days.ok());
  EXPECT_EQ(*days, 3);

  // Lists: newest start first, paged by (start, id), filtered by user and state.
  store::PatrolQuery q;
  q.user_id = "u1";
  q.limit = 2;
  auto page1 = store_->ListPatrols(q);
  ASSERT_TRUE(page1.ok());
  ASSERT_EQ(page1->size(), 2u);
  EXPECT_EQ((*page1)[0].patrol_id, "p3");
  EXPECT_EQ((*page1)[1].patrol_id, "p2");
  q.has_after = true;
  q.after_start_time = (*page1)[1].start_time;
  q.after_id = "p2";
  auto page2 = store_->ListPatrols(q);
  ASSERT_TRUE(page2.ok());
  ASSERT_EQ(page2->size(), 1u);
  EXPECT_EQ((*page2)[0].patrol_id, "p1");
  EXPECT_EQ((*page2)[0].state, domain::PatrolState::kEnded);
  store::PatrolQuery ended;
  ended.states = {domain::PatrolState::kEnded};
  ended.subtree_grid_path = "/410184/410184001/";
  auto ended_list = store_->ListPatrols(ended);
  ASSERT_TRUE(ended_list.ok());
  ASSERT_EQ(ended_list->size(), 1u);

  // A grid move carries the patrols and visits.
  auto v = store_->OrganisationVersion();
  ASSERT_TRUE(v.ok());
  domain::Organisation up;
  up.grids = {{"410184002", "新华路街道", domain::GridLevel::kStreet, "410184", ""},
              {"410184001001", "郑韩路社区", domain::GridLevel::kCommunity, "410184002", ""}};
  ASSERT_TRUE(store_->ChangeOrganisation(up, {}, *v).ok());
  auto moved = store_->GetPatrol("p1");
  ASSERT_TRUE(moved.ok() && moved->has_value());
  EXPECT_EQ((*moved)->grid_path, "/410184/410184002/410184001001/410184001001001/");
  auto moved_visit = store_->GetVisit("v1");
  ASSERT_TRUE(moved_visit.ok() && moved_visit->has_value());
  EXPECT_EQ((*moved_visit)->grid_path, (*moved)->grid_path);
  auto old_subtree = store_->ListPatrols(ended);
  ASSERT_TRUE(old_subtree.ok());
  EXPECT_TRUE(old_subtree->empty());
}

// Supervision orders ride on case writes: inserted and moved on only with their case, checked
// against both versions (two escalations racing: one wins), listed, found due, counted, and
// following a grid move.
TEST_P(SupervisionStoreTest, OrdersAreWrittenWithTheirCaseAndCheckedAgainstBothVersions) {
  const domain::Micros t0 = 1793581200LL * 1000000;
  Case c = NewCase("sc1", "rs1");
  c.state = CaseState::kDispatched;
  c.lead_department_code = "CG";
  ASSERT_TRUE(store_->CreateCase(c, FirstEvent(c)).ok());
  domain::SupervisionOrder o;
  o.order_id = "o1";
  o.case_id = "sc1";
  o.issued_by_user_id = "d1";
  o.issued_by_role = domain::Role::kDispatcher;
  o.request_id = "r1";
  o.request_digest = "dg";
  o.reason = "请加快处置";
  o.issue_time = t0;
  o.respond_by_time = t0 + 3600 * 1000000LL;
  o.lead_department_code = "CG";
  o.holder_grid_code = "410184001";
  o.grid_path = c.grid_path;
  o.state = domain::SupervisionState::kOpen;
  o.next_escalation_time = o.respond_by_time;
  auto event = [&](domain::EventType type, int64_t version) {
    CaseEvent e = FirstEvent(c);
    e.type = type;
    e.related_id = "o1";
    e.case_version = version;
    return e;
  };
  store::CaseWrite w;
  w.c = c;
  w.expected_version = 1;
  w.events = {event(domain::EventType::kSupervisionOrdered, 2)};
  w.supervision_writes = {{o, 0}};
  ASSERT_TRUE(store_->UpdateCase(w).ok());
  auto stored = store_->GetSupervisionOrder("o1");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->version, 1);
  EXPECT_EQ((*stored)->reason, "请加快处置");
  auto found = store_->FindSupervisionOrder("d1", "r1");
  ASSERT_TRUE(found.ok() && found->has_value());
  auto events = store_->ListCaseEvents("sc1");
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->back().related_id, "o1");

  // Due only once its time has come.
  auto none = store_->ListDueSupervisionOrders(o.respond_by_time - 1, 10);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  auto due = store_->ListDueSupervisionOrders(o.respond_by_time, 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);

  // Two escalations from the same read: the second loses on the case version, and with a fresh
  // case version on the order's.
  domain::SupervisionOrder up = **stored;
  up.holder_grid_code = "410184";
  up.escalation_count = 1;
  up.next_escalation_time = 0;
  store::CaseWrite esc;
  esc.c = c;
  esc.c.version = 2;
  esc.expected_version = 2;
  esc.events = {event(domain::EventType::kSupervisionEscalated, 3)};
  esc.supervision_writes = {{up, 1}};
  ASSERT_TRUE(store_->UpdateCase(esc).ok());
  EXPECT_EQ(store_->UpdateCase(esc).status().code(), absl::StatusCode::kAborted);
  store::CaseWrite stale = esc;
  stale.expected_version = 3;
  EXPECT_EQ(store_->UpdateCase(stale).status().code(), absl::StatusCode::kAborted);
  auto after = store_->GetSupervisionOrder("o1");
  ASSERT_TRUE(after.ok() && after->has_value());
  EXPECT_EQ((*after)->version, 2);
  EXPECT_EQ((*after)->escalation_count, 1);
  auto history = store_->ListCaseEvents("sc1");
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->size(), 3u);  // reported, ordered, escalated once
  auto not_due = store_->ListDueSupervisionOrders(o.respond_by_time + 1, 10);
  ASSERT_TRUE(not_due.ok());
  EXPECT_TRUE(not_due->empty());

  // Lists and figures by subtree and department.
  store::SupervisionQuery q;
  q.lead_department_code = "CG";
  auto listed = store_->ListSupervisionOrders(q);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 1u);
  q.lead_department_code = "SZ";
  listed = store_->ListSupervisionOrders(q);
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
  auto counts = store_->CountSupervisionOrders("/410184/410184001/", "", t0, t0 + 1);
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->received, 1);
  EXPECT_EQ(counts->escalated, 1);
  EXPECT_EQ(counts->answered_on_time, 0);
  counts = store_->CountSupervisionOrders("", "CG", t0 + 1, t0 + 2);
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->received, 0);

  // A grid move carries the order with its case.
  auto v = store_->OrganisationVersion();
  ASSERT_TRUE(v.ok());
  domain::Organisation move;
  move.grids = {{"410184002", "新华路街道", domain::GridLevel::kStreet, "410184", ""},
                {"410184001001", "郑韩路社区", domain::GridLevel::kCommunity, "410184002", ""}};
  ASSERT_TRUE(store_->ChangeOrganisation(move, {}, *v).ok());
  auto moved = store_->GetSupervisionOrder("o1");
  ASSERT_TRUE(moved.ok() && moved->has_value());
  EXPECT_EQ((*moved)->grid_path, "/410184/410184002/410184001001/410184001001001/");
}

// A month's records: saved with ids from their keys, recomputed (updated, withdrawn, a
// dismissed one stays dismissed), listed by scope and paged, and the facts the rules read.
TEST_P(AccountabilityStoreTest, RecordsAreKeptAcrossRecomputationsAndDismissals) {
  auto record = [](domain::AccountabilityRule rule, const std::string& user,
                   const std::string& case_id) {
    domain::AccountabilityRecord r;
    r.year = 2026;
    r.month = 10;
    r.rule = rule;
    r.unit_kind = domain::AccountabilityUnitKind::kGrid;
    r.unit_code = "410184001001001";
    r.user_id = user;
    r.case_ids = {case_id};
    r.weight = 2;
    r.explanation = "应发现未发现";
    r.grid_path = "/410184/410184001/410184001001/410184001001001/";
    return r;
  };
  const auto kFound = domain::AccountabilityRule::kShouldHaveFound;
  std::vector<domain::AccountabilityRecord> first = {
      record(kFound, "u1", "c1"), record(kFound, "u2", "c1"), record(kFound, "u1", "c2")};
  auto none = store_->AccountabilityComputeTime(2026, 10);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(store_->SaveAccountability(2026, 10, first, 100).ok());
  auto when = store_->AccountabilityComputeTime(2026, 10);
  ASSERT_TRUE(when.ok() && when->has_value());
  EXPECT_EQ(**when, 100);
  store::AccountabilityQuery q;
  q.year = 2026;
  q.month = 10;
  q.limit = 2;
  auto page1 = store_->ListAccountabilityRecords(q);
  ASSERT_TRUE(page1.ok()) << page1.status();
  ASSERT_EQ(page1->size(), 2u);
  q.after_key = page1->back().Key();
  auto page2 = store_->ListAccountabilityRecords(q);
  ASSERT_TRUE(page2.ok());
  ASSERT_EQ(page2->size(), 1u);
  std::vector<domain::AccountabilityRecord> saved = *page1;
  saved.push_back(page2->front());
  std::set<std::string> ids;
  for (const auto& r : saved) ids.insert(r.record_id);
  EXPECT_EQ(ids.size(), 3u);

  // Dismiss one (at its version; a stale version is refused).
  auto target =
      std::find_if(saved.begin(), saved.end(), [](const auto& r) { return r.user_id == "u2"; });
  ASSERT_NE(target, saved.end());
  EXPECT_EQ(
      store_->DismissAccountabilityRecord(target->record_id, target->version + 1, "误报", "op", 150)
          .status()
          .code(),
      absl::StatusCode::kAborted);
  auto dismissed =
      store_->DismissAccountabilityRecord(target->record_id, target->version, "误报", "op", 150);
  ASSERT_TRUE(dismissed.ok()) << dismissed.status();
  EXPECT_EQ(dismissed->status, domain::RecordStatus::kDismissed);

  // Recompute: c2's record is gone from the findings (withdrawn), u2's is found again (stays
  // dismissed), u1/c1 changes weight, and a new one appears.
  auto again = first;
  again.pop_back();
  again[0].weight = 3;
  again.push_back(record(kFound, "u3", "c1"));
  ASSERT_TRUE(store_->SaveAccountability(2026, 10, again, 200).ok());
  store::AccountabilityQuery all;
  all.year = 2026;
  all.month = 10;
  all.include_inactive = true;
  auto stored = store_->ListAccountabilityRecords(all);
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->size(), 4u);  // nothing is deleted
  std::map<std::string, domain::AccountabilityRecord> by;
  for (const auto& r : *stored) by[r.user_id + "/" + r.case_ids[0]] = r;
  EXPECT_EQ(by["u1/c1"].status, domain::RecordStatus::kActive);
  EXPECT_EQ(by["u1/c1"].weight, 3);
  EXPECT_EQ(by["u1/c1"].record_id, saved[0].record_id);  // the same record, updated
  EXPECT_EQ(by["u2/c1"].status, domain::RecordStatus::kDismissed);
  EXPECT_EQ(by["u2/c1"].dismiss_reason, "误报");
  EXPECT_EQ(by["u1/c2"].status, domain::RecordStatus::kWithdrawn);
  EXPECT_EQ(by["u3/c1"].status, domain::RecordStatus::kActive);
  store::AccountabilityQuery only_active;
  only_active.year = 2026;
  only_active.month = 10;
  auto listed = store_->ListAccountabilityRecords(only_active);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 2u);
  // Scope filters: a department or a user, a subtree.
  store::AccountabilityQuery mine = only_active;
  mine.user_id = "u3";
  listed = store_->ListAccountabilityRecords(mine);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 1u);
  store::AccountabilityQuery elsewhere = only_active;
  elsewhere.subtree_grid_path = "/410184/410184002/";
  listed = store_->ListAccountabilityRecords(elsewhere);
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
  store::AccountabilityQuery dept_or_me = only_active;
  dept_or_me.department_code = "CG";
  dept_or_me.or_user_id = "u1";
  listed = store_->ListAccountabilityRecords(dept_or_me);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 1u);

  // The facts: a case created in the window, and the time it left triage.
  Case c = NewCase("ac1", "ra1");
  c.create_time = 1793581200LL * 1000000;
  ASSERT_TRUE(store_->CreateCase(c, FirstEvent(c)).ok());
  store::CaseWrite w;
  w.c = c;
  w.c.state = CaseState::kDispatched;
  w.expected_version = 1;
  CaseEvent accepted = FirstEvent(c);
  accepted.type = domain::EventType::kAcceptedForFiling;
  accepted.event_time = c.create_time + 600 * 1000000LL;
  w.events = {accepted};
  ASSERT_TRUE(store_->UpdateCase(w).ok());
  auto facts = store_->LoadAccountabilityCases(c.create_time - 1, c.create_time, c.create_time + 1);
  ASSERT_TRUE(facts.ok()) << facts.status();
  ASSERT_EQ(facts->size(), 1u);
  EXPECT_EQ((*facts)[0].triage_end_time, accepted.event_time);
  EXPECT_TRUE((*facts)[0].has_coordinates);
  auto outside =
      store_->LoadAccountabilityCases(c.create_time + 1, c.create_time + 1, c.create_time + 2);
  ASSERT_TRUE(outside.ok());
  EXPECT_TRUE(outside->empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, AccountabilityStoreTest,
                         ::testing::Values(Backend::kSqlite, Backend::kMariaDb),
                         [](const auto& info) { return testing::BackendName(info.param); });
INSTANTIATE_TEST_SUITE_P(Backends, SupervisionStoreTest,
                         ::testing::Values(Backend::kSqlite, Backend::kMariaDb),
                         [](const auto& info) { return testing::BackendName(info.param); });
INSTANTIATE_TEST_SUITE_P(Backends, PatrolStoreTest,
                         ::testing::Values(Backend::kSqlite, Backend::kMariaDb),
                         [](const auto& info) { return testing::BackendName(info.param); });
INSTANTIATE_TEST_SUITE_P(Backends, StoreTest,
                         ::testing::Values(Backend::kSqlite, Backend::kMariaDb),
                         [](const auto& info) { return testing::BackendName(info.param); });
INSTANTIATE_TEST_SUITE_P(Backends, CaseStoreTest,
                         ::testing::Values(Backend::kSqlite, Backend::kMariaDb),
                         [](const auto& info) { return testing::BackendName(info.param); });
INSTANTIATE_TEST_SUITE_P(Backends, FeedStoreTest,
                         ::testing::Values(Backend::kSqlite, Backend::kMariaDb),
                         [](const auto& info) { return testing::BackendName(info.param); });
INSTANTIATE_TEST_SUITE_P(Backends, OrganisationStoreTest,
                         ::testing::Values(Backend::kSqlite, Backend::kMariaDb),
                         [](const auto& info) { return testing::BackendName(info.param); });
INSTANTIATE_TEST_SUITE_P(Backends, TokenStoreTest,
                         ::testing::Values(Backend::kSqlite, Backend::kMariaDb),
                         [](const auto& info) { return testing::BackendName(info.param); });
INSTANTIATE_TEST_SUITE_P(Backends, AuditStoreTest,
                         ::testing::Values(Backend::kSqlite, Backend::kMariaDb),
                         [](const auto& info) { return testing::BackendName(info.param); });
INSTANTIATE_TEST_SUITE_P(Backends, AttachmentStoreTest,
                         ::testing::Values(Backend::kSqlite, Backend::kMariaDb),
                         [](const auto& info) { return testing::BackendName(info.param); });

}  // namespace
}  // namespace gridline
