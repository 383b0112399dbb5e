// The Connect endpoint (issue 18) end to end: a real gridline-server with `http` in its config,
// called over real HTTP/1.1 on loopback by a small Boost.Beast client (and by curl), next to gRPC
// calls on the same server that show both doors reach the same service layer.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "server/util/sha256.h"
#include "tests/e2e_fixture.h"
#include "tests/test_images.h"

namespace gridline::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
namespace pb = ::google::protobuf;

constexpr char kOrigin[] = "https://console.example";

struct Answer {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
};

// One request on a fresh connection.
Answer Send(int port, bhttp::verb verb, const std::string& path, const std::string& content_type,
            const std::string& body, std::map<std::string, std::string> headers = {}) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  bhttp::request<bhttp::string_body> request{verb, path, 11};
  request.set(bhttp::field::host, absl::StrCat("127.0.0.1:", port));
  if (!content_type.empty()) request.set(bhttp::field::content_type, content_type);
  for (const auto& [name, value] : headers) request.set(name, value);
  request.body() = body;
  request.prepare_payload();
  bhttp::write(stream, request);
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 << 20);
  bhttp::read(stream, buffer, parser);
  Answer out;
  out.status = parser.get().result_int();
  for (const auto& f : parser.get()) {
    out.headers[absl::AsciiStrToLower(std::string(f.name_string()))] = std::string(f.value());
  }
  out.body = parser.get().body();
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  return out;
}

Answer PostJson(int port, const std::string& procedure, const std::string& json,
                const std::string& token) {
  std::map<std::string, std::string> headers{{"Connect-Protocol-Version", "1"}};
  if (!token.empty()) headers["Authorization"] = absl::StrCat("Bearer ", token);
  return Send(port, bhttp::verb::post, "/gridline.v1." + procedure, "application/json", json,
              headers);
}

template <typename Message>
std::string Json(const Message& m) {
  std::string out;
  EXPECT_TRUE(pb::util::MessageToJsonString(m, &out).ok());
  return out;
}

template <typename Message>
Message FromJson(const std::string& json) {
  Message m;
  pb::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;  // the server must write nothing else
  const auto s = pb::util::JsonStringToMessage(json, &m, options);
  EXPECT_TRUE(s.ok()) << s.ToString() << " in " << json;
  return m;
}

// A Connect error body: its code, message, and the google.rpc details decoded.
struct ConnectError {
  std::string code;
  std::string message;
  std::vector<std::pair<std::string, std::string>> details;  // type, bytes
};

ConnectError ErrorOf(const std::string& json) {
  pb::Struct s = FromJson<pb::Struct>(json);
  ConnectError out;
  out.code = s.fields().count("code") ? s.fields().at("code").string_value() : "";
  out.message = s.fields().count("message") ? s.fields().at("message").string_value() : "";
  if (s.fields().count("details")) {
    for (const auto& d : s.fields().at("details").list_value().values()) {
      const auto& f = d.struct_value().fields();
      std::string bytes;
      EXPECT_TRUE(absl::Base64Unescape(f.at("value").string_value(), &bytes));
      out.details.emplace_back(f.at("type").string_value(), bytes);
    }
  }
  return out;
}

std::string Envelope(uint8_t flags, const std::string& data) {
  std::string out(5, '\0');
  out[0] = static_cast<char>(flags);
  const uint32_t n = static_cast<uint32_t>(data.size());
  for (int i = 0; i < 4; ++i) out[1 + i] = static_cast<char>(n >> (24 - 8 * i));
  return out + data;
}

// A server-streaming call read as its envelopes arrive (on a thread of its own).
class ConnectStream {
 public:
  struct Frame {
    uint8_t flags;
    std::string data;
  };

  ConnectStream(int port, const std::string& procedure, const std::string& content_type,
                const std::string& body, std::map<std::string, std::string> headers)
      : stream_(io_) {
    stream_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    bhttp::request<bhttp::string_body> request{bhttp::verb::post, "/gridline.v1." + procedure, 11};
    request.set(bhttp::field::host, "127.0.0.1");
    request.set(bhttp::field::content_type, content_type);
    request.set("Connect-Protocol-Version", "1");
    for (const auto& [name, value] : headers) request.set(name, value);
    request.body() = body;
    request.prepare_payload();
    bhttp::write(stream_, request);
    reader_ = std::thread([this] { Read(); });
  }
  ~ConnectStream() {
    Close();
    reader_.join();
  }

