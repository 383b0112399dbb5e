// TLS end to end: a real gridline-server with `tls` in its config, a throwaway CA and a server
// certificate for 127.0.0.1 and localhost made at test time with the openssl CLI, and the client
// SDK as a handset uses it. TLS is transport only, so SQLite is enough.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gridline/client/admin_client.h"
#include "gridline/client/report_client.h"
#include "tests/e2e_fixture.h"

namespace gridline::testing {
namespace {

namespace gc = ::gridline::client;
using std::chrono::milliseconds;

// The openssl CLI on PATH; empty when there is none.
std::string FindOpenssl() {
  const char* path = std::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path ? path : "/usr/bin:/bin", ':')) {
    std::string candidate = absl::StrCat(dir.empty() ? "." : dir, "/openssl");
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// Everything openssl needs, so that the system's openssl.cnf does not matter.
constexpr char kOpensslConfig[] = R"([req]
distinguished_name = dn
prompt = no
[dn]
CN = gridline test CA
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
authorityKeyIdentifier = keyid
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
)";

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class TlsE2eTest : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    MakeCertificates();
    if (HasFatalFailure()) return;
    tls_root_certificates_ = ReadAll(Path("ca.pem"));
    std::ofstream(Path("server.textproto"), std::ios::app)
        << "tls { cert_chain_file: \"" << Path("server.pem") << "\" private_key_file: \""
        << Path("server.key") << "\" }\n";
  }

  std::string Path(const std::string& name) const { return dir_.path() + "/" + name; }

  // Runs the openssl CLI with `args` (no shell); fails the test if it does not succeed.
  void Openssl(std::vector<std::string> args) {
    static const std::string openssl = FindOpenssl();
    ASSERT_FALSE(openssl.empty())
        << "the openssl command is not on PATH; install Debian's `openssl` package "
           "(bash deploy/install-deps.sh --test)";
    const std::string command = absl::StrJoin(args, " ");
    ServerProcess run(std::move(args), Path("openssl.log"), openssl);
    ASSERT_EQ(run.RunToExit(std::chrono::seconds(60)), 0) << "openssl " << command << " failed:\n"
                                                          << run.Log();
  }

  // In the test's directory: ca.pem and ca.key, a throwaway CA; server.pem and server.key, a
  // certificate it signed for 127.0.0.1 and localhost.
  void MakeCertificates() {
    std::ofstream(Path("openssl.cnf")) << kOpensslConfig;
    const std::vector<std::string> ec_key = {"-newkey", "ec", "-pkeyopt",
                                             "ec_paramgen_curve:prime256v1", "-nodes"};
    std::vector<std::string> ca = {"req",         "-x509",        "-config", Path("openssl.cnf"),
                                   "-extensions", "ca",           "-days",   "2",
                                   "-keyout",     Path("ca.key"), "-out",    Path("ca.pem")};
    ca.insert(ca.end(), ec_key.begin(), ec_key.end());
    ASSERT_NO_FATAL_FAILURE(Openssl(ca));
    std::vector<std::string> request = {"req",     "-new",
                                        "-config", Path("openssl.cnf"),
                                        "-subj",   "/CN=localhost",
                                        "-keyout", Path("server.key"),
                                        "-out",    Path("server.csr")};
    request.insert(request.end(), ec_key.begin(), ec_key.end());
    ASSERT_NO_FATAL_FAILURE(Openssl(request));
    ASSERT_NO_FATAL_FAILURE(
        Openssl({"x509", "-req", "-in", Path("server.csr"), "-CA", Path("ca.pem"), "-CAkey",
                 Path("ca.key"), "-set_serial", "2", "-days", "2", "-extfile", Path("openssl.cnf"),
                 "-extensions", "server", "-out", Path("server.pem")}));
  }

  // A handset's options: `host`:`port`, grid leader 1, short timeouts. No TLS roots: add them.
  static gc::Options Handset(int port, const std::string& host = "localhost") {
    return gc::Options{}
        .set<gc::EndpointOption>(absl::StrCat(host, ":", port))
        .set<gc::AuthTokenOption>(kLeader1)
        .set<gc::TimeoutOption>(milliseconds(10000))
        .set<gc::RetryPolicyOption>(
            std::make_shared<gc::LimitedTimeRetryPolicy>(milliseconds(5000)))
        .set<gc::BackoffPolicyOption>(
            std::make_shared<gc::ExponentialBackoffPolicy>(milliseconds(20), milliseconds(200)));
  }

  // For calls expected to fail: one retry, so that the test does not wait out a retry budget.
  static gc::Options FailFast(gc::Options options) {
    return std::move(options).set<gc::RetryPolicyOption>(
        std::make_shared<gc::LimitedErrorCountRetryPolicy>(1));
  }
};

