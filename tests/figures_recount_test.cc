// Issue 11: the evaluation figures come from sums the store keeps with every case write. This
// suite writes random case histories through the real store (filings, returns to another
// department, extensions, re-categorisation, resolutions and failed verifications, closings,
// rejections, merges, grid moves, bulk loads), then compares service::ComputeStatistics with a
// brute-force recount over every case and its events, for many random ranges and scopes, on
// SQLite and on MariaDB. They must be exactly equal.
//
// The recount below is written from the definitions in gridline.v1.Statistics, independently of
// server/domain/figures.cc.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "server/domain/types.h"
#include "server/service/evaluations.h"
#include "server/service/statistics.h"
#include "server/store/mysql_driver.h"
#include "server/store/sql.h"
#include "server/store/store.h"
#include "tests/test_support.h"

namespace gridline {
namespace {

using domain::Case;
using domain::CaseEvent;
using domain::CaseState;
using domain::EventType;
using domain::Micros;
using testing::Backend;

constexpr Micros kHour = 3600LL * 1000 * 1000;
constexpr Micros kDay = 24 * kHour;
// 2026-01-01T00:00:00+08:00
constexpr Micros kBase = 1767196800LL * 1000 * 1000;

service::Statistics Recount(const std::vector<Case>& cases,
                            const std::map<std::string, std::vector<CaseEvent>>& events,
                            const std::map<std::string, std::string>& paths,
                            const service::StatisticsQuery& q, Micros now) {
  const Micros start = q.start_time;
  const Micros end = q.end_time;
  auto in_range = [&](Micros t) { return t != 0 && t >= start && t < end; };
  service::Statistics s;
  Micros handling = 0;
  for (const Case& c : cases) {
    // In scope: counted states, in the grid's subtree, led by the department.
    if (c.state == CaseState::kRejected || c.state == CaseState::kMerged) continue;
    if (!q.grid_code.empty() && c.grid_path.rfind(paths.at(q.grid_code), 0) != 0) continue;
    if (!q.department_code.empty() && c.lead_department_code != q.department_code) continue;
    if (q.source != domain::CaseSource::kUnspecified && c.source != q.source) continue;
    const bool closed = c.state == CaseState::kClosed;
    if (in_range(c.filed_time)) {
      ++s.found_count;
      if (closed && c.closed_time < end) ++s.solved_count;
    }
    if (in_range(c.first_deadline_time)) {
      ++s.due_count;
      if (c.deadline_time >= end && c.deadline_time != c.first_deadline_time) {
        ++s.postponed_count;
      } else if (closed) {
        ++s.closed_count;
        if (c.closed_time <= c.deadline_time) {
          ++s.closed_on_time_count;
        } else {
          ++s.late_count;
        }
      } else if (c.deadline_time < now) {
        ++s.late_count;
      }
    }
    if (closed && in_range(c.closed_time) && c.filed_time != 0) {
      handling += c.closed_time - c.filed_time;
      ++s.mean_handling_sample_count;
    }
    if (!closed && c.deadline_time != 0 && c.deadline_time < now) ++s.open_overdue_count;
    bool resolved = false, failed = false;
    for (const CaseEvent& e : events.at(c.case_id)) {
      if (e.type == EventType::kCaseResolved && in_range(e.event_time)) resolved = true;
      if (e.type == EventType::kVerificationFailed && in_range(e.event_time)) failed = true;
    }
    if (resolved) ++s.resolved_count;
    if (resolved && failed) ++s.reworked_count;
  }
  if (s.mean_handling_sample_count > 0) {
    s.mean_handling_time = handling / s.mean_handling_sample_count;
  }
  return s;
}

std::string Describe(const service::Statistics& s) {
  return absl::StrCat("found ", s.found_count, " solved ", s.solved_count, " due ", s.due_count,
                      " postponed ", s.postponed_count, " closed ", s.closed_count, " on_time ",
                      s.closed_on_time_count, " late ", s.late_count, " resolved ",
                      s.resolved_count, " reworked ", s.reworked_count, " handled ",
                      s.mean_handling_sample_count, " mean ", s.mean_handling_time,
                      " open_overdue ", s.open_overdue_count);
}

class FiguresRecountTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kMariaDb) {
      auto opts = testing::MysqlForTest(GetParam());
      if (!opts) return;  // skipped or failed
      mysql_ = *opts;
    } else {
      sqlite_.path = dir_.path() + "/store.db";
    }
    ASSERT_TRUE(Reopen(480));
    ASSERT_TRUE(store_->ApplyOrganisation(Org(false)).ok());
  }

  bool Reopen(int offset_minutes) {
    store_.reset();
    sqlite_.figures_utc_offset_minutes = offset_minutes;
    mysql_.figures_utc_offset_minutes = offset_minutes;
    auto s = GetParam() == Backend::kMariaDb ? store::OpenMysqlStore(mysql_)
                                             : store::OpenSqliteStore(sqlite_);
    EXPECT_TRUE(s.ok()) << s.status();
    if (!s.ok()) return false;
    store_ = *std::move(s);
    return true;
  }

  // A district with two streets; community C12 moves from street S1 to S2 when `moved`.
  static domain::Organisation Org(bool moved) {
    domain::Organisation org;
    using L = domain::GridLevel;
    org.grids = {{"D", "区", L::kDistrict, "", ""},
                 {"S1", "街道一", L::kStreet, "D", ""},
                 {"S2", "街道二", L::kStreet, "D", ""},
                 {"C11", "社区一", L::kCommunity, "S1", ""},
                 {"C12", "社区二", L::kCommunity, moved ? "S2" : "S1", ""},
                 {"C21", "社区三", L::kCommunity, "S2", ""},
                 {"G111", "网格一", L::kCell, "C11", ""},
                 {"G112", "网格二", L::kCell, "C11", ""},
                 {"G121", "网格三", L::kCell, "C12", ""},
                 {"G211", "网格四", L::kCell, "C21", ""}};
    org.departments = {{"CG", "城管", "", "D"}, {"AJ", "安监", "", "D"}, {"SJ", "市监", "", "D"}};
    for (const char* code : {"K1", "K2"}) {
      domain::Category k;
      k.code = code;
      k.name = code;
      k.kind = domain::CategoryKind::kComponent;
      k.normal_deadline_hours = 72;
      org.categories.push_back(k);
    }
    org.users = {{"u1", "张三", domain::Role::kGridLeader, "G111", "", false}};
    return org;
  }

  // One random history, written step by step through CreateCase and UpdateCase. `phase` 0
  // writes the first half of the history, 1 the rest (after the grid move).
  struct Live {
    Case c;
    Micros t = 0;
    bool done = false;
    int steps_left = 0;  // a life may stop anywhere: open cases stay open
  };

  // A finished history reported at `t`, for the bulk path: filed, resolved (with `reworked`, a
  // failed verification first), closed.
  store::BulkCase FinishedCase(int i, Micros t, bool reworked) {
    Case c = NewCase(i, t);
    store::BulkCase b;
    b.events.push_back(Event(c, EventType::kReported, t));
    c.state = CaseState::kClosed;
    c.filed_time = t + kHour;
    c.first_deadline_time = c.deadline_time = t + 3 * kDay;
    c.lead_department_code = Dept();
    const Micros resolved = t + static_cast<Micros>(rng_() % (5 * kDay));
    if (reworked) {
      b.events.push_back(Event(c, EventType::kCaseResolved, resolved - kDay));
      b.events.push_back(Event(c, EventType::kVerificationFailed, resolved - 12 * kHour));
    }
    b.events.push_back(Event(c, EventType::kCaseResolved, resolved));
    c.closed_time = resolved + kHour;
    b.c = c;
    return b;
  }

  CaseEvent Event(const Case& c, EventType type, Micros at) {
    CaseEvent e;
    e.case_id = c.case_id;
    e.type = type;
    e.to_state = c.state;
    e.actor_user_id = "u1";
    e.actor_role = domain::Role::kGridLeader;
    e.event_time = at;
    e.category_code = c.category_code;
    e.grid_code = c.grid_code;
    e.grid_path = c.grid_path;
    e.lead_department_code = c.lead_department_code;
    e.reporter_user_id = c.reporter_user_id;
    return e;
  }

  Case NewCase(int i, Micros at) {
    static const char* kCells[] = {"G111", "G112", "G121", "G211"};
    static const char* kPaths[] = {"/D/S1/C11/G111/", "/D/S1/C11/G112/", "/D/S1/C12/G121/",
                                   "/D/S2/C21/G211/"};
    const int cell = static_cast<int>(rng_() % 4);
    Case c;
    c.case_id = absl::StrCat("case-", GetParam() == Backend::kSqlite ? "s" : "m", "-", i);
    c.state = CaseState::kPendingTriage;
    c.category_code = rng_() % 2 ? "K1" : "K2";
    c.description = "随机历史";
    c.grid_code = kCells[cell];
    c.grid_path = kPaths[cell];
    c.reporter_user_id = "u1";
    c.create_time = c.update_time = c.state_time = at;
    c.version = 1;
    c.request_id = c.case_id;
    c.request_digest = std::string(64, 'a');
    // Every source in turn (not from the generator: the histories stay as they were).
    c.source = static_cast<domain::CaseSource>(1 + i % 5);
    return c;
  }

  const char* Dept() {
    static const char* kDepts[] = {"CG", "AJ", "SJ"};
    return kDepts[rng_() % 3];
  }

  // One step of a case's life (live->done once it has ended: closed, rejected, merged).
  void Step(Live* live) {
    Case& c = live->c;
    const Micros gap = static_cast<Micros>(rng_() % (3 * kDay)) + 1;
    const Micros at = live->t + (rng_() % 20 == 0 ? 70 * kDay : gap);  // sometimes very late
    std::vector<CaseEvent> events;
    const int roll = static_cast<int>(rng_() % 100);
    switch (c.state) {
      case CaseState::kPendingTriage:
        if (roll < 8) {
          c.state = CaseState::kRejected;
          events.push_back(Event(c, EventType::kRejectedInvalid, at));
          live->done = true;
        } else if (roll < 12) {
          c.state = CaseState::kMerged;
          events.push_back(Event(c, EventType::kMarkedDuplicate, at));
          live->done = true;
        } else {
          c.state = CaseState::kDispatched;
          c.filed_time = at;
          // Deadlines on and off day boundaries; some already past when filed late.
          c.first_deadline_time =
              at + static_cast<Micros>(1 + rng_() % 10) * (rng_() % 3 == 0 ? kDay : 7 * kHour);
          c.deadline_time = c.first_deadline_time;
          c.lead_department_code = Dept();
          events.push_back(Event(c, EventType::kAcceptedForFiling, at));
        }
        break;
      case CaseState::kDispatched:
      case CaseState::kReturned:
        if (roll < 15) {  // returned, then routed to another department
          c.state = CaseState::kDispatched;
          c.lead_department_code = Dept();
          events.push_back(Event(c, EventType::kReturnedNotResponsible, at));
          events.push_back(Event(c, EventType::kRouted, at));
        } else {
          c.state = CaseState::kInProgress;
          events.push_back(Event(c, EventType::kAssignmentAccepted, at));
        }
        break;
      case CaseState::kInProgress:
        if (roll < 15) {  // an extension, now and then a long one
          c.deadline_time +=
              (rng_() % 4 == 0 ? 80 * kDay : static_cast<Micros>(rng_() % 5 + 1) * kDay);
          events.push_back(Event(c, EventType::kExtensionDecided, at));
        } else if (roll < 25) {  // re-categorised
          c.category_code = c.category_code == "K1" ? "K2" : "K1";
          events.push_back(Event(c, EventType::kCategoryCorrected, at));
        } else if (roll < 30) {
          c.state = CaseState::kReturned;
          c.returned_by_department_code = c.lead_department_code;
          events.push_back(Event(c, EventType::kReturnedNotResponsible, at));
        } else {
          c.state = CaseState::kResolved;
          events.push_back(Event(c, EventType::kCaseResolved, at));
        }
        break;
      case CaseState::kResolved:
        if (roll < 30) {  // rework
          c.state = CaseState::kInProgress;
          ++c.rework_count;
          events.push_back(Event(c, EventType::kVerificationFailed, at));
        } else {
          c.state = CaseState::kClosed;
          c.closed_time = at;
          events.push_back(Event(c, EventType::kVerificationPassed, at));
          live->done = true;
        }
        break;
      default:
        live->done = true;
        return;
    }
    c.state_time = c.update_time = at;
    live->t = at;
    store::CaseWrite w;
    w.c = c;
    w.expected_version = c.version;
    w.events = events;
    auto written = store_->UpdateCase(w);
    ASSERT_TRUE(written.ok()) << written.status();
    c = written->stored;
  }

  void Compare(const std::string& phase, int queries) {
    // Everything as the store holds it now, for the recount.
    std::vector<Case> cases;
    store::CaseQuery all;
    all.limit = 500;
    while (true) {
      auto page = store_->ListCases(all);
      ASSERT_TRUE(page.ok()) << page.status();
      cases.insert(cases.end(), page->begin(), page->end());
      if (static_cast<int>(page->size()) < all.limit) break;
      all.has_after = true;
      all.after_key = store::SortKey(page->back(), all.order);
      all.after_case_id = page->back().case_id;
    }
    std::map<std::string, std::vector<CaseEvent>> events;
    for (const Case& c : cases) {
      auto e = store_->ListCaseEvents(c.case_id);
      ASSERT_TRUE(e.ok()) << e.status();
      events[c.case_id] = *e;
    }
    auto org = store_->LoadOrganisation();
    ASSERT_TRUE(org.ok());
    std::map<std::string, std::string> paths;
    std::vector<std::string> grids = {""};
    for (const auto& g : org->grids) {
      paths[g.code] = g.path;
      grids.push_back(g.code);
    }
    const std::vector<std::string> depts = {"", "CG", "AJ", "SJ"};
    const int offset = store_->FiguresUtcOffsetMinutes();
    int mismatches = 0;
    for (int i = 0; i < queries; ++i) {
      service::StatisticsQuery q;
      q.grid_code = grids[rng_() % grids.size()];
      q.department_code = depts[rng_() % depts.size()];
      // A third of the queries by source, counted from the cases instead of the sums.
      if (i % 3 == 0) q.source = static_cast<domain::CaseSource>(1 + (i / 3) % 5);
      // Whole days at the store's offset, or any microsecond; from an hour to a year.
      const bool whole_days = rng_() % 2 == 0;
      const Micros day0 =
          kBase - static_cast<Micros>(offset) * 60 * 1000 * 1000 + 480LL * 60 * 1000000;
      if (whole_days) {
        q.start_time = day0 + static_cast<Micros>(rng_() % 200) * kDay - 5 * kDay;
        q.end_time = q.start_time + static_cast<Micros>(1 + rng_() % 120) * kDay;
      } else {
        q.start_time = kBase + static_cast<Micros>(rng_() % (200 * kDay)) - 5 * kDay;
        q.end_time =
            q.start_time + 1 + static_cast<Micros>(rng_() % (rng_() % 2 ? kDay : 366 * kDay - 1));
      }
      // Mostly after the histories; a third of the time among their deadlines, so that open
      // cases fall due on the query's day and the day before.
      Micros now = rng_() % 3 == 0
                       ? kBase + static_cast<Micros>(rng_() % (130 * kDay))
                       : kBase + 150 * kDay + static_cast<Micros>(rng_() % (100 * kDay));
      if (rng_() % 4 == 0) {
        q.end_time = 0;  // "until now"
        now = std::max(now, q.start_time + 1 + static_cast<Micros>(rng_() % kDay));
      }
      auto fast = service::ComputeStatistics(store_.get(), store_.get(), q, now);
      ASSERT_TRUE(fast.ok()) << fast.status();
      service::StatisticsQuery resolved = q;
      if (resolved.end_time == 0) resolved.end_time = now;
      const service::Statistics slow = Recount(cases, events, paths, resolved, now);
      const std::string got = Describe(*fast), want = Describe(slow);
      if (got != want && ++mismatches <= 5) {
        ADD_FAILURE() << phase << ": grid '" << q.grid_code << "' dept '" << q.department_code
                      << "' source " << static_cast<int>(q.source) << "' [" << resolved.start_time
                      << ", " << resolved.end_time << ") now " << now << "\n  figures: " << got
                      << "\n  recount: " << want;
      }
    }
    EXPECT_EQ(mismatches, 0) << phase;
    // The monthly ratings of every unit read the same sums grouped (when the store's days are the
    // evaluation zone's) or one unit at a time (when not): both must equal the recount.
    for (int month : {2, 4, -2}) {
      service::FlagThresholds t;
      t.utc_offset_minutes = 480;
      const Micros now = kBase + 300 * kDay;
      // Month -2: February again, rated on the public's cases only.
      const auto source =
          month < 0 ? domain::CaseSource::kPublic : domain::CaseSource::kUnspecified;
      auto rated = service::EvaluateMonth(store_.get(), store_.get(), 2026, std::abs(month), t, now,
                                          {}, {}, source);
      ASSERT_TRUE(rated.ok()) << rated.status();
      EXPECT_FALSE(rated->empty());
      for (const auto& e : *rated) {
        const service::Statistics slow = Recount(cases, events, paths, e.statistics.scope, now);
        EXPECT_EQ(Describe(e.statistics), Describe(slow))
            << phase << ": month " << month << " unit " << e.unit_code;
      }
    }
    // The test is only as good as its data: the histories must reach every figure.
    int64_t closed = 0, extended = 0, reworked = 0, open = 0;
    for (const Case& c : cases) {
      closed += c.state == CaseState::kClosed;
      extended += c.deadline_time != c.first_deadline_time;
      reworked += c.rework_count > 0;
      open += c.state != CaseState::kClosed && c.state != CaseState::kRejected &&
              c.state != CaseState::kMerged;
    }
    EXPECT_GT(closed, 20) << phase;
    EXPECT_GT(extended, 10) << phase;
    EXPECT_GT(reworked, 10) << phase;
    EXPECT_GT(open, 10) << phase;
  }

  std::mt19937_64 rng_{20261129};
  testing::TempDir dir_;
  store::SqliteOptions sqlite_;
  store::MysqlOptions mysql_;
  std::unique_ptr<store::Store> store_;
};

