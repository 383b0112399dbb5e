// gridctl end to end: the real binary as a child process against a real gridline-server on
// SQLite and MariaDB. An operator bootstraps the platform with `gridctl org load`, then the
// demo organisation's dispatcher and department staff take a grid leader's report from triage to
// closed with gridctl alone, export it, and every failure maps to its documented exit status.
// Also unit tests of gridctl's table and CSV output (output.cc).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client_sdk/gridctl/output.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gridline/client/options.h"
#include "gridline/client/patrol_client.h"
#include "gridline/client/report_client.h"
#include "tests/e2e_fixture.h"
#include "tests/test_images.h"

extern char** environ;

namespace gridline {
namespace {

namespace gc = ::gridline::client;
namespace v1 = ::gridline::v1;
using namespace testing;  // NOLINT: demo tokens
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kGridctl[] = GRIDCTL_BINARY;

// The operator of the bootstrap organisation: the only user before `gridctl org load`.
constexpr char kBootstrapOperator[] = "bootstrap-operator-9d41c7e2a0b35f68";

struct Result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::ostream& operator<<(std::ostream& os, const Result& r) {
  return os << "exit " << r.exit_code << "\n--- stdout:\n" << r.out << "--- stderr:\n" << r.err;
}

// A gridctl child process with stdout and stderr on pipes and stdin on /dev/null. Its
// environment is ours without any GRIDLINE_* variable, plus `env`.
class Gridctl {
 public:
  Gridctl(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
          const std::string& binary = kGridctl) {
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
      ADD_FAILURE() << "pipe2 failed";
      return;
    }
    std::vector<std::string> argv_strings = {binary};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) {
      if (!absl::StartsWith(*e, "GRIDLINE_")) env_strings.push_back(*e);
    }
    for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
    std::vector<char*> argv, envp;
    for (auto& s : argv_strings) argv.push_back(s.data());
    argv.push_back(nullptr);
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    for (int sig : {SIGINT, SIGTERM, SIGPIPE, SIGUSR1}) sigaddset(&defaults, sig);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    int rc = posix_spawn(&pid_, binary.c_str(), &actions, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    close(out[1]);
    close(err[1]);
    out_fd_ = out[0];
    err_fd_ = err[0];
    if (rc != 0) {
      ADD_FAILURE() << "cannot start " << binary << ": " << strerror(rc);
      pid_ = -1;
    }
  }

  ~Gridctl() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0) close(out_fd_);
    if (err_fd_ >= 0) close(err_fd_);
  }

  // Reads until `done(stdout so far)` holds; false if the output ends or `timeout` passes first.
  bool WaitForOutput(const std::function<bool(const std::string&)>& done, milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done(out_)) {
      auto left =
          std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || (out_fd_ < 0 && err_fd_ < 0)) return false;
      Pump(static_cast<int>(left.count()));
    }
    return true;
  }

  void Signal(int sig) {
    if (pid_ > 0) kill(pid_, sig);
  }

  // Reads both streams to their end and waits for the exit; kills the process after `timeout`.
  Result Finish(milliseconds timeout = seconds(60)) {
    Result result;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out_fd_ >= 0 || err_fd_ >= 0) {
      auto left =
          std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      Pump(static_cast<int>(left.count()));
    }
    if (pid_ > 0) {
      int status = 0;
      pid_t done = 0;
      while ((done = waitpid(pid_, &status, WNOHANG)) == 0 &&
             std::chrono::steady_clock::now() < deadline) {
        pollfd none{};
        poll(&none, 0, 10);  // the streams are closed; only the exit is left to wait for
      }
      if (done == pid_) {
        result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      } else {
        ADD_FAILURE() << "the child did not finish in time; killed";
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
      }
      pid_ = -1;
    }
    result.out = out_;
    result.err = err_;
    return result;
  }

 private:
  void Pump(int timeout_ms) {
    pollfd fds[2];
    int n = 0;
    for (int fd : {out_fd_, err_fd_}) {
      if (fd >= 0) fds[n++] = {fd, POLLIN, 0};
    }
    if (n == 0 || poll(fds, n, timeout_ms) <= 0) return;
    for (int i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      char buffer[8192];
      ssize_t got = read(fds[i].fd, buffer, sizeof buffer);
      if (got > 0) {
        (fds[i].fd == out_fd_ ? out_ : err_).append(buffer, static_cast<size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        close(fds[i].fd);
        (fds[i].fd == out_fd_ ? out_fd_ : err_fd_) = -1;
      }
    }
  }

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string out_;
  std::string err_;
};

Result RunGridctl(const std::vector<std::string>& args,
                  const std::map<std::string, std::string>& env = {}) {
  Result r = Gridctl(args, env).Finish();
  // GRIDCTL_TEST_ECHO=1 shows every command line and what it printed.
  if (std::getenv("GRIDCTL_TEST_ECHO"))
    std::cerr << "$ gridctl " << absl::StrJoin(args, " ") << "\n" << r;
  return r;
}

// RFC 4180: records of fields, quoted fields may hold commas, doubled quotes and line breaks.
std::vector<std::vector<std::string>> ParseCsv(const std::string& text) {
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record;
  std::string field;
  bool quoted = false, any = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field.push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field.push_back(c);
      }
    } else if (c == '"') {
      quoted = true;
      any = true;
    } else if (c == ',') {
      record.push_back(std::move(field));
      field.clear();
      any = true;
    } else if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      record.push_back(std::move(field));
      field.clear();
      records.push_back(std::move(record));
      record.clear();
      any = false;
    } else {
      field.push_back(c);
      any = true;
    }
  }
  if (any || !field.empty()) {
    record.push_back(std::move(field));
    records.push_back(std::move(record));
  }
  return records;
}

