// Issue 12: the operator check and the audit log are decorators in the service layer
// (service/operator_calls.h), so every front door gets both by running its calls through the
// stack. Over a real store (SQLite and MariaDB), with the time from a util::ManualClock.
#include "server/service/operator_calls.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "server/store/store.h"
#include "server/util/clock.h"
#include "tests/test_support.h"

namespace gridline {
namespace {

using testing::Backend;

constexpr domain::Micros kNow = 1772413200LL * 1000000;

class OperatorCallsTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    store_ = testing::OpenStoreForTest(GetParam(), dir_);
    if (!store_) return;  // skipped, or a failure recorded
    calls_ = service::MakeOperatorCalls(store_.get(), &clock_);
    op_.user = {"op", "运维", domain::Role::kOperator, "", "", false};
    op_.token_id = "tok-op";
    leader_.user = {"u1", "张三", domain::Role::kGridLeader, "G1", "", false};
  }

  std::vector<domain::AuditEntry> Log() {
    auto entries = store_->ListAudit(store::AuditQuery{});
    EXPECT_TRUE(entries.ok()) << entries.status();
    return entries.ok() ? *entries : std::vector<domain::AuditEntry>{};
  }

  testing::TempDir dir_;
  util::ManualClock clock_{kNow};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<service::OperatorCalls> calls_;
  domain::Caller op_, leader_;
};

TEST_P(OperatorCallsTest, AWriteRunsAndIsRecordedWithTheIdItAssigned) {
  if (!store_) return;
  service::OperatorCall call{
      "/gridline.v1.AdminService/CreateUser", true, {"user", ""}, "user { name: \"李四\" }"};
  int ran = 0;
  absl::Status s = calls_->Run({op_, kNow + 5, "ipv4:127.0.0.1:1", {}}, call, [&](std::string* id) {
    ++ran;
    *id = "u-new";
    return absl::OkStatus();
  });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(ran, 1);
  auto log = Log();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].actor_user_id, "op");
  EXPECT_EQ(log[0].actor_token_id, "tok-op");
  EXPECT_EQ(log[0].method, "/gridline.v1.AdminService/CreateUser");
  EXPECT_EQ(log[0].resource_kind, "user");
  EXPECT_EQ(log[0].resource_id, "u-new");
  EXPECT_EQ(log[0].status_code, 0);
  EXPECT_EQ(log[0].request_summary, "user { name: \"李四\" }");
  EXPECT_EQ(log[0].peer, "ipv4:127.0.0.1:1");
  EXPECT_EQ(log[0].event_time, kNow + 5);
}

TEST_P(OperatorCallsTest, ANonOperatorIsRefusedBeforeTheWorkAndTheRefusalIsRecorded) {
  if (!store_) return;
  service::OperatorCall call{"/gridline.v1.AdminService/DeleteGrid", true, {"grid", "G1"}, ""};
  bool ran = false;
  absl::Status s = calls_->Run({leader_, kNow, "peer", {}}, call, [&](std::string*) {
    ran = true;
    return absl::OkStatus();
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
  EXPECT_FALSE(ran);
  auto log = Log();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].actor_user_id, "u1");
  EXPECT_EQ(log[0].status_code, static_cast<int>(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(log[0].resource_id, "G1");
}

TEST_P(OperatorCallsTest, AFailedWriteIsRecordedWithItsStatusAndReadsAreNotRecorded) {
  if (!store_) return;
  service::OperatorCall write{"/gridline.v1.AdminService/UpdateGrid", true, {"grid", "G9"}, ""};
  absl::Status s = calls_->Run({op_, kNow, "peer", {}}, write, [](std::string*) {
    return absl::NotFoundError("grid G9 not found");
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  service::OperatorCall read{"/gridline.v1.AdminService/GetGrid", false, {}, ""};
  EXPECT_TRUE(
      calls_->Run({op_, kNow, "peer", {}}, read, [](std::string*) { return absl::OkStatus(); })
          .ok());
  auto log = Log();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].method, "/gridline.v1.AdminService/UpdateGrid");
  EXPECT_EQ(log[0].status_code, static_cast<int>(absl::StatusCode::kNotFound));
  EXPECT_EQ(log[0].status_message, "grid G9 not found");
}

TEST_P(OperatorCallsTest, ACallsAudienceDecidesWhoGetsPastTheCheck) {
  if (!store_) return;
  domain::Caller supervisor, dispatcher;
  supervisor.user = {"u-s", "王五", domain::Role::kSupervisor, "G1", "", false};
  dispatcher.user = {"u-d", "赵六", domain::Role::kDispatcher, "G1", "", false};
  const auto run = [&](const domain::Caller& who, service::Audience audience) {
    service::OperatorCall call{"/gridline.v1.AdminService/GetStatistics", false, {}, "", audience};
    bool ran = false;
    absl::Status s = calls_->Run({who, kNow, "peer", {}}, call, [&](std::string*) {
      ran = true;
      return absl::OkStatus();
    });
    EXPECT_EQ(ran, s.ok());
    return s.code();
  };
  using service::Audience;
  EXPECT_EQ(run(op_, Audience::kOperators), absl::StatusCode::kOk);
  EXPECT_EQ(run(supervisor, Audience::kOperators), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(run(supervisor, Audience::kOperatorsAndSupervisors), absl::StatusCode::kOk);
  EXPECT_EQ(run(dispatcher, Audience::kOperatorsAndSupervisors),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(run(leader_, Audience::kAnyone), absl::StatusCode::kOk);
  EXPECT_EQ(run(op_, Audience::kOperatorsAndSupervisors), absl::StatusCode::kOk);
  EXPECT_TRUE(Log().empty()) << "reads are not recorded";
}

TEST_P(OperatorCallsTest, OverLongFieldsAreCutOnACharacterBoundary) {
  if (!store_) return;
  std::string code;
  for (int i = 0; i < 40; ++i) code += "网";  // 120 bytes
  service::OperatorCall call{"/gridline.v1.AdminService/CreateGrid", true, {"grid", code}, ""};
  ASSERT_FALSE(calls_
                   ->Run({op_, kNow, "peer", {}}, call,
                         [](std::string*) { return absl::InvalidArgumentError("bad code"); })
                   .ok());
  auto log = Log();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].resource_id, code.substr(0, 63));  // 21 characters of 3 bytes
}

INSTANTIATE_TEST_SUITE_P(Backends, OperatorCallsTest,
                         ::testing::Values(Backend::kSqlite, Backend::kMariaDb),
                         [](const auto& info) { return testing::BackendName(info.param); });

}  // namespace
}  // namespace gridline