TEST_P(FiguresRecountTest, FiguresEqualABruteForceRecountOverRandomHistories) {
  if (!store_) return;  // no MariaDB configured (skipped or failed in SetUp)
  // Half the cases now, written step by step, and some loaded in bulk.
  std::vector<Live> live;
  for (int i = 0; i < 300; ++i) {
    Live l;
    l.t = kBase + static_cast<Micros>(rng_() % (120 * kDay));
    l.c = NewCase(i, l.t);
    l.steps_left = static_cast<int>(rng_() % 24);
    auto created = store_->CreateCase(l.c, Event(l.c, EventType::kReported, l.t));
    ASSERT_TRUE(created.ok()) << created.status();
    live.push_back(l);
  }
  auto run = [&](int steps) {
    for (int s = 0; s < steps; ++s) {
      for (Live& l : live) {
        if (!l.done && l.steps_left-- > 0) Step(&l);
        if (::testing::Test::HasFatalFailure()) return;
      }
    }
  };
  run(4);
  ASSERT_FALSE(HasFatalFailure());
  {
    std::vector<store::BulkCase> bulk;
    for (int i = 0; i < 60; ++i) {
      bulk.push_back(FinishedCase(1000 + i, kBase + static_cast<Micros>(rng_() % (120 * kDay)),
                                  /*reworked=*/i % 3 == 0));
    }
    ASSERT_TRUE(store_->BulkLoadCases(bulk).ok());
  }
  Compare("after the first writes", 150);

  // A grid move: community C12 (with its cell) goes to street S2. Then the rest of the lives.
  ASSERT_TRUE(store_->ApplyOrganisation(Org(true)).ok());
  Compare("after the grid move", 100);
  run(12);
  ASSERT_FALSE(HasFatalFailure());
  Compare("after all writes", 150);

  // Reopened with the same offset the sums are kept; with another they are added again.
  ASSERT_TRUE(Reopen(480));
  Compare("reopened", 50);
  ASSERT_TRUE(Reopen(-300));
  EXPECT_EQ(store_->FiguresUtcOffsetMinutes(), -300);
  Compare("reopened at UTC-5", 150);

  // A store from before schema 8 has no counts of open cases by deadline day: they are built
  // from the open cases when it opens (here: emptied, with a stray row, and unmarked).
  {
    std::unique_ptr<store::SqlDatabase> db = GetParam() == Backend::kMariaDb
                                                 ? *store::MakeMysqlDatabase(mysql_)
                                                 : store::MakeSqliteDatabase(sqlite_.path);
    auto raw = db->Connect();
    ASSERT_TRUE(raw.ok()) << raw.status();
    for (const char* sql :
         {"DELETE FROM case_open_deadlines",
          "INSERT INTO case_open_deadlines (node, dept, day_d, day_f, extended, n) "
          "VALUES ('', '*', 1, 1, 0, 1000)",
          "DELETE FROM store_meta WHERE name = 'open_deadlines_utc_offset'"}) {
      ASSERT_TRUE((*raw)->Execute(sql).ok()) << sql;
    }
  }
  ASSERT_TRUE(Reopen(-300));
  Compare("open counts rebuilt", 100);
}