// The rows of a CSV export as column-name maps.
std::vector<std::map<std::string, std::string>> CsvRows(const std::string& text) {
  auto records = ParseCsv(text);
  std::vector<std::map<std::string, std::string>> rows;
  if (records.empty()) return rows;
  for (size_t r = 1; r < records.size(); ++r) {
    std::map<std::string, std::string> row;
    for (size_t i = 0; i < records[0].size() && i < records[r].size(); ++i) {
      row[records[0][i]] = records[r][i];
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

// The whitespace-separated cells of the first line of `table` that starts with `first`.
std::vector<std::string> TableLine(const std::string& table, const std::string& first) {
  for (absl::string_view line : absl::StrSplit(table, '\n')) {
    std::vector<std::string> cells = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (!cells.empty() && cells[0] == first) return cells;
  }
  return {};
}

int Count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos;
       pos = text.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string LocalDate(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d", t, absl::LocalTimeZone());
}

// The local date `days` after today, "YYYY-MM-DD".
std::string DayFromToday(int days) {
  return absl::FormatCivilTime(absl::ToCivilDay(absl::Now(), absl::LocalTimeZone()) + days);
}

// ---- the command line, without a server ------------------------------------------------------

// The "name words" of every command listed by `gridctl --help`.
std::vector<std::string> ListedCommands(const std::string& help) {
  std::vector<std::string> commands;
  bool in_list = false;
  for (absl::string_view line : absl::StrSplit(help, '\n')) {
    if (line == "Commands:") {
      in_list = true;
      continue;
    }
    if (!in_list) continue;
    if (absl::StartsWith(line, "Global flags")) break;
    if (!absl::StartsWith(line, "  ")) continue;
    // "  cases list   List the cases ..." : the name is up to the three-space gap.
    std::string name(line.substr(2, line.find("   ", 2) - 2));
    commands.push_back(name);
  }
  return commands;
}

TEST(GridctlCli, HelpExitsZeroForEveryCommandAndDocumentsTheExitStatuses) {
  Result top = RunGridctl({"--help"});
  ASSERT_EQ(top.exit_code, 0) << top;
  for (const char* text :
       {"Exit status:", "  0  success", "  2  usage error", "  3  not found", "  4  authentication",
        "  5  wrong state", "  6  server unavailable", "GRIDLINE_TOKEN", "--token-file",
        "--endpoint", "--insecure", "--tls-roots", "--timeout", "--output"}) {
    EXPECT_TRUE(absl::StrContains(top.out, text)) << text << "\n" << top.out;
  }
  std::vector<std::string> commands = ListedCommands(top.out);
  for (const char* expected : {"org load",        "cases list",
                               "cases show",      "cases route",
                               "cases verify",    "cases follow",
                               "triage list",     "triage accept",
                               "triage reject",   "triage duplicates",
                               "extensions list", "extensions decide",
                               "dept list",       "dept accept",
                               "dept progress",   "dept resolve",
                               "dept extend",     "tokens issue",
                               "tokens list",     "tokens revoke",
                               "export cases",    "export statistics",
                               "stats",           "evaluations",
                               "audit",           "help",
                               "whoami",          "report submit",
                               "report flush",    "report outbox",
                               "cases mine",      "cases register"}) {
    EXPECT_NE(std::find(commands.begin(), commands.end(), expected), commands.end())
        << expected << " is not listed:\n"
        << top.out;
  }
  for (const std::string& command : commands) {
    std::vector<std::string> args = absl::StrSplit(command, ' ');
    args.push_back("--help");
    Result r = RunGridctl(args);
    EXPECT_EQ(r.exit_code, 0) << command << ": " << r;
    EXPECT_TRUE(absl::StartsWith(r.out, "Usage: gridctl " + command)) << command << ": " << r;
    EXPECT_EQ(r.err, "") << command;

    std::vector<std::string> help_args = {"help"};
    for (auto& w : absl::StrSplit(command, ' ')) help_args.emplace_back(w);
    Result via_help = RunGridctl(help_args);
    EXPECT_EQ(via_help.exit_code, 0) << command << ": " << via_help;
    EXPECT_EQ(via_help.out, r.out) << command;
  }
  for (const char* group : {"org", "tokens", "cases", "triage", "extensions", "dept", "export"}) {
    Result r = RunGridctl({group, "--help"});
    EXPECT_EQ(r.exit_code, 0) << group << ": " << r;
    EXPECT_TRUE(absl::StrContains(r.out, "Commands:")) << r;
  }
  EXPECT_EQ(RunGridctl({"help"}).out, top.out);
  EXPECT_EQ(RunGridctl({"-h"}).out, top.out);
}

TEST(GridctlCli, UsageErrorsExitTwoBeforeAnyTokenIsNeeded) {
  struct Case {
    std::vector<std::string> args;
    std::string stderr_has;
  };
  const std::vector<Case> cases = {
      {{}, "Usage: gridctl"},
      {{"frobnicate"}, "unknown command 'frobnicate'"},
      {{"cases"}, "missing command"},
      {{"cases", "frobnicate"}, "unknown command 'cases frobnicate'"},
      {{"help", "cases", "frobnicate"}, "unknown command"},
      {{"cases", "list", "--bogus"}, "unknown flag '--bogus'"},
      {{"cases", "list", "--token", "secret"}, "GRIDLINE_TOKEN"},
      {{"cases", "list", "--token=secret"}, "GRIDLINE_TOKEN"},
      {{"cases", "list", "--state", "NOT_A_STATE"}, "--state"},
      {{"cases", "list", "--limit", "-3"}, "--limit"},
      {{"cases", "list", "--output", "xml"}, "--output"},
      {{"cases", "show"}, "missing argument"},
      {{"cases", "show", "a", "b"}, "unexpected argument 'b'"},
      {{"cases", "show", "a", "--output", "csv"}, "csv"},
      {{"cases", "verify", "a", "--pass", "--fail"}, "--pass"},
      {{"cases", "verify", "a", "--fail"}, "--note"},
      {{"cases", "route", "a", "--note", "x"}, "--department"},
      {{"triage", "accept", "a", "--urgency", "SOON"}, "--urgency"},
      {{"triage", "reject", "a"}, "--reason"},
      {{"dept", "resolve", "a"}, "--result"},
      {{"dept", "progress", "a"}, "--note"},
      {{"export", "statistics"}, "--from"},
      {{"export", "statistics", "--from", "2026-02-30"}, "--from"},
      {{"stats", "--from", "yesterday"}, "--from"},
      {{"--timeout", "0", "cases", "list"}, "--timeout"},
      {{"triage", "duplicates"}, "missing argument"},
      {{"triage", "duplicates", "a", "--radius-m", "0"}, "--radius-m"},
      {{"triage", "duplicates", "a", "--window-hours", "721"}, "--window-hours"},
      {{"triage", "duplicates", "a", "--limit", "51"}, "--limit"},
      {{"extensions", "list", "--state", "LOST"}, "--state"},
      {{"extensions", "decide", "x"}, "--approve"},
      {{"extensions", "decide", "x", "--approve", "--deny", "--note", "n"}, "--approve"},
      {{"extensions", "decide", "x", "--deny"}, "--note"},
      {{"extensions", "decide", "x", "--deny", "--note", "n", "--deadline", "2026-03-01"},
       "--deadline"},
      {{"extensions", "decide", "x", "--approve", "--deadline", "soon"}, "--deadline"},
      {{"tokens", "issue"}, "missing argument"},
      {{"tokens", "issue", "u", "--ttl", "0d"}, "--ttl"},
      {{"tokens", "issue", "u", "--ttl", "3 years"}, "--ttl"},
      {{"tokens", "issue", "u", "--ttl", "800d"}, "--ttl"},
      {{"tokens", "list", "u", "v"}, "unexpected argument 'v'"},
      {{"tokens", "revoke"}, "missing argument"},
      {{"tokens", "revoke", "t", "--output", "csv"}, "csv"},
      {{"tokens", "rotate"}, "missing argument"},
      {{"tokens", "rotate", "t", "--grace", "800h"}, "--grace"},
      {{"tokens", "issue", "u", "--bind-cert", "/no/such/cert.pem"}, "--bind-cert"},
      {{"tokens", "list", "--tls-cert", "/no/such/cert.pem"}, "--tls-key"},
      {{"tokens", "list", "--tls-cert", "/no/cert.pem", "--tls-key", "/no/key.pem", "--insecure"},
       "--insecure"},
      {{"audit", "--from", "yesterday"}, "--from"},
      {{"audit", "--limit", "-1"}, "--limit"},
      {{"evaluations"}, "--month"},
      {{"evaluations", "--month", "2026-13"}, "--month"},
      {{"evaluations", "--month", "2026-02", "--kind", "street"}, "--kind"},
      {{"evaluations", "--month", "2026-02", "--flag", "green"}, "--flag"},
      {{"evaluations", "--month", "2026-02", "--source", "radio"}, "--source"},
      {{"stats", "--from", "2026-02-01", "--source", "radio"}, "--source"},
      {{"accountability", "list"}, "--month"},
      {{"accountability", "dismiss", "a"}, "--reason"},
      {{"cases", "supervise", "c"}, "--reason"},
      {{"cases", "supervise", "c", "--reason", "r", "--respond-by", "soon"}, "--respond-by"},
      {{"patrols", "stats"}, "--from"},
      {{"patrols", "list", "--state", "walking"}, "--state"},
  };
  for (const auto& c : cases) {
    Result r = RunGridctl(c.args);
    EXPECT_EQ(r.exit_code, 2) << absl::StrJoin(c.args, " ") << ": " << r;
    EXPECT_TRUE(absl::StrContains(r.err, c.stderr_has)) << absl::StrJoin(c.args, " ") << ": " << r;
    EXPECT_EQ(r.out, "") << absl::StrJoin(c.args, " ");
  }
}

// ---- output helpers (client_sdk/gridctl/output.cc) -------------------------------------------

TEST(GridctlOutput, ChineseCharactersTakeTwoColumns) {
  EXPECT_EQ(gridctl::DisplayWidth("abc"), 3);
  EXPECT_EQ(gridctl::DisplayWidth("路面破损"), 8);
  EXPECT_EQ(gridctl::DisplayWidth("郑韩路18号，"), 12);  // fullwidth comma
  EXPECT_EQ(gridctl::DisplayWidth("e\xCC\x81"), 1);      // e + combining acute
  EXPECT_EQ(gridctl::DisplayWidth("\xFF"), 1);           // invalid UTF-8 byte
  EXPECT_EQ(gridctl::TruncateToWidth("路面塌陷深约三十厘米", 9), "路面塌陷…");
  EXPECT_EQ(gridctl::TruncateToWidth("short", 9), "short");
  EXPECT_EQ(gridctl::SanitizeCell("a\nb\tc"), "a b c");
}

TEST(GridctlOutput, TablesAlignMixedChineseAndLatinText) {
  gridctl::Table table({"code", "name", "count"});
  table.AlignRight(2);
  table.AddRow({"SZ", "新郑市市政工程管理处", "7"});
  table.AddRow({"CG-410184001", "城管 team", "12"});
  std::ostringstream os;
  table.PrintText(os);
  std::vector<std::string> lines = absl::StrSplit(os.str(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u) << os.str();
  EXPECT_EQ(lines[0], "CODE          NAME                  COUNT");
  EXPECT_EQ(lines[1], "SZ            新郑市市政工程管理处      7");
  EXPECT_EQ(lines[2], "CG-410184001  城管 team                12");
  for (const auto& line : lines) EXPECT_EQ(gridctl::DisplayWidth(line), 41) << line;
}

TEST(GridctlOutput, TablesFitTheTerminalByCuttingTheWidestCellsNotTheId) {
  gridctl::Table table({"case_id", "state", "description", "address"});
  table.AddRow({"c-7f3a9e21b4d05c68", "DISPATCHED",
                "路面塌陷，深约30厘米，影响车辆通行，请尽快处理", "新郑市郑韩路18号东侧人行道"});
  table.AddRow({"c-2", "CLOSED", "x", "y"});
  std::ostringstream whole, fitted, tiny;
  table.PrintText(whole);
  table.PrintText(fitted, 60);
  table.PrintText(tiny, 10);
  std::vector<std::string> lines = absl::StrSplit(fitted.str(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u) << fitted.str();
  for (const auto& line : lines) EXPECT_LE(gridctl::DisplayWidth(line), 60) << line;
  EXPECT_GT(gridctl::DisplayWidth(absl::StrSplit(whole.str(), '\n').begin()->data()), 60);
  EXPECT_TRUE(absl::StartsWith(lines[1], "c-7f3a9e21b4d05c68  DISPATCHED  ")) << lines[1];
  EXPECT_TRUE(absl::StrContains(lines[1], "…")) << lines[1];
  // Too narrow for even the floors: each column keeps its header's width (and the whole id).
  std::vector<std::string> narrow = absl::StrSplit(tiny.str(), '\n', absl::SkipEmpty());
  EXPECT_TRUE(absl::StartsWith(narrow[0], "CASE_ID             STATE   DESCRIPTION  ADDRESS"))
      << narrow[0];
  EXPECT_TRUE(absl::StartsWith(narrow[1], "c-7f3a9e21b4d05c68")) << narrow[1];
}

TEST(GridctlOutput, CsvQuotesCommasQuotesAndLineBreaks) {
  EXPECT_EQ(gridctl::CsvField("plain"), "plain");
  EXPECT_EQ(gridctl::CsvField("路面塌陷"), "路面塌陷");
  EXPECT_EQ(gridctl::CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(gridctl::CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(gridctl::CsvField("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(gridctl::CsvField("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"")
      << "a formula is defused";
  EXPECT_EQ(gridctl::CsvField("@SUM(A1)"), "'@SUM(A1)");
  EXPECT_EQ(gridctl::CsvField("-1"), "-1") << "a negative number is data, not a formula";
  EXPECT_EQ(gridctl::CsvField("-0.25"), "-0.25");
  EXPECT_EQ(gridctl::CsvField("-1+2"), "'-1+2");
  EXPECT_EQ(gridctl::CsvField("-A1"), "'-A1");
  EXPECT_EQ(gridctl::CsvField(" padded"), "\" padded\"");
  const std::vector<std::string> fields = {"x", "深约30厘米, \"大坑\"\n第二行", "", "y"};
  auto parsed = ParseCsv(gridctl::CsvRecord(fields));
  ASSERT_EQ(parsed.size(), 1u);
  EXPECT_EQ(parsed[0], fields);
}

TEST(GridctlOutput, TimeArgumentsAreDatesOrRfc3339) {
  google::protobuf::Timestamp ts;
  ASSERT_TRUE(gridctl::ParseTimeArgument("2026-03-01T08:00:00+08:00", false, &ts));
  EXPECT_EQ(gridctl::Rfc3339(ts), "2026-03-01T00:00:00Z");
  google::protobuf::Timestamp start, end;
  ASSERT_TRUE(gridctl::ParseTimeArgument("2026-03-01", false, &start));
  ASSERT_TRUE(gridctl::ParseTimeArgument("2026-03-01", true, &end));
  EXPECT_EQ(end.seconds() - start.seconds(), 86400);  // a whole day (no DST change that day)
  EXPECT_FALSE(gridctl::ParseTimeArgument("2026-02-30", false, &ts));
  EXPECT_FALSE(gridctl::ParseTimeArgument("tomorrow", false, &ts));
}

// ---- against a server ------------------------------------------------------------------------

class GridctlTest : public E2eTest {
 protected:
  // Starts a server that knows `organisation_file` (default: the demo organisation).
  bool Start(const std::string& organisation_file = "") {
    int port = FreePort();
    server_ = StartServerAt(port, organisation_file);
    if (!server_) return false;
    endpoint_ = absl::StrCat("127.0.0.1:", port);
    return true;
  }

  std::map<std::string, std::string> Env(const std::string& token) const {
    std::map<std::string, std::string> env = {{"GRIDLINE_ENDPOINT", endpoint_},
                                              {"GRIDLINE_INSECURE", "1"}};
    if (!token.empty()) env["GRIDLINE_TOKEN"] = token;
    return env;
  }

  Result Run(const std::string& token, const std::vector<std::string>& args) {
    return RunGridctl(args, Env(token));
  }

  // A grid leader's report, submitted with the SDK as a handset would.
  v1::SubmitReportResponse SubmitReport(const std::string& description) {
    gc::ReportClient client(gc::MakeReportConnection(gc::Options{}
                                                         .set<gc::EndpointOption>(endpoint_)
                                                         .set<gc::InsecureChannelOption>(true)
                                                         .set<gc::AuthTokenOption>(kLeader1)));
    v1::SubmitReportRequest request = Report("", description);
    auto submitted = client.SubmitReport(request);
    EXPECT_TRUE(submitted.ok()) << submitted.status();
    return submitted.ok() ? *submitted : v1::SubmitReportResponse();
  }

  std::unique_ptr<ServerProcess> server_;
  std::string endpoint_;
};

// Issue 13: a real install, without demo mode. From an empty store: `gridline-server bootstrap`
// makes the first operator and their token, the operator loads the organisation and issues a
// grid leader's and a dispatcher's token, and a report reaches the triage queue.
TEST_P(GridctlTest, ARealInstallStartsWithBootstrapWithoutDemoMode) {
  if (HasFatalFailure()) return;
  const std::string token_file = dir_.path() + "/operator.token";
  auto bootstrap = [&](const std::string& user, const std::string& file) {
    std::vector<std::string> args = {"bootstrap", "--operator",   user, "--display_name",
                                     "市运维",    "--token_file", file};
    for (const auto& a : ServerArgs({})) args.push_back(a);
    return Gridctl(args, {}, ServerBinary()).Finish();
  };
  Result made = bootstrap("u-city-operator", token_file);
  ASSERT_EQ(made.exit_code, 0) << made;
  struct stat st {};
  ASSERT_EQ(stat(token_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string op_token;
  std::getline(std::ifstream(token_file), op_token);
  EXPECT_TRUE(absl::StartsWith(op_token, "gl_")) << op_token;
  EXPECT_FALSE(absl::StrContains(made.out + made.err, op_token)) << "the token is only in the file";

  // Only the first operator: a second bootstrap is refused and leaves no file behind.
  Result second = bootstrap("u-another", dir_.path() + "/second.token");
  EXPECT_EQ(second.exit_code, 2) << second;
  EXPECT_TRUE(absl::StrContains(second.err, "operator already")) << second;
  EXPECT_NE(access((dir_.path() + "/second.token").c_str(), F_OK), 0);
  // Nor does it write over a token file.
  EXPECT_EQ(bootstrap("u-city-operator", token_file).exit_code, 2);

  const int port = FreePort();
  server_ = StartRealServerAt(port);
  ASSERT_TRUE(server_);
  endpoint_ = absl::StrCat("127.0.0.1:", port);

  Result whoami = Run(op_token, {"whoami", "--output", "json"});
  ASSERT_EQ(whoami.exit_code, 0) << whoami;
  google::protobuf::Struct me;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(whoami.out, &me).ok()) << whoami;
  EXPECT_EQ(me.fields().at("user_id").string_value(), "u-city-operator") << whoami;
  EXPECT_EQ(me.fields().at("role").string_value(), "OPERATOR") << whoami;
  EXPECT_EQ(me.fields().at("display_name").string_value(), "市运维") << whoami;
  EXPECT_FALSE(absl::StrContains(whoami.out, op_token)) << "never the token itself";
  Result load = Run(op_token, {"org", "load", DemoOrganisationFile(), "--output", "json"});
  ASSERT_EQ(load.exit_code, 0) << load;
  google::protobuf::Struct loaded;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(load.out, &loaded).ok()) << load;
  EXPECT_GT(loaded.fields().at("counts").list_value().values_size(), 0) << load;
  EXPECT_EQ(loaded.fields().at("violations").list_value().values_size(), 0) << load;
  // Outside demo mode the file's demo tokens are not stored: nobody but the operator gets in.
  EXPECT_EQ(Run(kDispatcher1, {"triage", "list"}).exit_code, 4);

  auto issue = [&](const std::string& user) {
    Result r = Run(op_token, {"tokens", "issue", user, "--label", "handset"});
    EXPECT_EQ(r.exit_code, 0) << r;
    return std::string(absl::StripAsciiWhitespace(r.out));
  };
  Result as_json = Run(op_token, {"tokens", "issue", "u-staff-sz-001", "--output", "json"});
  ASSERT_EQ(as_json.exit_code, 0) << as_json;
  google::protobuf::Struct issued;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(as_json.out, &issued).ok()) << as_json;
  EXPECT_TRUE(absl::StartsWith(issued.fields().at("token").string_value(), "gl_")) << as_json;
  EXPECT_EQ(issued.fields().at("user_id").string_value(), "u-staff-sz-001") << as_json;
  const std::string leader = issue("u-leader-001");
  const std::string dispatcher = issue("u-dispatcher-001");
  ASSERT_FALSE(leader.empty());

  // The leader reports with gridctl, with a photo, through the outbox, for their own grid.
  const std::string photo = dir_.path() + "/photo.png";
  std::ofstream(photo, std::ios::binary) << TestPng(20000, "gridctl report");
  Result submitted =
      Run(leader, {"report", "submit", "--category", "C01_ROAD_DAMAGE", "--description", "井盖缺失",
                   "--photo", photo, "--outbox", dir_.path() + "/outbox.db", "--output", "json"});
  ASSERT_EQ(submitted.exit_code, 0) << submitted;
  google::protobuf::Struct report;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(submitted.out, &report).ok())
      << submitted;
  EXPECT_EQ(report.fields().at("outbox").string_value(), "sent") << submitted;
  EXPECT_EQ(report.fields().at("state").string_value(), "PENDING_TRIAGE") << submitted;
  EXPECT_EQ(report.fields().at("grid").string_value(), "410184001001001") << submitted;
  EXPECT_EQ(report.fields().at("photos").string_value(), "1") << submitted;
  const std::string id = report.fields().at("case_id").string_value();
  ASSERT_FALSE(id.empty()) << submitted;
  Result mine = Run(leader, {"cases", "mine", "--output", "csv"});
  ASSERT_EQ(mine.exit_code, 0) << mine;
  EXPECT_TRUE(absl::StrContains(mine.out, absl::StrCat(id, ",,PENDING_TRIAGE,C01_ROAD_DAMAGE,")))
      << mine;
  Result queue = Run(dispatcher, {"triage", "list"});
  ASSERT_EQ(queue.exit_code, 0) << queue;
  EXPECT_EQ(TableLine(queue.out, id).at(1), "PENDING_TRIAGE") << queue;
  // For people the codes carry their names; for programs (below) the bare codes.
  EXPECT_TRUE(absl::StrContains(queue.out, "C01_ROAD_DAMAGE（路面破损/塌陷）")) << queue;
  EXPECT_TRUE(absl::StrContains(queue.out, "410184001001001（")) << queue;

  // The same queue for a program: JSON, one object per case, the values CSV has.
  Result json = Run(dispatcher, {"triage", "list", "--output", "json"});
  ASSERT_EQ(json.exit_code, 0) << json;
  google::protobuf::ListValue cases;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json.out, &cases).ok()) << json;
  ASSERT_EQ(cases.values_size(), 1) << json;
  const auto& fields = cases.values(0).struct_value().fields();
  EXPECT_EQ(fields.at("case_id").string_value(), id) << json;
  EXPECT_EQ(fields.at("state").string_value(), "PENDING_TRIAGE") << json;
  EXPECT_EQ(fields.at("description").string_value(), "井盖缺失") << json;
  EXPECT_EQ(fields.at("category").string_value(), "C01_ROAD_DAMAGE") << json;
  Result shown = Run(dispatcher, {"cases", "show", id, "--output", "json"});
  ASSERT_EQ(shown.exit_code, 0) << shown;
  google::protobuf::Struct one;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(shown.out, &one).ok()) << shown;
  EXPECT_EQ(one.fields().at("case").struct_value().fields().at("case_id").string_value(), id)
      << shown;
  EXPECT_EQ(one.fields().at("history").list_value().values_size(), 1) << shown;
}

TEST_P(GridctlTest, ALeadersReportWaitsInTheOutboxUntilTheServerIsReachable) {
  // No server yet: the report is queued, durable, and the command says so (exit 6).
  endpoint_ = absl::StrCat("127.0.0.1:", FreePort());
  const std::string outbox = dir_.path() + "/outbox.db";
  Result offline = Run(
      kLeader1, {"report", "submit", "--category", "C01_ROAD_DAMAGE", "--description", "地下室积水",
                 "--grid", "410184001001001", "--outbox", outbox, "--timeout", "2"});
  EXPECT_EQ(offline.exit_code, 6) << offline;
  EXPECT_TRUE(absl::StrContains(offline.err, "report flush")) << offline;
  Result waiting = Run("", {"report", "outbox", "--outbox", outbox, "--output", "csv"});
  ASSERT_EQ(waiting.exit_code, 0) << waiting;
  EXPECT_TRUE(absl::StrContains(waiting.out, ",pending,")) << waiting;

  // The server comes up: a flush files it once; the outbox records the case.
  ASSERT_TRUE(Start(DemoOrganisationFile()));
  Result flushed = Run(kLeader1, {"report", "flush", "--outbox", outbox, "--output", "json"});
  ASSERT_EQ(flushed.exit_code, 0) << flushed;
  google::protobuf::Struct counts;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(flushed.out, &counts).ok()) << flushed;
  EXPECT_EQ(counts.fields().at("sent").string_value(), "1") << flushed;
  EXPECT_EQ(counts.fields().at("pending").string_value(), "0") << flushed;
  Result sent = Run("", {"report", "outbox", "--outbox", outbox, "--output", "json"});
  ASSERT_EQ(sent.exit_code, 0) << sent;
  google::protobuf::ListValue entries;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(sent.out, &entries).ok()) << sent;
  ASSERT_EQ(entries.values_size(), 1) << sent;
  const auto& entry = entries.values(0).struct_value().fields();
  EXPECT_EQ(entry.at("state").string_value(), "sent") << sent;
  const std::string id = entry.at("case_id").string_value();
  Result mine = Run(kLeader1, {"cases", "mine", "--state", "pending-triage", "--output", "csv"});
  ASSERT_EQ(mine.exit_code, 0) << mine;
  EXPECT_TRUE(absl::StrContains(mine.out, absl::StrCat(id, ",,PENDING_TRIAGE,C01_ROAD_DAMAGE,")))
      << mine;
  Result closed = Run(kLeader1, {"cases", "mine", "--state", "closed", "--output", "csv"});
  ASSERT_EQ(closed.exit_code, 0) << closed;
  EXPECT_FALSE(absl::StrContains(closed.out, id)) << closed;
  // A second flush has nothing left to send.
  Result again = Run(kLeader1, {"report", "flush", "--outbox", outbox, "--output", "json"});
  ASSERT_EQ(again.exit_code, 0) << again;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(again.out, &counts).ok()) << again;
  EXPECT_EQ(counts.fields().at("sent").string_value(), "0") << again;

  // A dispatcher may not report: the server's refusal marks the entry failed (exit 4).
  Result refused =
      Run(kDispatcher1, {"report", "submit", "--category", "C01_ROAD_DAMAGE", "--description", "x",
                         "--grid", "410184001001001", "--outbox", dir_.path() + "/other.db"});
  EXPECT_EQ(refused.exit_code, 4) << refused;
}