  // The client goes away.
  void Close() {
    std::call_once(closed_, [this] {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    });
  }

  // Waits until `frames` holds a frame for which `done` is true; false on timeout.
  bool WaitFor(const std::function<bool(const Frame&)>& done, int timeout_ms = 15000) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
      for (const auto& f : frames_) {
        if (done(f)) return true;
      }
      return false;
    });
  }
  std::optional<Frame> End(int timeout_ms = 15000) {
    if (!WaitFor([](const Frame& f) { return (f.flags & 2) != 0; }, timeout_ms)) {
      return std::nullopt;
    }
    std::lock_guard<std::mutex> lock(mu_);
    return frames_.back();
  }
  int status() {
    std::lock_guard<std::mutex> lock(mu_);
    return status_;
  }
  std::vector<Frame> Frames() {
    std::lock_guard<std::mutex> lock(mu_);
    return frames_;
  }
  std::string header(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    return headers_.count(name) ? headers_.at(name) : "";
  }
  bool body_ended() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(15), [&] { return ended_; });
    return ended_;
  }

 private:
  void Read() {
    beast::flat_buffer buffer;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 << 20);
    size_t taken = 0;
    beast::error_code ec;
    bhttp::read_header(stream_, buffer, parser, ec);
    if (ec) return Notify();
    {
      std::lock_guard<std::mutex> lock(mu_);
      status_ = parser.get().result_int();
      for (const auto& f : parser.get()) {
        headers_[absl::AsciiStrToLower(std::string(f.name_string()))] = std::string(f.value());
      }
    }
    while (!parser.is_done()) {
      bhttp::read_some(stream_, buffer, parser, ec);
      const std::string& body = parser.get().body();
      std::lock_guard<std::mutex> lock(mu_);
      while (body.size() - taken >= 5) {
        const auto byte = [&](size_t i) { return static_cast<uint8_t>(body[taken + i]); };
        const uint32_t n = (uint32_t{byte(1)} << 24) | (uint32_t{byte(2)} << 16) |
                           (uint32_t{byte(3)} << 8) | byte(4);
        if (body.size() - taken - 5 < n) break;
        frames_.push_back({byte(0), body.substr(taken + 5, n)});
        taken += 5 + n;
      }
      cv_.notify_all();
      if (ec) break;
    }
    std::lock_guard<std::mutex> lock(mu_);
    ended_ = parser.is_done();
    cv_.notify_all();
  }
  void Notify() {
    std::lock_guard<std::mutex> lock(mu_);
    cv_.notify_all();
  }

  asio::io_context io_;
  beast::tcp_stream stream_;
  std::thread reader_;
  std::once_flag closed_;
  std::mutex mu_;
  std::condition_variable cv_;
  int status_ = 0;
  std::map<std::string, std::string> headers_;
  std::vector<Frame> frames_;
  bool ended_ = false;
};

class ConnectE2eTest : public E2eTest {
 protected:
  // A demo server with the HTTP endpoint on a port of its own.
  std::unique_ptr<ServerProcess> StartWithHttp(const std::string& extra = "") {
    grpc_port_ = FreePort();
    http_port_ = FreePort();
    return StartConfiguredServer(
        grpc_port_,
        absl::StrCat("watch { heartbeat_interval_ms: 200 poll_interval_ms: 50 }\n",
                     "health_check_interval_ms: 200\nshutdown_grace_ms: 3000\n",
                     "http { listen_address: \"127.0.0.1:", http_port_, "\" ",
                     "cors_allowed_origins: \"", kOrigin, "\" serve_metrics: true }\n", extra));
  }

  int grpc_port_ = 0;
  int http_port_ = 0;
};

