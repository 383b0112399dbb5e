// gridctl: the command-line tool of gridline's operators, dispatchers and department staff,
// built on the client SDK (libgridline_client) only.
#include <grpc/support/log.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "cli.h"
#include "commands.h"
#include "context.h"
#include "gridline/client/version.h"

namespace gridctl {
namespace {

const std::vector<Group>& Groups() {
  static const std::vector<Group> kGroups = {
      {"org", "The organisation: load a file, list what is configured (operators)."},
      {"report", "Report problems found on patrol, through an offline outbox (grid leaders)."},
      {"tokens", "The users' bearer tokens: issue, list, revoke (operators)."},
      {"triage", "The acceptance center's triage queue (dispatchers)."},
      {"cases",
       "Cases in your scope: list, show, route, verify, follow live (dispatchers; "
       "`cases list` also supervisors and operators; `cases mine` grid leaders)."},
      {"extensions", "The departments' extension requests (延期): list and decide (dispatchers)."},
      {"dept", "A line department's cases (department staff)."},
      {"accountability",
       "三责 accountability records of a month: list in your scope; compute, dismiss (operators)."},
      {"supervision",
       "Supervision orders (督办) in your subtree (dispatchers, supervisors, operators)."},
      {"patrols",
       "Patrols (巡查) and visits (走访) in your scope, and their figures per grid and person."},
      {"export",
       "CSV exports of cases (dispatchers, supervisors, operators), evaluation "
       "figures (operators; supervisors in their subtree) and 三责 records (anyone, in scope)."},
  };
  return kGroups;
}

const Group* FindGroup(const std::string& name) {
  for (const auto& g : Groups()) {
    if (g.name == name) return &g;
  }
  return nullptr;
}

void PrintTopHelp(const std::vector<Command>& commands, std::ostream& os);

const std::vector<Command>& Commands() {
  static const std::vector<Command> kCommands = [] {
    std::vector<Command> c;
    AddOrgCommands(&c);
    AddAdminCommands(&c);
    AddCaseCommands(&c);
    AddDeptCommands(&c);
    AddExportCommands(&c);
    AddReportCommands(&c);
    AddPatrolCommands(&c);
    AddSupervisionCommands(&c);
    AddAccountabilityCommands(&c);
    c.push_back({{"help"},
                 "[COMMAND...]",
                 "Show help for gridctl or for a command",
                 "",
                 {},
                 0,
                 2,
                 true,
                 false,
                 nullptr});
    c.push_back({{"version"},
                 "",
                 "Print gridctl's and the client SDK's version",
                 "",
                 {},
                 0,
                 0,
                 true,
                 false,
                 [](Context& ctx, const Args&) {
                   ctx.out() << "gridctl " << gridline::client::VersionString()
                             << " (gridline client SDK " << gridline::client::VersionString()
                             << ")\n";
                   return static_cast<int>(kExitOk);
                 }});
    // The groups' commands first, the one-word commands together at the end (see PrintTopHelp).
    std::stable_partition(c.begin(), c.end(), [](const Command& x) { return x.path.size() > 1; });
    return c;
  }();
  return kCommands;
}

const Command* FindCommand(const std::vector<std::string>& path) {
  for (const auto& c : Commands()) {
    if (c.path == path) return &c;
  }
  return nullptr;
}

bool IsGlobalValueFlag(const std::string& token) {
  if (token.rfind("--", 0) != 0 || token.find('=') != std::string::npos) return false;
  for (const auto& f : GlobalFlags()) {
    if (token == "--" + f.name) return !f.value_name.empty();
  }
  return false;
}

void PrintTopHelp(const std::vector<Command>& commands, std::ostream& os) {
  os << "gridctl: the gridline command-line tool for operators, dispatchers and department "
        "staff.\n\n"
        "Usage: gridctl COMMAND [SUBCOMMAND] [ARGS] [FLAGS]\n"
        "       gridctl COMMAND [SUBCOMMAND] --help\n\nCommands:\n";
  std::vector<std::pair<std::string, std::string>> rows;
  for (const auto& c : commands) {
    rows.emplace_back(absl::StrJoin(c.path, " "), c.summary);
  }
  int width = 0;
  for (const auto& [name, summary] : rows) width = std::max(width, DisplayWidth(name));
  std::string last_group;
  for (const auto& [name, summary] : rows) {
    // Groups in blocks; the one-word commands together in the last block.
    std::string group = name.find(' ') == std::string::npos ? "-" : name.substr(0, name.find(' '));
    if (!last_group.empty() && group != last_group) os << '\n';
    last_group = group;
    os << "  " << PadToWidth(name, width) << "   " << summary << '\n';
  }
  os << "\nGlobal flags (before or after the command):\n";
  PrintFlags(GlobalFlags(), os);
  os << "\nEnvironment:\n"
        "  GRIDLINE_ENDPOINT     the server, host:port (default "
     << kDefaultEndpoint
     << ")\n"
        "  GRIDLINE_TOKEN        your bearer token. There is no --token flag on purpose: the\n"
        "                        command line shows in `ps` and the shell history.\n"
        "  GRIDLINE_TOKEN_FILE   a file holding the token (--token-file wins over both)\n"
        "  GRIDLINE_INSECURE=1   plain-text connection, like --insecure\n"
        "  TZ                    the time zone of dates given and times shown (RFC 3339 times\n"
        "                        and CSV exports are in UTC)\n"
        "\nExit status:\n"
        "  0  success\n"
        "  1  any other error (internal server error, an organisation file with violations)\n"
        "  2  usage error: bad command line, or an argument the server rejected\n"
        "     (INVALID_ARGUMENT, OUT_OF_RANGE)\n"
        "  3  not found (NOT_FOUND): unknown id, or outside your scope\n"
        "  4  authentication or permission: no token, bad token (UNAUTHENTICATED), or your\n"
        "     role may not do this (PERMISSION_DENIED)\n"
        "  5  wrong state or conflict: FAILED_PRECONDITION (the message names the case's\n"
        "     state), ABORTED (someone changed it first: re-read and retry), ALREADY_EXISTS\n"
        "  6  server unavailable or too slow (UNAVAILABLE, DEADLINE_EXCEEDED): retry later\n"
        "Errors go to stderr with the status code, the message and the server's details.\n"
        "\nExample, a case from triage to closed:\n"
        "  export GRIDLINE_ENDPOINT=grid.example.cn:443 GRIDLINE_TOKEN_FILE=~/.gridline-token\n"
        "  gridctl triage list\n"
        "  gridctl triage accept CASE_ID --urgency URGENT      # dispatcher\n"
        "  gridctl dept accept CASE_ID                         # department staff\n"
        "  gridctl dept resolve CASE_ID --result \"已修复\" --photo after.jpg\n"
        "  gridctl cases verify CASE_ID --pass --note \"现场核查通过\"\n";
}

// Resolves "help [COMMAND...]".
int RunHelp(const std::vector<std::string>& words) {
  if (words.empty()) {
    PrintTopHelp(Commands(), std::cout);
    return kExitOk;
  }
  if (const Command* c = FindCommand(words)) {
    PrintCommandHelp(*c, std::cout);
    return kExitOk;
  }
  if (words.size() == 1) {
    if (const Group* g = FindGroup(words[0])) {
      PrintGroupHelp(*g, Commands(), std::cout);
      return kExitOk;
    }
  }
  std::cerr << "gridctl help: unknown command '" << absl::StrJoin(words, " ")
            << "' (see `gridctl --help`)\n";
  return kExitUsage;
}

int Run(int argc, char** argv) {
  std::vector<std::string> tokens(argv + 1, argv + argc);

  // The command words come first among the non-flag tokens; global flags may stand anywhere.
  std::vector<std::string> path;
  std::vector<bool> consumed(tokens.size(), false);
  const Command* command = nullptr;
  bool wants_help = false;
  std::string stray;
  for (size_t i = 0; i < tokens.size() && command == nullptr; ++i) {
    const std::string& t = tokens[i];
    if (t == "--") break;
    if (t == "--help" || t == "-h") {
      wants_help = true;
      continue;
    }
    if (!t.empty() && t[0] == '-') {
      if (IsGlobalValueFlag(t)) ++i;
      continue;
    }
    std::vector<std::string> candidate = path;
    candidate.push_back(t);
    bool is_prefix = false;
    for (const auto& c : Commands()) {
      if (c.path.size() >= candidate.size() &&
          std::equal(candidate.begin(), candidate.end(), c.path.begin())) {
        is_prefix = true;
      }
    }
    if (!is_prefix) {
      stray = t;
      break;
    }
    path = candidate;
    consumed[i] = true;
    command = FindCommand(path);
  }

  if (command == nullptr) {
    if (path.empty()) {
      if (!stray.empty()) {
        std::cerr << "gridctl: unknown command '" << stray << "' (see `gridctl --help`)\n";
        return kExitUsage;
      }
      if (wants_help) {
        PrintTopHelp(Commands(), std::cout);
        return kExitOk;
      }
      if (std::find(tokens.begin(), tokens.end(), "--version") != tokens.end()) {
        std::cout << "gridctl " << gridline::client::VersionString() << '\n';
        return kExitOk;
      }
      PrintTopHelp(Commands(), std::cerr);
      return kExitUsage;
    }
    const Group* group = FindGroup(path[0]);
    if (!stray.empty()) {
      std::cerr << "gridctl: unknown command '" << path[0] << ' ' << stray << "' (see `gridctl "
                << path[0] << " --help`)\n";
      return kExitUsage;
    }
    if (wants_help) {
      PrintGroupHelp(*group, Commands(), std::cout);
      return kExitOk;
    }
    std::cerr << "gridctl " << path[0] << ": missing command\n\n";
    PrintGroupHelp(*group, Commands(), std::cerr);
    return kExitUsage;
  }

  std::vector<std::string> rest;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (!consumed[i]) rest.push_back(tokens[i]);
  }
  if (command->path == std::vector<std::string>{"help"}) {
    std::vector<std::string> words;
    bool help_flag = false;
    for (const auto& t : rest) {
      if (t == "--help" || t == "-h") help_flag = true;
      if (t.empty() || t[0] != '-') words.push_back(t);
    }
    if (words.empty() && help_flag) {
      PrintCommandHelp(*command, std::cout);
      return kExitOk;
    }
    return RunHelp(words);
  }