TEST_P(GridctlTest, TheCenterRegistersAHotlineReportWithItsSource) {
  ASSERT_TRUE(Start(DemoOrganisationFile()));
  const std::string photo = dir_.path() + "/hotline.png";
  std::ofstream(photo, std::ios::binary) << TestPng(20000, "hotline");
  const std::vector<std::string> args = {
      "cases",        "register",        "--source",      "public",
      "--category",   "C01_ROAD_DAMAGE", "--description", "12345：路面塌陷",
      "--grid",       "410184001001001", "--photo",       photo,
      "--request-id", "hotline-7",       "--output",      "json"};
  Result registered = Run(kDispatcher1, args);
  ASSERT_EQ(registered.exit_code, 0) << registered;
  google::protobuf::Struct fields;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(registered.out, &fields).ok())
      << registered;
  EXPECT_EQ(fields.fields().at("source").string_value(), "PUBLIC") << registered;
  EXPECT_EQ(fields.fields().at("state").string_value(), "PENDING_TRIAGE") << registered;
  EXPECT_EQ(fields.fields().at("photos").string_value(), "1") << registered;
  const std::string id = fields.fields().at("case_id").string_value();
  // The same request id again: the same case.
  Result again = Run(kDispatcher1, args);
  ASSERT_EQ(again.exit_code, 0) << again;
  EXPECT_TRUE(absl::StrContains(again.out, id)) << again;
  Result shown = Run(kDispatcher1, {"cases", "show", id, "--no-history"});
  ASSERT_EQ(shown.exit_code, 0) << shown;
  EXPECT_EQ(TableLine(shown.out, "source").at(1), "PUBLIC") << shown;
  // Not a handset's, and not a grid leader's to do.
  Result handset =
      Run(kDispatcher1, {"cases", "register", "--source", "handset", "--category",
                         "C01_ROAD_DAMAGE", "--description", "x", "--grid", "410184001001001"});
  EXPECT_EQ(handset.exit_code, 2) << handset;
  Result leader =
      Run(kLeader1, {"cases", "register", "--source", "media", "--category", "C01_ROAD_DAMAGE",
                     "--description", "x", "--grid", "410184001001001"});
  EXPECT_EQ(leader.exit_code, 4) << leader;
}