TEST_P(ConnectE2eTest, AJsonReportBecomesTheSameCaseGrpcReads) {
  auto server = StartWithHttp();
  ASSERT_NE(server, nullptr);
  const v1::SubmitReportRequest report = Report("connect-json-1");
  Answer a = PostJson(http_port_, "ReportService/SubmitReport", Json(report), kLeader1);
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.headers["content-type"], "application/json");
  auto submitted = FromJson<v1::SubmitReportResponse>(a.body);
  ASSERT_FALSE(submitted.case_().case_id().empty()) << a.body;
  EXPECT_NE(submitted.case_().state(), v1::CASE_STATE_UNSPECIFIED);
  // The JSON mapping of the API: lowerCamelCase names, enums by name.
  EXPECT_NE(a.body.find("\"caseId\""), std::string::npos) << a.body;
  EXPECT_NE(a.body.find("\"" + v1::CaseState_Name(submitted.case_().state()) + "\""),
            std::string::npos)
      << a.body;

  // The same service layer: gRPC reads it, and a retry over gRPC with the same request id is
  // the same case (the idempotency rule of SubmitReport).
  auto stub = v1::ReportService::NewStub(Channel(grpc_port_));
  v1::Case read;
  ASSERT_TRUE(GetCase(stub.get(), submitted.case_().case_id(), &read).ok());
  EXPECT_EQ(read.description(), report.description());
  v1::SubmitReportResponse again;
  ASSERT_TRUE(Submit(stub.get(), report, &again).ok());
  EXPECT_EQ(again.case_().case_id(), submitted.case_().case_id());

  // Read back over Connect too.
  v1::GetCaseRequest get;
  get.set_case_id(submitted.case_().case_id());
  a = PostJson(http_port_, "ReportService/GetCase", Json(get), kLeader1);
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(FromJson<v1::Case>(a.body).location().address(), report.location().address());

  // The call log names the HTTP client's address, not the in-process channel.
  EXPECT_TRUE(absl::StrContains(server->Log(), "\"peer\":\"ipv4:127.0.0.1:")) << server->Log();
  EXPECT_FALSE(absl::StrContains(server->Log(), "\"peer\":\"unknown")) << server->Log();
}

TEST_P(ConnectE2eTest, ABinaryCallAnswersInBinary) {
  auto server = StartWithHttp();
  ASSERT_NE(server, nullptr);
  Answer a = Send(http_port_, bhttp::verb::post, "/gridline.v1.ReportService/SubmitReport",
                  "application/proto", Report("connect-proto-1").SerializeAsString(),
                  {{"Authorization", absl::StrCat("Bearer ", kLeader1)},
                   {"Connect-Protocol-Version", "1"},
                   {"Connect-Timeout-Ms", "20000"}});
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.headers["content-type"], "application/proto");
  v1::SubmitReportResponse submitted;
  ASSERT_TRUE(submitted.ParseFromString(a.body));
  EXPECT_FALSE(submitted.case_().case_id().empty());
  EXPECT_NE(submitted.case_().state(), v1::CASE_STATE_UNSPECIFIED);
}

TEST_P(ConnectE2eTest, FieldViolationsComeAsTheGrpcStatusDetails) {
  auto server = StartWithHttp();
  ASSERT_NE(server, nullptr);
  v1::SubmitReportRequest bad = Report("connect-bad-1");
  bad.clear_category_code();
  bad.clear_description();
  Answer a = PostJson(http_port_, "ReportService/SubmitReport", Json(bad), kLeader1);
  ASSERT_EQ(a.status, 400) << a.body;
  EXPECT_EQ(a.headers["content-type"], "application/json");
  ConnectError e = ErrorOf(a.body);
  EXPECT_EQ(e.code, "invalid_argument");
  EXPECT_FALSE(e.message.empty());
  std::vector<std::string> fields;
  for (const auto& [type, bytes] : e.details) {
    if (type != "google.rpc.BadRequest") continue;
    google::rpc::BadRequest br;
    ASSERT_TRUE(br.ParseFromString(bytes));
    for (const auto& v : br.field_violations()) fields.push_back(v.field());
  }
  // Exactly what gRPC says about the same request.
  auto stub = v1::ReportService::NewStub(Channel(grpc_port_));
  v1::SubmitReportResponse unused;
  grpc::Status s = Submit(stub.get(), bad, &unused);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_FALSE(fields.empty());
  EXPECT_EQ(fields, FieldsOf(s));
  EXPECT_EQ(e.message, s.error_message());

  // JSON that is not the request type.
  a = PostJson(http_port_, "ReportService/SubmitReport", "{\"urgency\": 17.5}", kLeader1);
  EXPECT_EQ(a.status, 400) << a.body;
  EXPECT_EQ(ErrorOf(a.body).code, "invalid_argument");
}

