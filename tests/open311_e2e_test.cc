// The Open311 GeoReport v2 facade (issue 18) end to end: a real gridline-server with
// `http.open311` on loopback, driven by curl (an independent HTTP client) with the
// specification's own example requests (http://wiki.open311.org/GeoReport_v2, ids adapted), and
// checked against what gRPC reads of the same cases. On SQLite and on MariaDB.
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <pugixml.hpp>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gridline/v1/admin_service.grpc.pb.h"
#include "gridline/v1/dispatch_service.grpc.pb.h"
#include "tests/e2e_fixture.h"

namespace gridline::testing {
namespace {

using Json = nlohmann::json;

constexpr char kApp[] = "demo-app-1-6c0f3e2b9d4a7151";  // app-open311-demo, grid 410184
constexpr char kPrefix[] = "/open311/v2/";

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
};

// One curl run: `args` are curl's (quoted by the caller), the answer read back from files.
Reply Curl(const std::string& dir, const std::string& args) {
  static int n = 0;
  const std::string head = absl::StrCat(dir, "/curl-", ++n, ".head");
  const std::string body = absl::StrCat(dir, "/curl-", n, ".body");
  const std::string command = absl::StrCat("curl -sS --max-time 60 -D '", head, "' -o '", body,
                                           "' -w '%{http_code}' ", args);
  FILE* pipe = popen(command.c_str(), "r");
  Reply out;
  if (pipe == nullptr) return out;
  std::string code;
  char buffer[256];
  for (size_t k; (k = fread(buffer, 1, sizeof buffer, pipe)) > 0;) code.append(buffer, k);
  EXPECT_EQ(pclose(pipe), 0) << command;
  EXPECT_TRUE(absl::SimpleAtoi(code, &out.status)) << code;
  std::ifstream h(head);
  for (std::string line; std::getline(h, line);) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    out.headers[absl::AsciiStrToLower(line.substr(0, colon))] =
        std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
  }
  std::stringstream b;
  b << std::ifstream(body).rdbuf();
  out.body = b.str();
  return out;
}

Json ParseJson(const Reply& r) {
  Json j = Json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << r.body;
  return j;
}

