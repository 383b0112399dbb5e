// accountability: the month's 三责 records in your scope (list, CSV export), and for operators
// computing a month again and dismissing a record with a reason.
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "commands.h"

namespace gridctl {
namespace {

// "found" / "should-have-found" / "SHOULD_HAVE_FOUND", and so on.
bool ParseRule(const std::string& text, v1::AccountabilityRule* out) {
  std::string key = absl::AsciiStrToUpper(text);
  for (char& c : key) {
    if (c == '-') c = '_';
  }
  const std::map<std::string, v1::AccountabilityRule> shorthand = {
      {"FOUND", v1::SHOULD_HAVE_FOUND},
      {"REPORTED", v1::SHOULD_HAVE_REPORTED},
      {"HANDLED", v1::SHOULD_HAVE_HANDLED},
      {"RECURRENCE", v1::FIXED_AND_BACK}};
  if (auto it = shorthand.find(key); it != shorthand.end()) {
    *out = it->second;
    return true;
  }
  v1::AccountabilityRule rule;
  if (!v1::AccountabilityRule_Parse(key, &rule) || rule == v1::ACCOUNTABILITY_RULE_UNSPECIFIED) {
    return false;
  }
  *out = rule;
  return true;
}

std::string StatusName(v1::AccountabilityRecordStatus s) {
  switch (s) {
    case v1::RECORD_ACTIVE:
      return "active";
    case v1::RECORD_DISMISSED:
      return "dismissed";
    case v1::RECORD_WITHDRAWN:
      return "withdrawn";
    default:
      return "";
  }
}

std::string UnitKindName(v1::AccountabilityUnitKind k) {
  switch (k) {
    case v1::ACCOUNTABILITY_GRID:
      return "grid";
    case v1::ACCOUNTABILITY_CENTER:
      return "center";
    case v1::ACCOUNTABILITY_DEPARTMENT:
      return "department";
    default:
      return "";
  }
}

// --month YYYY-MM into `request`; false (after printing) when missing or bad.
template <typename Request>
bool Month(Context& ctx, const Args& args, Request* request, int* rc) {
  absl::CivilMonth month;
  if (!args.Has("month") || !absl::ParseCivilTime(args.Value("month"), &month)) {
    *rc = ctx.Usage("--month YYYY-MM is required, e.g. 2026-10");
    return false;
  }
  request->set_year(static_cast<int32_t>(month.year()));
  request->set_month(month.month());
  return true;
}

std::vector<std::string> Columns() {
  return {"record_id", "month",  "rule",   "unit_kind",   "unit",          "user_id",
          "cases",     "weight", "status", "explanation", "dismiss_reason"};
}

std::vector<std::string> Row(const Context& ctx, const v1::AccountabilityRecord& r) {
  return {r.record_id(),
          absl::StrFormat("%04d-%02d", r.year(), r.month()),
          v1::AccountabilityRule_Name(r.rule()),
          UnitKindName(r.unit_kind()),
          r.unit_code(),
          r.user_id(),
          absl::StrJoin(r.case_ids(), ctx.machine() ? " " : ", "),
          absl::StrFormat("%g", r.weight()),
          StatusName(r.status()),
          r.explanation(),
          r.dismiss_reason()};
}

// The list request from the flags; false (after printing) on a bad one.
bool ListRequest(Context& ctx, const Args& args, v1::ListAccountabilityRecordsRequest* request,
                 int* rc) {
  if (!Month(ctx, args, request, rc)) return false;
  for (const auto& r : args.Values("rule")) {
    v1::AccountabilityRule rule;
    if (!ParseRule(r, &rule)) {
      *rc = ctx.Usage("--rule must be found, reported, handled or recurrence");
      return false;
    }
    request->add_rules(rule);
  }
  request->set_unit_code(args.Value("unit"));
  request->set_user_id(args.Value("user"));
  request->set_grid_code(args.Value("grid"));
  request->set_include_inactive(args.Has("all"));
  return true;
}

int AccountabilityList(Context& ctx, const Args& args) {
  v1::ListAccountabilityRecordsRequest request;
  int rc = 0;
  if (!ListRequest(ctx, args, &request, &rc)) return rc;
  int64_t limit;
  if (!ParseLimit(ctx, args, kDefaultListLimit, &limit, &rc)) return rc;
  if (int code = ctx.Connect()) return code;
  auto client = ctx.Admin();
  Table table(Columns());
  table.SetMaxWidth(9, 40);
  bool more = false;
  gc::Status status = ForEachItem(
      request, limit,
      [&](const v1::ListAccountabilityRecordsRequest& r) {
        return client.ListAccountabilityRecords(r);
      },
      [](const v1::ListAccountabilityRecordsResponse& r) -> const auto& { return r.records(); },
      [&](const v1::AccountabilityRecord& r) { table.AddRow(Row(ctx, r)); }, &more);
  if (!status.ok()) return ctx.Fail(status);
  PrintList(ctx, table, more, "accountability records");
  return kExitOk;
}

int ExportAccountability(Context& ctx, const Args& args) {
  v1::ListAccountabilityRecordsRequest request;
  int rc = 0;
  if (!ListRequest(ctx, args, &request, &rc)) return rc;
  if (int code = ctx.Connect()) return code;
  auto client = ctx.Admin();
  OutputTarget target(args.Value("out", "-"), ctx.out());
  std::string error;
  if (!target.Open(&error)) {
    ctx.Note(error);
    return kExitOther;
  }
  std::ostream& os = target.stream();
  if (args.Has("bom")) os << "\xEF\xBB\xBF";
  os << CsvRecord(Columns());
  int64_t rows = 0;
  bool more = false;
  gc::Status status = ForEachItem(
      request, 0,
      [&](const v1::ListAccountabilityRecordsRequest& r) {
        return client.ListAccountabilityRecords(r);
      },
      [](const v1::ListAccountabilityRecordsResponse& r) -> const auto& { return r.records(); },
      [&](const v1::AccountabilityRecord& r) {
        os << CsvRecord(Row(ctx, r));
        ++rows;
      },
      &more);
  if (!status.ok()) return ctx.Fail(status);
  if (!target.Commit(&error)) {
    ctx.Note(error);
    return kExitOther;
  }
  if (args.Value("out", "-") != "-") {
    ctx.Note(absl::StrCat("exported ", rows, " records to ", args.Value("out")));
  }
  return kExitOk;
}

int AccountabilityCompute(Context& ctx, const Args& args) {
  v1::ComputeAccountabilityRequest request;
  int rc = 0;
  if (!Month(ctx, args, &request, &rc)) return rc;
  if (int code = ctx.Connect()) return code;
  auto done = ctx.Admin().ComputeAccountability(request.year(), request.month());
  if (!done.ok()) return ctx.Fail(done.status());
  Table table({"month", "records"});
  table.AddRow({absl::StrFormat("%04d-%02d", request.year(), request.month()),
                absl::StrCat(done->record_count())});
  ctx.Print(table);
  return kExitOk;
}

int AccountabilityDismiss(Context& ctx, const Args& args) {
  if (!args.Has("reason")) return ctx.Usage("--reason TEXT is required");
  v1::DismissAccountabilityRecordRequest request;
  request.set_record_id(args.positional()[0]);
  request.set_reason(args.Value("reason"));
  int rc = 0;
  int64_t version = 0;
  if (!ParseExpectedVersion(ctx, args, &version, &rc)) return rc;
  request.set_expected_version(version);
  if (int code = ctx.Connect()) return code;
  auto r = ctx.Admin().DismissAccountabilityRecord(request);
  if (!r.ok()) return ctx.Fail(r.status());
  Table table(Columns());
  table.AddRow(Row(ctx, *r));
  ctx.Print(table);
  return kExitOk;
}

}  // namespace

void AddAccountabilityCommands(std::vector<Command>* commands) {
  const std::vector<FlagSpec> filters = {
      {"month", "YYYY-MM", "the month (required; it must have ended)"},
      {"rule", "RULE", "found, reported, handled or recurrence (repeatable)", true},
      {"unit", "CODE", "one unit's records (a grid, center grid or department)"},
      {"user", "ID", "one person's records"},
      {"grid", "CODE", "records on cases in this grid's subtree"},
      {"all", "", "also dismissed and withdrawn records"}};
  std::vector<FlagSpec> list_flags = filters;
  list_flags.push_back({"limit", "N", "show at most N records (default 100; 0: all)"});
  commands->push_back(
      {{"accountability", "list"},
       "--month YYYY-MM [--rule RULE]... [--unit CODE] [--user ID] [--grid CODE] [--all]",
       "List a month's 三责 accountability records in your scope",
       "同责: found (应发现未发现), reported (应上报未上报), handled (应处置未处置); 连责:\n"
       "recurrence (制而又返). Weights above 1 are 重责 (a leader's, the media's or the public's\n"
       "case). Grid leaders see their own records, department staff their department's,\n"
       "dispatchers and supervisors their subtree's, operators all. A month never computed is\n"
       "computed on first read.",
       list_flags,
       0,
       0,
       false,
       true,
       AccountabilityList});
  std::vector<FlagSpec> export_flags = filters;
  export_flags.push_back({"out", "FILE", "write to FILE instead of standard output"});
  export_flags.push_back({"bom", "", "start with a UTF-8 byte order mark (for Excel)"});
  commands->push_back({{"export", "accountability"},
                       "--month YYYY-MM [filters] [--out FILE] [--bom]",
                       "Export a month's 三责 records as CSV",
                       "The same records and filters as `gridctl accountability list`, all of "
                       "them.",
                       export_flags,
                       0,
                       0,
                       false,
                       true,
                       ExportAccountability});
  commands->push_back({{"accountability", "compute"},
                       "--month YYYY-MM",
                       "Compute a month's records again with the current rules (operators)",
                       "New findings are added, records no longer found are withdrawn (kept), and\n"
                       "dismissed records stay dismissed.",
                       {{"month", "YYYY-MM", "the month (required; it must have ended)"}},
                       0,
                       0,
                       false,
                       true,
                       AccountabilityCompute});
  commands->push_back({{"accountability", "dismiss"},
                       "RECORD_ID --reason TEXT",
                       "Dismiss a record with a reason (operators; it stays, marked, and audited)",
                       "",
                       {{"reason", "TEXT", "why (required)"}, ExpectedVersionFlag()},
                       1,
                       1,
                       false,
                       true,
                       AccountabilityDismiss});
}

}  // namespace gridctl
