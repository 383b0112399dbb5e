// export, stats and evaluations: cases and evaluation figures (考核) as CSV for spreadsheets and
// reports, the figures as a table, and the monthly 三色旗 ratings.
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "commands.h"

namespace gridctl {
namespace {

// ---- export cases ----------------------------------------------------------------------------

int ExportCases(Context& ctx, const Args& args) {
  v1::ListCasesRequest request;
  if (!CaseFilterRequest(ctx, args, &request)) return kExitUsage;
  int64_t limit = 0;
  if (args.Has("limit") && !ParseCount(args.Value("limit"), &limit)) {
    return ctx.Usage("--limit must be a whole number >= 0 (0: no limit)");
  }
  int64_t page_size = kMaxPageSize;
  if (args.Has("page-size") && (!ParseCount(args.Value("page-size"), &page_size) || page_size < 1 ||
                                page_size > kMaxPageSize)) {
    return ctx.Usage(absl::StrCat("--page-size must be in 1..", kMaxPageSize));
  }
  if (int code = ctx.Connect()) return code;
  auto client = ctx.Dispatch();

  OutputTarget target(args.Value("out", "-"), ctx.out());
  std::string error;
  if (!target.Open(&error)) {
    ctx.Note(error);
    return kExitOther;
  }
  std::ostream& os = target.stream();
  if (args.Has("bom")) os << "\xEF\xBB\xBF";
  os << CsvRecord(CaseExportColumns());
  int64_t rows = 0;
  bool more = false;
  gc::Status status = ForEachItem(
      request, limit, [&](const v1::ListCasesRequest& r) { return client.ListCases(r); },
      [](const v1::ListCasesResponse& r) -> const auto& { return r.cases(); },
      [&](const v1::Case& c) {
        os << CsvRecord(CaseExportRow(c));
        ++rows;
      },
      &more, static_cast<int32_t>(page_size));
  if (!status.ok()) return ctx.Fail(status);
  if (!target.Commit(&error)) {
    ctx.Note(error);
    return kExitOther;
  }
  if (args.Value("out", "-") != "-") {
    ctx.Note(absl::StrCat("exported ", rows, " cases to ", args.Value("out")));
  }
  if (more) ctx.Note(absl::StrCat("stopped at --limit ", limit, "; more cases match"));
  return kExitOk;
}

// ---- statistics ------------------------------------------------------------------------------

// --from, --to, --grid and --department as one request per grid and department given.
bool StatisticsRequests(Context& ctx, const Args& args,
                        std::vector<v1::GetStatisticsRequest>* requests) {
  v1::GetStatisticsRequest base;
  if (!args.Has("from")) {
    ctx.Usage("--from is required");
    return false;
  }
  if (!ParseTimeArgument(args.Value("from"), false, base.mutable_start_time())) {
    ctx.Usage("--from must be a date YYYY-MM-DD or an RFC 3339 time");
    return false;
  }
  if (args.Has("to") && !ParseTimeArgument(args.Value("to"), true, base.mutable_end_time())) {
    ctx.Usage("--to must be a date YYYY-MM-DD (counted whole) or an RFC 3339 time");
    return false;
  }
  if (args.Has("source")) {
    v1::CaseSource source;
    if (!ParseCaseSource(args.Value("source"), &source)) {
      ctx.Usage("--source must be handset, public, media, leader or inspection");
      return false;
    }
    base.set_source(source);
  }
  std::vector<std::string> grids = args.Values("grid");
  std::vector<std::string> departments = args.Values("department");
  if (grids.empty()) grids.push_back("");
  if (departments.empty()) departments.push_back("");
  for (const auto& grid : grids) {
    for (const auto& department : departments) {
      v1::GetStatisticsRequest r = base;
      r.set_grid_code(grid);
      r.set_department_code(department);
      requests->push_back(std::move(r));
    }
  }
  return true;
}

// A rate for CSV: blank when the server sent no figure (0/0), never 0.0000.
std::string Rate(bool has_rate, double rate) {
  return has_rate ? absl::StrFormat("%.4f", rate) : std::string();
}

std::string HandlingSeconds(const v1::Statistics& s) {
  if (s.mean_handling_sample_count() == 0) return "";
  return absl::StrCat(s.mean_handling_time().seconds());
}

std::vector<std::string> StatisticsColumns() {
  return {"grid_code",
          "department_code",
          "start_time",
          "end_time",
          "found_count",
          "solved_count",
          "disposal_rate",
          "due_count",
          "postponed_count",
          "closed_count",
          "closed_on_time_count",
          "late_count",
          "closure_rate",
          "on_time_rate",
          "resolved_count",
          "reworked_count",
          "rework_rate",
          "mean_handling_seconds",
          "mean_handling_sample_count",
          "open_overdue_count",
          "supervision_order_count",
          "supervision_answered_on_time_count",
          "supervision_escalated_count",
          "source"};
}

std::vector<std::string> StatisticsRow(const v1::Statistics& s) {
  return {s.grid_code(),
          s.department_code(),
          Rfc3339(s.start_time()),
          Rfc3339(s.end_time()),
          absl::StrCat(s.found_count()),
          absl::StrCat(s.solved_count()),
          Rate(s.has_disposal_rate(), s.disposal_rate()),
          absl::StrCat(s.due_count()),
          absl::StrCat(s.postponed_count()),
          absl::StrCat(s.closed_count()),
          absl::StrCat(s.closed_on_time_count()),
          absl::StrCat(s.late_count()),
          Rate(s.has_closure_rate(), s.closure_rate()),
          Rate(s.has_on_time_rate(), s.on_time_rate()),
          absl::StrCat(s.resolved_count()),
          absl::StrCat(s.reworked_count()),
          Rate(s.has_rework_rate(), s.rework_rate()),
          HandlingSeconds(s),
          absl::StrCat(s.mean_handling_sample_count()),
          absl::StrCat(s.open_overdue_count()),
          absl::StrCat(s.supervision_order_count()),
          absl::StrCat(s.supervision_answered_on_time_count()),
          absl::StrCat(s.supervision_escalated_count()),
          s.source() == v1::CASE_SOURCE_UNSPECIFIED ? "" : v1::CaseSource_Name(s.source())};
}

int ExportStatistics(Context& ctx, const Args& args) {
  std::vector<v1::GetStatisticsRequest> requests;
  if (!StatisticsRequests(ctx, args, &requests)) return kExitUsage;
  if (int code = ctx.Connect()) return code;
  auto client = ctx.Admin();
  // Fetch everything before writing, so that a failure leaves no partial export.
  std::vector<v1::Statistics> rows;
  for (const auto& r : requests) {
    auto s = client.GetStatistics(r);
    if (!s.ok()) return ctx.Fail(s.status());
    rows.push_back(*std::move(s));
  }
  OutputTarget target(args.Value("out", "-"), ctx.out());
  std::string error;
  if (!target.Open(&error)) {
    ctx.Note(error);
    return kExitOther;
  }
  if (args.Has("bom")) target.stream() << "\xEF\xBB\xBF";
  target.stream() << CsvRecord(StatisticsColumns());
  for (const auto& s : rows) target.stream() << CsvRecord(StatisticsRow(s));
  if (!target.Commit(&error)) {
    ctx.Note(error);
    return kExitOther;
  }
  if (args.Value("out", "-") != "-") {
    ctx.Note(absl::StrCat("exported ", rows.size(), " rows to ", args.Value("out")));
  }
  return kExitOk;
}

// "96.9% (69516 / 71745)", or "–" when the server sent no figure (0/0).
std::string RateCell(bool has_rate, double rate, int64_t numerator, int64_t denominator) {
  if (!has_rate) return absl::StrCat("– (", numerator, " / ", denominator, ")");
  return absl::StrFormat("%.1f%% (%d / %d)", rate * 100, numerator, denominator);
}

std::string DurationCell(const google::protobuf::Duration& d, int64_t samples) {
  if (samples == 0) return "-";
  int64_t minutes = d.seconds() / 60;
  return absl::StrFormat("%dd %02dh %02dm (%d cases)", minutes / (24 * 60), minutes / 60 % 24,
                         minutes % 60, samples);
}

int Stats(Context& ctx, const Args& args) {
  std::vector<v1::GetStatisticsRequest> requests;
  if (!StatisticsRequests(ctx, args, &requests)) return kExitUsage;
  if (requests.size() != 1) {
    return ctx.Usage("give at most one --grid and one --department (export statistics takes more)");
  }
  if (int code = ctx.Connect()) return code;
  auto s = ctx.Admin().GetStatistics(requests[0]);
  if (!s.ok()) return ctx.Fail(s.status());
  if (ctx.machine()) {
    Table table(StatisticsColumns());
    table.AddRow(StatisticsRow(*s));
    ctx.Print(table);
    return kExitOk;
  }
  const int64_t due = s->due_count() - s->postponed_count();
  Table table({"figure", "value"});
  table.HideHeader();
  table.AddRow(
      {"scope",
       absl::StrCat(
           s->grid_code().empty() ? "whole platform" : s->grid_code(),
           s->department_code().empty() ? "" : ", department ", s->department_code(),
           s->source() == v1::CASE_SOURCE_UNSPECIFIED ? "" : ", from ",
           s->source() == v1::CASE_SOURCE_UNSPECIFIED ? "" : v1::CaseSource_Name(s->source()))});
  table.AddRow({"range", absl::StrCat(LocalTime(s->start_time()), " .. ", LocalTime(s->end_time()),
                                      " (end excluded)")});
  table.AddRow({"found 发现", absl::StrCat(s->found_count())});
  table.AddRow({"solved 解决", absl::StrCat(s->solved_count())});
  table.AddRow({"disposal rate 处置率", RateCell(s->has_disposal_rate(), s->disposal_rate(),
                                                 s->solved_count(), s->found_count())});
  table.AddRow({"due 应结案", absl::StrCat(s->due_count())});
  table.AddRow({"postponed 延期", absl::StrCat(s->postponed_count())});
  table.AddRow({"closed 结案", absl::StrCat(s->closed_count())});
  table.AddRow({"closed on time", absl::StrCat(s->closed_on_time_count())});
  table.AddRow({"late", absl::StrCat(s->late_count())});
  table.AddRow({"closure rate 结案率",
                RateCell(s->has_closure_rate(), s->closure_rate(), s->closed_count(), due)});
  table.AddRow({"on-time rate 按期结案率", RateCell(s->has_on_time_rate(), s->on_time_rate(),
                                                    s->closed_on_time_count(), due)});
  table.AddRow({"resolved", absl::StrCat(s->resolved_count())});
  table.AddRow({"reworked 返工", absl::StrCat(s->reworked_count())});
  table.AddRow({"rework rate 返工率", RateCell(s->has_rework_rate(), s->rework_rate(),
                                               s->reworked_count(), s->resolved_count())});
  table.AddRow({"mean handling time 平均处置时长",
                DurationCell(s->mean_handling_time(), s->mean_handling_sample_count())});
  table.AddRow({"open and overdue now", absl::StrCat(s->open_overdue_count())});
  table.AddRow({"supervision orders 督办",
                absl::StrCat(s->supervision_order_count(), " (answered on time ",
                             s->supervision_answered_on_time_count(), ", escalated ",
                             s->supervision_escalated_count(), ")")});
  ctx.Print(table);
  return kExitOk;
}

// ---- evaluations -----------------------------------------------------------------------------

// "red", "RED" or "RED_FLAG", and so on.
bool ParseFlag(const std::string& text, v1::EvaluationFlag* out) {
  const std::string key = absl::AsciiStrToUpper(text);
  v1::EvaluationFlag flag;
  if ((!v1::EvaluationFlag_Parse(key + "_FLAG", &flag) && !v1::EvaluationFlag_Parse(key, &flag)) ||
      flag == v1::EVALUATION_FLAG_UNSPECIFIED) {
    return false;
  }
  *out = flag;
  return true;
}

// For people: "红旗 RED"; for CSV the enum name.
std::string FlagCell(const Context& ctx, v1::EvaluationFlag flag) {
  if (ctx.machine()) return v1::EvaluationFlag_Name(flag);
  switch (flag) {
    case v1::RED_FLAG:
      return "红旗 RED";
    case v1::YELLOW_FLAG:
      return "黄旗 YELLOW";
    case v1::BLACK_FLAG:
      return "黑旗 BLACK";
    default:
      return "";
  }
}

std::string UnitKindName(v1::EvaluationUnitKind kind) {
  switch (kind) {
    case v1::GRID_UNIT:
      return "grid";
    case v1::DEPARTMENT_UNIT:
      return "department";
    default:
      return "";
  }
}

int Evaluations(Context& ctx, const Args& args) {
  v1::ListEvaluationsRequest request;
  absl::CivilMonth month;
  if (!args.Has("month")) return ctx.Usage("--month YYYY-MM is required");
  if (!absl::ParseCivilTime(args.Value("month"), &month)) {
    return ctx.Usage("--month must be a month YYYY-MM, e.g. 2026-03");
  }
  request.set_year(static_cast<int32_t>(month.year()));
  request.set_month(month.month());
  if (args.Has("kind")) {
    const std::string kind = absl::AsciiStrToLower(args.Value("kind"));
    if (kind == "grid") {
      request.set_unit_kind(v1::GRID_UNIT);
    } else if (kind == "department") {
      request.set_unit_kind(v1::DEPARTMENT_UNIT);
    } else {
      return ctx.Usage("--kind must be grid or department");
    }
  }
  request.set_grid_code(args.Value("grid"));
  if (args.Has("flag")) {
    v1::EvaluationFlag flag;
    if (!ParseFlag(args.Value("flag"), &flag)) {
      return ctx.Usage("--flag must be red, yellow or black");
    }
    request.set_flag(flag);
  }
  if (args.Has("source")) {
    v1::CaseSource source;
    if (!ParseCaseSource(args.Value("source"), &source)) {
      return ctx.Usage("--source must be handset, public, media, leader or inspection");
    }
    request.set_source(source);
  }
  if (int code = ctx.Connect()) return code;
  auto client = ctx.Admin();

  // People get the flag, the rates that usually decide it and why; CSV every figure.
  const bool csv = ctx.machine();
  std::vector<std::string> columns = {"unit_kind", "unit_code", "unit_name", "flag"};
  if (csv) {
    for (const char* c : {"year", "month", "explanation", "compute_time"}) columns.push_back(c);
    for (auto& c : StatisticsColumns()) columns.push_back(std::move(c));
  } else {
    for (const char* c : {"on_time_rate", "rework_rate", "explanation"}) columns.push_back(c);
  }
  Table table(columns);
  if (!csv) table.SetMaxWidth(6, 60);
  bool more = false;
  gc::Status status = ForEachItem(
      request, 0, [&](const v1::ListEvaluationsRequest& r) { return client.ListEvaluations(r); },
      [](const v1::ListEvaluationsResponse& r) -> const auto& { return r.evaluations(); },
      [&](const v1::Evaluation& e) {
        std::vector<std::string> row = {UnitKindName(e.unit_kind()), e.unit_code(), e.unit_name(),
                                        FlagCell(ctx, e.flag())};
        const v1::Statistics& s = e.statistics();
        if (csv) {
          for (auto& cell : {absl::StrCat(e.year()), absl::StrCat(e.month()), e.explanation(),
                             Rfc3339(e.compute_time())}) {
            row.push_back(cell);
          }
          for (auto& cell : StatisticsRow(s)) row.push_back(std::move(cell));
        } else {
          const int64_t due = s.due_count() - s.postponed_count();
          row.push_back(
              RateCell(s.has_on_time_rate(), s.on_time_rate(), s.closed_on_time_count(), due));
          row.push_back(RateCell(s.has_rework_rate(), s.rework_rate(), s.reworked_count(),
                                 s.resolved_count()));
          row.push_back(e.explanation());
        }
        table.AddRow(std::move(row));
      },
      &more);
  if (!status.ok()) return ctx.Fail(status);
  PrintList(ctx, table, more, "evaluations");
  return kExitOk;
}

std::vector<FlagSpec> StatisticsFlags() {
  return {
      {"from", "DATE", "start of the range: YYYY-MM-DD (local midnight) or RFC 3339 (required)"},
      {"to", "DATE", "end of the range, a date counted whole (default: now)"},
      {"grid", "CODE", "only cases in this grid's subtree (default: the whole platform)", true},
      {"department", "CODE", "only cases this department led", true},
      {"source", "SOURCE",
       "only cases from this source: handset, public, media, leader or inspection"}};
}

// `flags` with --grid and --department taken once (stats shows one scope).
std::vector<FlagSpec> SingleScopeFlags(std::vector<FlagSpec> flags) {
  for (auto& f : flags) f.repeated = false;
  return flags;
}

}  // namespace

std::vector<std::string> CaseExportColumns() {
  return {"case_id",      "case_number",     "state",         "category",
          "grid",         "lead_department", "urgency",       "reporter",
          "observe_time", "create_time",     "deadline_time", "update_time",
          "rework_count", "description",     "address",       "source"};
}

std::vector<std::string> CaseExportRow(const v1::Case& c) {
  return {c.case_id(),
          c.case_number(),
          StateName(c.state()),
          c.category_code(),
          c.location().grid_code(),
          c.lead_department_code(),
          UrgencyName(c.urgency()),
          c.reporter_user_id(),
          Rfc3339(c.observe_time()),
          Rfc3339(c.create_time()),
          Rfc3339(c.deadline_time()),
          Rfc3339(c.update_time()),
          absl::StrCat(c.rework_count()),
          c.description(),
          c.location().address(),
          c.source() == v1::CASE_SOURCE_UNSPECIFIED ? "" : v1::CaseSource_Name(c.source())};
}

void AddExportCommands(std::vector<Command>* commands) {
  std::vector<FlagSpec> case_flags = CaseFilterFlags();
  case_flags.push_back({"limit", "N", "export at most N cases (default: all)"});
  case_flags.push_back({"out", "FILE", "write to FILE instead of standard output"});
  case_flags.push_back({"bom", "", "start with a UTF-8 byte order mark (for Excel)"});
  case_flags.push_back({"page-size", "N", "cases per request (default and at most 500)"});
  commands->push_back(
      {{"export", "cases"},
       "[FILTERS] [--out FILE]",
       "Export the cases in your scope as CSV",
       "Columns: " + absl::StrJoin(CaseExportColumns(), ", ") +
           ".\nTimes are RFC 3339 in UTC; text is UTF-8; quoting follows RFC 4180 (fields with "
           "commas,\nquotes or line breaks are quoted, quotes doubled). The file is written "
           "whole or not at all.",
       case_flags,
       0,
       0,
       false,
       false,
       ExportCases});
  std::vector<FlagSpec> stats_flags = StatisticsFlags();
  stats_flags.push_back({"out", "FILE", "write to FILE instead of standard output"});
  stats_flags.push_back({"bom", "", "start with a UTF-8 byte order mark (for Excel)"});
  commands->push_back(
      {{"export", "statistics"},
       "--from DATE [--to DATE] [--grid CODE]... [--department CODE]... [--out FILE]",
       "Export evaluation figures (考核) as CSV, one row per grid and department given",
       "Operators, and supervisors within their subtree. Rates are fractions in [0, 1], and\n"
       "blank when their denominator is 0 (no figure); see proto/gridline/v1/admin_service.proto\n"
       "(Statistics) for each figure.",
       stats_flags,
       0,
       0,
       false,
       false,
       ExportStatistics});
  commands->push_back(
      {{"stats"},
       "--from DATE [--to DATE] [--grid CODE] [--department CODE]",
       "Show evaluation figures (考核) for a time range as a table",
       "Operators; supervisors within their subtree (default: their grid). Dates are in the\n"
       "local time zone (TZ); the range is [from, to).",
       SingleScopeFlags(StatisticsFlags()),
       0,
       0,
       false,
       true,
       Stats});
  commands->push_back(
      {{"evaluations"},
       "--month YYYY-MM [--kind KIND] [--grid CODE] [--flag FLAG]",
       "Show the monthly 三色旗 ratings: each unit's red, yellow or black flag and why",
       "Operators; supervisors get the grids of their subtree. A month is rated once it has\n"
       "ended (in the server's time zone); the current or a future month is an argument error\n"
       "(exit 2). Units are grids (块) and line\n"
       "departments (条), by kind, then code. With --output csv every figure behind each flag\n"
       "follows (the columns of `gridctl export statistics`).",
       {{"month", "YYYY-MM", "the month (required)"},
        {"kind", "KIND", "only grid or only department units"},
        {"grid", "CODE", "only grids in this grid's subtree (no departments)"},
        {"flag", "FLAG", "only units with this flag: red, yellow or black"},
        {"source", "SOURCE", "rate on the cases from this source only (e.g. public)"}},
       0,
       0,
       false,
       true,
       Evaluations});
}

}  // namespace gridctl
