// Issue 14, supervision orders (督办): issued by the center or a supervisor above a case,
// acknowledged and answered by the lead department, escalated one level up the grid tree when
// unanswered, once per level, by two replicas at once. Real servers over gRPC on SQLite and on
// MariaDB; time moves by restarting the servers with a test clock offset, never by sleeping.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gridline/v1/admin_service.grpc.pb.h"
#include "gridline/v1/department_service.grpc.pb.h"
#include "gridline/v1/dispatch_service.grpc.pb.h"
#include "gridline/v1/report_service.grpc.pb.h"
#include "tests/e2e_fixture.h"

namespace gridline {
namespace {

namespace v1 = ::gridline::v1;
using namespace testing;  // NOLINT: demo tokens, the fixture
using Dispatch = v1::DispatchService::Stub;
using Dept = v1::DepartmentService::Stub;

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class SupervisionTest : public E2eTest {
 protected:
  // A server on `port` whose clock runs `offset` seconds ahead, checking for due escalations
  // every second, escalating again every minute.
  std::unique_ptr<ServerProcess> StartAt(int port, int64_t offset) {
    return StartConfiguredServer(
        port, absl::StrCat("watch { heartbeat_interval_ms: 200 poll_interval_ms: 50 }\n",
                           "worker_threads: 4\nhealth_check_interval_ms: 200\n",
                           "shutdown_grace_ms: 2000\n",
                           "deadline_warnings { check_interval_seconds: 1 }\n",
                           "supervision { escalation_interval_minutes: 1 }\n",
                           "test_clock_offset_seconds: ", offset, "\n"));
  }

  void Connect(int port) {
    auto channel = Channel(port);
    report_ = v1::ReportService::NewStub(channel);
    dispatch_ = v1::DispatchService::NewStub(channel);
    dept_ = v1::DepartmentService::NewStub(channel);
    admin_ = v1::AdminService::NewStub(channel);
  }

  grpc::Status Issue(const std::string& token, const std::string& case_id,
                     const std::string& request_id, int64_t respond_by, v1::SupervisionOrder* out,
                     const std::string& reason = "群众反映强烈，请加快处置") {
    v1::IssueSupervisionOrderRequest req;
    req.set_case_id(case_id);
    req.set_request_id(request_id);
    req.set_reason(reason);
    req.mutable_respond_by_time()->set_seconds(respond_by);
    return Call(dispatch_.get(), &Dispatch::IssueSupervisionOrder, token, req, out);
  }

  v1::SupervisionOrder Find(const std::string& order_id) {
    v1::ListSupervisionOrdersRequest req;
    v1::ListSupervisionOrdersResponse resp;
    EXPECT_TRUE(
        Call(dispatch_.get(), &Dispatch::ListSupervisionOrders, kSupervisor, req, &resp).ok());
    for (const auto& o : resp.orders()) {
      if (o.order_id() == order_id) return o;
    }
    ADD_FAILURE() << "no order " << order_id;
    return {};
  }

  // The SUPERVISION_* events after `cursor` on a stream `open` gives, until `want` of them came
  // (or 30 s passed).
  template <typename Open>
  std::vector<v1::CaseEvent> SupervisionEvents(Open open, size_t want) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    auto reader = open(&ctx);
    std::vector<v1::CaseEvent> out;
    v1::WatchEvent ev;
    while (out.size() < want && reader->Read(&ev)) {
      if (ev.has_event() && ev.event().type() >= v1::SUPERVISION_ORDERED) out.push_back(ev.event());
    }
    ctx.TryCancel();
    reader->Finish().IgnoreError();
    return out;
  }

  std::vector<v1::CaseEvent> QueueEvents(const std::string& token, const std::string& cursor,
                                         size_t want) {
    return SupervisionEvents(
        [&](grpc::ClientContext* ctx) {
          ctx->AddMetadata("authorization", "Bearer " + token);
          v1::WatchQueueRequest req;
          req.set_after_cursor(cursor);
          return dispatch_->WatchQueue(ctx, req);
        },
        want);
  }