// Issue 12: ListEvaluations rates the month once per listing: the later pages read the first
// page's snapshot (the same units, flags and compute time) instead of rating the month again.
TEST_P(FiguresRecountTest, EvaluationPagesReadTheFirstPagesSnapshot) {
  if (!store_) return;  // no MariaDB configured (skipped or failed in SetUp)
  std::vector<store::BulkCase> bulk;
  for (int i = 0; i < 80; ++i) {
    bulk.push_back(FinishedCase(2000 + i, kBase + static_cast<Micros>(rng_() % (90 * kDay)),
                                /*reworked=*/false));
  }
  ASSERT_TRUE(store_->BulkLoadCases(bulk).ok());
  const Micros now = kBase + 200 * kDay;
  service::FlagThresholds t;
  auto expected = service::EvaluateMonth(store_.get(), store_.get(), 2026, 2, t, now);
  ASSERT_TRUE(expected.ok()) << expected.status();
  ASSERT_GT(expected->size(), 3u);

  service::EvaluationService evaluations(store_.get(), store_.get(), t);
  service::RequestContext rc{{}, now, "test", {}};
  rc.caller.user.role = domain::Role::kOperator;  // the whole platform's units
  service::EvaluationQuery q;
  q.year = 2026;
  q.month = 2;
  q.page_size = 2;
  std::vector<std::string> seen;
  for (int pages = 0; pages < 50; ++pages) {
    rc.now += 1000000;  // a second between pages: the compute time stays the first page's
    auto page = evaluations.List(rc, q);
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_EQ(page->compute_time, now + 1000000);
    for (const auto& e : page->evaluations) {
      seen.push_back(absl::StrCat(static_cast<int>(e.unit_kind), ":", e.unit_code, ":",
                                  static_cast<int>(e.flag)));
    }
    if (page->next_page_token.empty()) break;
    q.page_token = page->next_page_token;
  }
  std::vector<std::string> want;
  for (const auto& e : *expected) {
    want.push_back(absl::StrCat(static_cast<int>(e.unit_kind), ":", e.unit_code, ":",
                                static_cast<int>(e.flag)));
  }
  EXPECT_EQ(seen, want);
  EXPECT_EQ(evaluations.ratings(), 1) << "later pages rated the month again";

  // A malformed token is refused; a token whose snapshot has expired rates the month again.
  q.page_token = "e1.x";
  EXPECT_EQ(evaluations.List(rc, q).status().code(), absl::StatusCode::kInvalidArgument);
  q.page_token = "e1.2";
  rc.now += 601LL * 1000000;
  auto late = evaluations.List(rc, q);
  ASSERT_TRUE(late.ok()) << late.status();
  EXPECT_EQ(evaluations.ratings(), 2);
  EXPECT_EQ(late->compute_time, rc.now);
}

INSTANTIATE_TEST_SUITE_P(Backends, FiguresRecountTest,
                         ::testing::Values(Backend::kSqlite, Backend::kMariaDb),
                         [](const auto& info) { return testing::BackendName(info.param); });

}  // namespace
}  // namespace gridline