TEST_P(GridctlTest, SupervisorsReadTheFiguresOfTheirSubtreeAndWhoamiNamesTheirGrid) {
  ASSERT_TRUE(Start(DemoOrganisationFile()));
  SubmitReport("路面塌陷");
  Result me = Run(kSupervisor, {"whoami"});
  ASSERT_EQ(me.exit_code, 0) << me;
  EXPECT_EQ(TableLine(me.out, "role").at(1), "SUPERVISOR") << me;
  EXPECT_EQ(TableLine(me.out, "grid_code").at(1), "410184") << me;
  EXPECT_EQ(TableLine(me.out, "grid_name").at(1), "新郑市") << me;

  const std::string from =
      absl::FormatTime("%Y-%m-%d", absl::Now() - absl::Hours(48), absl::LocalTimeZone());
  // Their own subtree by default, and a grid inside it.
  Result own = Run(kSupervisor, {"stats", "--from", from, "--output", "json"});
  ASSERT_EQ(own.exit_code, 0) << own;
  EXPECT_TRUE(absl::StrContains(own.out, "410184")) << own;
  Result inside = Run(kSupervisor, {"stats", "--from", from, "--grid", "410184001"});
  EXPECT_EQ(inside.exit_code, 0) << inside;
  Result by_source =
      Run(kSupervisor, {"stats", "--from", from, "--source", "public", "--output", "json"});
  EXPECT_EQ(by_source.exit_code, 0) << by_source;
  EXPECT_TRUE(absl::StrContains(by_source.out, "PUBLIC")) << by_source;
  // Not the city above them (exit 2: INVALID_ARGUMENT on grid_code), and not for dispatchers.
  Result above = Run(kSupervisor, {"stats", "--from", from, "--grid", "410100"});
  EXPECT_EQ(above.exit_code, 2) << above;
  EXPECT_TRUE(absl::StrContains(above.err, "not in your subtree")) << above;
  EXPECT_EQ(Run(kDispatcher1, {"stats", "--from", from}).exit_code, 4);

  // The 三色旗 (with data: history_e2e_test): supervisors may list, grid leaders may not.
  const absl::CivilMonth last_month = absl::ToCivilMonth(absl::Now(), absl::LocalTimeZone()) - 1;
  const std::string month = absl::FormatCivilTime(last_month).substr(0, 7);
  Result flags = Run(kSupervisor, {"evaluations", "--month", month});
  EXPECT_EQ(flags.exit_code, 0) << flags;
  EXPECT_EQ(Run(kLeader1, {"evaluations", "--month", month}).exit_code, 4);

  // Anyone may ask who they are.
  Result leader = Run(kLeader1, {"whoami"});
  ASSERT_EQ(leader.exit_code, 0) << leader;
  EXPECT_EQ(TableLine(leader.out, "role").at(1), "GRID_LEADER") << leader;
}

