// Issue 14, patrols (巡查) and visits (走访): real servers over gRPC, on SQLite and on MariaDB.
// Times are given in the requests (a patrol walked in the last hours), so nothing sleeps.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gridline/client/outbox.h"
#include "gridline/client/patrol_client.h"
#include "gridline/client/report_client.h"
#include "gridline/v1/patrol_service.grpc.pb.h"
#include "gridline/v1/report_service.grpc.pb.h"
#include "tests/e2e_fixture.h"

namespace gridline {
namespace {

namespace v1 = ::gridline::v1;
namespace gc = ::gridline::client;
using namespace testing;  // NOLINT: demo tokens, the fixture
using std::chrono::milliseconds;
using Stub = v1::PatrolService::Stub;

constexpr int64_t kSecond = 1000000;
constexpr char kStaffStation[] = "demo-staff-cgzd-1-96de6d8c58fd8e67";  // 410184001, CG-410184001
constexpr char kOtherCell[] = "410184002001001";                        // another street

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void SetSeconds(int64_t seconds, google::protobuf::Timestamp* t) { t->set_seconds(seconds); }

// `n` points a minute apart from `first` (seconds), walking north 50 m a minute from `lat`.
std::vector<v1::TrackPoint> Walk(int64_t first, int n, double lat) {
  std::vector<v1::TrackPoint> out;
  for (int i = 0; i < n; ++i) {
    v1::TrackPoint p;
    SetSeconds(first + 60 * i, p.mutable_time());
    p.mutable_position()->set_latitude(lat + i * 0.00045);
    p.mutable_position()->set_longitude(113.739);
    out.push_back(p);
  }
  return out;
}

class PatrolTest : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    server_ = StartServer(&port_);
    ASSERT_TRUE(server_);
    auto channel = Channel(port_);
    patrols_ = v1::PatrolService::NewStub(channel);
    report_ = v1::ReportService::NewStub(channel);
  }

  template <typename Req, typename Resp>
  grpc::Status Do(grpc::Status (Stub::*m)(grpc::ClientContext*, const Req&, Resp*),
                  const std::string& token, const Req& req, Resp* resp) {
    return Call(patrols_.get(), m, token, req, resp);
  }

  v1::Patrol Get(const std::string& id, const std::string& token = kLeader1) {
    v1::GetPatrolRequest req;
    req.set_patrol_id(id);
    v1::Patrol p;
    EXPECT_TRUE(Do(&Stub::GetPatrol, token, req, &p).ok());
    return p;
  }

  grpc::Status Append(const std::string& patrol, const std::string& batch,
                      const std::vector<v1::TrackPoint>& points, v1::Patrol* out,
                      int64_t expected_version = 0, const std::string& token = kLeader1) {
    v1::AppendTrackRequest req;
    req.set_patrol_id(patrol);
    req.set_batch_id(batch);
    req.set_expected_version(expected_version);
    for (const auto& p : points) *req.add_points() = p;
    return Do(&Stub::AppendTrack, token, req, out);
  }

  std::vector<std::string> ListIds(const std::string& token) {
    v1::ListPatrolsRequest req;
    v1::ListPatrolsResponse resp;
    EXPECT_TRUE(Do(&Stub::ListPatrols, token, req, &resp).ok());
    std::vector<std::string> ids;
    for (const auto& p : resp.patrols()) ids.push_back(p.patrol_id());
    return ids;
  }

  int port_ = 0;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<v1::PatrolService::Stub> patrols_;
  std::unique_ptr<v1::ReportService::Stub> report_;
};

