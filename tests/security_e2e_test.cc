// The defences of SECURITY.md against an abusive app and a leaked token, end to end: a real
// gridline-server with rate limits in its config, raw gRPC stubs (to see every status and its
// RetryInfo) and the SDK with its outbox (to see that it waits as told and drops nothing).
// Also the secure defaults: no plain text off loopback, token lifetimes and rotation, and the
// denials that are audited.
#include <grpcpp/grpcpp.h>

#include <fstream>
#include <thread>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gridline/client/admin_client.h"
#include "gridline/client/outbox.h"
#include "gridline/client/report_client.h"
#include "gridline/v1/admin_service.grpc.pb.h"
#include "tests/e2e_fixture.h"
#include "tests/sdk_test_data.h"

namespace gridline::testing {
namespace {

namespace gc = ::gridline::client;
using std::chrono::milliseconds;

// The google.rpc.RetryInfo delay of `status`, in ms; -1 when it has none.
int64_t RetryDelayMs(const grpc::Status& status) {
  google::rpc::Status rich;
  if (!rich.ParseFromString(status.error_details())) return -1;
  for (const auto& any : rich.details()) {
    google::rpc::RetryInfo retry;
    if (any.UnpackTo(&retry)) {
      return retry.retry_delay().seconds() * 1000 + retry.retry_delay().nanos() / 1000000;
    }
  }
  return -1;
}

class SecurityE2eTest : public E2eTest {
 protected:
  // A demo server whose config is the fixture's plus `extra`.
  std::unique_ptr<ServerProcess> StartWith(const std::string& extra, int* port) {
    *port = FreePort();
    return StartConfiguredServer(*port, absl::StrCat("watch { heartbeat_interval_ms: 200 }\n",
                                                     "health_check_interval_ms: 200\n", extra));
  }

  grpc::Status GetCaseCall(v1::ReportService::Stub* stub, const std::string& token) {
    v1::Case out;
    return GetCase(stub, "no-such-case", &out, token);
  }

  grpc::Status ListTokens(int port, v1::ListTokensResponse* out, const std::string& user = "") {
    auto admin = v1::AdminService::NewStub(Channel(port));
    grpc::ClientContext ctx;
    Authorize(&ctx, kOperator);
    v1::ListTokensRequest req;
    req.set_user_id(user);
    req.set_include_inactive(true);
    req.set_page_size(1000);
    return admin->ListTokens(&ctx, req, out);
  }

  grpc::Status Issue(int port, const v1::IssueTokenRequest& req, v1::IssueTokenResponse* out) {
    auto admin = v1::AdminService::NewStub(Channel(port));
    grpc::ClientContext ctx;
    Authorize(&ctx, kOperator);
    return admin->IssueToken(&ctx, req, out);
  }