class Open311Test : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    if (GetParam() == Backend::kMariaDb && !mysql_) GTEST_SKIP() << "no MariaDB";
    if (std::system("curl --version > /dev/null 2>&1") != 0) GTEST_SKIP() << "no curl";
  }

  // A demo server with the facade (and `extra` config) on an HTTP port of its own.
  bool Start(const std::string& extra = "") {
    grpc_port_ = FreePort();
    http_port_ = FreePort();
    const std::string key_file = dir_.path() + "/anonymous.key";
    std::ofstream(key_file) << kApp << "\n";
    server_ = StartConfiguredServer(
        grpc_port_,
        absl::StrCat("watch { heartbeat_interval_ms: 200 poll_interval_ms: 50 }\n",
                     "health_check_interval_ms: 200\nshutdown_grace_ms: 3000\n",
                     "http { listen_address: \"127.0.0.1:", http_port_, "\" open311 { ",
                     "enabled: true jurisdiction_id: \"xinzheng.example\" ",
                     "anonymous_api_key_file: \"", key_file, "\" contact: \"12345\" } }\n", extra));
    if (!server_) return false;
    auto channel = Channel(grpc_port_);
    reports_ = v1::ReportService::NewStub(channel);
    dispatch_ = v1::DispatchService::NewStub(channel);
    admin_ = v1::AdminService::NewStub(channel);
    return true;
  }

  std::string Url(const std::string& resource) const {
    return absl::StrCat("'http://127.0.0.1:", http_port_, kPrefix, resource, "'");
  }
  Reply Get(const std::string& resource) { return Curl(dir_.path(), Url(resource)); }
  // A form POST: `fields` as curl --data-urlencode pairs.
  Reply Post(const std::string& resource, const std::vector<std::string>& fields,
             const std::string& extra_args = "") {
    std::string args = extra_args;
    for (const auto& f : fields) absl::StrAppend(&args, " --data-urlencode '", f, "'");
    return Curl(dir_.path(), absl::StrCat(args, " ", Url(resource)));
  }

  // The spec's POST example (its fields, our ids and place): a pothole in cell 410184001001001.
  static std::vector<std::string> SpecPost(const std::string& description) {
    return {absl::StrCat("api_key=", kApp),
            "jurisdiction_id=xinzheng.example",
            "service_code=C01_ROAD_DAMAGE",
            "lat=34.397",
            "long=113.739",
            "address_string=新郑市郑韩路18号",
            "email=smit222@sfgov.edu",
            "device_id=tt222111",
            "account_id=123456",
            "first_name=john",
            "last_name=smith",
            "phone=111111111",
            absl::StrCat("description=", description),
            "media_url=http://farm3.static.flickr.com/2002/2212426634_5ed477a060.jpg"};
  }

  // POSTs and returns the new service_request_id ("" and a failure otherwise).
  std::string PostOk(const std::vector<std::string>& fields) {
    Reply r = Post("requests.json", fields);
    EXPECT_EQ(r.status, 200) << r.body;
    Json j = ParseJson(r);
    if (!j.is_array() || j.size() != 1) {
      ADD_FAILURE() << r.body;
      return "";
    }
    return j[0].value("service_request_id", "");
  }

  v1::Case GrpcCase(const std::string& id, const std::string& token = kDispatcher1) {
    v1::Case c;
    grpc::Status s = GetCase(reports_.get(), id, &c, token);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return c;
  }

  static std::string Iso(const google::protobuf::Timestamp& t) {
    if (t.seconds() == 0) return "";
    return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(t.seconds()),
                            absl::UTCTimeZone());
  }

  // Every field of a request as GET requests shows it, against the case gRPC reads.
  void ExpectRequestIs(const Json& r, const v1::Case& c, const std::string& status,
                       const std::string& notes, const std::string& agency) {
    EXPECT_EQ(r["service_request_id"], c.case_id());
    EXPECT_EQ(r["status"], status);
    EXPECT_EQ(r["status_notes"], notes);
    EXPECT_EQ(r["service_name"], c.category_code() == "C01_ROAD_DAMAGE" ? "路面破损/塌陷" : "积水");
    EXPECT_EQ(r["service_code"], c.category_code());
    EXPECT_EQ(r["description"], c.description());
    EXPECT_EQ(r["agency_responsible"], agency);
    EXPECT_EQ(r["service_notice"], c.case_number().empty() ? "" : "case " + c.case_number());
    EXPECT_EQ(r["requested_datetime"], Iso(c.create_time()));
    EXPECT_EQ(r["updated_datetime"], Iso(c.update_time()));
    EXPECT_EQ(r["expected_datetime"], Iso(c.deadline_time()));
    EXPECT_EQ(r["address"], c.location().address());
    EXPECT_EQ(r["address_id"], "");
    EXPECT_EQ(r["zipcode"], "");
    EXPECT_DOUBLE_EQ(r["lat"].get<double>(), c.location().coordinates().latitude());
    EXPECT_DOUBLE_EQ(r["long"].get<double>(), c.location().coordinates().longitude());
    EXPECT_EQ(r["media_url"], "");
    EXPECT_EQ(r.size(), 17u) << r.dump();
  }

  // The spec's error list in JSON: each entry's code and description.
  static std::vector<std::pair<int, std::string>> Errors(const Reply& r) {
    std::vector<std::pair<int, std::string>> out;
    Json j = ParseJson(r);
    EXPECT_TRUE(j.is_array()) << r.body;
    if (!j.is_array()) return out;
    for (const auto& e : j) {
      EXPECT_EQ(e.size(), 2u) << e.dump();
      out.emplace_back(e.value("code", 0), e.value("description", ""));
    }
    return out;
  }

  int grpc_port_ = 0;
  int http_port_ = 0;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<v1::ReportService::Stub> reports_;
  std::unique_ptr<v1::DispatchService::Stub> dispatch_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
};