TEST_P(GridctlTest, OperatorLoadsTheOrganisationAndACaseGoesFromTriageToClosed) {
  // A platform that knows only its operator.
  const std::string bootstrap = dir_.path() + "/bootstrap.textproto";
  std::ofstream(bootstrap) << "users {\n"
                              "  user { user_id: \"u-bootstrap-operator\" display_name: \"运维\" "
                              "role: OPERATOR }\n"
                              "  demo_token: \""
                           << kBootstrapOperator << "\"\n}\n";
  ASSERT_TRUE(Start(bootstrap));

  // A dry run counts and writes nothing: the demo users' tokens do not work yet.
  Result dry = Run(kBootstrapOperator, {"org", "load", DemoOrganisationFile(), "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry;
  EXPECT_EQ(TableLine(dry.out, "grids"), (std::vector<std::string>{"grids", "22", "0", "0"}))
      << dry;
  EXPECT_TRUE(absl::StrContains(dry.err, "dry run")) << dry;
  EXPECT_EQ(Run(kDispatcher1, {"triage", "list"}).exit_code, 4);

  Result load = Run(kBootstrapOperator, {"org", "load", DemoOrganisationFile()});
  ASSERT_EQ(load.exit_code, 0) << load;
  EXPECT_EQ(TableLine(load.out, "KIND"),
            (std::vector<std::string>{"KIND", "CREATED", "UPDATED", "UNCHANGED"}))
      << load;
  EXPECT_EQ(TableLine(load.out, "grids"), (std::vector<std::string>{"grids", "22", "0", "0"}))
      << load;
  EXPECT_EQ(TableLine(load.out, "departments"),
            (std::vector<std::string>{"departments", "17", "0", "0"}));
  EXPECT_EQ(TableLine(load.out, "categories"),
            (std::vector<std::string>{"categories", "20", "0", "0"}));
  EXPECT_EQ(TableLine(load.out, "routing_rules"),
            (std::vector<std::string>{"routing_rules", "22", "0", "0"}));
  EXPECT_EQ(TableLine(load.out, "users"), (std::vector<std::string>{"users", "14", "0", "0"}));
  // stderr is a pipe here: progress comes as plain lines, not a redrawn bar.
  EXPECT_TRUE(absl::StrContains(load.err, "import: ")) << load;
  EXPECT_FALSE(absl::StrContains(load.err, "\r")) << load;
  EXPECT_TRUE(absl::StrContains(load.err, "loaded")) << load;

  // Loading the same file again changes nothing.
  Result again = Run(kOperator, {"org", "load", DemoOrganisationFile()});
  ASSERT_EQ(again.exit_code, 0) << again;
  EXPECT_EQ(TableLine(again.out, "users"), (std::vector<std::string>{"users", "0", "0", "14"}));

  // Step 1, on a handset: a report whose text needs CSV quoting.
  const std::string description = "路面塌陷，深约30厘米, \"大坑\"\n第二行: 请尽快处理";
  v1::SubmitReportResponse submitted = SubmitReport(description);
  const std::string id = submitted.case_().case_id();
  ASSERT_FALSE(id.empty());

  // Step 2: the acceptance center sees it in its queue and accepts it.
  Result queue = Run(kDispatcher1, {"triage", "list"});
  ASSERT_EQ(queue.exit_code, 0) << queue;
  EXPECT_EQ(TableLine(queue.out, id).at(1), "PENDING_TRIAGE") << queue;
  Result queue_csv = Run(kDispatcher1, {"triage", "list", "--output", "csv"});
  ASSERT_EQ(queue_csv.exit_code, 0) << queue_csv;
  auto queued = CsvRows(queue_csv.out);
  ASSERT_EQ(queued.size(), 1u) << queue_csv;
  EXPECT_EQ(queued[0]["case_id"], id);
  EXPECT_EQ(queued[0]["description"], description);

  Result accept =
      Run(kDispatcher1, {"triage", "accept", id, "--urgency", "emergency", "--note", "受理"});
  ASSERT_EQ(accept.exit_code, 0) << accept;
  EXPECT_EQ(TableLine(accept.out, "state"), (std::vector<std::string>{"state", "DISPATCHED"}));
  EXPECT_EQ(TableLine(accept.out, "lead_department"),
            (std::vector<std::string>{"lead_department", "SZ"}));

  // Step 4 by hand: water assists (联合执法).
  Result route = Run(kDispatcher1, {"cases", "route", id, "--department", "SZ", "--assist", "SW",
                                    "--note", "水管可能渗漏，水务协助"});
  ASSERT_EQ(route.exit_code, 0) << route;
  EXPECT_EQ(TableLine(route.out, "assisting"), (std::vector<std::string>{"assisting", "SW"}));

  // The department takes it on, reports progress and the result with an after-photo.
  Result assigned = Run(kStaffSz, {"dept", "list"});
  ASSERT_EQ(assigned.exit_code, 0) << assigned;
  EXPECT_EQ(TableLine(assigned.out, id).at(2), "DISPATCHED") << assigned;
  Result taken = Run(kStaffSz, {"dept", "accept", id, "--note", "孙涛带班组前往"});
  ASSERT_EQ(taken.exit_code, 0) << taken;
  EXPECT_EQ(TableLine(taken.out, "state"), (std::vector<std::string>{"state", "IN_PROGRESS"}));
  Result progress = Run(kStaffSz, {"dept", "progress", id, "--note", "已设置围挡"});
  ASSERT_EQ(progress.exit_code, 0) << progress;

  const std::string photo = dir_.path() + "/after.png";
  {
    const std::string png = testing::TestPng(2008, "after-photo of " + id);
    std::ofstream(photo, std::ios::binary) << png;
  }
  Result resolved =
      Run(kStaffSz, {"dept", "resolve", id, "--result", "已修补路面", "--photo", photo});
  ASSERT_EQ(resolved.exit_code, 0) << resolved;
  EXPECT_EQ(TableLine(resolved.out, "state"), (std::vector<std::string>{"state", "RESOLVED"}));

  // An action the state does not allow: exit 5, and stderr names the current state.
  Result wrong_state = Run(kStaffSz, {"dept", "accept", id});
  EXPECT_EQ(wrong_state.exit_code, 5) << wrong_state;
  EXPECT_TRUE(absl::StrContains(wrong_state.err, "FAILED_PRECONDITION")) << wrong_state;
  EXPECT_TRUE(absl::StrContains(wrong_state.err, "the case is in state RESOLVED")) << wrong_state;

  // Step 6 by the center: verified on site, closed.
  Result verified = Run(kDispatcher1, {"cases", "verify", id, "--pass", "--note", "现场核查通过"});
  ASSERT_EQ(verified.exit_code, 0) << verified;
  EXPECT_EQ(TableLine(verified.out, "state"), (std::vector<std::string>{"state", "CLOSED"}));

  Result shown = Run(kDispatcher1, {"cases", "show", id});
  ASSERT_EQ(shown.exit_code, 0) << shown;
  EXPECT_EQ(TableLine(shown.out, "state"), (std::vector<std::string>{"state", "CLOSED"}));
  EXPECT_EQ(TableLine(shown.out, "resolution"),
            (std::vector<std::string>{"resolution", "已修补路面"}));
  EXPECT_TRUE(absl::StartsWith(TableLine(shown.out, "after_photos").at(1), "1")) << shown;
  std::string history = shown.out.substr(shown.out.find("History:"));
  size_t at = 0;
  for (const char* event :
       {"REPORTED", "ACCEPTED_FOR_FILING", "ROUTED", "ROUTED", "ASSIGNMENT_ACCEPTED",
        "PROGRESS_ADDED", "CASE_RESOLVED", "VERIFICATION_PASSED"}) {
    at = history.find(event, at);
    ASSERT_NE(at, std::string::npos) << event << " missing or out of order:\n" << history;
    ++at;
  }

  Result closed = Run(kDispatcher1, {"cases", "list", "--state", "CLOSED", "--limit", "0"});
  ASSERT_EQ(closed.exit_code, 0) << closed;
  EXPECT_EQ(TableLine(closed.out, id).at(2), "CLOSED") << closed;

  // A second report: lists stop at --limit and say so; exports follow every page.
  const std::string second = SubmitReport("又一处路面破损").case_().case_id();
  ASSERT_FALSE(second.empty());
  Result first_only = Run(kDispatcher1, {"cases", "list", "--limit", "1"});
  ASSERT_EQ(first_only.exit_code, 0) << first_only;
  EXPECT_FALSE(TableLine(first_only.out, second).empty()) << "newest first: " << first_only;
  EXPECT_TRUE(TableLine(first_only.out, id).empty()) << first_only;
  EXPECT_TRUE(absl::StrContains(first_only.err, "showing the first 1 cases")) << first_only;

  // The CSV export holds the case exactly, text included.
  const std::string exported = dir_.path() + "/cases.csv";
  Result export_cases = Run(kDispatcher1, {"export", "cases", "--category", "C01_ROAD_DAMAGE",
                                           "--page-size", "1", "--out", exported});
  ASSERT_EQ(export_cases.exit_code, 0) << export_cases;
  EXPECT_EQ(export_cases.out, "");
  const std::string csv = ReadAll(exported);
  auto records = ParseCsv(csv);
  ASSERT_GE(records.size(), 2u) << csv;
  EXPECT_EQ(records[0],
            (std::vector<std::string>{"case_id", "case_number", "state", "category", "grid",
                                      "lead_department", "urgency", "reporter", "observe_time",
                                      "create_time", "deadline_time", "update_time", "rework_count",
                                      "description", "address", "source"}));
  auto rows = CsvRows(csv);
  ASSERT_EQ(rows.size(), 2u) << csv;
  EXPECT_EQ(rows[0]["case_id"], second);
  EXPECT_EQ(rows[0]["state"], "PENDING_TRIAGE");
  EXPECT_EQ(rows[0]["source"], "HANDSET");
  EXPECT_EQ(rows[0]["case_number"], "");
  EXPECT_EQ(rows[0]["deadline_time"], "");
  auto& row = rows[1];
  EXPECT_EQ(row["case_id"], id);
  EXPECT_FALSE(row["case_number"].empty());
  EXPECT_EQ(row["state"], "CLOSED");
  EXPECT_EQ(row["category"], "C01_ROAD_DAMAGE");
  EXPECT_EQ(row["grid"], kCell1);
  EXPECT_EQ(row["lead_department"], "SZ");
  EXPECT_EQ(row["urgency"], "EMERGENCY");
  EXPECT_EQ(row["reporter"], "u-leader-001");
  EXPECT_EQ(row["rework_count"], "0");
  EXPECT_EQ(row["description"], description);
  EXPECT_EQ(row["address"], "新郑市郑韩路18号");
  for (const char* column : {"observe_time", "create_time", "deadline_time", "update_time"}) {
    absl::Time t;
    std::string error;
    EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, row[column], &t, &error))
        << column << " " << row[column];
    EXPECT_TRUE(absl::EndsWith(row[column], "Z")) << column << " " << row[column];
  }
  Result to_stdout = Run(kDispatcher1, {"export", "cases", "--category", "C01_ROAD_DAMAGE"});
  ASSERT_EQ(to_stdout.exit_code, 0) << to_stdout;
  EXPECT_EQ(to_stdout.out, csv);

  // Evaluation figures for a range around today.
  const std::string from = LocalDate(absl::Now() - absl::Hours(24));
  const std::string to = LocalDate(absl::Now() + absl::Hours(24));
  const std::string stats_file = dir_.path() + "/stats.csv";
  Result export_stats = Run(kOperator, {"export", "statistics", "--from", from, "--to", to,
                                        "--grid", "410184001", "--out", stats_file});
  ASSERT_EQ(export_stats.exit_code, 0) << export_stats;
  auto figures = CsvRows(ReadAll(stats_file));
  ASSERT_EQ(figures.size(), 1u) << ReadAll(stats_file);
  EXPECT_EQ(figures[0]["grid_code"], "410184001");
  EXPECT_EQ(figures[0]["found_count"], "1");
  EXPECT_EQ(figures[0]["solved_count"], "1");
  EXPECT_EQ(figures[0]["disposal_rate"], "1.0000");
  EXPECT_EQ(figures[0]["resolved_count"], "1");
  Result stats = Run(kOperator, {"stats", "--from", from, "--to", to});
  ASSERT_EQ(stats.exit_code, 0) << stats;
  EXPECT_TRUE(absl::StrContains(stats.out, "100.0% (1 / 1)")) << stats;
  // A street with nothing: no figure is blank in CSV and "–" in the table, never 0 (issue 11).
  const std::string empty_file = dir_.path() + "/empty.csv";
  Result export_empty = Run(kOperator, {"export", "statistics", "--from", from, "--to", to,
                                        "--grid", "410184002", "--out", empty_file});
  ASSERT_EQ(export_empty.exit_code, 0) << export_empty;
  auto empty = CsvRows(ReadAll(empty_file));
  ASSERT_EQ(empty.size(), 1u);
  EXPECT_EQ(empty[0]["found_count"], "0");
  for (const char* rate : {"disposal_rate", "closure_rate", "on_time_rate", "rework_rate"}) {
    EXPECT_EQ(empty[0][rate], "") << rate;
  }
  Result empty_table = Run(kOperator, {"stats", "--from", from, "--to", to, "--grid", "410184002"});
  ASSERT_EQ(empty_table.exit_code, 0) << empty_table;
  EXPECT_TRUE(absl::StrContains(empty_table.out, "– (0 / 0)")) << empty_table;
  EXPECT_FALSE(absl::StrContains(empty_table.out, "0.0%")) << empty_table;

  // Following the queue from the report on: the triage actions arrive, one line each, until
  // SIGTERM.
  Gridctl follow({"cases", "follow", "--after", submitted.event_cursor(), "--grid", "410184001001"},
                 Env(kDispatcher1));
  EXPECT_TRUE(follow.WaitForOutput(
      [](const std::string& out) {
        return Count(out, " ROUTED ") >= 2 && Count(out, " REPORTED ") >= 1;
      },
      seconds(30)));
  follow.Signal(SIGTERM);
  Result followed = follow.Finish(seconds(30));
  EXPECT_EQ(followed.exit_code, 0) << followed;
  EXPECT_EQ(Count(followed.out, "\n"), 4) << followed;
  EXPECT_EQ(Count(followed.out, " ACCEPTED_FOR_FILING "), 1) << followed;
  EXPECT_EQ(Count(followed.out, " ROUTED "), 2) << followed;
  EXPECT_EQ(Count(followed.out, id), 3) << followed;
  EXPECT_EQ(Count(followed.out, second), 1) << followed;
  EXPECT_TRUE(absl::StrContains(followed.err, "resume with: gridctl cases follow --after "))
      << followed;

  // The same for a program: JSON Lines, one object per event, the CSV's column names.
  Gridctl follow_json({"cases", "follow", "--after", submitted.event_cursor(), "--grid",
                       "410184001001", "--output", "json"},
                      Env(kDispatcher1));
  EXPECT_TRUE(follow_json.WaitForOutput(
      [](const std::string& out) {
        return Count(out, "\"event\":\"ROUTED\"") >= 2 && Count(out, "\"event\":\"REPORTED\"") >= 1;
      },
      seconds(30)));
  follow_json.Signal(SIGTERM);
  Result json = follow_json.Finish(seconds(30));
  EXPECT_EQ(json.exit_code, 0) << json;
  std::vector<std::string> lines = absl::StrSplit(json.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 4u) << json;
  for (const auto& line : lines) {
    google::protobuf::Struct event;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(line, &event).ok()) << line;
    EXPECT_FALSE(event.fields().at("cursor").string_value().empty()) << line;
    EXPECT_TRUE(event.fields().count("case_id")) << line;
  }
}