TEST_P(ConnectE2eTest, WithoutATokenACallIsUnauthenticated) {
  auto server = StartWithHttp();
  ASSERT_NE(server, nullptr);
  Answer a = PostJson(http_port_, "ReportService/ListMyCases", "{}", "");
  EXPECT_EQ(a.status, 401) << a.body;
  EXPECT_EQ(ErrorOf(a.body).code, "unauthenticated");
  a = PostJson(http_port_, "ReportService/ListMyCases", "{}", "gl_not-a-token");
  EXPECT_EQ(a.status, 401) << a.body;
  // A role without the right: PERMISSION_DENIED is 403.
  a = PostJson(http_port_, "AdminService/ListUsers", "{}", kLeader1);
  EXPECT_EQ(a.status, 403) << a.body;
  EXPECT_EQ(ErrorOf(a.body).code, "permission_denied");
}

TEST_P(ConnectE2eTest, TheHttpSurfaceRefusesWhatItDoesNotServe) {
  auto server = StartWithHttp();
  ASSERT_NE(server, nullptr);
  // Unknown procedure, an internal service, a known one by GET, a wrong content type.
  Answer a = PostJson(http_port_, "ReportService/NoSuchMethod", "{}", kLeader1);
  EXPECT_EQ(a.status, 404);
  EXPECT_EQ(ErrorOf(a.body).code, "unimplemented");
  a = Send(http_port_, bhttp::verb::post, "/gridline.internal.v1.PeerService/Notify",
           "application/json", "{}");
  EXPECT_EQ(a.status, 404);
  a = Send(http_port_, bhttp::verb::get, "/gridline.v1.ReportService/ListReportCategories", "", "");
  EXPECT_EQ(a.status, 405);
  EXPECT_EQ(a.headers["allow"], "POST");
  a = Send(http_port_, bhttp::verb::post, "/gridline.v1.ReportService/ListReportCategories",
           "text/plain", "{}");
  EXPECT_EQ(a.status, 415);
  a = Send(http_port_, bhttp::verb::post, "/gridline.v1.ReportService/WatchCases",
           "application/json", "{}");
  EXPECT_EQ(a.status, 415) << "a stream takes enveloped bodies";
  a = Send(http_port_, bhttp::verb::post, "/gridline.v1.ReportService/ListReportCategories",
           "application/json", "{}", {{"Connect-Protocol-Version", "2"}});
  EXPECT_EQ(a.status, 400);
  a = Send(http_port_, bhttp::verb::post, "/gridline.v1.ReportService/ListReportCategories",
           "application/json", "{}", {{"Content-Encoding", "gzip"}});
  EXPECT_EQ(a.status, 501);
  EXPECT_EQ(ErrorOf(a.body).code, "unimplemented");
  // Health and metrics on the same port.
  a = Send(http_port_, bhttp::verb::get, "/healthz", "", "");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, "SERVING\n");
  a = Send(http_port_, bhttp::verb::get, "/metrics", "", "");
  EXPECT_EQ(a.status, 200);
  EXPECT_TRUE(absl::StrContains(a.body, "gridline_rpc_requests_total")) << a.body;
}

TEST_P(ConnectE2eTest, BrowsersOfAllowedOriginsPassCorsOthersAreRefused) {
  auto server = StartWithHttp();
  ASSERT_NE(server, nullptr);
  Answer a =
      Send(http_port_, bhttp::verb::options, "/gridline.v1.ReportService/SubmitReport", "", "",
           {{"Origin", kOrigin},
            {"Access-Control-Request-Method", "POST"},
            {"Access-Control-Request-Headers", "authorization,content-type"}});
  EXPECT_EQ(a.status, 204);
  EXPECT_EQ(a.headers["access-control-allow-origin"], kOrigin);
  EXPECT_TRUE(absl::StrContains(a.headers["access-control-allow-methods"], "POST"));
  EXPECT_EQ(a.headers["access-control-allow-headers"], "authorization,content-type");
  a = Send(http_port_, bhttp::verb::post, "/gridline.v1.ReportService/ListReportCategories",
           "application/json", "{}",
           {{"Origin", kOrigin}, {"Authorization", absl::StrCat("Bearer ", kLeader1)}});
  EXPECT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.headers["access-control-allow-origin"], kOrigin);
  a = Send(
      http_port_, bhttp::verb::post, "/gridline.v1.ReportService/ListReportCategories",
      "application/json", "{}",
      {{"Origin", "https://evil.example"}, {"Authorization", absl::StrCat("Bearer ", kLeader1)}});
  EXPECT_EQ(a.status, 403);
  EXPECT_EQ(a.headers.count("access-control-allow-origin"), 0u);
}