// The next update of `watch`, or CANCELLED when none arrives within `timeout`.
gc::StatusOr<gc::WatchUpdate> NextWithin(gc::Watch& watch, milliseconds timeout) {
  auto next = std::async(std::launch::async, [&watch] { return watch.Next(); });
  if (next.wait_for(timeout) == std::future_status::timeout) watch.Cancel();
  return next.get();
}

TEST_P(TlsE2eTest, HandsetTrustingTheCaReportsAndWatchesOverTls) {
  int port = 0;
  auto server = StartServer(&port);  // its health was probed over TLS
  ASSERT_NE(server, nullptr);
  EXPECT_NE(server->Log().find("TLS"), std::string::npos) << server->Log();

  gc::ReportClient handset(gc::MakeReportConnection(
      Handset(port).set<gc::TlsRootCertificatesOption>(tls_root_certificates_)));
  auto first = handset.SubmitReport(Report("tls-report-1"));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->case_().state(), v1::REPORTED);

  // The watch streams over the same TLS connection: the next report arrives as REPORTED.
  gc::WatchOptions options;
  options.after_cursor = first->event_cursor();
  auto watch = handset.WatchCases(options);
  auto second = handset.SubmitReport(Report("tls-report-2", "污水井盖缺失"));
  ASSERT_TRUE(second.ok()) << second.status();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  bool seen = false;
  while (!seen && std::chrono::steady_clock::now() < deadline) {
    auto update = NextWithin(*watch, std::chrono::duration_cast<milliseconds>(
                                         deadline - std::chrono::steady_clock::now()));
    ASSERT_TRUE(update.ok()) << update.status();
    ASSERT_EQ(update->kind, gc::WatchUpdate::Kind::kEvent);
    seen = update->event.type() == v1::REPORTED &&
           update->event.case_id() == second->case_().case_id();
  }
  EXPECT_TRUE(seen) << "no REPORTED event for " << second->case_().case_id();
  watch->Cancel();

  // 127.0.0.1 is in the certificate too.
  gc::ReportClient by_address(gc::MakeReportConnection(
      Handset(port, "127.0.0.1").set<gc::TlsRootCertificatesOption>(tls_root_certificates_)));
  auto read = by_address.GetCase(first->case_().case_id());
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->case_id(), first->case_().case_id());
}