TEST_P(GridctlTest, FailuresMapToTheDocumentedExitStatuses) {
  ASSERT_TRUE(Start());

  Result no_token = Run("", {"triage", "list"});
  EXPECT_EQ(no_token.exit_code, 4) << no_token;
  EXPECT_TRUE(absl::StrContains(no_token.err, "no token")) << no_token;

  Result bad_token = Run("not-a-token", {"triage", "list"});
  EXPECT_EQ(bad_token.exit_code, 4) << bad_token;
  EXPECT_TRUE(absl::StrContains(bad_token.err, "UNAUTHENTICATED")) << bad_token;

  Result not_allowed = Run(kLeader1, {"triage", "list"});
  EXPECT_EQ(not_allowed.exit_code, 4) << not_allowed;
  EXPECT_TRUE(absl::StrContains(not_allowed.err, "PERMISSION_DENIED")) << not_allowed;

  // The token from a file, by flag or by environment; the flag wins over GRIDLINE_TOKEN.
  const std::string token_file = dir_.path() + "/token";
  std::ofstream(token_file) << kDispatcher1 << "\n";
  ASSERT_EQ(chmod(token_file.c_str(), 0600), 0);
  auto env = Env("not-a-token");
  Result by_flag = RunGridctl({"triage", "list", "--token-file", token_file}, env);
  EXPECT_EQ(by_flag.exit_code, 0) << by_flag;
  EXPECT_FALSE(absl::StrContains(by_flag.err, "warning")) << by_flag;
  // A token file others may read still works, with a warning.
  ASSERT_EQ(chmod(token_file.c_str(), 0644), 0);
  env = Env("");
  env["GRIDLINE_TOKEN_FILE"] = token_file;
  Result by_env = RunGridctl({"triage", "list"}, env);
  EXPECT_EQ(by_env.exit_code, 0) << by_env;
  EXPECT_TRUE(absl::StrContains(by_env.err, "readable by other users")) << by_env;
  Result missing_file =
      RunGridctl({"triage", "list", "--token-file", dir_.path() + "/nope"}, Env(""));
  EXPECT_EQ(missing_file.exit_code, 4) << missing_file;

  Result unknown = Run(kDispatcher1, {"cases", "show", "no-such-case"});
  EXPECT_EQ(unknown.exit_code, 3) << unknown;
  EXPECT_TRUE(absl::StrContains(unknown.err, "NOT_FOUND")) << unknown;

  // A rejected report cannot be accepted: exit 5 with the current state.
  const std::string id = SubmitReport("不是问题").case_().case_id();
  ASSERT_FALSE(id.empty());
  Result rejected = Run(kDispatcher1, {"triage", "reject", id, "--reason", "重复测试数据"});
  ASSERT_EQ(rejected.exit_code, 0) << rejected;
  EXPECT_EQ(TableLine(rejected.out, "state"), (std::vector<std::string>{"state", "REJECTED"}));
  Result accept = Run(kDispatcher1, {"triage", "accept", id});
  EXPECT_EQ(accept.exit_code, 5) << accept;
  EXPECT_TRUE(absl::StrContains(accept.err, "FAILED_PRECONDITION")) << accept;
  EXPECT_TRUE(absl::StrContains(accept.err, "the case is in state REJECTED")) << accept;

  // A stale version: ABORTED is a conflict too.
  const std::string id2 = SubmitReport("井盖松动").case_().case_id();
  Result stale = Run(kDispatcher1, {"triage", "accept", id2, "--expected-version", "999"});
  EXPECT_EQ(stale.exit_code, 5) << stale;
  EXPECT_TRUE(absl::StrContains(stale.err, "ABORTED")) << stale;

  // The server rejecting an argument is a usage error, with the field named.
  Result outside = Run(kDispatcher1, {"triage", "list", "--grid", "410184002"});
  EXPECT_EQ(outside.exit_code, 2) << outside;
  EXPECT_TRUE(absl::StrContains(outside.err, "INVALID_ARGUMENT")) << outside;

  // No server there: unavailable.
  auto nowhere = Env(kDispatcher1);
  nowhere["GRIDLINE_ENDPOINT"] = absl::StrCat("127.0.0.1:", FreePort());
  Result unavailable = RunGridctl({"triage", "list", "--timeout", "5"}, nowhere);
  EXPECT_EQ(unavailable.exit_code, 6) << unavailable;
  EXPECT_TRUE(absl::StrContains(unavailable.err, "UNAVAILABLE")) << unavailable;
}

TEST_P(GridctlTest, DispatcherDecidesExtensionRequestsAndFindsDuplicates) {
  ASSERT_TRUE(Start());
  const std::string id = SubmitReport("路面塌陷，需更换下方管道").case_().case_id();
  ASSERT_FALSE(id.empty());
  Result accept = Run(kDispatcher1, {"triage", "accept", id});
  ASSERT_EQ(accept.exit_code, 0) << accept;
  ASSERT_EQ(TableLine(accept.out, "lead_department"),
            (std::vector<std::string>{"lead_department", "SZ"}));

  // Step 4 (延期): the department asks for more time; the acceptance center lists the request.
  Result asked = Run(kStaffSz, {"dept", "extend", id, "--until", DayFromToday(10), "--reason",
                                "需采购管材, 约十天"});
  ASSERT_EQ(asked.exit_code, 0) << asked;
  ASSERT_EQ(TableLine(asked.out, "extension_request_id").size(), 2u) << asked;
  const std::string x = TableLine(asked.out, "extension_request_id")[1];
  Result pending = Run(kDispatcher1, {"extensions", "list"});
  ASSERT_EQ(pending.exit_code, 0) << pending;
  std::vector<std::string> row = TableLine(pending.out, x);
  ASSERT_GE(row.size(), 5u) << pending;
  EXPECT_EQ(row[1], id);
  EXPECT_EQ(row[2], "EXTENSION_PENDING");
  EXPECT_EQ(row[3], "SZ");
  EXPECT_EQ(row[4], "u-staff-sz-001");
  Result pending_csv = Run(kDispatcher1, {"extensions", "list", "--case", id, "--output", "csv"});
  ASSERT_EQ(pending_csv.exit_code, 0) << pending_csv;
  auto requests = CsvRows(pending_csv.out);
  ASSERT_EQ(requests.size(), 1u) << pending_csv;
  EXPECT_EQ(requests[0]["extension_request_id"], x);
  EXPECT_EQ(requests[0]["reason"], "需采购管材, 约十天");
  EXPECT_TRUE(absl::EndsWith(requests[0]["requested_deadline"], "Z")) << pending_csv;
  EXPECT_EQ(requests[0]["decided_by"], "");
  EXPECT_EQ(requests[0]["approved_deadline"], "");

  // Approved with a deadline later than asked: the case's deadline moves there.
  Result approved = Run(kDispatcher1, {"extensions", "decide", x, "--approve", "--deadline",
                                       DayFromToday(14), "--note", "同意延期"});
  ASSERT_EQ(approved.exit_code, 0) << approved;
  EXPECT_EQ(TableLine(approved.out, "case_id"), (std::vector<std::string>{"case_id", id}));
  // --deadline DATE is the end of that day: midnight at the start of the next.
  const std::vector<std::string> new_deadline = {"deadline", DayFromToday(15), "00:00"};
  EXPECT_EQ(TableLine(approved.out, "deadline"), new_deadline) << approved;
  Result shown = Run(kDispatcher1, {"cases", "show", id});
  ASSERT_EQ(shown.exit_code, 0) << shown;
  EXPECT_EQ(TableLine(shown.out, "deadline"), new_deadline) << shown;
  EXPECT_TRUE(absl::StrContains(shown.out, "EXTENSION_DECIDED")) << shown;

  // Nothing is pending any more; the decision is on record.
  Result none = Run(kDispatcher1, {"extensions", "list"});
  ASSERT_EQ(none.exit_code, 0) << none;
  EXPECT_EQ(none.out, "");
  EXPECT_TRUE(absl::StrContains(none.err, "no extension requests")) << none;
  Result approved_list =
      Run(kDispatcher1, {"extensions", "list", "--state", "approved", "--case", id});
  ASSERT_EQ(approved_list.exit_code, 0) << approved_list;
  row = TableLine(approved_list.out, x);
  ASSERT_GE(row.size(), 3u) << approved_list;
  EXPECT_EQ(row[2], "EXTENSION_APPROVED");
  EXPECT_TRUE(absl::StrContains(approved_list.out, "u-dispatcher-001")) << approved_list;

  // A second request is denied: a note is required, and the deadline stays.
  Result again = Run(
      kStaffSz, {"dept", "extend", id, "--until", DayFromToday(20), "--reason", "材料仍未到货"});
  ASSERT_EQ(again.exit_code, 0) << again;
  const std::string x2 = TableLine(again.out, "extension_request_id").at(1);
  Result no_note = Run(kDispatcher1, {"extensions", "decide", x2, "--deny"});
  EXPECT_EQ(no_note.exit_code, 2) << no_note;
  Result by_staff = Run(kStaffSz, {"extensions", "decide", x2, "--approve"});
  EXPECT_EQ(by_staff.exit_code, 4) << by_staff;
  Result denied =
      Run(kDispatcher1, {"extensions", "decide", x2, "--deny", "--note", "请按原期限完成"});
  ASSERT_EQ(denied.exit_code, 0) << denied;
  EXPECT_EQ(TableLine(denied.out, "deadline"), new_deadline) << denied;
  Result still = Run(kDispatcher1, {"cases", "show", id, "--no-history"});
  EXPECT_EQ(TableLine(still.out, "deadline"), new_deadline) << still;
  Result denied_csv =
      Run(kDispatcher1, {"extensions", "list", "--state", "DENIED", "--output", "csv"});
  ASSERT_EQ(denied_csv.exit_code, 0) << denied_csv;
  requests = CsvRows(denied_csv.out);
  ASSERT_EQ(requests.size(), 1u) << denied_csv;
  EXPECT_EQ(requests[0]["extension_request_id"], x2);
  EXPECT_EQ(requests[0]["state"], "EXTENSION_DENIED");
  EXPECT_EQ(requests[0]["decision_note"], "请按原期限完成");
  EXPECT_EQ(requests[0]["approved_deadline"], "");
  // Decided already: exit 5, naming the request's state. Unknown: exit 3.
  Result twice = Run(kDispatcher1, {"extensions", "decide", x2, "--approve"});
  EXPECT_EQ(twice.exit_code, 5) << twice;
  EXPECT_TRUE(absl::StrContains(twice.err, "EXTENSION_STATE")) << twice;
  EXPECT_TRUE(absl::StrContains(twice.err, "EXTENSION_DENIED")) << twice;
  EXPECT_EQ(Run(kDispatcher1, {"extensions", "decide", "x-no-such", "--approve"}).exit_code, 3);

  // Step 2 helper: a second report of the same problem at the same spot finds the first.
  const std::string second = SubmitReport("同一处路面塌陷").case_().case_id();
  ASSERT_FALSE(second.empty());
  Result candidates = Run(kDispatcher1, {"triage", "duplicates", second});
  ASSERT_EQ(candidates.exit_code, 0) << candidates;
  EXPECT_EQ(TableLine(candidates.out, "CASE_ID").at(2), "DISTANCE_M") << candidates;
  row = TableLine(candidates.out, id);
  ASSERT_GE(row.size(), 3u) << candidates;
  EXPECT_EQ(row[1], "DISPATCHED");
  EXPECT_EQ(row[2], "0");
  EXPECT_TRUE(TableLine(candidates.out, second).empty()) << "never its own duplicate";
  Result candidates_csv = Run(kDispatcher1, {"triage", "duplicates", second, "--radius-m", "50",
                                             "--window-hours", "1", "--output", "csv"});
  ASSERT_EQ(candidates_csv.exit_code, 0) << candidates_csv;
  auto found = CsvRows(candidates_csv.out);
  ASSERT_EQ(found.size(), 1u) << candidates_csv;
  EXPECT_EQ(found[0]["case_id"], id);
  EXPECT_EQ(found[0]["distance_m"], "0");
  int64_t offset = 1;
  EXPECT_TRUE(absl::SimpleAtoi(found[0]["observed_offset"], &offset)) << candidates_csv;
  EXPECT_LE(offset, 0) << "the first was seen earlier";
  // Merged, the second report is no candidate for the first one any more.
  ASSERT_EQ(Run(kDispatcher1, {"triage", "duplicate", second, "--of", id}).exit_code, 0);
  Result no_candidates = Run(kDispatcher1, {"triage", "duplicates", id});
  ASSERT_EQ(no_candidates.exit_code, 0) << no_candidates;
  EXPECT_EQ(no_candidates.out, "");
  EXPECT_TRUE(absl::StrContains(no_candidates.err, "no open cases nearby")) << no_candidates;
  // Outside the dispatcher's street: not found.
  EXPECT_EQ(Run(kDispatcher2, {"triage", "duplicates", id}).exit_code, 3);
}