  std::vector<FlagSpec> specs = command->flags;
  for (const auto& f : GlobalFlags()) specs.push_back(f);
  Args args;
  std::string error;
  if (!ParseArgs(rest, specs, &args, &error)) {
    std::cerr << CommandName(*command) << ": " << error << "\n(see `" << CommandName(*command)
              << " --help`)\n";
    return kExitUsage;
  }
  if (args.Has("help")) {
    PrintCommandHelp(*command, std::cout);
    return kExitOk;
  }
  Context ctx(*command, args, std::cout, std::cerr);
  const size_t n = args.positional().size();
  if (n < command->min_args || n > command->max_args) {
    if (n > command->max_args) {
      return ctx.Usage("unexpected argument '" + args.positional()[command->max_args] + "'");
    }
    return ctx.Usage("missing argument" +
                     (command->synopsis.empty() ? "" : ": expected " + command->synopsis));
  }
  if (!ctx.ParseFormat()) return kExitUsage;
  if (ctx.format() == OutputFormat::kCsv && !command->csv) {
    return ctx.Usage("--output csv is not available for this command");
  }
  int rc = command->run(ctx, args);
  std::cout.flush();
  if (!std::cout && rc == kExitOk) {
    std::cerr << CommandName(*command) << ": cannot write to standard output\n";
    return kExitOther;
  }
  return rc;
}

}  // namespace
}  // namespace gridctl

int main(int argc, char** argv) {
  // gRPC's own log lines (failed connections, TLS handshakes) are for gRPC's developers, and
  // would come before gridctl's own explanation; GRPC_VERBOSITY=debug brings them back.
  if (std::getenv("GRPC_VERBOSITY") == nullptr) gpr_set_log_function([](gpr_log_func_args*) {});
  try {
    return gridctl::Run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gridctl: internal error: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "gridctl: internal error\n");
  }
  return gridctl::kExitOther;
}
