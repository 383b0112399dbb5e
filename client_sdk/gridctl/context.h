// What every gridctl command shares: the global flags turned into SDK options, the clients, the
// mapping of statuses to exit codes and the way errors and tables are printed.
#ifndef GRIDLINE_CLIENT_SDK_GRIDCTL_CONTEXT_H_
#define GRIDLINE_CLIENT_SDK_GRIDCTL_CONTEXT_H_

#include <cstdint>
#include <fstream>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "cli.h"
#include "gridline/client/admin_client.h"
#include "gridline/client/department_client.h"
#include "gridline/client/dispatch_client.h"
#include "gridline/client/options.h"
#include "gridline/client/status.h"
#include "output.h"

namespace gridctl {

namespace gc = ::gridline::client;
namespace v1 = ::gridline::v1;

inline constexpr char kDefaultEndpoint[] = "localhost:50051";

enum class OutputFormat { kTable, kCsv, kJson };

// The flags every command takes.
const std::vector<FlagSpec>& GlobalFlags();

// The whole of the file at `path`; false if it cannot be read.
bool ReadFile(const std::string& path, std::string* out);

// The exit status for a failed call (see ExitCode).
int ExitCodeFor(gc::StatusCode code);

class Context {
 public:
  Context(const Command& command, const Args& args, std::ostream& out, std::ostream& err);

  const Command& command() const { return command_; }
  OutputFormat format() const { return format_; }
  // CSV and JSON: values for programs (RFC 3339 times, seconds, enum names), not for people.
  bool machine() const { return format_ != OutputFormat::kTable; }
  std::ostream& out() { return out_; }
  std::ostream& err() { return err_; }

  // Checks --output; false (after printing) when it is not table, csv or json.
  bool ParseFormat();
  // Turns the connection settings (endpoint, TLS, timeout, token) into SDK options. Prints what
  // is wrong and returns its exit status; 0 when the clients are ready to use.
  int Connect();
  const gc::Options& options() const { return options_; }
  const std::string& endpoint() const { return endpoint_; }

  gc::AdminClient Admin() const { return gc::AdminClient(gc::MakeAdminConnection(options_)); }
  gc::DispatchClient Dispatch() const {
    return gc::DispatchClient(gc::MakeDispatchConnection(options_));
  }
  gc::DepartmentClient Department() const {
    return gc::DepartmentClient(gc::MakeDepartmentConnection(options_));
  }

  // Prints `status` to stderr (code name, message, the server's field and precondition
  // violations and error reason) and returns its exit status.
  int Fail(const gc::Status& status);
  // Prints a usage error and where to find help; returns kExitUsage.
  int Usage(const std::string& message);
  // A line on stderr: "gridctl: <text>".
  void Note(const std::string& text);
  // Cells for people's tables: the code with its name beside it, "SZ（新郑市市政工程管理处）".
  // With --output csv or json, and for a code whose name cannot be read, the code alone. Names
  // are read from the server once per command, on first use (categories and departments whole,
  // grids up to kMaxNamedGrids).
  std::string CategoryCell(const std::string& code);
  std::string GridCell(const std::string& code);
  std::string DepartmentCell(const std::string& code);
  static constexpr int kMaxNamedGrids = 10000;

  // `table` on stdout as --output says.
  void Print(const Table& table);
  // A key-value listing (one item's fields) on stdout: text, or with --output json an object.
  void PrintDetails(const Table& table);

 private:
  const Command& command_;
  const Args& args_;
  std::ostream& out_;
  std::ostream& err_;
  OutputFormat format_ = OutputFormat::kTable;
  gc::Options options_;
  std::string endpoint_;
  // Names by code, per kind ("category", "department", "grid"); a kind is loaded on first use.
  std::map<std::string, std::map<std::string, std::string>> names_;
  std::string Named(const std::string& kind, const std::string& code);
};

// Where a command writes a file it produces (--out): "-" or empty is stdout; a path is written
// to a temporary file beside it and renamed into place by Commit, so that a failed export never
// leaves a half-written file where the old one was.
class OutputTarget {
 public:
  OutputTarget(std::string path, std::ostream& stdout_stream)
      : path_(std::move(path)), stdout_(stdout_stream) {}
  ~OutputTarget();
  bool Open(std::string* error);
  std::ostream& stream() { return to_file() ? file_ : stdout_; }
  bool Commit(std::string* error);

 private:
  bool to_file() const { return !path_.empty() && path_ != "-"; }
  std::string path_;
  std::string temp_path_;
  std::ostream& stdout_;
  std::ofstream file_;
  bool committed_ = false;
};

// Enum arguments: case-insensitive, '-' may stand for '_' ("pending-triage").
bool ParseCaseState(const std::string& text, v1::CaseState* out);
bool ParseUrgency(const std::string& text, v1::Urgency* out);
// "handset", "public", "media", "leader" or "inspection".
bool ParseCaseSource(const std::string& text, v1::CaseSource* out);
// "pending" or "EXTENSION_PENDING", and so on.
bool ParseExtensionState(const std::string& text, v1::ExtensionState* out);
// A count argument: a whole number >= 0.
bool ParseCount(const std::string& text, int64_t* out);

// Names for tables and CSV ("" for the UNSPECIFIED values).
std::string StateName(v1::CaseState state);
std::string UrgencyName(v1::Urgency urgency);
std::string ExtensionStateName(v1::ExtensionState state);

}  // namespace gridctl

#endif  // GRIDLINE_CLIENT_SDK_GRIDCTL_CONTEXT_H_