  std::unique_ptr<v1::ReportService::Stub> report_;
  std::unique_ptr<v1::DispatchService::Stub> dispatch_;
  std::unique_ptr<v1::DepartmentService::Stub> dept_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
};

TEST_P(SupervisionTest, AnUnansweredOrderEscalatesOncePerLevelFromTwoReplicas) {
  const int port_a = FreePort();
  const int port_b = FreePort();
  auto a = StartAt(port_a, 0);
  ASSERT_TRUE(a);
  Connect(port_a);

  // A street light out: filed and routed to SZ by rule.
  v1::SubmitReportRequest report = Report("supervised-1", "路灯不亮已一周");
  report.set_category_code("C04_STREET_LIGHT_OUT");
  v1::SubmitReportResponse submitted;
  ASSERT_TRUE(Submit(report_.get(), report, &submitted).ok());
  const v1::Case& c = submitted.case_();
  ASSERT_EQ(c.state(), v1::DISPATCHED);
  ASSERT_EQ(c.lead_department_code(), "SZ");
  const std::string cursor = submitted.event_cursor();

  // Refusals: outside the issuer's subtree, a grid leader, too soon, a case still in triage.
  const int64_t now = NowSeconds();
  v1::SupervisionOrder o1, o2, got;
  EXPECT_EQ(Issue(kDispatcher2, c.case_id(), "o-x", now + 61, &got).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Issue(kLeader1, c.case_id(), "o-x", now + 61, &got).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(FieldsOf(Issue(kDispatcher1, c.case_id(), "o-x", now + 10, &got)),
            std::vector<std::string>{"respond_by_time"});
  v1::SubmitReportResponse pending;
  ASSERT_TRUE(Submit(report_.get(), Report("supervised-pending"), &pending).ok());
  ASSERT_EQ(pending.case_().state(), v1::PENDING_TRIAGE);
  EXPECT_EQ(Issue(kDispatcher1, pending.case_().case_id(), "o-x", now + 600, &got).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  // O1 from the street's center, due in 61 s; a retry returns it. O2 from the supervisor.
  ASSERT_TRUE(Issue(kDispatcher1, c.case_id(), "o-1", now + 70, &o1).ok());
  EXPECT_EQ(o1.state(), v1::ORDER_OPEN);
  EXPECT_EQ(o1.holder_grid_code(), "410184001");
  EXPECT_EQ(o1.lead_department_code(), "SZ");
  ASSERT_TRUE(Issue(kDispatcher1, c.case_id(), "o-1", now + 70, &got).ok());
  EXPECT_EQ(got.order_id(), o1.order_id());
  EXPECT_EQ(Issue(kDispatcher1, c.case_id(), "o-1", now + 71, &got).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  ASSERT_TRUE(Issue(kSupervisor, c.case_id(), "o-2", now + 600, &o2).ok());
  EXPECT_EQ(o2.holder_grid_code(), "410184");

  // SZ acknowledges both and answers O2 in time; only SZ may.
  v1::AcknowledgeSupervisionOrderRequest ack;
  ack.set_order_id(o1.order_id());
  EXPECT_EQ(Call(dept_.get(), &Dept::AcknowledgeSupervisionOrder, kStaffCg, ack, &got).error_code(),
            grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(Call(dept_.get(), &Dept::AcknowledgeSupervisionOrder, kStaffSz, ack, &got).ok());
  EXPECT_EQ(got.state(), v1::ORDER_ACKNOWLEDGED);
  ASSERT_TRUE(Call(dept_.get(), &Dept::AcknowledgeSupervisionOrder, kStaffSz, ack, &got).ok());
  EXPECT_EQ(got.version(), 2);  // acknowledging again changes nothing
  ack.set_order_id(o2.order_id());
  ASSERT_TRUE(Call(dept_.get(), &Dept::AcknowledgeSupervisionOrder, kStaffSz, ack, &got).ok());
  v1::AnswerSupervisionOrderRequest answer;
  answer.set_order_id(o2.order_id());
  EXPECT_EQ(FieldsOf(Call(dept_.get(), &Dept::AnswerSupervisionOrder, kStaffSz, answer, &got)),
            std::vector<std::string>{"note"});
  answer.set_note("已派人更换灯泡，今晚恢复照明");
  ASSERT_TRUE(Call(dept_.get(), &Dept::AnswerSupervisionOrder, kStaffSz, answer, &got).ok());
  EXPECT_EQ(got.state(), v1::ORDER_ANSWERED);
  EXPECT_FALSE(got.has_next_escalation_time());
  ASSERT_TRUE(Call(dept_.get(), &Dept::AnswerSupervisionOrder, kStaffSz, answer, &got).ok());
  answer.set_note("另一个答复");
  EXPECT_EQ(Call(dept_.get(), &Dept::AnswerSupervisionOrder, kStaffSz, answer, &got).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  // Two replicas whose clocks run ahead so that O1 falls due a few seconds after both are up;
  // both look every second. It escalates to the district once.
  a.reset();
  int64_t offset = (now + 70) - NowSeconds() - 6;
  a = StartAt(port_a, offset);
  auto b = StartAt(port_b, offset);
  ASSERT_TRUE(a && b);
  Connect(port_b);
  auto first = QueueEvents(kSupervisor, cursor, 6);
  ASSERT_EQ(first.size(), 6u);
  EXPECT_EQ(first[5].type(), v1::SUPERVISION_ESCALATED);
  EXPECT_EQ(first[5].related_id(), o1.order_id());
  EXPECT_EQ(first[5].actor_user_id(), "gridline");
  v1::SupervisionOrder once = Find(o1.order_id());
  EXPECT_EQ(once.escalation_count(), 1);
  EXPECT_EQ(once.holder_grid_code(), "410184");

  // A minute later (the escalation interval) it escalates to the city, once more; the city is
  // the root, so that is the last.
  a.reset();
  b.reset();
  offset = (now + 70 + 60) - NowSeconds() - 6;
  a = StartAt(port_a, offset);
  b = StartAt(port_b, offset);
  ASSERT_TRUE(a && b);
  Connect(port_a);
  auto all = QueueEvents(kSupervisor, cursor, 7);
  ASSERT_EQ(all.size(), 7u);
  std::vector<v1::CaseEventType> types;
  for (const auto& e : all) types.push_back(e.type());
  EXPECT_EQ(types,
            (std::vector<v1::CaseEventType>{v1::SUPERVISION_ORDERED, v1::SUPERVISION_ORDERED,
                                            v1::SUPERVISION_ACKNOWLEDGED,
                                            v1::SUPERVISION_ACKNOWLEDGED, v1::SUPERVISION_ANSWERED,
                                            v1::SUPERVISION_ESCALATED, v1::SUPERVISION_ESCALATED}));
  v1::SupervisionOrder twice = Find(o1.order_id());
  EXPECT_EQ(twice.escalation_count(), 2);
  EXPECT_EQ(twice.holder_grid_code(), "410100");
  EXPECT_FALSE(twice.has_next_escalation_time());

  // The case's history holds each escalation once; the center's and SZ's streams carry them.
  v1::ListCaseEventsRequest history_req;
  history_req.set_case_id(c.case_id());
  v1::ListCaseEventsResponse history;
  ASSERT_TRUE(Call(report_.get(), &v1::ReportService::Stub::ListCaseEvents, kDispatcher1,
                   history_req, &history)
                  .ok());
  int escalations = 0;
  for (const auto& e : history.events()) escalations += e.type() == v1::SUPERVISION_ESCALATED;
  EXPECT_EQ(escalations, 2);
  EXPECT_EQ(QueueEvents(kDispatcher1, cursor, 7).size(), 7u);
  auto dept_events = SupervisionEvents(
      [&](grpc::ClientContext* ctx) {
        ctx->AddMetadata("authorization", std::string("Bearer ") + kStaffSz);
        v1::WatchAssignmentsRequest req;
        req.set_after_cursor(cursor);
        return dept_->WatchAssignments(ctx, req);
      },
      7);
  EXPECT_EQ(dept_events.size(), 7u);

  // Lists in scope, and the figures: two orders, one answered on time, one escalated.
  v1::ListSupervisionOrdersRequest list_req;
  v1::ListSupervisionOrdersResponse list;
  ASSERT_TRUE(
      Call(dispatch_.get(), &Dispatch::ListSupervisionOrders, kDispatcher2, list_req, &list).ok());
  EXPECT_EQ(list.orders_size(), 0);
  ASSERT_TRUE(Call(dept_.get(), &Dept::ListSupervisionOrders, kStaffSz, list_req, &list).ok());
  EXPECT_EQ(list.orders_size(), 2);
  ASSERT_TRUE(Call(dept_.get(), &Dept::ListSupervisionOrders, kStaffCg, list_req, &list).ok());
  EXPECT_EQ(list.orders_size(), 0);
  v1::GetStatisticsRequest stats_req;
  stats_req.mutable_start_time()->set_seconds(now - 3600);
  v1::Statistics stats;
  ASSERT_TRUE(
      Call(admin_.get(), &v1::AdminService::Stub::GetStatistics, kSupervisor, stats_req, &stats)
          .ok());
  EXPECT_EQ(stats.supervision_order_count(), 2);
  EXPECT_EQ(stats.supervision_answered_on_time_count(), 1);
  EXPECT_EQ(stats.supervision_escalated_count(), 1);
  stats_req.set_department_code("CG");
  ASSERT_TRUE(
      Call(admin_.get(), &v1::AdminService::Stub::GetStatistics, kOperator, stats_req, &stats)
          .ok());
  EXPECT_EQ(stats.supervision_order_count(), 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, SupervisionTest,
                         ::testing::Values(Backend::kSqlite, Backend::kMariaDb),
                         [](const auto& info) { return testing::BackendName(info.param); });

}  // namespace
}  // namespace gridline