TEST_P(Open311Test, ServicesAreTheOrganisationsCategoriesInJsonAndXml) {
  ASSERT_TRUE(Start());
  Reply r = Get("services.json");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(absl::StartsWith(r.headers["content-type"], "application/json"))
      << r.headers["content-type"];
  Json services = ParseJson(r);
  ASSERT_TRUE(services.is_array());
  Json road;
  for (const auto& s : services) {
    if (s["service_code"] == "C01_ROAD_DAMAGE") road = s;
  }
  EXPECT_EQ(road, Json::parse(R"({"service_code":"C01_ROAD_DAMAGE","service_name":"路面破损/塌陷",
      "description":"路面破损/塌陷","metadata":false,"type":"realtime","keywords":"",
      "group":"component"})"));

  r = Get("services.xml");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(absl::StartsWith(r.headers["content-type"], "text/xml")) << r.headers["content-type"];
  EXPECT_TRUE(absl::StartsWith(r.body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>")) << r.body;
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(r.body.c_str())) << r.body;
  size_t count = 0;
  for (pugi::xml_node s : doc.child("services").children("service")) {
    ++count;
    if (std::string(s.child_value("service_code")) != "C01_ROAD_DAMAGE") continue;
    EXPECT_STREQ(s.child_value("service_name"), "路面破损/塌陷");
    EXPECT_STREQ(s.child_value("metadata"), "false");
    EXPECT_STREQ(s.child_value("type"), "realtime");
    EXPECT_STREQ(s.child_value("group"), "component");
  }
  EXPECT_EQ(count, services.size());

  r = Get("services/C01_ROAD_DAMAGE.json");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(ParseJson(r), Json::parse(R"({"service_code":"C01_ROAD_DAMAGE","attributes":[]})"));
  r = Get("services/C01_ROAD_DAMAGE.xml");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(doc.load_string(r.body.c_str())) << r.body;
  EXPECT_STREQ(doc.child("service_definition").child_value("service_code"), "C01_ROAD_DAMAGE");

  r = Get("services/NO_SUCH.json");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(Errors(r),
            (std::vector<std::pair<int, std::string>>{{404, "service_code NO_SUCH not found"}}));
  r = Get("services/NO_SUCH.xml");
  EXPECT_EQ(r.status, 404);
  ASSERT_TRUE(doc.load_string(r.body.c_str())) << r.body;
  EXPECT_STREQ(doc.child("errors").child("error").child_value("code"), "404");
  EXPECT_STREQ(doc.child("errors").child("error").child_value("description"),
               "service_code NO_SUCH not found");

  r = Get("services.json?jurisdiction_id=elsewhere");
  EXPECT_EQ(r.status, 404) << r.body;
  r = Get("discovery.json");
  ASSERT_EQ(r.status, 200) << r.body;
  Json discovery = ParseJson(r);
  EXPECT_EQ(discovery["contact"], "12345");
  ASSERT_EQ(discovery["endpoints"].size(), 1u);
  EXPECT_EQ(discovery["endpoints"][0]["url"],
            absl::StrCat("http://127.0.0.1:", http_port_, kPrefix));
  EXPECT_EQ(discovery["endpoints"][0]["formats"],
            Json::parse(R"(["text/xml","application/json"])"));
  r = Get("nothing.json");
  EXPECT_EQ(r.status, 404);
  r = Curl(dir_.path(), "-X DELETE " + Url("services.json"));
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers["allow"], "GET");
}

