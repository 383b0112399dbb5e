// Issue 12: the services read no clock; each call's time comes in its RequestContext (the handlers
// fill it from the server's injected clock), so a test moves time instead of sleeping or
// rewriting rows with SQL. CaseService over a real store (SQLite and MariaDB), called at the
// times of a util::ManualClock: every time it writes is the clock's, and the deadline warnings
// follow the clock as it is advanced past the warning point and then past the deadline.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "server/domain/types.h"
#include "server/service/case_service.h"
#include "server/store/store.h"
#include "server/util/clock.h"
#include "tests/test_support.h"

namespace gridline {
namespace {

using domain::Micros;
using testing::Backend;

constexpr Micros kHour = 3600LL * 1000000;
// 2026-03-02 09:00 at UTC+8.
constexpr Micros kStart = 1772413200LL * 1000000;

class ServiceClockTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    store_ = testing::OpenStoreForTest(GetParam(), dir_);
    if (!store_) return;  // skipped, or a failure recorded
    domain::Organisation org;
    using L = domain::GridLevel;
    org.grids = {{"D", "区", L::kDistrict, "", ""},
                 {"S1", "街道一", L::kStreet, "D", ""},
                 {"C11", "社区一", L::kCommunity, "S1", ""},
                 {"G111", "网格一", L::kCell, "C11", ""}};
    org.departments = {{"CG", "城管", "", "D"}};
    domain::Category k;
    k.code = "ROAD";
    k.name = "道路破损";
    k.kind = domain::CategoryKind::kComponent;
    k.normal_deadline_hours = 48;
    k.auto_accept = true;
    org.categories = {k};
    org.routing_rules = {{"r1", "ROAD", "", "CG", {}}};
    org.users = {{"u1", "张三", domain::Role::kGridLeader, "G111", "", false}};
    ASSERT_TRUE(store_->ApplyOrganisation(org).ok());
    leader_.user = org.users[0];
  }

  testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
  domain::Caller leader_;
  util::ManualClock clock_{kStart};
};

TEST_P(ServiceClockTest, WritesAndDeadlineWarningsFollowTheInjectedClock) {
  if (!store_) return;  // no MariaDB configured (skipped or failed in SetUp)
  service::CaseService cases(store_.get(), store_.get(), store_.get(), nullptr);
  // Every call is made at the clock's time, as the handlers do.
  auto at_now = [&] { return service::RequestContext{leader_, clock_.NowMicros(), "test", {}}; };
  service::ReportInput in;
  in.request_id = "clock-1";
  in.category_code = "ROAD";
  in.description = "路面塌陷";
  in.grid_code = "G111";
  auto submitted = cases.SubmitReport(at_now(), in);
  ASSERT_TRUE(submitted.ok()) << submitted.status();
  ASSERT_TRUE(submitted->filed) << "the category is auto-accepted and has a rule";
  const domain::Case& c = submitted->stored;
  EXPECT_EQ(submitted->first_event.event_time, kStart);

  auto filed = cases.GetCase(at_now(), c.case_id);
  ASSERT_TRUE(filed.ok()) << filed.status();
  EXPECT_EQ(filed->create_time, kStart);
  EXPECT_EQ(filed->observe_time, kStart) << "no observe time given: now, by the clock";
  EXPECT_EQ(filed->first_deadline_time, kStart + 48 * kHour);
  EXPECT_EQ(filed->deadline_time, kStart + 48 * kHour);

  const Micros warn_before = 4 * kHour;
  // Before the warning point: nothing.
  clock_.Advance(43 * kHour);
  auto none = cases.WarnDeadlines(clock_.NowMicros(), warn_before);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(*none, 0);
  // Within four hours of the deadline: one "due soon" warning, stamped with the clock's time.
  clock_.Advance(2 * kHour);
  auto soon = cases.WarnDeadlines(clock_.NowMicros(), warn_before);
  ASSERT_TRUE(soon.ok()) << soon.status();
  EXPECT_EQ(*soon, 1);
  // Past the deadline: one more (overdue), then none again.
  clock_.Advance(4 * kHour);
  auto overdue = cases.WarnDeadlines(clock_.NowMicros(), warn_before);
  ASSERT_TRUE(overdue.ok()) << overdue.status();
  EXPECT_EQ(*overdue, 1);
  auto again = cases.WarnDeadlines(clock_.NowMicros(), warn_before);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, 0);

  auto events = cases.ListCaseEvents(at_now(), c.case_id);
  ASSERT_TRUE(events.ok()) << events.status();
  std::vector<Micros> warning_times;
  for (const auto& e : *events) {
    if (e.type == domain::EventType::kOverdueWarning) warning_times.push_back(e.event_time);
  }
  EXPECT_EQ(warning_times, (std::vector<Micros>{kStart + 45 * kHour, kStart + 49 * kHour}));
}

INSTANTIATE_TEST_SUITE_P(Backends, ServiceClockTest,
                         ::testing::Values(Backend::kSqlite, Backend::kMariaDb),
                         [](const auto& info) { return testing::BackendName(info.param); });

}  // namespace
}  // namespace gridline