TEST_P(ConnectE2eTest, AWatchStreamsLiveEventsInEnvelopesAndEndsAtShutdown) {
  auto server = StartWithHttp();
  ASSERT_NE(server, nullptr);
  ConnectStream watch(http_port_, "ReportService/WatchCases", "application/connect+json",
                      Envelope(0, "{}"), {{"Authorization", absl::StrCat("Bearer ", kLeader1)}});
  // Live at once: the first message is a heartbeat.
  ASSERT_TRUE(watch.WaitFor([](const ConnectStream::Frame& f) {
    return f.flags == 0 && absl::StrContains(f.data, "heartbeat");
  }));
  EXPECT_EQ(watch.status(), 200);
  EXPECT_EQ(watch.header("content-type"), "application/connect+json");
  EXPECT_EQ(watch.header("transfer-encoding"), "chunked");

  // A report over gRPC arrives on the Connect stream as it commits.
  auto stub = v1::ReportService::NewStub(Channel(grpc_port_));
  v1::SubmitReportResponse submitted;
  ASSERT_TRUE(Submit(stub.get(), Report("connect-watch-1"), &submitted).ok());
  const std::string id = submitted.case_().case_id();
  ASSERT_TRUE(watch.WaitFor([&](const ConnectStream::Frame& f) {
    if (f.flags != 0 || !absl::StrContains(f.data, "\"event\"")) return false;
    auto event = FromJson<v1::WatchEvent>(f.data);
    return event.event().case_id() == id;
  })) << "no event of "
      << id;

  // Shutdown ends the stream with UNAVAILABLE in an end-of-stream envelope; the server does not
  // wait for the client.
  const auto stop_started = std::chrono::steady_clock::now();
  EXPECT_EQ(server->Stop(SIGTERM), 0) << server->Log();
  EXPECT_LT(std::chrono::steady_clock::now() - stop_started, std::chrono::seconds(10));
  auto end = watch.End();
  ASSERT_TRUE(end.has_value());
  pb::Struct trailer = FromJson<pb::Struct>(end->data);
  ASSERT_TRUE(trailer.fields().count("error")) << end->data;
  EXPECT_EQ(trailer.fields().at("error").struct_value().fields().at("code").string_value(),
            "unavailable");
  EXPECT_TRUE(watch.body_ended()) << "the chunked body ends after the end-of-stream envelope";
}

TEST_P(ConnectE2eTest, AStreamInBinaryHonoursConnectTimeoutMs) {
  auto server = StartWithHttp();
  ASSERT_NE(server, nullptr);
  ConnectStream watch(
      http_port_, "ReportService/WatchCases", "application/connect+proto",
      Envelope(0, v1::WatchCasesRequest().SerializeAsString()),
      {{"Authorization", absl::StrCat("Bearer ", kLeader1)}, {"Connect-Timeout-Ms", "700"}});
  ASSERT_TRUE(watch.WaitFor([](const ConnectStream::Frame& f) {
    v1::WatchEvent e;
    return f.flags == 0 && e.ParseFromString(f.data) && e.has_heartbeat();
  }));
  auto end = watch.End();
  ASSERT_TRUE(end.has_value());
  EXPECT_TRUE(absl::StrContains(end->data, "deadline_exceeded")) << end->data;
  EXPECT_EQ(watch.header("content-type"), "application/connect+proto");
}

TEST_P(ConnectE2eTest, AStreamWithoutATokenEndsUnauthenticated) {
  auto server = StartWithHttp();
  ASSERT_NE(server, nullptr);
  ConnectStream watch(http_port_, "ReportService/WatchCases", "application/connect+json",
                      Envelope(0, "{}"), {});
  auto end = watch.End();
  ASSERT_TRUE(end.has_value());
  EXPECT_TRUE(absl::StrContains(end->data, "\"unauthenticated\"")) << end->data;
  EXPECT_EQ(watch.status(), 200);  // streams carry their errors in the end-of-stream message
}