TEST_P(Open311Test, APostBecomesAPublicCaseInTriageAndReadsBackInJsonAndXml) {
  ASSERT_TRUE(Start());
  Reply r = Post("requests.json", SpecPost("路面塌陷，深约30厘米"));
  ASSERT_EQ(r.status, 200) << r.body;
  Json posted = ParseJson(r);
  ASSERT_TRUE(posted.is_array() && posted.size() == 1) << r.body;
  const std::string id = posted[0]["service_request_id"];
  EXPECT_EQ(posted[0],
            Json({{"service_request_id", id}, {"service_notice", ""}, {"account_id", nullptr}}));

  // The case, as the acceptance center sees it over gRPC.
  v1::Case c = GrpcCase(id);
  EXPECT_EQ(c.source(), v1::PUBLIC);
  EXPECT_EQ(c.state(), v1::PENDING_TRIAGE);
  EXPECT_EQ(c.reporter_user_id(), "app-open311-demo");
  EXPECT_EQ(c.category_code(), "C01_ROAD_DAMAGE");
  EXPECT_EQ(c.location().grid_code(), kCell1);  // placed by the grid geometry
  EXPECT_EQ(c.location().address(), "新郑市郑韩路18号");
  EXPECT_DOUBLE_EQ(c.location().coordinates().latitude(), 34.397);
  EXPECT_DOUBLE_EQ(c.location().coordinates().longitude(), 113.739);
  EXPECT_EQ(c.description(), "路面塌陷，深约30厘米");

  // The same POST again (a retry): the same case, nothing new.
  r = Post("requests.json", SpecPost("路面塌陷，深约30厘米"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(ParseJson(r)[0]["service_request_id"], id);
  // In XML, also the same case.
  r = Post("requests.xml", SpecPost("路面塌陷，深约30厘米"));
  ASSERT_EQ(r.status, 200) << r.body;
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(r.body.c_str())) << r.body;
  EXPECT_EQ(
      std::string(doc.child("service_requests").child("request").child_value("service_request_id")),
      id);

  // GET requests/ID: every field.
  r = Get(absl::StrCat("requests/", id, ".json?jurisdiction_id=xinzheng.example"));
  ASSERT_EQ(r.status, 200) << r.body;
  Json got = ParseJson(r);
  ASSERT_TRUE(got.is_array() && got.size() == 1) << r.body;
  ExpectRequestIs(got[0], c, "open", "received, waiting for triage", "");
  for (const char* personal : {"smit222", "tt222111", "123456", "john", "smith", "111111111"}) {
    EXPECT_FALSE(absl::StrContains(r.body, personal)) << personal << " in " << r.body;
  }
  r = Get(absl::StrCat("requests/", id, ".xml"));
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(doc.load_string(r.body.c_str())) << r.body;
  pugi::xml_node x = doc.child("service_requests").child("request");
  EXPECT_EQ(std::string(x.child_value("service_request_id")), id);
  EXPECT_STREQ(x.child_value("status"), "open");
  EXPECT_STREQ(x.child_value("status_notes"), "received, waiting for triage");
  EXPECT_STREQ(x.child_value("service_name"), "路面破损/塌陷");
  EXPECT_STREQ(x.child_value("description"), "路面塌陷，深约30厘米");
  EXPECT_EQ(std::string(x.child_value("requested_datetime")), Iso(c.create_time()));
  EXPECT_STREQ(x.child_value("lat"), "34.397");
  EXPECT_STREQ(x.child_value("long"), "113.739");
  EXPECT_TRUE(x.child("expected_datetime"));
  EXPECT_STREQ(x.child_value("expected_datetime"), "");

  // tokens/ID: the case was made at once, its token is its id.
  r = Get(absl::StrCat("tokens/", id, ".json"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(ParseJson(r), Json::parse(absl::StrCat(R"([{"service_request_id":")", id,
                                                   R"(","token":")", id, R"("}])")));

  // An address only: the app's own grid, for the center to place.
  const std::string addressed =
      PostOk({absl::StrCat("api_key=", kApp), "service_code=C02_STANDING_WATER",
              "address_string=新郑市人民路1号", "description=积水"});
  EXPECT_EQ(GrpcCase(addressed, kOperator).location().grid_code(), "410184");
  // Idempotency-Key: a retry with it is the same case; other content with it is refused.
  const std::string keyed =
      PostOk({absl::StrCat("api_key=", kApp), "service_code=C02_STANDING_WATER",
              "address_string=新郑市人民路2号", "description=积水 2"});
  r = Post("requests.json",
           {absl::StrCat("api_key=", kApp), "service_code=C02_STANDING_WATER",
            "address_string=新郑市人民路3号", "description=积水 3"},
           "-H 'Idempotency-Key: k-1'");
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string first = ParseJson(r)[0]["service_request_id"];
  EXPECT_NE(first, keyed);
  r = Post("requests.json",
           {absl::StrCat("api_key=", kApp), "service_code=C02_STANDING_WATER",
            "address_string=新郑市人民路3号", "description=积水 3"},
           "-H 'Idempotency-Key: k-1'");
  EXPECT_EQ(ParseJson(r)[0]["service_request_id"], first);
  r = Post("requests.json",
           {absl::StrCat("api_key=", kApp), "service_code=C02_STANDING_WATER",
            "address_string=新郑市人民路4号", "description=另一处"},
           "-H 'Idempotency-Key: k-1'");
  EXPECT_EQ(r.status, 409) << r.body;
}

TEST_P(Open311Test, BadRequestsGetTheSpecsErrorList) {
  ASSERT_TRUE(Start());
  // No api_key: 403, for POST (reads fall back to the anonymous app).
  std::vector<std::string> fields = SpecPost("x");
  fields.erase(fields.begin());
  Reply r = Post("requests.json", fields);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(Errors(r),
            (std::vector<std::pair<int, std::string>>{{403, "api_key was not provided"}}));
  // A key that is no token.
  fields.push_back("api_key=gl_not-a-token");
  r = Post("requests.json", fields);
  EXPECT_EQ(r.status, 403);
  ASSERT_EQ(Errors(r).size(), 1u);
  EXPECT_TRUE(absl::StartsWith(Errors(r)[0].second, "api_key refused")) << r.body;
  // Another role's token is no app key.
  r = Post("requests.json", {absl::StrCat("api_key=", kLeader1), "service_code=C01_ROAD_DAMAGE",
                             "lat=34.397", "long=113.739", "description=x"});
  EXPECT_EQ(r.status, 403) << r.body;

  // Nothing but the key: every missing field, one entry each, in JSON and XML.
  r = Post("requests.json", {absl::StrCat("api_key=", kApp)});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Errors(r), (std::vector<std::pair<int, std::string>>{
                           {400, "service_code was not provided"},
                           {400, "a location was not provided: lat and long, or address_string"},
                           {400, "description was not provided"}}));
  r = Post("requests.xml", {absl::StrCat("api_key=", kApp), "service_code=C01_ROAD_DAMAGE",
                            "address_id=12345", "description=x"});
  EXPECT_EQ(r.status, 400);
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(r.body.c_str())) << r.body;
  EXPECT_STREQ(doc.child("errors").child("error").child_value("code"), "400");
  EXPECT_STREQ(doc.child("errors").child("error").child_value("description"),
               "address_id is not supported: send lat and long, or address_string");
  r = Post("requests.json", {absl::StrCat("api_key=", kApp), "service_code=C01_ROAD_DAMAGE",
                             "lat=north", "long=113.739", "description=x"});
  EXPECT_EQ(r.status, 400) << r.body;

  // An unknown service_code: 404, as the spec says.
  r = Post("requests.json", {absl::StrCat("api_key=", kApp), "service_code=NO_SUCH", "lat=34.397",
                             "long=113.739", "description=x"});
  EXPECT_EQ(r.status, 404) << r.body;
  ASSERT_EQ(Errors(r).size(), 1u);
  EXPECT_EQ(Errors(r)[0],
            (std::pair<int, std::string>{404, "service_code: unknown category NO_SUCH"}));
  // A point outside every grid: 400 naming the nearest cells.
  r = Post("requests.json", {absl::StrCat("api_key=", kApp), "service_code=C01_ROAD_DAMAGE",
                             "lat=34.39", "long=113.80", "description=x"});
  EXPECT_EQ(r.status, 400) << r.body;
  ASSERT_EQ(Errors(r).size(), 1u);
  EXPECT_EQ(Errors(r)[0].second,
            "lat/long: is outside every unit grid; nearest: 410184001002003 (4221 m), "
            "410184001001003 (4227 m), 410184001002002 (4771 m)");
  // Not form-encoded.
  r = Curl(dir_.path(), "-H 'Content-Type: application/json' --data '{}' " +
                            Url(absl::StrCat("requests.json?api_key=", kApp)));
  EXPECT_EQ(r.status, 415) << r.body;
  r = Get(absl::StrCat("requests.json?api_key=", kApp, "&status=pending"));
  EXPECT_EQ(r.status, 400) << r.body;
  r = Get("requests.json?start_date=yesterday");
  EXPECT_EQ(r.status, 400) << r.body;
  r = Get("requests/c-none.json");
  EXPECT_EQ(r.status, 404) << r.body;

  // Nothing was stored by any of these.
  v1::ListCasesRequest list;
  v1::ListCasesResponse cases;
  ASSERT_TRUE(
      Call(dispatch_.get(), &v1::DispatchService::Stub::ListCases, kDispatcher1, list, &cases)
          .ok());
  EXPECT_EQ(cases.cases_size(), 0);
}