// Issue 18: the Connect endpoint serves TLS from the same kind of section (http.tls), here the
// same files; curl trusts the test's CA.
TEST_P(TlsE2eTest, TheConnectEndpointServesTlsFromItsOwnSection) {
  if (std::system("curl --version > /dev/null 2>&1") != 0) GTEST_SKIP() << "no curl";
  const int http_port = FreePort();
  std::ofstream(Path("server.textproto"), std::ios::app)
      << "http { listen_address: \"127.0.0.1:" << http_port << "\" tls { cert_chain_file: \""
      << Path("server.pem") << "\" private_key_file: \"" << Path("server.key") << "\" } }\n";
  int port = 0;
  auto server = StartServer(&port);
  ASSERT_NE(server, nullptr);
  auto curl = [&](const std::string& url) {
    const std::string command =
        absl::StrCat("curl -sS --cacert ", Path("ca.pem"), " -H 'Content-Type: application/json' ",
                     "-H 'Authorization: Bearer ", kLeader1, "' --data '{}' -w '\\n%{http_code}' ",
                     url, "/gridline.v1.ReportService/ListReportCategories 2>&1");
    FILE* pipe = popen(command.c_str(), "r");
    std::string out;
    char buffer[4096];
    for (size_t n; pipe != nullptr && (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) {
      out.append(buffer, n);
    }
    if (pipe != nullptr) pclose(pipe);
    return out;
  };
  const std::string out = curl(absl::StrCat("https://localhost:", http_port));
  EXPECT_TRUE(absl::EndsWith(out, "\n200")) << out;
  EXPECT_NE(out.find("C01_ROAD_DAMAGE"), std::string::npos) << out;
  // Plain text on the TLS port gets no answer.
  EXPECT_FALSE(absl::EndsWith(curl(absl::StrCat("http://127.0.0.1:", http_port)), "\n200"));
}

TEST_P(TlsE2eTest, HandsetWithOnlyTheSystemRootsFailsTheHandshake) {
  int port = 0;
  auto server = StartServer(&port);
  ASSERT_NE(server, nullptr);

  // The throwaway CA is not among the system's roots.
  gc::ReportClient handset(gc::MakeReportConnection(FailFast(Handset(port))));
  auto submitted = handset.SubmitReport(Report("tls-untrusted"));
  EXPECT_EQ(submitted.status().code(), absl::StatusCode::kUnavailable) << submitted.status();
  EXPECT_NE(submitted.status().message().find("andshake"), absl::string_view::npos)
      << "not a failed TLS handshake: " << submitted.status();
}

TEST_P(TlsE2eTest, PlainTextHandsetCannotTalkToATlsServer) {
  int port = 0;
  auto server = StartServer(&port);
  ASSERT_NE(server, nullptr);

  gc::ReportClient handset(
      gc::MakeReportConnection(FailFast(Handset(port).set<gc::InsecureChannelOption>(true))));
  auto submitted = handset.SubmitReport(Report("tls-plain"));
  EXPECT_EQ(submitted.status().code(), absl::StatusCode::kUnavailable) << submitted.status();
}

TEST_P(TlsE2eTest, ServerRefusesToStartWithABadCertificateOrKey) {
  // An encrypted key: the server must report it, not ask for a passphrase.
  ASSERT_NO_FATAL_FAILURE(Openssl({"pkey", "-in", Path("server.key"), "-aes256", "-passout",
                                   "pass:secret", "-out", Path("encrypted.key")}));
  struct Case {
    std::string cert;
    std::string key;
    std::string message;
  };
  const std::vector<Case> cases = {
      {Path("missing.pem"), Path("server.key"),
       "tls.cert_chain_file " + Path("missing.pem") + ": cannot read it"},
      {Path("server.pem"), Path("missing.key"),
       "tls.private_key_file " + Path("missing.key") + ": cannot read it"},
      {Path("openssl.cnf"), Path("server.key"), "holds no PEM certificate"},
      {Path("server.pem"), Path("server.pem"), "holds no PEM private key"},
      {Path("server.pem"), Path("encrypted.key"), "the key is encrypted"},
      {Path("server.pem"), Path("ca.key"), "is not the key of the first certificate"},
      {Path("server.pem"), "", "tls.private_key_file is empty"},
  };
  int n = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.message);
    const std::string config = Path(absl::StrCat("bad-", ++n, ".textproto"));
    std::ofstream(config) << "tls { cert_chain_file: \"" << c.cert << "\" private_key_file: \""
                          << c.key << "\" }\n";
    ServerProcess server({"--config", config, "--sqlite", Path("refused.db"), "--listen",
                          absl::StrCat("127.0.0.1:", FreePort())},
                         Path(absl::StrCat("bad-", n, ".log")));
    EXPECT_EQ(server.RunToExit(std::chrono::seconds(30)), 2) << server.Log();
    EXPECT_NE(server.Log().find("gridline-server: cannot start: "), std::string::npos)
        << server.Log();
    EXPECT_NE(server.Log().find(c.message), std::string::npos) << server.Log();
  }
}

INSTANTIATE_TEST_SUITE_P(Sqlite, TlsE2eTest, ::testing::Values(Backend::kSqlite),
                         [](const auto& info) { return BackendName(info.param); });