  grpc::Status Rotate(int port, const v1::RotateTokenRequest& req, v1::IssueTokenResponse* out) {
    auto admin = v1::AdminService::NewStub(Channel(port));
    grpc::ClientContext ctx;
    Authorize(&ctx, kOperator);
    return admin->RotateToken(&ctx, req, out);
  }
};

TEST_P(SecurityE2eTest, WritesPerTokenAndPerAddressAreLimitedWithRetryInfo) {
  int port = 0;
  auto server = StartWith(
      "rate_limits { per_token { writes_per_second: 0.01 write_burst: 3 } "
      "per_peer { writes_per_second: 0.01 write_burst: 5 } }\n",
      &port);
  ASSERT_NE(server, nullptr);
  auto stub = v1::ReportService::NewStub(Channel(port));

  for (int i = 0; i < 3; ++i) {
    v1::SubmitReportResponse r;
    ASSERT_TRUE(Submit(stub.get(), Report(absl::StrCat("limit-a-", i)), &r).ok()) << i;
  }
  v1::SubmitReportResponse refused;
  grpc::Status s = Submit(stub.get(), Report("limit-a-3"), &refused);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_NE(s.error_message().find("writes per token"), std::string::npos) << s.error_message();
  // 0.01 writes per second: the next one in about 100 s.
  EXPECT_GT(RetryDelayMs(s), 50000) << s.error_message();
  EXPECT_LE(RetryDelayMs(s), 100000) << s.error_message();
  // A refused write did nothing: the same request id later files it once (here: another token
  // may, under its own limit, and the refused id is not taken).
  // Reads are not writes.
  EXPECT_EQ(GetCaseCall(stub.get(), kLeader1).error_code(), grpc::StatusCode::NOT_FOUND);

  // Another token of the same address has its own allowance, up to the address's 5 writes.
  for (int i = 0; i < 2; ++i) {
    v1::SubmitReportResponse r;
    ASSERT_TRUE(Submit(stub.get(), Report(absl::StrCat("limit-b-", i)), &r, kLeader2).ok()) << i;
  }
  s = Submit(stub.get(), Report("limit-b-2"), &refused, kLeader2);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_NE(s.error_message().find("writes per address"), std::string::npos) << s.error_message();
  EXPECT_GT(RetryDelayMs(s), 0);

  // Nothing refused was stored: 5 cases, the refused request ids unknown.
  auto raw = Raw();
  ASSERT_TRUE(raw);
  auto rows = raw->Query("SELECT COUNT(*) FROM cases");
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(rows->front().Int(0), 5);
}

TEST_P(SecurityE2eTest, RoleLimitsReplaceTheTokenDefaults) {
  int port = 0;
  auto server = StartWith(
      "rate_limits { per_token { write_burst: 1 writes_per_second: 0.01 } "
      "per_role { role: \"GRID_LEADER\" limits { write_burst: 4 } } }\n",
      &port);
  ASSERT_NE(server, nullptr);
  auto stub = v1::ReportService::NewStub(Channel(port));
  for (int i = 0; i < 4; ++i) {
    v1::SubmitReportResponse r;
    ASSERT_TRUE(Submit(stub.get(), Report(absl::StrCat("role-", i)), &r).ok()) << i;
  }
  v1::SubmitReportResponse r;
  EXPECT_EQ(Submit(stub.get(), Report("role-4"), &r).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST_P(SecurityE2eTest, PhotoBytesPerHourAreLimitedAsTheyArrive) {
  int port = 0;
  auto server = StartWith("rate_limits { per_token { upload_bytes_per_hour: 50000 } }\n", &port);
  ASSERT_NE(server, nullptr);
  gc::ReportClient handset(gc::MakeReportConnection(
      OptionsFor(port, kLeader1)
          .set<gc::RetryPolicyOption>(std::make_shared<gc::LimitedErrorCountRetryPolicy>(0))));
  auto first = handset.UploadPhoto(NumberedPhoto(1, 0));  // 20,000 bytes
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = handset.UploadPhoto(NumberedPhoto(1, 1));
  ASSERT_TRUE(second.ok()) << second.status();
  auto third = handset.UploadPhoto(NumberedPhoto(1, 2));  // 60,000 > 50,000 in the hour
  ASSERT_EQ(third.status().code(), absl::StatusCode::kResourceExhausted) << third.status();
  EXPECT_NE(third.status().message().find("photo bytes per hour"), std::string::npos)
      << third.status();
  // About 10,000 bytes over at 50,000 an hour: some 12 minutes.
  EXPECT_GT(gc::GetErrorDetails(third.status()).retry_delay, milliseconds(60000));
  // The third photo was not stored.
  auto raw = Raw();
  ASSERT_TRUE(raw);
  auto rows = raw->Query("SELECT COUNT(*) FROM attachments");
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(rows->front().Int(0), 2);
}

TEST_P(SecurityE2eTest, StreamOpensAndOpenStreamsPerUserAreLimited) {
  int port = 0;
  auto server = StartWith(
      "rate_limits { max_streams_per_user: 2 per_token { stream_opens_per_minute: 600 "
      "stream_open_burst: 3 } }\n",
      &port);
  ASSERT_NE(server, nullptr);
  auto channel = Channel(port);
  auto stub = v1::ReportService::NewStub(channel);
  struct Open {
    grpc::ClientContext ctx;
    std::unique_ptr<grpc::ClientReader<v1::WatchEvent>> reader;
    v1::WatchEvent first;
  };
  auto open = [&](const std::string& token) {
    auto o = std::make_unique<Open>();
    o->ctx.AddMetadata("authorization", "Bearer " + token);
    o->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    o->reader = stub->WatchCases(&o->ctx, v1::WatchCasesRequest());
    return o;
  };
  auto a = open(kLeader1);
  ASSERT_TRUE(a->reader->Read(&a->first));  // the greeting: the stream is open
  auto b = open(kLeader1);
  ASSERT_TRUE(b->reader->Read(&b->first));
  auto c = open(kLeader1);
  v1::WatchEvent none;
  EXPECT_FALSE(c->reader->Read(&none));
  grpc::Status refused = c->reader->Finish();
  ASSERT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << refused.error_message();
  EXPECT_NE(refused.error_message().find("open watch streams"), std::string::npos)
      << refused.error_message();
  EXPECT_GT(RetryDelayMs(refused), 0);

  // Another user is not affected by this user's streams; but three opens were this token's burst
  // of 3 and the fourth is refused by the open rate (600 a minute: 100 ms).
  auto d = open(kLeader2);
  ASSERT_TRUE(d->reader->Read(&d->first));
  d->ctx.TryCancel();
  d->reader->Finish().IgnoreError();

  // Closing a stream frees its place (freed when the server has seen the end: wait for it).
  a->ctx.TryCancel();
  a->reader->Finish().IgnoreError();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  bool reopened = false;
  grpc::Status last;
  while (!reopened && std::chrono::steady_clock::now() < deadline) {
    auto e = open(kLeader1);
    v1::WatchEvent greeting;
    if (e->reader->Read(&greeting)) {
      reopened = true;
      e->ctx.TryCancel();
    }
    last = e->reader->Finish();
    if (!reopened) {
      ASSERT_EQ(last.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << last.error_message();
      // Wait for the event the server asked to wait for, then try again.
      std::this_thread::sleep_for(milliseconds(std::max<int64_t>(RetryDelayMs(last), 10) / 10));
    }
  }
  EXPECT_TRUE(reopened) << last.error_message();
  b->ctx.TryCancel();
  b->reader->Finish().IgnoreError();
}

TEST_P(SecurityE2eTest, StreamOpensAreLimitedPerTokenAndPerAddress) {
  int port = 0;
  auto server = StartWith(
      "rate_limits { per_token { stream_opens_per_minute: 0.1 stream_open_burst: 2 } "
      "per_peer { stream_opens_per_minute: 0.1 stream_open_burst: 3 } }\n",
      &port);
  ASSERT_NE(server, nullptr);
  auto stub = v1::ReportService::NewStub(Channel(port));
  // Opens a watch and closes it again: the status of its open.
  auto open_and_close = [&](const std::string& token) {
    grpc::ClientContext ctx;
    Authorize(&ctx, token);
    auto reader = stub->WatchCases(&ctx, v1::WatchCasesRequest());
    v1::WatchEvent greeting;
    if (reader->Read(&greeting)) {
      ctx.TryCancel();
      reader->Finish().IgnoreError();
      return grpc::Status::OK;
    }
    return reader->Finish();
  };
  ASSERT_TRUE(open_and_close(kLeader1).ok());
  ASSERT_TRUE(open_and_close(kLeader1).ok());
  grpc::Status s = open_and_close(kLeader1);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_NE(s.error_message().find("stream opens per token"), std::string::npos);
  EXPECT_GT(RetryDelayMs(s), 60000);           // 0.1 a minute: ten minutes for the next
  ASSERT_TRUE(open_and_close(kLeader2).ok());  // the address's third
  s = open_and_close(kLeader3);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_NE(s.error_message().find("stream opens per address"), std::string::npos);
  // Unary reads are not stream opens.
  EXPECT_EQ(GetCaseCall(stub.get(), kLeader3).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_P(SecurityE2eTest, FailedAuthenticationsLockTheAddressOutWithRetryInfo) {
  int port = 0;
  auto server =
      StartWith("rate_limits { auth_failures_before_lockout: 3 lockout_seconds: 60 }\n", &port);
  ASSERT_NE(server, nullptr);
  auto stub = v1::ReportService::NewStub(Channel(port));
  EXPECT_EQ(GetCaseCall(stub.get(), "gl_guess_1").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(GetCaseCall(stub.get(), "").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  // A valid token still works before the threshold.
  EXPECT_EQ(GetCaseCall(stub.get(), kLeader1).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(GetCaseCall(stub.get(), "gl_guess_3").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  // Locked out: every call from the address, valid token or not, until the lockout ends.
  for (const char* token : {"gl_guess_4", kLeader1}) {
    grpc::Status s = GetCaseCall(stub.get(), token);
    ASSERT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
    EXPECT_NE(s.error_message().find("failed authentications"), std::string::npos);
    EXPECT_GT(RetryDelayMs(s), 30000);
    EXPECT_LE(RetryDelayMs(s), 60000);
  }
  EXPECT_NE(server->Log().find("\"event\":\"lockout\""), std::string::npos) << server->Log();
}

TEST_P(SecurityE2eTest, DenialsAreAuditedLoggedAndRateLimited) {
  int port = 0;
  auto server = StartWith("", &port);
  ASSERT_NE(server, nullptr);
  auto stub = v1::ReportService::NewStub(Channel(port));
  // A grid leader calling the operators' service, three times; a bad token once.
  auto admin = v1::AdminService::NewStub(Channel(port));
  for (int i = 0; i < 3; ++i) {
    grpc::ClientContext ctx;
    Authorize(&ctx, kLeader1);
    v1::ListTokensResponse out;
    ASSERT_EQ(admin->ListTokens(&ctx, v1::ListTokensRequest(), &out).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  EXPECT_EQ(GetCaseCall(stub.get(), "gl_stolen").error_code(), grpc::StatusCode::UNAUTHENTICATED);

  // The operator's next call writes the pending entries first: one per address and code.
  grpc::ClientContext ctx;
  Authorize(&ctx, kOperator);
  v1::ListAuditLogRequest req;
  req.set_resource_kind("call");
  req.set_page_size(100);
  v1::ListAuditLogResponse audit;
  grpc::Status s = admin->ListAuditLog(&ctx, req, &audit);
  ASSERT_TRUE(s.ok()) << s.error_message();
  int denied = 0, unauthenticated = 0;
  for (const auto& e : audit.entries()) {
    if (e.status_code() == 7) {
      ++denied;
      EXPECT_EQ(e.actor_user_id(), "u-leader-001") << e.DebugString();
      EXPECT_EQ(e.method(), "/gridline.v1.AdminService/ListTokens");
    }
    if (e.status_code() == 16) ++unauthenticated;
  }
  EXPECT_EQ(denied, 1) << audit.DebugString();  // three denials, one entry in the minute
  EXPECT_EQ(unauthenticated, 1) << audit.DebugString();
  // Logged at most once a minute per address and code, too.
  const std::string log = server->Log();
  size_t lines = 0;
  for (size_t at = log.find("\"event\":\"denied\""); at != std::string::npos;
       at = log.find("\"event\":\"denied\"", at + 1)) {
    ++lines;
  }
  EXPECT_EQ(lines, 2u) << log;
}

TEST_P(SecurityE2eTest, AHandsetFlushingADayOfReportsIsNotRefusedByTheDefaults) {
  int port = 0;
  auto server = StartWith("", &port);  // the default limits
  ASSERT_NE(server, nullptr);
  auto outbox = gc::Outbox::Open(dir_.path() + "/outbox.db");
  ASSERT_TRUE(outbox.ok()) << outbox.status();
  // 100 reports, each with a photo and every tenth with three.
  for (int i = 0; i < 100; ++i) {
    std::vector<gc::Photo> photos = {NumberedPhoto(i, 0)};
    if (i % 10 == 0) {
      photos.push_back(NumberedPhoto(i, 1));
      photos.push_back(NumberedPhoto(i, 2));
    }
    ASSERT_TRUE((*outbox)->Enqueue(NumberedReport(i), photos).ok()) << i;
  }
  gc::ReportClient handset(gc::MakeReportConnection(
      OptionsFor(port, kLeader1)
          .set<gc::RetryPolicyOption>(std::make_shared<gc::LimitedErrorCountRetryPolicy>(0))));
  auto result = (*outbox)->Flush(handset);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->sent, 100) << result->stopped_by;
  EXPECT_EQ(result->failed, 0);
  EXPECT_EQ(result->pending, 0);
}

TEST_P(SecurityE2eTest, TheSdkAndTheOutboxWaitAsToldAndDropNothing) {
  int port = 0;
  // Tight: 10 at once, then 40 a second. The flush of 30 must wait twice or more.
  auto server =
      StartWith("rate_limits { per_token { write_burst: 10 writes_per_second: 40 } }\n", &port);
  ASSERT_NE(server, nullptr);
  auto outbox = gc::Outbox::Open(dir_.path() + "/outbox.db");
  ASSERT_TRUE(outbox.ok()) << outbox.status();
  for (int i = 0; i < 30; ++i) ASSERT_TRUE((*outbox)->Enqueue(NumberedReport(i)).ok());
  gc::ReportClient handset(gc::MakeReportConnection(OptionsFor(port, kLeader1)));
  auto result = (*outbox)->Flush(handset);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->sent, 30) << result->stopped_by;
  EXPECT_EQ(result->failed, 0);

  // Without SDK retries, the outbox stops at the limit and keeps the rest queued.
  for (int i = 30; i < 60; ++i) ASSERT_TRUE((*outbox)->Enqueue(NumberedReport(i)).ok());
  gc::ReportClient no_retries(gc::MakeReportConnection(
      OptionsFor(port, kLeader1)
          .set<gc::RetryPolicyOption>(std::make_shared<gc::LimitedErrorCountRetryPolicy>(0))));
  auto partial = (*outbox)->Flush(no_retries);
  ASSERT_TRUE(partial.ok()) << partial.status();
  EXPECT_EQ(partial->failed, 0);
  EXPECT_GT(partial->pending, 0);
  EXPECT_EQ(partial->stopped_by.code(), absl::StatusCode::kResourceExhausted)
      << partial->stopped_by;
  EXPECT_GT(gc::GetErrorDetails(partial->stopped_by).retry_delay, milliseconds(0));
  // The rest goes out later, each report once.
  auto rest = (*outbox)->Flush(handset);
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_EQ(partial->sent + rest->sent, 30);
  EXPECT_EQ(rest->pending, 0);
  auto raw = Raw();
  ASSERT_TRUE(raw);
  auto rows = raw->Query("SELECT COUNT(*), COUNT(DISTINCT request_id) FROM cases");
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(rows->front().Int(0), 60);
  EXPECT_EQ(rows->front().Int(1), 60);
}

TEST_P(SecurityE2eTest, PlainTextOffLoopbackRefusesToStartUnlessInsecureListenIsSet) {
  const int port = FreePort();
  const std::string config = dir_.path() + "/open.textproto";
  std::ofstream(config) << "health_check_interval_ms: 200\n";
  std::vector<std::string> args = {"--config", config, "--listen", absl::StrCat("0.0.0.0:", port)};
  for (auto& a : StoreArgs()) args.push_back(a);
  ServerProcess refused(args, dir_.path() + "/open.log");
  EXPECT_EQ(refused.RunToExit(std::chrono::seconds(30)), 2) << refused.Log();
  EXPECT_NE(refused.Log().find("is not a loopback address and there is no tls section"),
            std::string::npos)
      << refused.Log();

  std::ofstream(config, std::ios::app) << "insecure_listen: true\n";
  ServerProcess allowed(args, dir_.path() + "/open-2.log");
  EXPECT_TRUE(allowed.Start(port)) << allowed.Log();  // its health answers on 127.0.0.1
}

TEST_P(SecurityE2eTest, TokensExpireByDefaultShowLastUseAndRotateWithAGracePeriod) {
  int port = 0;
  auto server = StartWith("tokens { default_lifetime_days: 30 rotation_grace_hours: 2 }\n", &port);
  ASSERT_NE(server, nullptr);
  v1::IssueTokenRequest req;
  req.set_user_id("u-leader-001");
  req.set_label("handset 7");
  req.set_device_id("IMEI-7");
  v1::IssueTokenResponse issued;
  ASSERT_TRUE(Issue(port, req, &issued).ok());
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  const int64_t expires = issued.token_info().expire_time().seconds();
  EXPECT_NEAR(expires, now + 30 * 86400, 120) << issued.token_info().DebugString();

  auto stub = v1::ReportService::NewStub(Channel(port));
  EXPECT_EQ(GetCaseCall(stub.get(), issued.token()).error_code(), grpc::StatusCode::NOT_FOUND);
  v1::ListTokensResponse tokens;
  ASSERT_TRUE(ListTokens(port, &tokens, "u-leader-001").ok());
  bool seen = false;
  for (const auto& t : tokens.tokens()) {
    if (t.token_id() != issued.token_info().token_id()) continue;
    seen = true;
    EXPECT_TRUE(t.has_last_used_time()) << t.DebugString();
  }
  EXPECT_TRUE(seen);

  // Rotation: both work; the old one until the grace period ends.
  v1::RotateTokenRequest rotate;
  rotate.set_token_id(issued.token_info().token_id());
  v1::IssueTokenResponse rotated;
  grpc::Status s = Rotate(port, rotate, &rotated);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_NE(rotated.token(), issued.token());
  EXPECT_EQ(rotated.token_info().label(), "handset 7");
  EXPECT_EQ(rotated.token_info().device_id(), "IMEI-7");
  EXPECT_EQ(GetCaseCall(stub.get(), rotated.token()).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(GetCaseCall(stub.get(), issued.token()).error_code(), grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(ListTokens(port, &tokens, "u-leader-001").ok());
  for (const auto& t : tokens.tokens()) {
    if (t.token_id() != issued.token_info().token_id()) continue;
    EXPECT_EQ(t.replaced_by_token_id(), rotated.token_info().token_id());
    EXPECT_NEAR(t.expire_time().seconds(), now + 2 * 3600, 120) << t.DebugString();
  }
  // Rotating the old one again is refused: rotate the new one.
  v1::IssueTokenResponse again;
  s = Rotate(port, rotate, &again);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_NE(s.error_message().find("rotated already"), std::string::npos) << s.error_message();

  // Three hours later (a server whose clock runs ahead): the old token has expired.
  server.reset();
  auto later = StartConfiguredServer(
      port, "test_clock_offset_seconds: 10800\nhealth_check_interval_ms: 200\n");
  ASSERT_NE(later, nullptr);
  stub = v1::ReportService::NewStub(Channel(port));
  EXPECT_EQ(GetCaseCall(stub.get(), issued.token()).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(GetCaseCall(stub.get(), rotated.token()).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_P(SecurityE2eTest, BindingNeedsAFingerprintOrACertificate) {
  int port = 0;
  auto server = StartWith("", &port);
  ASSERT_NE(server, nullptr);
  v1::IssueTokenRequest req;
  req.set_user_id("u-leader-001");
  req.set_client_certificate_sha256("not-hex");
  v1::IssueTokenResponse out;
  grpc::Status s = Issue(port, req, &out);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_EQ(FieldsOf(s).size(), 1u);
  EXPECT_EQ(FieldsOf(s)[0], "client_certificate_sha256");
  req.clear_client_certificate_sha256();
  req.set_client_certificate_pem("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n");
  s = Issue(port, req, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  // Colons and upper case are accepted and stored in the canonical form.
  req.clear_client_certificate_pem();
  std::string colons;
  for (int i = 0; i < 32; ++i) absl::StrAppend(&colons, i ? ":" : "", "AB");
  req.set_client_certificate_sha256(colons);
  s = Issue(port, req, &out);
  ASSERT_TRUE(s.ok()) << s.error_message();
  std::string canonical;
  for (int i = 0; i < 32; ++i) canonical += "ab";
  EXPECT_EQ(out.token_info().client_certificate_sha256(), canonical);
  // Bound to a certificate nobody presents on this plain-text server: refused.
  auto stub = v1::ReportService::NewStub(Channel(port));
  grpc::Status bound = GetCaseCall(stub.get(), out.token());
  EXPECT_EQ(bound.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(bound.error_message().find("bound to a device certificate"), std::string::npos)
      << bound.error_message();
}

INSTANTIATE_TEST_SUITE_P(Stores, SecurityE2eTest,
                         ::testing::Values(Backend::kSqlite, Backend::kMariaDb),
                         [](const auto& info) { return BackendName(info.param); });

}  // namespace
}  // namespace gridline::testing