TEST_P(Open311Test, AnIssuedKeyWorksUntilRevoked) {
  ASSERT_TRUE(Start());
  v1::IssueTokenRequest issue;
  issue.set_user_id("app-open311-demo");
  issue.set_label("fixmystreet");
  v1::IssueTokenResponse issued;
  ASSERT_TRUE(
      Call(admin_.get(), &v1::AdminService::Stub::IssueToken, kOperator, issue, &issued).ok());
  std::vector<std::string> fields = SpecPost("井盖缺失");
  fields[0] = "api_key=" + issued.token();
  Reply r = Post("requests.json", fields);
  ASSERT_EQ(r.status, 200) << r.body;

  v1::RevokeTokenRequest revoke;
  revoke.set_token_id(issued.token_info().token_id());
  v1::TokenInfo revoked;
  ASSERT_TRUE(
      Call(admin_.get(), &v1::AdminService::Stub::RevokeToken, kOperator, revoke, &revoked).ok());
  fields.back() = "media_url=";  // other content: not a retry
  r = Post("requests.json", fields);
  EXPECT_EQ(r.status, 403) << r.body;
  r = Get(absl::StrCat("requests.json?api_key=", issued.token()));
  EXPECT_EQ(r.status, 403) << r.body;
}

TEST_P(Open311Test, AnAppOverItsWriteLimitIsToldWhenToRetry) {
  ASSERT_TRUE(
      Start("rate_limits { per_role { role: \"PUBLIC_APP\" limits { write_burst: 2 "
            "writes_per_second: 0.01 } } }\n"));
  EXPECT_EQ(Post("requests.json", SpecPost("one")).status, 200);
  EXPECT_EQ(Post("requests.json", SpecPost("two")).status, 200);
  Reply r = Post("requests.json", SpecPost("three"));
  EXPECT_EQ(r.status, 429) << r.body;
  int64_t retry_after = 0;
  ASSERT_TRUE(absl::SimpleAtoi(r.headers["retry-after"], &retry_after)) << r.headers["retry-after"];
  EXPECT_GT(retry_after, 50);  // one write per 100 s
  EXPECT_LE(retry_after, 101);
  ASSERT_EQ(Errors(r).size(), 1u);
  EXPECT_EQ(Errors(r)[0].first, 429);
  // Reads are not writes: still answered.
  EXPECT_EQ(Get(absl::StrCat("requests.json?api_key=", kApp)).status, 200);
}