// Device certificates (mutual TLS): handset certificates issued by a device CA, tokens bound to
// them, and a server that asks for them (OPTIONAL) or insists (REQUIRED). Bindings are stored,
// so both stores.
class MutualTlsE2eTest : public TlsE2eTest {
 protected:
  void SetUp() override {
    TlsE2eTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    ASSERT_NO_FATAL_FAILURE(MakeCa("devices"));
    ASSERT_NO_FATAL_FAILURE(MakeCa("other"));
    ASSERT_NO_FATAL_FAILURE(MakeDevice("handset-1", "devices", "2"));
    ASSERT_NO_FATAL_FAILURE(MakeDevice("handset-2", "devices", "2"));
    ASSERT_NO_FATAL_FAILURE(MakeDevice("expired", "devices", "-1"));
    ASSERT_NO_FATAL_FAILURE(MakeDevice("foreign", "other", "2"));
  }

  void MakeCa(const std::string& name) {
    ASSERT_NO_FATAL_FAILURE(
        Openssl({"req", "-x509", "-config", Path("openssl.cnf"), "-extensions", "ca", "-subj",
                 "/CN=" + name + " CA", "-days", "2", "-keyout", Path(name + "-ca.key"), "-out",
                 Path(name + "-ca.pem"), "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:prime256v1", "-nodes"}));
  }

  // `name`.pem and `name`.key: a device certificate issued by `ca`, valid for `days` (-1: it
  // expired yesterday).
  void MakeDevice(const std::string& name, const std::string& ca, const std::string& days) {
    ASSERT_NO_FATAL_FAILURE(
        Openssl({"req", "-new", "-config", Path("openssl.cnf"), "-subj", "/CN=" + name, "-keyout",
                 Path(name + ".key"), "-out", Path(name + ".csr"), "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:prime256v1", "-nodes"}));
    ASSERT_NO_FATAL_FAILURE(Openssl(
        {"x509", "-req", "-in", Path(name + ".csr"), "-CA", Path(ca + "-ca.pem"), "-CAkey",
         Path(ca + "-ca.key"), "-set_serial", std::to_string(++serial_), "-days", days, "-extfile",
         Path("openssl.cnf"), "-extensions", "client", "-out", Path(name + ".pem")}));
  }

  // Asks for device certificates in `mode` ("OPTIONAL" or "REQUIRED").
  void AskForCertificates(const std::string& mode) {
    ASSERT_NO_FATAL_FAILURE(AddToTls(absl::StrCat(
        "client_certificates: ", mode, " client_ca_file: \"", Path("devices-ca.pem"), "\"")));
    if (mode == "REQUIRED") {
      tls_client_certificate_ = ReadAll(Path("handset-1.pem"));
      tls_client_key_ = ReadAll(Path("handset-1.key"));
    }
  }

  // Adds `fields` to the tls section of the servers' config.
  void AddToTls(const std::string& fields) {
    std::string config = ReadAll(Path("server.textproto"));
    const size_t end = config.rfind(" }");
    ASSERT_NE(end, std::string::npos) << config;
    config.insert(end, " " + fields);
    std::ofstream(Path("server.textproto"), std::ios::trunc) << config;
  }

  // A handset presenting the device certificate `device` ("" for none).
  gc::ReportClient HandsetWith(int port, const std::string& device, const std::string& token) {
    gc::Options options = FailFast(Handset(port))
                              .set<gc::TlsRootCertificatesOption>(tls_root_certificates_)
                              .set<gc::AuthTokenOption>(token);
    if (!device.empty()) {
      options.set<gc::TlsClientCertificateOption>(ReadAll(Path(device + ".pem")));
      options.set<gc::TlsClientKeyOption>(ReadAll(Path(device + ".key")));
    }
    return gc::ReportClient(gc::MakeReportConnection(std::move(options)));
  }

  gc::AdminClient Operator(int port, const std::string& device = "") {
    gc::Options options = Handset(port)
                              .set<gc::TlsRootCertificatesOption>(tls_root_certificates_)
                              .set<gc::AuthTokenOption>(kOperator);
    if (!device.empty()) {
      options.set<gc::TlsClientCertificateOption>(ReadAll(Path(device + ".pem")));
      options.set<gc::TlsClientKeyOption>(ReadAll(Path(device + ".key")));
    }
    return gc::AdminClient(gc::MakeAdminConnection(std::move(options)));
  }

