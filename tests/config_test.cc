// Issue 12: the configuration's defaults and bounds are written once, as options in
// server_config.proto, and applied from there. `gridline-server --print_config` shows what is in
// effect; a value out of its bounds stops the server naming the field; `optional` fields keep an
// explicit 0.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "gridline/config/v1/server_config.pb.h"
#include "server/app/config_defaults.h"
#include "server/app/server.h"
#include "tests/test_support.h"

namespace gridline {
namespace {

namespace pb = ::google::protobuf;
using config::v1::ServerConfig;

// Runs gridline-server with `args`; its exit code, with stdout and stderr in `output`.
int RunServer(const testing::TempDir& dir, std::vector<std::string> args, std::string* output) {
  static int n = 0;
  const std::string log = dir.path() + "/run" + std::to_string(++n) + ".log";
  testing::ServerProcess p(std::move(args), log);
  const int rc = p.RunToExit(std::chrono::seconds(30));
  *output = p.Log();
  return rc;
}

std::string WriteConfig(const testing::TempDir& dir, const std::string& name,
                        const std::string& text) {
  const std::string path = dir.path() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

// Every field of `d` (recursively) with a (default_value) is set after ApplyConfigDefaults on an
// empty message: no default in the schema is left unapplied.
void ExpectDefaultsApplied(const pb::Message& m, const std::string& prefix) {
  const pb::Descriptor* d = m.GetDescriptor();
  const pb::Reflection* r = m.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    const std::string path = prefix + f->name();
    if (!f->options().HasExtension(config::v1::default_value)) continue;
    EXPECT_TRUE(r->HasField(m, f)) << path << " has a default in the schema but is unset";
    if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE && r->HasField(m, f)) {
      ExpectDefaultsApplied(r->GetMessage(m, f), path + ".");
    }
  }
}

TEST(ConfigTest, EveryDefaultOfTheSchemaIsApplied) {
  ServerConfig c;
  ASSERT_TRUE(app::FinalizeServerConfig(&c).ok());
  ExpectDefaultsApplied(c, "");
  EXPECT_EQ(c.worker_threads(), 64);
  EXPECT_EQ(c.max_queued_calls(), 8 * 64) << "computed from worker_threads";
  EXPECT_EQ(c.watch().poll_interval_ms(), 200);
  EXPECT_EQ(c.evaluation().utc_offset_minutes(), 480);
  EXPECT_DOUBLE_EQ(c.evaluation().red_on_time_rate(), 0.95);
  EXPECT_EQ(c.attachments().max_bytes(), 10 << 20);
  EXPECT_EQ(c.attachments().directory(), "gridline.db.attachments");
  EXPECT_FALSE(c.has_tls()) << "an absent section without a \"{}\" default stays absent";
}

TEST(ConfigTest, PrintConfigShowsTheDefaultsAndKeepsAnExplicitZero) {
  testing::TempDir dir;
  std::string out;
  const std::string empty = WriteConfig(dir, "empty.textproto", "");
  ASSERT_EQ(RunServer(dir, {"--config", empty, "--print_config"}, &out), 0) << out;
  for (const char* want :
       {"poll_interval_ms: 200", "worker_threads: 64", "max_queued_calls: 512",
        "warn_before_minutes: 120", "utc_offset_minutes: 480", "path: \"gridline.db\""}) {
    EXPECT_NE(out.find(want), std::string::npos) << want << " missing from:\n" << out;
  }
  // Zero is meaningful for these `optional` fields: it is kept, not replaced by the default.
  const std::string zeros = WriteConfig(dir, "zeros.textproto",
                                        "deadline_warnings { warn_before_minutes: 0 }\n"
                                        "evaluation { red_rework_rate: 0 utc_offset_minutes: 0 }\n"
                                        "attachments { orphan_grace_seconds: 0 }\n");
  ASSERT_EQ(RunServer(dir, {"--config", zeros, "--print_config"}, &out), 0) << out;
  for (const char* want : {"warn_before_minutes: 0", "red_rework_rate: 0", "utc_offset_minutes: 0",
                           "orphan_grace_seconds: 0"}) {
    EXPECT_NE(out.find(want), std::string::npos) << want << " missing from:\n" << out;
  }
  // The MySQL password is never printed.
  const std::string mysql = WriteConfig(
      dir, "mysql.textproto", "store { mysql { user: \"u\" password: \"s3cret-pw\" } }\n");
  ASSERT_EQ(RunServer(dir, {"--config", mysql, "--print_config"}, &out), 0) << out;
  EXPECT_EQ(out.find("s3cret-pw"), std::string::npos) << out;
  EXPECT_NE(out.find("port: 3306"), std::string::npos) << out;
}

TEST(ConfigTest, AValueOutOfItsBoundsStopsTheServerNamingTheField) {
  testing::TempDir dir;
  struct Case {
    const char* config;
    const char* message;
  };
  const Case cases[] = {
      {"watch { poll_interval_ms: -5 }",
       "watch.poll_interval_ms is -5; it must be from 10 to 60000"},
      {"evaluation { utc_offset_minutes: 900 }",
       "evaluation.utc_offset_minutes is 900; it must be from -720 to 840"},
      {"evaluation { black_rework_rate: 1.5 }",
       "evaluation.black_rework_rate is 1.5; it must be from 0 to 1"},
      {"worker_threads: 300", "worker_threads is 300; it must be from 1 to 256"},
      // Found by fuzz_config: NaN passed both bounds.
      {"evaluation { red_rework_rate: nan }", "evaluation.red_rework_rate is not a number"},
  };
  int n = 0;
  for (const Case& c : cases) {
    const std::string path =
        WriteConfig(dir, "bad" + std::to_string(++n) + ".textproto", std::string(c.config) + "\n");
    std::string out;
    // Refused the same whether the server would print its config or start serving.
    for (const char* mode : {"--print_config", "--demo"}) {
      EXPECT_EQ(RunServer(dir, {"--config", path, mode, "--listen", "127.0.0.1:1"}, &out), 2)
          << c.config << " " << mode << "\n"
          << out;
      EXPECT_NE(out.find(c.message), std::string::npos) << c.config << "\n" << out;
    }
  }
}

// Issue 17: store.mysql.hosts lists Galera nodes as host:port. An entry that is not, or one
// listed twice, stops the server at start naming the entry, before any node is contacted.
TEST(ConfigTest, AMysqlHostsEntryThatIsNotHostPortStopsTheServer) {
  testing::TempDir dir;
  std::string out;
  const std::string good = WriteConfig(
      dir, "good.textproto",
      "store { mysql { user: \"u\" hosts: \"db1.invalid:3306\" hosts: \"[::1]:3307\" } }\n");
  ASSERT_EQ(RunServer(dir, {"--config", good, "--print_config"}, &out), 0) << out;
  EXPECT_NE(out.find("hosts: \"[::1]:3307\""), std::string::npos) << out;
  EXPECT_NE(out.find("read_timeout_seconds: 60"), std::string::npos) << out;

  struct Case {
    const char* hosts;
    const char* message;
  };
  const Case cases[] = {
      {"hosts: \"db1.invalid\"", "store.mysql.hosts[0]: 'db1.invalid' is not host:port"},
      {"hosts: \"db1.invalid:3306\" hosts: \":3306\"", "store.mysql.hosts[1]: ':3306'"},
      {"hosts: \"db1.invalid:0\"", "'db1.invalid:0' is not host:port"},
      {"hosts: \"db1.invalid:70000\"", "'db1.invalid:70000' is not host:port"},
      {"hosts: \"db1.invalid:33o6\"", "'db1.invalid:33o6' is not host:port"},
      {"hosts: \"::1:3306\"", "[address]:port"},
      {"hosts: \"db1.invalid:3306\" hosts: \"db1.invalid:3306\"", "is listed twice"},
      {"read_timeout_seconds: -1 hosts: \"db1.invalid:3306\"",
       "store.mysql.read_timeout_seconds is -1; it must be from 1 to 3600"},
  };
  int n = 0;
  for (const Case& c : cases) {
    const std::string path = WriteConfig(
        dir, "hosts" + std::to_string(++n) + ".textproto",
        absl::StrCat("store { mysql { user: \"u\" password: \"pw\" ", c.hosts, " } }\n"));
    // Refused the same by --check_config and by a start.
    for (std::vector<std::string> args :
         {std::vector<std::string>{"--config", path, "--check_config"},
          std::vector<std::string>{"--config", path, "--listen", "127.0.0.1:0"}}) {
      EXPECT_EQ(RunServer(dir, args, &out), 2) << c.hosts << " " << args.back() << "\n" << out;
      EXPECT_NE(out.find(c.message), std::string::npos) << c.hosts << "\n" << out;
    }
  }
}

// Issue 18: the HTTP (Connect) endpoint keeps the gRPC port's secure default and checks its
// sections like the gRPC port's.
TEST(ConfigTest, TheHttpEndpointHasTheSecureDefaultsOfTheGrpcPort) {
  ServerConfig c;
  ASSERT_TRUE(app::FinalizeServerConfig(&c).ok());
  EXPECT_TRUE(c.http().listen_address().empty()) << "no HTTP endpoint unless configured";
  EXPECT_EQ(c.http().max_request_bytes(), 32 << 20);
  EXPECT_EQ(c.http().threads(), 2);

  c = ServerConfig();
  c.mutable_http()->set_listen_address("0.0.0.0:8080");
  absl::Status s = app::FinalizeServerConfig(&c);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("http.listen_address 0.0.0.0:8080 is not a loopback address"),
            absl::string_view::npos)
      << s;
  c.set_insecure_listen(true);
  EXPECT_TRUE(app::FinalizeServerConfig(&c).ok());