TEST_P(Open311Test, ListsFilterAndFollowTheCaseThroughTheGrpcApi) {
  ASSERT_TRUE(Start());
  const std::string road = PostOk(SpecPost("路面塌陷"));
  std::vector<std::string> water = SpecPost("积水严重");
  water[2] = "service_code=C02_STANDING_WATER";
  const std::string wet = PostOk(water);
  ASSERT_FALSE(road.empty());
  ASSERT_FALSE(wet.empty());
  // A grid leader's report in the same cell: not PUBLIC, so never shown.
  v1::SubmitReportResponse handset;
  ASSERT_TRUE(Submit(reports_.get(), Report("o311-handset-1"), &handset).ok());

  // The center files the road case (dispatched to its department, with a deadline) and rejects
  // the water one: open with its agency, and closed.
  v1::AcceptCaseRequest accept;
  accept.set_case_id(road);
  v1::Case accepted;
  ASSERT_TRUE(
      Call(dispatch_.get(), &v1::DispatchService::Stub::AcceptCase, kDispatcher1, accept, &accepted)
          .ok());
  ASSERT_EQ(accepted.state(), v1::DISPATCHED);
  v1::RejectCaseRequest reject;
  reject.set_case_id(wet);
  reject.set_reason("已自行退去");
  v1::Case rejected;
  ASSERT_TRUE(
      Call(dispatch_.get(), &v1::DispatchService::Stub::RejectCase, kDispatcher1, reject, &rejected)
          .ok());

  // Without an api_key: the anonymous app's view, newest first.
  Reply r = Get("requests.json");
  ASSERT_EQ(r.status, 200) << r.body;
  Json all = ParseJson(r);
  ASSERT_EQ(all.size(), 2u) << r.body;
  ExpectRequestIs(all[0], GrpcCase(wet), "closed", "rejected as invalid", "");
  ExpectRequestIs(all[1], GrpcCase(road), "open", "dispatched to 新郑市市政工程管理处",
                  "新郑市市政工程管理处");
  EXPECT_NE(all[1]["expected_datetime"], "");
  EXPECT_NE(all[1]["service_notice"], "");

  auto ids = [&](const std::string& query) {
    Reply got = Get("requests.json?" + query);
    EXPECT_EQ(got.status, 200) << query << ": " << got.body;
    std::vector<std::string> out;
    for (const auto& item : ParseJson(got)) out.push_back(item["service_request_id"]);
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(ids("status=closed"), V{wet});
  EXPECT_EQ(ids("status=open"), V{road});
  EXPECT_EQ(ids("status=open,closed"), (V{wet, road}));
  EXPECT_EQ(ids("service_code=C01_ROAD_DAMAGE"), V{road});
  EXPECT_EQ(ids("service_code=C01_ROAD_DAMAGE,C02_STANDING_WATER&status=closed"), V{wet});
  EXPECT_EQ(ids(absl::StrCat("service_request_id=", road, ",", handset.case_().case_id(), ",", wet,
                             "&status=closed")),
            (V{road, wet}));  // the ids override the other filters; the handset case is not shown
  EXPECT_EQ(ids("start_date=2099-01-01T00:00:00Z&end_date=2099-02-01T00:00:00Z"), V{});
  EXPECT_EQ(ids("end_date=2000-01-01T00:00:00Z"), V{});
  EXPECT_EQ(ids("start_date=2020-01-01T00:00:00Z"), (V{wet, road}));
  EXPECT_EQ(Get(absl::StrCat("requests/", handset.case_().case_id(), ".json")).status, 404);

  // XML of the list.
  r = Get("requests.xml?status=closed");
  ASSERT_EQ(r.status, 200) << r.body;
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(r.body.c_str())) << r.body;
  pugi::xml_node only = doc.child("service_requests").child("request");
  EXPECT_EQ(std::string(only.child_value("service_request_id")), wet);
  EXPECT_STREQ(only.child_value("status"), "closed");
  EXPECT_FALSE(only.next_sibling("request"));
}

INSTANTIATE_TEST_SUITE_P(Backends, Open311Test,
                         ::testing::Values(Backend::kSqlite, Backend::kMariaDb),
                         [](const auto& info) { return BackendName(info.param); });

}  // namespace
}  // namespace gridline::testing