// One patrol from start to end, with every refusal the issue names, reports linked to it, and
// who sees it and its figures.
TEST_P(PatrolTest, APatrolIsWalkedOnceCheckedAndSeenInScope) {
  const int64_t start = NowSeconds() - 2 * 3600;
  v1::StartPatrolRequest start_req;
  start_req.set_patrol_id("patrol-e2e-1");
  start_req.set_grid_code(kCell1);
  SetSeconds(start, start_req.mutable_start_time());
  v1::Patrol p;
  ASSERT_TRUE(Do(&Stub::StartPatrol, kLeader1, start_req, &p).ok());
  EXPECT_EQ(p.state(), v1::PATROL_ACTIVE);
  EXPECT_EQ(p.user_id(), "u-leader-001");
  EXPECT_EQ(p.version(), 1);
  // A retry answers the same patrol; the same id for other content, or by another user, clashes.
  v1::Patrol again;
  ASSERT_TRUE(Do(&Stub::StartPatrol, kLeader1, start_req, &again).ok());
  EXPECT_EQ(again.version(), 1);
  v1::StartPatrolRequest other = start_req;
  other.set_grid_code("410184001002001");
  EXPECT_EQ(Do(&Stub::StartPatrol, kLeader1, other, &again).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(Do(&Stub::StartPatrol, kLeader2, start_req, &again).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  // Outside the leader's grid; not a patrolling role.
  v1::StartPatrolRequest outside = start_req;
  outside.set_patrol_id("patrol-e2e-outside");
  outside.set_grid_code(kOtherCell);
  auto refused = Do(&Stub::StartPatrol, kLeader1, outside, &again);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(FieldsOf(refused), std::vector<std::string>{"grid_code"});
  outside.set_grid_code(kCell1);
  EXPECT_EQ(Do(&Stub::StartPatrol, kDispatcher1, outside, &again).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  // Two batches of ten points; a retry of the first changes nothing.
  ASSERT_TRUE(Append("patrol-e2e-1", "b1", Walk(start + 60, 10, 34.39), &p).ok());
  EXPECT_EQ(p.point_count(), 10);
  EXPECT_EQ(p.version(), 2);
  ASSERT_TRUE(Append("patrol-e2e-1", "b1", Walk(start + 60, 10, 34.39), &p).ok());
  EXPECT_EQ(p.point_count(), 10);
  EXPECT_EQ(p.version(), 2);
  EXPECT_EQ(Append("patrol-e2e-1", "b1", Walk(start + 61, 10, 34.39), &p).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);

  // Bad tracks: INVALID_ARGUMENT naming the points, and nothing stored.
  struct Bad {
    const char* name;
    std::vector<v1::TrackPoint> points;
    std::vector<std::string> fields;
  };
  std::vector<v1::TrackPoint> unordered = Walk(start + 700, 3, 34.3942);
  std::swap(unordered[1], unordered[2]);
  std::vector<v1::TrackPoint> fast = Walk(start + 700, 2, 34.3942);
  fast[1].mutable_position()->set_latitude(34.5);  // 11 km in a minute
  std::vector<v1::TrackPoint> off = Walk(start + 700, 1, 91);
  std::vector<v1::TrackPoint> stale = Walk(start + 300, 1, 34.3942);  // before the stored track
  const std::vector<Bad> bad = {
      {"unordered", unordered, {"points[2].time"}},
      {"impossible speed", fast, {"points[1]"}},
      {"out of range", off, {"points[0].latitude"}},
      {"before the stored track", stale, {"points[0].time"}},
      {"empty", {}, {"points"}},
  };
  for (size_t i = 0; i < bad.size(); ++i) {
    const Bad& b = bad[i];
    v1::Patrol ignored;
    auto s = Append("patrol-e2e-1", absl::StrCat("bad-", i), b.points, &ignored);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << b.name;
    EXPECT_EQ(FieldsOf(s), b.fields) << b.name;
  }
  EXPECT_EQ(Get("patrol-e2e-1").point_count(), 10);
  EXPECT_EQ(Get("patrol-e2e-1").version(), 2);
  // A stale version is refused; the right one goes through.
  EXPECT_EQ(Append("patrol-e2e-1", "b2", Walk(start + 660, 10, 34.3945), &p, 1).error_code(),
            grpc::StatusCode::ABORTED);
  ASSERT_TRUE(Append("patrol-e2e-1", "b2", Walk(start + 660, 10, 34.3945), &p, 2).ok());
  EXPECT_EQ(p.point_count(), 20);
  EXPECT_NEAR(p.length_metres(), 19 * 50.0, 19 * 0.5);

  // A visit, retried; a visit without a kind.
  v1::RecordVisitRequest visit;
  visit.set_visit_id("visit-e2e-1");
  visit.set_patrol_id("patrol-e2e-1");
  visit.set_kind(v1::VISIT_SHOP);
  visit.set_subject("老王烩面馆");
  visit.set_note("灭火器过期，已当面提醒");
  SetSeconds(start + 1800, visit.mutable_visit_time());
  v1::Visit stored_visit;
  ASSERT_TRUE(Do(&Stub::RecordVisit, kLeader1, visit, &stored_visit).ok());
  EXPECT_EQ(stored_visit.grid_code(), kCell1);
  ASSERT_TRUE(Do(&Stub::RecordVisit, kLeader1, visit, &stored_visit).ok());
  v1::RecordVisitRequest kindless = visit;
  kindless.set_visit_id("visit-e2e-2");
  kindless.set_kind(v1::VISIT_KIND_UNSPECIFIED);
  auto no_kind = Do(&Stub::RecordVisit, kLeader1, kindless, &stored_visit);
  EXPECT_EQ(FieldsOf(no_kind), std::vector<std::string>{"kind"});
  EXPECT_EQ(Get("patrol-e2e-1").visit_count(), 1);

  // A report found on the patrol; another leader cannot name it.
  v1::SubmitReportRequest report = Report("patrol-report-1", "巡查发现：人行道砖块松动");
  report.set_patrol_id("patrol-e2e-1");
  v1::SubmitReportResponse submitted;
  ASSERT_TRUE(Submit(report_.get(), report, &submitted).ok());
  EXPECT_EQ(submitted.case_().patrol_id(), "patrol-e2e-1");
  v1::SubmitReportRequest foreign = Report("patrol-report-2");
  foreign.set_patrol_id("patrol-e2e-1");
  auto not_theirs = Submit(report_.get(), foreign, &submitted, kLeader2);
  EXPECT_EQ(FieldsOf(not_theirs), std::vector<std::string>{"patrol_id"});

  // The end, retried; nothing is added after it.
  v1::EndPatrolRequest end;
  end.set_patrol_id("patrol-e2e-1");
  SetSeconds(start + 3600, end.mutable_end_time());
  ASSERT_TRUE(Do(&Stub::EndPatrol, kLeader1, end, &p).ok());
  EXPECT_EQ(p.state(), v1::PATROL_ENDED);
  const int64_t ended_version = p.version();
  ASSERT_TRUE(Do(&Stub::EndPatrol, kLeader1, end, &p).ok());
  EXPECT_EQ(p.version(), ended_version);
  auto after_end = Append("patrol-e2e-1", "b3", Walk(start + 3700, 2, 34.40), &p);
  EXPECT_EQ(after_end.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(FieldsOf(after_end), std::vector<std::string>{"patrol_id"});
  visit.set_visit_id("visit-e2e-3");
  SetSeconds(start + 3000, visit.mutable_visit_time());
  EXPECT_EQ(FieldsOf(Do(&Stub::RecordVisit, kLeader1, visit, &stored_visit)),
            std::vector<std::string>{"patrol_id"});
  EXPECT_EQ(Get("patrol-e2e-1").report_count(), 1);

  // The track, paged, in order.
  v1::ListTrackPointsRequest track_req;
  track_req.set_patrol_id("patrol-e2e-1");
  track_req.set_page_size(7);
  std::vector<int64_t> times;
  for (;;) {
    v1::ListTrackPointsResponse page;
    ASSERT_TRUE(Do(&Stub::ListTrackPoints, kDispatcher1, track_req, &page).ok());
    for (const auto& pt : page.points()) times.push_back(pt.time().seconds());
    if (page.next_page_token().empty()) break;
    track_req.set_page_token(page.next_page_token());
  }
  ASSERT_EQ(times.size(), 20u);
  EXPECT_TRUE(std::is_sorted(times.begin(), times.end()));
  v1::ListVisitsRequest visits_req;
  visits_req.set_patrol_id("patrol-e2e-1");
  v1::ListVisitsResponse visits;
  ASSERT_TRUE(Do(&Stub::ListVisits, kSupervisor, visits_req, &visits).ok());
  ASSERT_EQ(visits.visits_size(), 1);
  EXPECT_EQ(visits.visits(0).subject(), "老王烩面馆");

  // A staff member stationed in the street patrols one of its cells.
  v1::StartPatrolRequest staff_req;
  staff_req.set_patrol_id("patrol-e2e-staff");
  staff_req.set_grid_code(kCell1);
  SetSeconds(start + 600, staff_req.mutable_start_time());
  ASSERT_TRUE(Do(&Stub::StartPatrol, kStaffStation, staff_req, &p).ok());
  EXPECT_EQ(p.department_code(), "CG-410184001");
  EXPECT_EQ(p.role(), v1::DEPARTMENT_STAFF);

  // Scope: the patroller, their department, the subtree above, operators; nobody else.
  const std::vector<std::pair<const char*, bool>> sees_leaders = {
      {kLeader1, true},    {kLeader2, false}, {kDispatcher1, true}, {kDispatcher2, false},
      {kSupervisor, true}, {kStaffCg, false}, {kOperator, true},    {kStaffStation, false}};
  for (const auto& [token, sees] : sees_leaders) {
    v1::GetPatrolRequest req;
    req.set_patrol_id("patrol-e2e-1");
    v1::Patrol got;
    auto s = Do(&Stub::GetPatrol, token, req, &got);
    EXPECT_EQ(s.error_code(), sees ? grpc::StatusCode::OK : grpc::StatusCode::NOT_FOUND) << token;
  }
  EXPECT_EQ(ListIds(kLeader1), std::vector<std::string>{"patrol-e2e-1"});
  EXPECT_TRUE(ListIds(kLeader2).empty());
  EXPECT_EQ(ListIds(kDispatcher1), (std::vector<std::string>{"patrol-e2e-staff", "patrol-e2e-1"}));
  EXPECT_TRUE(ListIds(kDispatcher2).empty());
  EXPECT_EQ(ListIds(kSupervisor).size(), 2u);
  EXPECT_EQ(ListIds(kStaffStation), std::vector<std::string>{"patrol-e2e-staff"});
  EXPECT_TRUE(ListIds(kStaffJd1).empty());

  // The figures of the period, per grid and person, in each caller's scope.
  v1::GetPatrolStatisticsRequest stats_req;
  SetSeconds(start - 3600, stats_req.mutable_start_time());
  SetSeconds(NowSeconds() + 60, stats_req.mutable_end_time());
  v1::PatrolStatistics stats;
  ASSERT_TRUE(Do(&Stub::GetPatrolStatistics, kSupervisor, stats_req, &stats).ok());
  ASSERT_EQ(stats.rows_size(), 2);
  const auto& leader_row = stats.rows(0);
  EXPECT_EQ(leader_row.grid_code(), kCell1);
  EXPECT_EQ(leader_row.user_id(), "u-leader-001");
  EXPECT_EQ(leader_row.patrol_count(), 1);
  EXPECT_DOUBLE_EQ(leader_row.hours(), 1.0);
  EXPECT_NEAR(leader_row.kilometres(), Get("patrol-e2e-1").length_metres() / 1000, 1e-9);
  EXPECT_EQ(leader_row.patrol_days(), 1);
  EXPECT_EQ(leader_row.visit_count(), 1);
  EXPECT_EQ(leader_row.report_count(), 1);
  EXPECT_EQ(stats.rows(1).user_id(), "u-staff-cg410184001-001");
  EXPECT_EQ(stats.total().patrol_count(), 2);
  EXPECT_EQ(stats.total().patrol_days(), 2);
  ASSERT_TRUE(Do(&Stub::GetPatrolStatistics, kLeader1, stats_req, &stats).ok());
  ASSERT_EQ(stats.rows_size(), 1);
  EXPECT_EQ(stats.rows(0).user_id(), "u-leader-001");
  ASSERT_TRUE(Do(&Stub::GetPatrolStatistics, kDispatcher2, stats_req, &stats).ok());
  EXPECT_EQ(stats.rows_size(), 0);
  stats_req.set_grid_code("410100");  // above the supervisor's district
  EXPECT_EQ(FieldsOf(Do(&Stub::GetPatrolStatistics, kSupervisor, stats_req, &stats)),
            std::vector<std::string>{"grid_code"});
}

gc::Options OptionsFor(int port, const std::string& token, milliseconds retry_for) {
  return gc::Options{}
      .set<gc::EndpointOption>(absl::StrCat("127.0.0.1:", port))
      .set<gc::AuthTokenOption>(token)
      .set<gc::InsecureChannelOption>(true)
      .set<gc::TimeoutOption>(milliseconds(10000))
      .set<gc::RetryPolicyOption>(std::make_shared<gc::LimitedTimeRetryPolicy>(retry_for))
      .set<gc::BackoffPolicyOption>(
          std::make_shared<gc::ExponentialBackoffPolicy>(milliseconds(20), milliseconds(100)));
}

// A patrol made without signal goes into the outbox; the app restarts; the server comes up and
// the outbox is flushed; then a copy of the outbox taken before the flush (an app killed before
// it recorded what was sent) is flushed again after a server restart. The server holds the
// patrol exactly once, in order.
TEST_P(PatrolTest, TheOutboxCarriesAPatrolMadeOfflineExactlyOnce) {
  const int port = FreePort();  // nothing listens yet
  const std::string path = dir_.path() + "/outbox.db";
  const int64_t start = NowSeconds() - 1800;
  {
    auto outbox = gc::Outbox::Open(path);
    ASSERT_TRUE(outbox.ok()) << outbox.status();
    v1::StartPatrolRequest s;
    s.set_patrol_id("patrol-offline");
    s.set_grid_code(kCell1);
    SetSeconds(start, s.mutable_start_time());
    ASSERT_TRUE((*outbox)->EnqueuePatrolStart(s).ok());
    v1::AppendTrackRequest t;
    t.set_patrol_id("patrol-offline");
    for (const auto& p : Walk(start + 60, 5, 34.39)) *t.add_points() = p;
    ASSERT_TRUE((*outbox)->EnqueueTrack(t).ok());
    gc::ReportClient reports(
        gc::MakeReportConnection(OptionsFor(port, kLeader1, milliseconds(200))));
    gc::PatrolClient patrols(
        gc::MakePatrolConnection(OptionsFor(port, kLeader1, milliseconds(200))));
    auto flushed = (*outbox)->Flush(reports, &patrols);
    ASSERT_TRUE(flushed.ok()) << flushed.status();
    EXPECT_EQ(flushed->sent, 0);
    EXPECT_EQ(flushed->pending, 2);
    EXPECT_EQ(flushed->stopped_by.code(), gc::StatusCode::kUnavailable);
  }
  {
    // The app restarts and the patrol goes on.
    auto outbox = gc::Outbox::Open(path);
    ASSERT_TRUE(outbox.ok());
    v1::AppendTrackRequest t;
    t.set_patrol_id("patrol-offline");
    for (const auto& p : Walk(start + 360, 5, 34.39225)) *t.add_points() = p;
    ASSERT_TRUE((*outbox)->EnqueueTrack(t).ok());
    v1::RecordVisitRequest v;
    v.set_patrol_id("patrol-offline");
    v.set_kind(v1::VISIT_HOUSEHOLD);
    v.set_subject("3号楼2单元101");
    SetSeconds(start + 400, v.mutable_visit_time());
    ASSERT_TRUE((*outbox)->EnqueueVisit(v).ok());
    v1::EndPatrolRequest e;
    e.set_patrol_id("patrol-offline");
    SetSeconds(start + 900, e.mutable_end_time());
    ASSERT_TRUE((*outbox)->EnqueuePatrolEnd(e).ok());
    auto entries = (*outbox)->List();
    ASSERT_TRUE(entries.ok());
    ASSERT_EQ(entries->size(), 5u);
    EXPECT_EQ((*entries)[0].kind, gc::OutboxKind::kPatrolStart);
    EXPECT_EQ((*entries)[4].kind, gc::OutboxKind::kPatrolEnd);
    // Without a patrol client the flush stops at the first patrol entry and tries nothing.
    gc::ReportClient reports(
        gc::MakeReportConnection(OptionsFor(port, kLeader1, milliseconds(200))));
    auto reports_only = (*outbox)->Flush(reports);
    ASSERT_TRUE(reports_only.ok());
    EXPECT_EQ(reports_only->stopped_by.code(), gc::StatusCode::kFailedPrecondition);
    EXPECT_EQ(reports_only->pending, 5);
  }
  std::filesystem::copy_file(path, dir_.path() + "/outbox-copy.db");

  auto server = StartServerAt(port);
  ASSERT_TRUE(server);
  gc::ReportClient reports(
      gc::MakeReportConnection(OptionsFor(port, kLeader1, milliseconds(5000))));
  gc::PatrolClient patrols(
      gc::MakePatrolConnection(OptionsFor(port, kLeader1, milliseconds(5000))));
  {
    auto outbox = gc::Outbox::Open(path);
    ASSERT_TRUE(outbox.ok());
    auto flushed = (*outbox)->Flush(reports, &patrols);
    ASSERT_TRUE(flushed.ok()) << flushed.status();
    EXPECT_EQ(flushed->sent, 5) << flushed->stopped_by.message();
    EXPECT_EQ(flushed->pending, 0);
  }
  auto first = patrols.GetPatrol("patrol-offline");
  ASSERT_TRUE(first.ok()) << first.status();

  ASSERT_EQ(server->Stop(SIGTERM), 0);
  server = StartServerAt(port);
  ASSERT_TRUE(server);
  {
    auto copy = gc::Outbox::Open(dir_.path() + "/outbox-copy.db");
    ASSERT_TRUE(copy.ok());
    auto flushed = (*copy)->Flush(reports, &patrols);
    ASSERT_TRUE(flushed.ok()) << flushed.status();
    EXPECT_EQ(flushed->sent, 5) << flushed->stopped_by.message();
    EXPECT_EQ(flushed->failed, 0);
  }
  auto patrol = patrols.GetPatrol("patrol-offline");
  ASSERT_TRUE(patrol.ok()) << patrol.status();
  EXPECT_EQ(patrol->state(), v1::PATROL_ENDED);
  EXPECT_EQ(patrol->point_count(), 10);
  EXPECT_EQ(patrol->visit_count(), 1);
  EXPECT_EQ(patrol->version(), first->version());
  EXPECT_EQ(patrol->version(), 5);  // start, two batches, a visit, the end
  EXPECT_EQ(patrol->start_time().seconds(), start);
  EXPECT_EQ(patrol->end_time().seconds(), start + 900);
  auto points = patrols.ListTrackPoints("patrol-offline");
  ASSERT_TRUE(points.ok());
  ASSERT_EQ(points->size(), 10u);
  for (size_t i = 1; i < points->size(); ++i) {
    EXPECT_LT((*points)[i - 1].time().seconds(), (*points)[i].time().seconds());
  }
  auto visits = patrols.ListVisits("patrol-offline");
  ASSERT_TRUE(visits.ok());
  ASSERT_EQ(visits->size(), 1u);
  EXPECT_EQ((*visits)[0].visit_time().seconds(), start + 400);
}

INSTANTIATE_TEST_SUITE_P(Backends, PatrolTest,
                         ::testing::Values(Backend::kSqlite, Backend::kMariaDb),
                         [](const auto& info) { return testing::BackendName(info.param); });

}  // namespace
}  // namespace gridline