TEST_P(GridctlTest, OperatorManagesTokensAndReadsTheAuditLogAndEvaluations) {
  ASSERT_TRUE(Start());

  // The token goes to stdout alone, once; its metadata and the warning to stderr.
  Result issued = Run(kOperator, {"tokens", "issue", "u-dispatcher-001", "--ttl", "30d", "--label",
                                  "受理中心二号机", "--device", "SN-0042"});
  ASSERT_EQ(issued.exit_code, 0) << issued;
  ASSERT_EQ(Count(issued.out, "\n"), 1) << issued;
  const std::string token(absl::StripTrailingAsciiWhitespace(issued.out));
  ASSERT_FALSE(token.empty());
  EXPECT_EQ(token.find(' '), std::string::npos) << issued;
  EXPECT_TRUE(absl::StrContains(issued.err, "shown only once")) << issued;
  EXPECT_FALSE(absl::StrContains(issued.err, token)) << issued;
  ASSERT_EQ(TableLine(issued.err, "token_id").size(), 2u) << issued;
  const std::string token_id = TableLine(issued.err, "token_id")[1];
  EXPECT_EQ(TableLine(issued.err, "user_id"),
            (std::vector<std::string>{"user_id", "u-dispatcher-001"}));
  EXPECT_EQ(TableLine(issued.err, "state"), (std::vector<std::string>{"state", "active"}));

  // It works: the dispatcher reads the triage queue with it.
  Result with_token = Run(token, {"triage", "list"});
  EXPECT_EQ(with_token.exit_code, 0) << with_token;

  // Listed by its metadata, never by the token itself.
  Result listed = Run(kOperator, {"tokens", "list", "u-dispatcher-001"});
  ASSERT_EQ(listed.exit_code, 0) << listed;
  std::vector<std::string> row = TableLine(listed.out, token_id);
  ASSERT_GE(row.size(), 3u) << listed;
  EXPECT_EQ(row[1], "u-dispatcher-001");
  EXPECT_EQ(row[2], "active");
  EXPECT_FALSE(absl::StrContains(listed.out, token)) << listed;
  Result all_csv = Run(kOperator, {"tokens", "list", "--output", "csv"});
  ASSERT_EQ(all_csv.exit_code, 0) << all_csv;
  bool seen = false;
  for (auto& t : CsvRows(all_csv.out)) {
    if (t["token_id"] != token_id) continue;
    seen = true;
    EXPECT_EQ(t["label"], "受理中心二号机");
    EXPECT_EQ(t["device_id"], "SN-0042");
    EXPECT_EQ(t["issued_by"], "u-operator-001");
    EXPECT_TRUE(absl::EndsWith(t["expires"], "Z")) << t["expires"];
  }
  EXPECT_TRUE(seen) << all_csv;

  // Revoked, it fails with exit 4 and leaves the list of active tokens.
  Result revoked = Run(kOperator, {"tokens", "revoke", token_id, "--reason", "终端丢失"});
  ASSERT_EQ(revoked.exit_code, 0) << revoked;
  EXPECT_EQ(TableLine(revoked.out, "state"), (std::vector<std::string>{"state", "revoked"}));
  Result refused = Run(token, {"triage", "list"});
  EXPECT_EQ(refused.exit_code, 4) << refused;
  EXPECT_TRUE(absl::StrContains(refused.err, "UNAUTHENTICATED")) << refused;
  Result active = Run(kOperator, {"tokens", "list", "u-dispatcher-001"});
  ASSERT_EQ(active.exit_code, 0) << active;
  EXPECT_TRUE(TableLine(active.out, token_id).empty()) << active;
  Result inactive = Run(kOperator, {"tokens", "list", "u-dispatcher-001", "--include-inactive"});
  ASSERT_EQ(inactive.exit_code, 0) << inactive;
  row = TableLine(inactive.out, token_id);
  ASSERT_GE(row.size(), 3u) << inactive;
  EXPECT_EQ(row[2], "revoked");
  EXPECT_EQ(Run(kOperator, {"tokens", "revoke", "no-such-token"}).exit_code, 3);
  EXPECT_EQ(Run(kOperator, {"tokens", "issue", "no-such-user"}).exit_code, 3);
  EXPECT_EQ(Run(kDispatcher1, {"tokens", "list"}).exit_code, 4);

  // The audit log holds the issue and the revocation, newest first.
  Result audit = Run(kOperator, {"audit"});
  ASSERT_EQ(audit.exit_code, 0) << audit;
  EXPECT_TRUE(absl::StrContains(audit.out, "IssueToken")) << audit;
  EXPECT_TRUE(absl::StrContains(audit.out, token_id)) << audit;
  EXPECT_FALSE(absl::StrContains(audit.out, token)) << audit;
  Result audit_csv =
      Run(kOperator, {"audit", "--kind", "token", "--resource", token_id, "--output", "csv"});
  ASSERT_EQ(audit_csv.exit_code, 0) << audit_csv;
  auto entries = CsvRows(audit_csv.out);
  ASSERT_EQ(entries.size(), 2u) << audit_csv;
  EXPECT_EQ(entries[0]["method"], "RevokeToken");
  EXPECT_EQ(entries[1]["method"], "IssueToken");
  for (auto& e : entries) {
    EXPECT_EQ(e["actor"], "u-operator-001");
    EXPECT_EQ(e["resource_kind"], "token");
    EXPECT_EQ(e["resource_id"], token_id);
    EXPECT_EQ(e["status"], "OK");
    EXPECT_TRUE(absl::EndsWith(e["time"], "Z")) << e["time"];
  }
  Result newest = Run(kOperator, {"audit", "--limit", "1", "--output", "csv"});
  ASSERT_EQ(newest.exit_code, 0) << newest;
  EXPECT_EQ(CsvRows(newest.out).size(), 1u) << newest;
  EXPECT_TRUE(absl::StrContains(newest.err, "showing the first 1 audit entries")) << newest;
  EXPECT_EQ(Run(kDispatcher1, {"audit"}).exit_code, 4);

  // 三色旗: the current month is not rated yet, and the server's INVALID_ARGUMENT is exit 2.
  const absl::TimeZone server_zone = absl::FixedTimeZone(8 * 3600);  // the server's default
  const absl::CivilMonth this_month = absl::ToCivilMonth(absl::Now(), server_zone);
  Result current = Run(kOperator, {"evaluations", "--month", absl::FormatCivilTime(this_month)});
  EXPECT_EQ(current.exit_code, 2) << current;
  EXPECT_TRUE(absl::StrContains(current.err, "INVALID_ARGUMENT")) << current;
  EXPECT_TRUE(absl::StrContains(current.err, "field month")) << current;
  EXPECT_EQ(current.out, "");
  // A month that has ended without any case: nothing to rate.
  const absl::CivilMonth earlier = this_month - 3;
  Result empty = Run(kOperator, {"evaluations", "--month", absl::FormatCivilTime(earlier)});
  EXPECT_EQ(empty.exit_code, 0) << empty;
  EXPECT_EQ(empty.out, "");
  EXPECT_TRUE(absl::StrContains(empty.err, "no evaluations")) << empty;
  EXPECT_EQ(Run(kDispatcher1, {"evaluations", "--month", absl::FormatCivilTime(earlier)}).exit_code,
            4);

  // A case filed on the 10th of an ended month, due the next day and still open: SZ, which
  // leads it, gets the black flag (黑旗) for that month.
  const std::string id = SubmitReport("路面塌陷，逾期未处理").case_().case_id();
  ASSERT_FALSE(id.empty());
  ASSERT_EQ(Run(kDispatcher1, {"triage", "accept", id}).exit_code, 0);
  const absl::CivilMonth rated = this_month - 2;
  const int64_t filed = absl::ToUnixMicros(
      absl::FromCivil(absl::CivilDay(rated.year(), rated.month(), 10), server_zone));
  const int64_t due = filed + int64_t{24} * 3600 * 1000000;
  auto raw = Raw();
  ASSERT_TRUE(raw);
  ASSERT_TRUE(raw->Execute("UPDATE cases SET filed_time = ?, first_deadline_time = ?, "
                           "deadline_time = ? WHERE case_id = ?",
                           {filed, due, due, id})
                  .ok());
  RefigureAfterRawEdits();
  Result flags = Run(kOperator, {"evaluations", "--month", absl::FormatCivilTime(rated)});
  ASSERT_EQ(flags.exit_code, 0) << flags;
  row = TableLine(flags.out, "department");
  ASSERT_GE(row.size(), 6u) << flags;
  EXPECT_EQ(row[1], "SZ");
  EXPECT_EQ(row[3], "黑旗");
  EXPECT_EQ(row[4], "BLACK");
  EXPECT_EQ(TableLine(flags.out, "grid").at(1), "410184001") << "grids by code" << flags;
  Result sz = Run(kOperator, {"evaluations", "--month", absl::FormatCivilTime(rated), "--kind",
                              "department", "--output", "csv"});
  ASSERT_EQ(sz.exit_code, 0) << sz;
  auto rows = CsvRows(sz.out);
  ASSERT_EQ(rows.size(), 1u) << sz;
  EXPECT_EQ(rows[0]["unit_kind"], "department");
  EXPECT_EQ(rows[0]["unit_code"], "SZ");
  EXPECT_EQ(rows[0]["flag"], "BLACK_FLAG");
  EXPECT_EQ(rows[0]["year"], absl::StrCat(rated.year()));
  EXPECT_EQ(rows[0]["month"], absl::StrCat(rated.month()));
  EXPECT_EQ(rows[0]["due_count"], "1");
  EXPECT_EQ(rows[0]["late_count"], "1");
  EXPECT_FALSE(rows[0]["explanation"].empty()) << sz;
  EXPECT_TRUE(absl::StrContains(flags.out, rows[0]["explanation"])) << flags;
  Result red = Run(kOperator, {"evaluations", "--month", absl::FormatCivilTime(rated), "--flag",
                               "red", "--kind", "department"});
  ASSERT_EQ(red.exit_code, 0) << red;
  EXPECT_EQ(red.out, "");
}

