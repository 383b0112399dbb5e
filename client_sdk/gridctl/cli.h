// gridctl's command line: commands, their flags, a small parser and the help texts.
#ifndef GRIDLINE_CLIENT_SDK_GRIDCTL_CLI_H_
#define GRIDLINE_CLIENT_SDK_GRIDCTL_CLI_H_

#include <cstddef>
#include <functional>
#include <map>
#include <ostream>
#include <string>
#include <vector>

namespace gridctl {

// gridctl's exit statuses, documented in `gridctl --help`.
enum ExitCode : int {
  kExitOk = 0,
  kExitOther = 1,        // anything else (INTERNAL, UNKNOWN, an import with violations, ...)
  kExitUsage = 2,        // bad command line, or INVALID_ARGUMENT / OUT_OF_RANGE from the server
  kExitNotFound = 3,     // NOT_FOUND
  kExitAuth = 4,         // UNAUTHENTICATED, PERMISSION_DENIED, no token
  kExitConflict = 5,     // FAILED_PRECONDITION, ABORTED, ALREADY_EXISTS
  kExitUnavailable = 6,  // UNAVAILABLE, DEADLINE_EXCEEDED
};

struct FlagSpec {
  std::string name;        // without the leading "--"
  std::string value_name;  // e.g. "CODE"; empty for a switch
  std::string help;
  bool repeated = false;  // may be given several times
};

// A parsed command line: flag values by name and the positional arguments.
class Args {
 public:
  bool Has(const std::string& flag) const { return values_.count(flag) != 0; }
  // The (last) value of `flag`, or `fallback` when it was not given.
  std::string Value(const std::string& flag, const std::string& fallback = "") const;
  // Every value of a repeated flag, in command-line order.
  std::vector<std::string> Values(const std::string& flag) const;
  const std::vector<std::string>& positional() const { return positional_; }

  void Add(const std::string& flag, std::string value) {
    values_[flag].push_back(std::move(value));
  }
  void AddPositional(std::string value) { positional_.push_back(std::move(value)); }

 private:
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_;
};

class Context;

struct Command {
  std::vector<std::string> path;  // e.g. {"cases", "route"}
  std::string synopsis;           // what follows the path in the usage line
  std::string summary;            // one line, for the command lists
  std::string details;            // optional paragraphs for the command's --help
  std::vector<FlagSpec> flags;
  size_t min_args = 0;
  size_t max_args = 0;
  // Talks to no server: no connection settings or token needed.
  bool offline = false;
  // Can print CSV (--output csv) instead of a table.
  bool csv = false;
  std::function<int(Context&, const Args&)> run;
};

// A group of commands ("cases", "triage", ...).
struct Group {
  std::string name;
  std::string summary;
};

// Parses `tokens` (the command line without program name and command words) for the flags of
// `specs`. Accepts "--flag value", "--flag=value", "-h" for "--help", and "--" to end the flags.
// On a usage error returns false with `*error` set.
bool ParseArgs(const std::vector<std::string>& tokens, const std::vector<FlagSpec>& specs,
               Args* args, std::string* error);

// "gridctl cases route".
std::string CommandName(const Command& command);

// The --help text of one command (the global flags are referred to, not repeated).
void PrintCommandHelp(const Command& command, std::ostream& os);
// The --help text of a group: its commands with their summaries.
void PrintGroupHelp(const Group& group, const std::vector<Command>& commands, std::ostream& os);
// The two-column flag list used by both help texts.
void PrintFlags(const std::vector<FlagSpec>& flags, std::ostream& os);

}  // namespace gridctl

#endif  // GRIDLINE_CLIENT_SDK_GRIDCTL_CLI_H_
