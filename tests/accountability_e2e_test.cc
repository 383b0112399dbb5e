// Issue 14, a month of patrols and cases and its 三责 accountability records: real servers over
// gRPC on SQLite and on MariaDB. The month is last month: the servers run with their clocks set
// back into it (ServerConfig.test_clock_offset_seconds), then in the present, where the month has
// ended and its records are read. Nothing sleeps.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/field_mask.pb.h"
#include "gridline/v1/admin_service.grpc.pb.h"
#include "gridline/v1/department_service.grpc.pb.h"
#include "gridline/v1/dispatch_service.grpc.pb.h"
#include "gridline/v1/patrol_service.grpc.pb.h"
#include "gridline/v1/report_service.grpc.pb.h"
#include "tests/e2e_fixture.h"

namespace gridline {
namespace {

namespace v1 = ::gridline::v1;
using namespace testing;  // NOLINT: demo tokens, the fixture
using Admin = v1::AdminService::Stub;
using Dispatch = v1::DispatchService::Stub;
using Dept = v1::DepartmentService::Stub;
using Report = v1::ReportService::Stub;

class AccountabilityTest : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    port_ = FreePort();
    // The 10th of last month, 10:00 in the server's time zone (UTC+8).
    const absl::TimeZone zone = absl::FixedTimeZone(8 * 3600);
    const absl::CivilMonth this_month(absl::ToCivilMonth(absl::Now(), zone));
    const absl::CivilMonth last = this_month - 1;
    year_ = static_cast<int>(last.year());
    month_ = last.month();
    t_ = absl::ToUnixSeconds(
        absl::FromCivil(absl::CivilSecond(last.year(), last.month(), 10, 10, 0, 0), zone));
  }

  // A server whose clock reads `at` (seconds since the epoch) when it starts.
  std::unique_ptr<ServerProcess> StartAt(int64_t at, const std::string& extra_config = "") {
    const int64_t offset = at - absl::ToUnixSeconds(absl::Now());
    auto server = StartConfiguredServer(
        port_, absl::StrCat("watch { heartbeat_interval_ms: 200 poll_interval_ms: 50 }\n",
                            "worker_threads: 4\nhealth_check_interval_ms: 200\n",
                            "shutdown_grace_ms: 2000\n",
                            "deadline_warnings { check_interval_seconds: 1 }\n",
                            "supervision { escalation_interval_minutes: 60 }\n",
                            "test_clock_offset_seconds: ", offset, "\n", extra_config));
    if (!server) return nullptr;
    auto channel = Channel(port_);
    report_ = v1::ReportService::NewStub(channel);
    dispatch_ = v1::DispatchService::NewStub(channel);
    dept_ = v1::DepartmentService::NewStub(channel);
    admin_ = v1::AdminService::NewStub(channel);
    patrols_ = v1::PatrolService::NewStub(channel);
    return server;
  }

  // A handset report (or, with `source`, the center's registration) of `category` at
  // (lat, lng) in cell 1; the case.
  v1::Case File(const std::string& id, const std::string& category, double lat, double lng,
                v1::CaseSource source = v1::HANDSET, const std::string& patrol = "") {
    v1::SubmitReportRequest r = Report(id, absl::StrCat("month test ", id));
    r.set_category_code(category);
    r.mutable_location()->mutable_coordinates()->set_latitude(lat);
    r.mutable_location()->mutable_coordinates()->set_longitude(lng);
    r.set_urgency(v1::NORMAL);
    r.set_patrol_id(patrol);
    v1::SubmitReportResponse out;
    grpc::Status s;
    if (source == v1::HANDSET) {
      s = Call(report_.get(), &Report::SubmitReport, kLeader1, r, &out);
    } else {
      v1::RegisterCaseRequest reg;
      reg.set_source(source);
      *reg.mutable_report() = r;
      s = Call(dispatch_.get(), &Dispatch::RegisterCase, kDispatcher1, reg, &out);
    }
    EXPECT_TRUE(s.ok()) << id << ": " << s.error_message();
    last_cursor_ = out.event_cursor();
    return out.case_();
  }

  std::vector<v1::AccountabilityRecord> Records(const std::string& token,
                                                bool include_inactive = false) {
    v1::ListAccountabilityRecordsRequest req;
    req.set_year(year_);
    req.set_month(month_);
    req.set_include_inactive(include_inactive);
    req.set_page_size(3);  // several pages
    std::vector<v1::AccountabilityRecord> out;
    for (;;) {
      v1::ListAccountabilityRecordsResponse page;
      grpc::Status s = Call(admin_.get(), &Admin::ListAccountabilityRecords, token, req, &page);
      EXPECT_TRUE(s.ok()) << s.error_message();
      if (!s.ok()) return out;
      for (const auto& r : page.records()) out.push_back(r);
      if (page.next_page_token().empty()) return out;
      req.set_page_token(page.next_page_token());
    }
  }