// Issue 14: a patrol walked with the SDK (a report found on it), read with gridctl as the
// leader, the street's dispatcher and a supervisor: the list, the patrol with its visit, the
// track as CSV and the figures per grid and person.
TEST_P(GridctlTest, PatrolsAreListedShownAndCounted) {
  if (HasFatalFailure()) return;
  ASSERT_TRUE(Start());
  gc::PatrolClient patrols(gc::MakePatrolConnection(gc::Options{}
                                                        .set<gc::EndpointOption>(endpoint_)
                                                        .set<gc::InsecureChannelOption>(true)
                                                        .set<gc::AuthTokenOption>(kLeader1)));
  const int64_t start = absl::ToUnixSeconds(absl::Now()) - 3600;
  v1::StartPatrolRequest s;
  s.set_patrol_id("patrol-gridctl");
  s.set_grid_code(kCell1);
  s.mutable_start_time()->set_seconds(start);
  ASSERT_TRUE(patrols.StartPatrol(s).ok());
  v1::AppendTrackRequest t;
  t.set_patrol_id("patrol-gridctl");
  for (int i = 0; i < 3; ++i) {
    v1::TrackPoint* p = t.add_points();
    p->mutable_time()->set_seconds(start + 60 * (i + 1));
    p->mutable_position()->set_latitude(34.39 + 0.0009 * i);  // 100 m a minute
    p->mutable_position()->set_longitude(113.739);
  }
  ASSERT_TRUE(patrols.AppendTrack(t).ok());
  v1::RecordVisitRequest v;
  v.set_patrol_id("patrol-gridctl");
  v.set_kind(v1::VISIT_SITE);
  v.set_subject("郑韩路工地");
  v.set_note("围挡完好");
  v.mutable_visit_time()->set_seconds(start + 600);
  ASSERT_TRUE(patrols.RecordVisit(v).ok());
  v1::EndPatrolRequest e;
  e.set_patrol_id("patrol-gridctl");
  e.mutable_end_time()->set_seconds(start + 1800);
  ASSERT_TRUE(patrols.EndPatrol(e).ok());
  Result report =
      Run(kLeader1, {"report", "submit", "--category", "C01_ROAD_DAMAGE", "--description",
                     "巡查发现路面坑槽", "--patrol", "patrol-gridctl", "--observed",
                     absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(start + 900),
                                      absl::UTCTimeZone()),
                     "--outbox", dir_.path() + "/outbox.db"});
  ASSERT_EQ(report.exit_code, 0) << report.err;

  Result list = Run(kDispatcher1, {"patrols", "list", "--output", "csv"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("patrol-gridctl,u-leader-001,410184001001001,ended,"), std::string::npos)
      << list.out;
  EXPECT_EQ(Run(kDispatcher2, {"patrols", "list", "--output", "csv"}).out.find("patrol-gridctl"),
            std::string::npos);
  Result show = Run(kLeader1, {"patrols", "show", "patrol-gridctl"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("郑韩路工地"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("3 points, 0.20 km"), std::string::npos) << show.out;
  Result hidden = Run(kLeader2, {"patrols", "show", "patrol-gridctl"});
  EXPECT_EQ(hidden.exit_code, 3) << hidden.err;  // NOT_FOUND
  Result track = Run(kSupervisor, {"patrols", "track", "patrol-gridctl", "--output", "csv"});
  ASSERT_EQ(track.exit_code, 0) << track.err;
  EXPECT_NE(track.out.find("time,latitude,longitude\r\n"), std::string::npos) << track.out;
  EXPECT_NE(track.out.find(",34.391800,113.739000"), std::string::npos) << track.out;
  const std::string from =
      absl::FormatTime("%Y-%m-%d", absl::FromUnixSeconds(start - 86400), absl::UTCTimeZone());
  Result stats = Run(kSupervisor, {"patrols", "stats", "--from", from, "--output", "csv"});
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  EXPECT_NE(stats.out.find("410184001001001,u-leader-001,1,0.5,0.20,1,1,1"), std::string::npos)
      << stats.out;
  Result missing = Run(kSupervisor, {"patrols", "stats"});
  EXPECT_EQ(missing.exit_code, 2) << missing.err;  // usage
}

// Issue 14: a supervision order from the command line: the center orders a case hurried, the
// lead department lists, acknowledges and answers it, and the supervisor sees it answered.
TEST_P(GridctlTest, ASupervisionOrderIsIssuedAcknowledgedAndAnswered) {
  if (HasFatalFailure()) return;
  ASSERT_TRUE(Start());
  gc::ReportClient client(gc::MakeReportConnection(gc::Options{}
                                                       .set<gc::EndpointOption>(endpoint_)
                                                       .set<gc::InsecureChannelOption>(true)
                                                       .set<gc::AuthTokenOption>(kLeader1)));
  v1::SubmitReportRequest request = Report("", "路灯不亮");
  request.set_category_code("C04_STREET_LIGHT_OUT");  // filed and routed to SZ by rule
  auto submitted = client.SubmitReport(request);
  ASSERT_TRUE(submitted.ok()) << submitted.status();
  const std::string id = submitted->case_().case_id();
  const std::string due =
      absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now() + absl::Hours(2), absl::UTCTimeZone());
  Result issued =
      Run(kDispatcher1, {"cases", "supervise", id, "--reason", "群众多次投诉", "--respond-by", due,
                         "--request-id", "gridctl-order-1", "--output", "json"});
  ASSERT_EQ(issued.exit_code, 0) << issued.err;
  Result again =
      Run(kDispatcher1, {"cases", "supervise", id, "--reason", "群众多次投诉", "--respond-by", due,
                         "--request-id", "gridctl-order-1", "--output", "json"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  // The retry answers the same order.
  const size_t at = issued.out.find("\"order\":\"");
  ASSERT_NE(at, std::string::npos) << issued.out;
  const std::string order_field = issued.out.substr(at, issued.out.find('"', at + 9) - at + 1);
  EXPECT_NE(again.out.find(order_field), std::string::npos) << again.out;
  Result leader = Run(kLeader1, {"cases", "supervise", id, "--reason", "x", "--respond-by", due});
  EXPECT_EQ(leader.exit_code, 4) << leader.err;
  Result orders = Run(kStaffSz, {"dept", "orders", "--state", "open", "--output", "csv"});
  ASSERT_EQ(orders.exit_code, 0) << orders.err;
  const std::vector<std::string> lines = absl::StrSplit(orders.out, "\r\n", absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << orders.out;
  const std::string order_id = lines[1].substr(0, lines[1].find(','));
  ASSERT_EQ(Run(kStaffSz, {"dept", "ack-order", order_id}).exit_code, 0);
  Result answered = Run(kStaffSz, {"dept", "answer-order", order_id, "--note", "今晚修复"});
  ASSERT_EQ(answered.exit_code, 0) << answered.err;
  EXPECT_NE(answered.out.find("answered"), std::string::npos) << answered.out;
  EXPECT_EQ(Run(kStaffCg, {"dept", "ack-order", order_id}).exit_code, 3);
  Result listed =
      Run(kSupervisor, {"supervision", "list", "--state", "answered", "--output", "csv"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find(order_id + "," + id + ",answered,SZ,"), std::string::npos)
      << listed.out;
}

// Issue 14: the 三责 commands against a server: an ended month lists (computed on first read)
// and exports as CSV, a month not ended is a usage error, and only operators dismiss.
TEST_P(GridctlTest, AccountabilityRecordsListExportAndRefuse) {
  if (HasFatalFailure()) return;
  ASSERT_TRUE(Start());
  const absl::TimeZone zone = absl::FixedTimeZone(8 * 3600);
  const absl::CivilMonth now_month(absl::ToCivilMonth(absl::Now(), zone));
  const std::string last = absl::FormatCivilTime(now_month - 1).substr(0, 7);
  const std::string current = absl::FormatCivilTime(now_month).substr(0, 7);
  Result list = Run(kSupervisor, {"accountability", "list", "--month", last});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_TRUE(absl::StrContains(list.err, "no accountability records")) << list.err;
  Result csv = Run(kLeader1, {"export", "accountability", "--month", last, "--rule", "found"});
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  EXPECT_TRUE(absl::StartsWith(csv.out, "record_id,month,rule,unit_kind,unit,user_id,cases,weight"))
      << csv.out;
  EXPECT_EQ(Run(kOperator, {"accountability", "list", "--month", current}).exit_code, 2);
  EXPECT_EQ(
      Run(kOperator, {"accountability", "list", "--month", last, "--rule", "nonsense"}).exit_code,
      2);
  Result computed =
      Run(kOperator, {"accountability", "compute", "--month", last, "--output", "csv"});
  ASSERT_EQ(computed.exit_code, 0) << computed.err;
  EXPECT_TRUE(absl::StrContains(computed.out, last + ",0")) << computed.out;
  EXPECT_EQ(Run(kSupervisor, {"accountability", "compute", "--month", last}).exit_code, 4);
  EXPECT_EQ(Run(kLeader1, {"accountability", "dismiss", "a-none", "--reason", "x"}).exit_code, 4);
  EXPECT_EQ(Run(kOperator, {"accountability", "dismiss", "a-none", "--reason", "x"}).exit_code, 3);
}

INSTANTIATE_TEST_SUITE_P(Backends, GridctlTest,
                         ::testing::Values(Backend::kSqlite, Backend::kMariaDb),
                         [](const auto& info) { return BackendName(info.param); });

}  // namespace
}  // namespace gridline