  int serial_ = 10;
};

// GetCase of a case that does not exist: NOT_FOUND means authenticated.
absl::StatusCode Probe(gc::ReportClient& handset) {
  return handset.GetCase("no-such-case").status().code();
}

TEST_P(MutualTlsE2eTest, ABoundTokenWorksOnlyWithItsDeviceCertificate) {
  AskForCertificates("OPTIONAL");
  int port = 0;
  auto server = StartServer(&port);
  ASSERT_NE(server, nullptr);

  v1::IssueTokenRequest request;
  request.set_user_id("u-leader-001");
  request.set_device_id("handset-1");
  request.set_client_certificate_pem(ReadAll(Path("handset-1.pem")));
  auto issued = Operator(port).IssueToken(request);
  ASSERT_TRUE(issued.ok()) << issued.status();
  EXPECT_EQ(issued->token_info().client_certificate_sha256().size(), 64u);
  const std::string bound = issued->token();

  auto with_its_certificate = HandsetWith(port, "handset-1", bound);
  EXPECT_EQ(Probe(with_its_certificate), absl::StatusCode::kNotFound);
  auto submitted = with_its_certificate.SubmitReport(Report("mtls-1"));
  ASSERT_TRUE(submitted.ok()) << submitted.status();

  // The token copied to another machine: without a certificate, or with another handset's.
  auto stolen = HandsetWith(port, "", bound);
  auto refused = stolen.GetCase("no-such-case");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnauthenticated) << refused.status();
  EXPECT_NE(refused.status().message().find("bound to a device certificate"),
            absl::string_view::npos)
      << refused.status();
  auto other_handset = HandsetWith(port, "handset-2", bound);
  EXPECT_EQ(Probe(other_handset), absl::StatusCode::kUnauthenticated);

  // Unbound tokens work with or without a certificate (OPTIONAL).
  auto unbound = HandsetWith(port, "", kLeader1);
  EXPECT_EQ(Probe(unbound), absl::StatusCode::kNotFound);
  auto unbound_with_cert = HandsetWith(port, "handset-2", kLeader1);
  EXPECT_EQ(Probe(unbound_with_cert), absl::StatusCode::kNotFound);

  // A revoked bound token is refused even with its certificate.
  v1::RevokeTokenRequest revoke;
  revoke.set_token_id(issued->token_info().token_id());
  ASSERT_TRUE(Operator(port).RevokeToken(revoke).ok());
  EXPECT_EQ(Probe(with_its_certificate), absl::StatusCode::kUnauthenticated);
}

TEST_P(MutualTlsE2eTest, RequiredRefusesMissingExpiredAndForeignCertificates) {
  AskForCertificates("REQUIRED");
  int port = 0;
  auto server = StartServer(&port);  // probed with handset-1's certificate
  ASSERT_NE(server, nullptr);

  auto good = HandsetWith(port, "handset-2", kLeader1);
  EXPECT_EQ(Probe(good), absl::StatusCode::kNotFound);
  // The handshake fails: no call reaches the server.
  for (const std::string device : {"", "expired", "foreign"}) {
    SCOPED_TRACE(device.empty() ? "no certificate" : device);
    auto handset = HandsetWith(port, device, kLeader1);
    auto result = handset.GetCase("no-such-case");
    EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable) << result.status();
  }
}

TEST_P(MutualTlsE2eTest, DeviceCertificatesNeedACa) {
  AddToTls("client_certificates: REQUIRED");
  ServerProcess server({"--config", Path("server.textproto"), "--sqlite", Path("refused.db"),
                        "--listen", absl::StrCat("127.0.0.1:", FreePort())},
                       Path("no-ca.log"));
  EXPECT_EQ(server.RunToExit(std::chrono::seconds(30)), 2) << server.Log();
  EXPECT_NE(server.Log().find("tls.client_ca_file is empty"), std::string::npos) << server.Log();
}

INSTANTIATE_TEST_SUITE_P(Stores, MutualTlsE2eTest,
                         ::testing::Values(Backend::kSqlite, Backend::kMariaDb),
                         [](const auto& info) { return BackendName(info.param); });

}  // namespace
}  // namespace gridline::testing