  int port_ = 0;
  int year_ = 0;
  int month_ = 0;
  int64_t t_ = 0;
  std::string last_cursor_;  // of the last File()
  std::unique_ptr<v1::ReportService::Stub> report_;
  std::unique_ptr<v1::DispatchService::Stub> dispatch_;
  std::unique_ptr<v1::DepartmentService::Stub> dept_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
  std::unique_ptr<v1::PatrolService::Stub> patrols_;
};

// "rule unit user cases weight status", for comparing sets.
std::string Summary(const v1::AccountabilityRecord& r,
                    const std::map<std::string, std::string>& names) {
  std::vector<std::string> cases;
  for (const auto& id : r.case_ids()) cases.push_back(names.count(id) ? names.at(id) : id);
  return absl::StrCat(v1::AccountabilityRule_Name(r.rule()), " ", r.unit_code(), " ", r.user_id(),
                      " ", absl::StrJoin(cases, "+"), " ", r.weight());
}

TEST_P(AccountabilityTest, AMonthOfPatrolsAndCasesGivesExactlyTheExpectedRecords) {
  if (HasFatalFailure() || IsSkipped()) return;
  constexpr double kLat = 34.396, kLng = 113.739;
  std::map<std::string, std::string> names;  // case id -> name in this test
  std::string cursor;
  std::string h1_order;
  {
    auto server = StartAt(t_);
    ASSERT_TRUE(server);
    // SZ's leader in charge, on whom 连责 falls.
    v1::UpdateDepartmentRequest leader;
    leader.mutable_department()->set_code("SZ");
    leader.mutable_department()->set_leader_user_id("u-staff-sz-001");
    leader.mutable_update_mask()->add_paths("leader_user_id");
    v1::Department dept;
    ASSERT_TRUE(Call(admin_.get(), &Admin::UpdateDepartment, kOperator, leader, &dept).ok());

    // Y: a street light, fixed and closed at once.
    v1::Case y = File("Y", "C04_STREET_LIGHT_OUT", kLat + 0.01, kLng);
    names[y.case_id()] = "Y";
    v1::Case c;
    v1::AcceptAssignmentRequest accept;
    accept.set_case_id(y.case_id());
    ASSERT_TRUE(Call(dept_.get(), &Dept::AcceptAssignment, kStaffSz, accept, &c).ok());
    v1::ResolveCaseRequest resolve;
    resolve.set_case_id(y.case_id());
    resolve.set_result("已更换灯泡");
    ASSERT_TRUE(Call(dept_.get(), &Dept::ResolveCase, kStaffSz, resolve, &c).ok());
    v1::VerifyCaseRequest verify;
    verify.set_case_id(y.case_id());
    verify.set_passed(true);
    ASSERT_TRUE(Call(report_.get(), &Report::VerifyCase, kLeader1, verify, &c).ok());
    ASSERT_EQ(c.state(), v1::CLOSED);

    // A patrol: a track, a visit, and a missing manhole cover found on it (H1).
    v1::StartPatrolRequest start;
    start.set_patrol_id("month-patrol");
    start.set_grid_code(kCell1);
    start.mutable_start_time()->set_seconds(t_ - 60);
    v1::Patrol p;
    ASSERT_TRUE(
        Call(patrols_.get(), &v1::PatrolService::Stub::StartPatrol, kLeader1, start, &p).ok());
    v1::AppendTrackRequest track;
    track.set_patrol_id("month-patrol");
    track.set_batch_id("b1");
    for (int i = 0; i < 3; ++i) {
      auto* pt = track.add_points();
      pt->mutable_time()->set_seconds(t_ - 30 + i);
      pt->mutable_position()->set_latitude(kLat + i * 0.00001);
      pt->mutable_position()->set_longitude(kLng);
    }
    ASSERT_TRUE(
        Call(patrols_.get(), &v1::PatrolService::Stub::AppendTrack, kLeader1, track, &p).ok());
    v1::RecordVisitRequest visit;
    visit.set_visit_id("month-visit");
    visit.set_patrol_id("month-patrol");
    visit.set_kind(v1::VISIT_HOUSEHOLD);
    visit.set_subject("1号楼101");
    v1::Visit v;
    ASSERT_TRUE(
        Call(patrols_.get(), &v1::PatrolService::Stub::RecordVisit, kLeader1, visit, &v).ok());
    v1::Case h1 = File("H1", "C05_MANHOLE_COVER_MISSING", kLat, kLng, v1::HANDSET, "month-patrol");
    names[h1.case_id()] = "H1";
    ASSERT_EQ(h1.patrol_id(), "month-patrol");
    cursor = last_cursor_;
    // P2: the public reports the same cover 50 m away: found already.
    names[File("P2", "C05_MANHOLE_COVER_MISSING", kLat + 0.00045, kLng, v1::PUBLIC).case_id()] =
        "P2";
    // P1: the public reports a broken litter bin nobody found.
    names[File("P1", "C06_LITTER_BIN_BROKEN", kLat - 0.02, kLng, v1::PUBLIC).case_id()] = "P1";
    // T1: a road report the center leaves in triage.
    v1::Case t1 = File("T1", "C01_ROAD_DAMAGE", kLat + 0.03, kLng);
    names[t1.case_id()] = "T1";
    ASSERT_EQ(t1.state(), v1::PENDING_TRIAGE);
    // Z: the street light out again, 20 m from Y.
    names[File("Z", "C04_STREET_LIGHT_OUT", kLat + 0.01 + 0.00018, kLng).case_id()] = "Z";
    // An order on H1 due in an hour, never answered.
    v1::IssueSupervisionOrderRequest order;
    order.set_case_id(h1.case_id());
    order.set_request_id("month-order");
    order.set_reason("井盖缺失危及行人");
    order.mutable_respond_by_time()->set_seconds(t_ + 3600);
    v1::SupervisionOrder o;
    ASSERT_TRUE(
        Call(dispatch_.get(), &Dispatch::IssueSupervisionOrder, kDispatcher1, order, &o).ok());
    h1_order = o.order_id();
  }
  {
    // Three hours later: the order escalates to the district and then the city, and the center
    // finally rejects T1, past its triage limit.
    auto server = StartAt(t_ + 3 * 3600);
    ASSERT_TRUE(server);
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", std::string("Bearer ") + kSupervisor);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    v1::WatchQueueRequest watch;
    watch.set_after_cursor(cursor);
    auto reader = dispatch_->WatchQueue(&ctx, watch);
    int escalations = 0;
    v1::WatchEvent ev;
    while (escalations < 2 && reader->Read(&ev)) {
      if (ev.has_event() && ev.event().type() == v1::SUPERVISION_ESCALATED) ++escalations;
    }
    ctx.TryCancel();
    reader->Finish().IgnoreError();
    ASSERT_EQ(escalations, 2);
    v1::RejectCaseRequest reject;
    for (const auto& [id, name] : names) {
      if (name == "T1") reject.set_case_id(id);
    }
    reject.set_reason("重复路段，已由其他渠道处理");
    v1::Case c;
    ASSERT_TRUE(Call(dispatch_.get(), &Dispatch::RejectCase, kDispatcher1, reject, &c).ok());
  }

  // In the present the month has ended: its records, computed on first read.
  // The ratings count the records and patrol coverage (the thresholds switch them on).
  auto server = StartAt(absl::ToUnixSeconds(absl::Now()),
                        "evaluation { black_accountability_weight: 100 "
                        "red_min_patrol_coverage: 0.5 }\n");
  ASSERT_TRUE(server);
  std::multiset<std::string> got;
  for (const auto& r : Records(kSupervisor)) got.insert(Summary(r, names));
  const std::multiset<std::string> want = {
      "SHOULD_HAVE_FOUND 410184001001001 u-leader-001 P1 2",
      "SHOULD_HAVE_REPORTED 410184001  T1 1",
      "SHOULD_HAVE_HANDLED SZ  H1 1",
      "SHOULD_HAVE_HANDLED SZ  P2 2",
      "SHOULD_HAVE_HANDLED HW  P1 2",
      "SHOULD_HAVE_HANDLED SZ  Z 1",
      "FIXED_AND_BACK SZ  Z+Y 1",
      "FIXED_AND_BACK SZ u-staff-sz-001 Z+Y 1",
  };
  EXPECT_EQ(got, want);

  // Scope: the leader their own, SZ its department's and its leader's, another street nothing.
  auto mine = Records(kLeader1);
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0].rule(), v1::SHOULD_HAVE_FOUND);
  EXPECT_EQ(Records(kStaffSz).size(), 5u);
  EXPECT_TRUE(Records(kDispatcher2).empty());
  EXPECT_EQ(Records(kDispatcher1).size(), 8u);

  // An operator dismisses HW's record with a reason: it stays, dismissed and audited, also after
  // the month is computed again.
  std::string hw_record;
  for (const auto& r : Records(kOperator)) {
    if (r.unit_code() == "HW") hw_record = r.record_id();
  }
  ASSERT_FALSE(hw_record.empty());
  v1::DismissAccountabilityRecordRequest dismiss;
  dismiss.set_record_id(hw_record);
  v1::AccountabilityRecord dismissed;
  EXPECT_EQ(FieldsOf(Call(admin_.get(), &Admin::DismissAccountabilityRecord, kOperator, dismiss,
                          &dismissed)),
            std::vector<std::string>{"reason"});
  dismiss.set_reason("垃圾箱属物业管理，非环卫职责");
  EXPECT_EQ(
      Call(admin_.get(), &Admin::DismissAccountabilityRecord, kSupervisor, dismiss, &dismissed)
          .error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(
      Call(admin_.get(), &Admin::DismissAccountabilityRecord, kOperator, dismiss, &dismissed).ok());
  EXPECT_EQ(dismissed.status(), v1::RECORD_DISMISSED);
  EXPECT_EQ(Call(admin_.get(), &Admin::DismissAccountabilityRecord, kOperator, dismiss, &dismissed)
                .error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  v1::ComputeAccountabilityRequest compute;
  compute.set_year(year_);
  compute.set_month(month_);
  v1::ComputeAccountabilityResponse computed;
  ASSERT_TRUE(
      Call(admin_.get(), &Admin::ComputeAccountability, kOperator, compute, &computed).ok());
  EXPECT_EQ(computed.record_count(), 8);
  EXPECT_EQ(Records(kOperator).size(), 7u);
  auto all = Records(kOperator, /*include_inactive=*/true);
  ASSERT_EQ(all.size(), 8u);
  int still_dismissed = 0;
  for (const auto& r : all) {
    if (r.record_id() == hw_record) {
      still_dismissed += r.status() == v1::RECORD_DISMISSED;
      EXPECT_EQ(r.dismissed_by_user_id(), "u-operator-001");
    }
  }
  EXPECT_EQ(still_dismissed, 1);
  v1::ListAuditLogRequest audit_req;
  audit_req.set_resource_id(hw_record);
  v1::ListAuditLogResponse audit;
  ASSERT_TRUE(Call(admin_.get(), &Admin::ListAuditLog, kOperator, audit_req, &audit).ok());
  int ok_dismissals = 0;
  for (const auto& e : audit.entries()) {
    ok_dismissals +=
        absl::StrContains(e.method(), "DismissAccountabilityRecord") && e.status_code() == 0;
  }
  EXPECT_EQ(ok_dismissals, 1);

  // The cell's rating of the month counts its active records (all but HW's dismissed one) and
  // its grid leader's patrol days.
  v1::ListEvaluationsRequest eval_req;
  eval_req.set_year(year_);
  eval_req.set_month(month_);
  eval_req.set_unit_kind(v1::GRID_UNIT);
  eval_req.set_page_size(500);
  v1::ListEvaluationsResponse evals;
  ASSERT_TRUE(Call(admin_.get(), &Admin::ListEvaluations, kOperator, eval_req, &evals).ok());
  const v1::Evaluation* cell = nullptr;
  for (const auto& e : evals.evaluations()) {
    if (e.unit_code() == kCell1) cell = &e;
  }
  ASSERT_NE(cell, nullptr);
  EXPECT_DOUBLE_EQ(cell->statistics().accountability_weight(), 9);
  const absl::CivilMonth month_start(year_, month_);
  const int days =
      static_cast<int>((absl::CivilDay(month_start + 1) - absl::CivilDay(month_start)));
  ASSERT_TRUE(cell->statistics().has_patrol_coverage());
  EXPECT_DOUBLE_EQ(cell->statistics().patrol_coverage(), 1.0 / days);

  // The month that has not ended is refused.
  v1::ListAccountabilityRecordsRequest now_req;
  const absl::CivilMonth this_month(absl::ToCivilMonth(absl::Now(), absl::FixedTimeZone(8 * 3600)));
  now_req.set_year(static_cast<int>(this_month.year()));
  now_req.set_month(this_month.month());
  v1::ListAccountabilityRecordsResponse none;
  EXPECT_EQ(
      FieldsOf(Call(admin_.get(), &Admin::ListAccountabilityRecords, kOperator, now_req, &none)),
      std::vector<std::string>{"month"});

  // The patrol figures of the month count the patrol, its visit and the report found on it.
  v1::GetPatrolStatisticsRequest stats_req;
  stats_req.mutable_start_time()->set_seconds(t_ - 86400);
  stats_req.mutable_end_time()->set_seconds(t_ + 86400);
  v1::PatrolStatistics stats;
  ASSERT_TRUE(Call(patrols_.get(), &v1::PatrolService::Stub::GetPatrolStatistics, kSupervisor,
                   stats_req, &stats)
                  .ok());
  EXPECT_EQ(stats.total().patrol_count(), 1);
  EXPECT_EQ(stats.total().visit_count(), 1);
  EXPECT_EQ(stats.total().report_count(), 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, AccountabilityTest,
                         ::testing::Values(Backend::kSqlite, Backend::kMariaDb),
                         [](const auto& info) { return testing::BackendName(info.param); });

}  // namespace
}  // namespace gridline