// A client stream over HTTP/1.1 arrives as one body of envelopes: a photo uploaded in chunks, then
// downloaded as a server stream, byte for byte.
TEST_P(ConnectE2eTest, APhotoGoesUpAsAClientStreamAndComesBackAsAServerStream) {
  auto server = StartWithHttp();
  ASSERT_NE(server, nullptr);
  const std::string png = TestPng(3000, "connect");
  const std::string sha = util::Sha256Hex(png);
  v1::UploadAttachmentRequest metadata;
  metadata.mutable_metadata()->set_sha256(sha);
  metadata.mutable_metadata()->set_size_bytes(static_cast<int64_t>(png.size()));
  v1::UploadAttachmentRequest first, second;
  first.set_chunk(png.substr(0, 1000));
  second.set_chunk(png.substr(1000));
  const std::map<std::string, std::string> auth{
      {"Authorization", absl::StrCat("Bearer ", kLeader1)}};
  {
    ConnectStream upload(
        http_port_, "ReportService/UploadAttachment", "application/connect+json",
        Envelope(0, Json(metadata)) + Envelope(0, Json(first)) + Envelope(0, Json(second)), auth);
    auto end = upload.End();
    ASSERT_TRUE(end.has_value());
    EXPECT_EQ(end->data, "{}");
    ASSERT_TRUE(upload.WaitFor([&](const ConnectStream::Frame& f) {
      return f.flags == 0 && FromJson<v1::Attachment>(f.data).attachment_id() == sha;
    }));
  }
  v1::DownloadAttachmentRequest download;
  download.set_attachment_id(sha);
  ConnectStream stream(http_port_, "ReportService/DownloadAttachment", "application/connect+proto",
                       Envelope(0, download.SerializeAsString()), auth);
  auto end = stream.End();
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->data, "{}");
  std::string bytes;
  for (const auto& f : stream.Frames()) {
    v1::DownloadAttachmentResponse part;
    if (f.flags == 0 && part.ParseFromString(f.data)) bytes += part.chunk();
  }
  EXPECT_EQ(bytes, png);
}

// The open stream of a client that goes away ends on the server too (gridline_open_streams).
TEST_P(ConnectE2eTest, AClientThatGoesAwayEndsItsStream) {
  auto server = StartWithHttp();
  ASSERT_NE(server, nullptr);
  auto open_watches = [&] {
    Answer m = Send(http_port_, bhttp::verb::get, "/metrics", "", "");
    const std::string key = "gridline_open_streams{service=\"gridline.v1.ReportService\"} ";
    const size_t at = m.body.find(key);
    return at == std::string::npos ? 0 : std::atoi(m.body.c_str() + at + key.size());
  };
  {
    ConnectStream watch(http_port_, "ReportService/WatchCases", "application/connect+json",
                        Envelope(0, "{}"), {{"Authorization", absl::StrCat("Bearer ", kLeader1)}});
    ASSERT_TRUE(watch.WaitFor([](const ConnectStream::Frame& f) { return f.flags == 0; }));
    EXPECT_EQ(open_watches(), 1);
    watch.Close();
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (open_watches() != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling a metric, not a race
  }
  EXPECT_EQ(open_watches(), 0);
}

// An independent client: curl, as an operator would try the endpoint by hand.
TEST_P(ConnectE2eTest, CurlCallsWithJson) {
  if (std::system("curl --version > /dev/null 2>&1") != 0) GTEST_SKIP() << "no curl";
  auto server = StartWithHttp();
  ASSERT_NE(server, nullptr);
  const std::string command = absl::StrCat(
      "curl -sS -X POST -H 'Content-Type: application/json' -H 'Connect-Protocol-Version: 1' ",
      "-H 'Authorization: Bearer ", kLeader1, "' --data '{\"pageSize\": 50}' -w '\\n%{http_code}' ",
      "http://127.0.0.1:", http_port_, "/gridline.v1.ReportService/ListReportCategories");
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  char buffer[4096];
  for (size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  ASSERT_EQ(pclose(pipe), 0) << out;
  const size_t newline = out.rfind('\n');
  ASSERT_NE(newline, std::string::npos) << out;
  EXPECT_EQ(out.substr(newline + 1), "200") << out;
  auto categories = FromJson<v1::ListReportCategoriesResponse>(out.substr(0, newline));
  ASSERT_GT(categories.categories_size(), 0) << out;
  bool road = false;
  for (const auto& c : categories.categories()) road |= c.code() == "C01_ROAD_DAMAGE";
  EXPECT_TRUE(road) << out;
}

// The Connect endpoint is an add-on: SQLite is enough to check it (the stores are the gRPC
// suites' business).
INSTANTIATE_TEST_SUITE_P(Sqlite, ConnectE2eTest, ::testing::Values(Backend::kSqlite),
                         [](const auto& info) { return BackendName(info.param); });

}  // namespace
}  // namespace gridline::testing