  c = ServerConfig();
  c.mutable_http()->set_listen_address("0.0.0.0:8080");
  c.mutable_http()->mutable_tls();
  s = app::FinalizeServerConfig(&c);
  EXPECT_NE(s.message().find("http.tls.cert_chain_file is empty"), absl::string_view::npos) << s;

  c = ServerConfig();
  c.mutable_http()->set_listen_address("127.0.0.1:0");
  c.mutable_http()->add_cors_allowed_origins("console.example");
  s = app::FinalizeServerConfig(&c);
  EXPECT_NE(s.message().find("http.cors_allowed_origins: 'console.example'"),
            absl::string_view::npos)
      << s;
}

// Issue 13: --check_config, for systemd's ExecStartPre: what --print_config checks, plus the
// files the config names (the TLS key pair, the organisation), without contacting the store.
TEST(ConfigTest, CheckConfigChecksTheFilesTheConfigNamesAndRedactsThePassword) {
  testing::TempDir dir;
  std::string out;
  const std::string pw = WriteConfig(dir, "pw", "s3cret-pw\n");
  const std::string good = WriteConfig(
      dir, "good.textproto",
      "store { mysql { user: \"u\" password_file: \"" + pw + "\" host: \"db.invalid\" } }\n");
  ASSERT_EQ(RunServer(dir, {"--config", good, "--check_config"}, &out), 0) << out;
  EXPECT_EQ(out.find("s3cret-pw"), std::string::npos) << out;
  EXPECT_NE(out.find("host: \"db.invalid\""), std::string::npos) << out;

  struct Case {
    std::string config;
    std::string message;
  };
  const std::string org = WriteConfig(dir, "org.textproto", "grids { grid { code: 1 } }\n");
  const Case cases[] = {
      {"store { mysql { user: \"u\" password_file: \"" + dir.path() + "/none\" } }",
       dir.path() + "/none"},
      {"tls { cert_chain_file: \"" + dir.path() + "/no.crt\" private_key_file: \"" + dir.path() +
           "/no.key\" }",
       "no.crt"},
      {"organisation_file: \"" + org + "\"", "org.textproto"},
      {"watch { poll_interval_ms: -5 }", "watch.poll_interval_ms is -5"},
  };
  int n = 0;
  for (const Case& c : cases) {
    const std::string path =
        WriteConfig(dir, "bad" + std::to_string(++n) + ".textproto", c.config + "\n");
    EXPECT_EQ(RunServer(dir, {"--config", path, "--check_config"}, &out), 2) << c.config << out;
    EXPECT_NE(out.find(c.message), std::string::npos) << c.config << "\n" << out;
  }
}

}  // namespace
}  // namespace gridline
