// patrols: the patrols (巡查) and visits (走访) in your scope, and their figures per grid and
// person. Grid leaders and staff see their own; dispatchers and supervisors their subtree;
// operators all. Patrols themselves are walked on the handset (the SDK's PatrolClient and
// outbox).
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "commands.h"
#include "gridline/client/patrol_client.h"

namespace gridctl {
namespace {

gc::PatrolClient Patrols(const Context& ctx) {
  return gc::PatrolClient(gc::MakePatrolConnection(ctx.options()));
}

std::string PatrolStateName(v1::PatrolState s) {
  switch (s) {
    case v1::PATROL_ACTIVE:
      return "active";
    case v1::PATROL_ENDED:
      return "ended";
    default:
      return "";
  }
}

std::string VisitKindName(v1::VisitKind k) {
  switch (k) {
    case v1::VISIT_HOUSEHOLD:
      return "household";
    case v1::VISIT_SHOP:
      return "shop";
    case v1::VISIT_SITE:
      return "site";
    default:
      return "";
  }
}

std::string Km(double metres) { return absl::StrFormat("%.2f", metres / 1000); }

// --from and --to into `start` and `end`; false (after printing) on a bad value.
bool TimeRange(Context& ctx, const Args& args, google::protobuf::Timestamp* start,
               google::protobuf::Timestamp* end, bool* has_start, bool* has_end, int* rc) {
  *has_start = args.Has("from");
  *has_end = args.Has("to");
  if (*has_start && !ParseTimeArgument(args.Value("from"), false, start)) {
    *rc = ctx.Usage("--from must be a date YYYY-MM-DD or an RFC 3339 time");
    return false;
  }
  if (*has_end && !ParseTimeArgument(args.Value("to"), true, end)) {
    *rc = ctx.Usage("--to must be a date YYYY-MM-DD or an RFC 3339 time");
    return false;
  }
  return true;
}

int PatrolsList(Context& ctx, const Args& args) {
  v1::ListPatrolsRequest request;
  request.set_grid_code(args.Value("grid"));
  request.set_user_id(args.Value("user"));
  for (const auto& s : args.Values("state")) {
    const std::string key = absl::AsciiStrToLower(s);
    if (key == "active") {
      request.add_states(v1::PATROL_ACTIVE);
    } else if (key == "ended") {
      request.add_states(v1::PATROL_ENDED);
    } else {
      return ctx.Usage("--state must be active or ended");
    }
  }
  int rc = 0;
  bool has_start = false, has_end = false;
  v1::ListPatrolsRequest times;
  if (!TimeRange(ctx, args, times.mutable_start_time(), times.mutable_end_time(), &has_start,
                 &has_end, &rc)) {
    return rc;
  }
  if (has_start) *request.mutable_start_time() = times.start_time();
  if (has_end) *request.mutable_end_time() = times.end_time();
  int64_t limit;
  if (!ParseLimit(ctx, args, kDefaultListLimit, &limit, &rc)) return rc;
  if (int code = ctx.Connect()) return code;
  auto client = Patrols(ctx);
  Table table({"patrol_id", "user_id", "grid", "state", "start", "end", "points", "km", "visits",
               "reports"});
  bool more = false;
  gc::Status status = ForEachItem(
      request, limit, [&](const v1::ListPatrolsRequest& r) { return client.ListPatrols(r); },
      [](const v1::ListPatrolsResponse& r) -> const auto& { return r.patrols(); },
      [&](const v1::Patrol& p) {
        table.AddRow({p.patrol_id(), p.user_id(), ctx.GridCell(p.grid_code()),
                      PatrolStateName(p.state()), TimeCell(ctx, p.start_time()),
                      p.has_end_time() ? TimeCell(ctx, p.end_time()) : "",
                      absl::StrCat(p.point_count()), Km(p.length_metres()),
                      absl::StrCat(p.visit_count()), absl::StrCat(p.report_count())});
      },
      &more);
  if (!status.ok()) return ctx.Fail(status);
  PrintList(ctx, table, more, "patrols");
  return kExitOk;
}

int PatrolsShow(Context& ctx, const Args& args) {
  if (int code = ctx.Connect()) return code;
  auto client = Patrols(ctx);
  const std::string& id = args.positional()[0];
  auto p = client.GetPatrol(id);
  if (!p.ok()) return ctx.Fail(p.status());
  auto visits = client.ListVisits(id);
  if (!visits.ok()) return ctx.Fail(visits.status());
  Table facts({"field", "value"});
  facts.HideHeader();
  facts.AddRow({"patrol", p->patrol_id()});
  facts.AddRow({"by", p->department_code().empty()
                          ? p->user_id()
                          : absl::StrCat(p->user_id(), " (",
                                         ctx.DepartmentCell(p->department_code()), ")")});
  facts.AddRow({"grid", ctx.GridCell(p->grid_code())});
  facts.AddRow({"state", PatrolStateName(p->state())});
  facts.AddRow({"start", TimeCell(ctx, p->start_time())});
  facts.AddRow({"end", p->has_end_time() ? TimeCell(ctx, p->end_time()) : ""});
  facts.AddRow(
      {"track", absl::StrCat(p->point_count(), " points, ", Km(p->length_metres()), " km")});
  facts.AddRow({"reports found", absl::StrCat(p->report_count())});
  facts.AddRow({"version", absl::StrCat(p->version())});
  ctx.Print(facts);
  Table table({"visit_time", "kind", "subject", "note", "photos"});
  table.SetMaxWidth(3, 40);
  for (const auto& v : *visits) {
    table.AddRow({TimeCell(ctx, v.visit_time()), VisitKindName(v.kind()), v.subject(), v.note(),
                  absl::StrCat(v.attachment_ids_size())});
  }
  if (!ctx.machine()) ctx.out() << "\n";
  PrintList(ctx, table, false, "visits");
  return kExitOk;
}

int PatrolsTrack(Context& ctx, const Args& args) {
  if (int code = ctx.Connect()) return code;
  auto points = Patrols(ctx).ListTrackPoints(args.positional()[0]);
  if (!points.ok()) return ctx.Fail(points.status());
  Table table({"time", "latitude", "longitude"});
  for (const auto& p : *points) {
    table.AddRow({TimeCell(ctx, p.time()), absl::StrFormat("%.6f", p.position().latitude()),
                  absl::StrFormat("%.6f", p.position().longitude())});
  }
  PrintList(ctx, table, false, "track points");
  return kExitOk;
}

int PatrolsStats(Context& ctx, const Args& args) {
  v1::GetPatrolStatisticsRequest request;
  request.set_grid_code(args.Value("grid"));
  if (!args.Has("from")) return ctx.Usage("--from DATE is required");
  int rc = 0;
  bool has_start = false, has_end = false;
  v1::GetPatrolStatisticsRequest times;
  if (!TimeRange(ctx, args, times.mutable_start_time(), times.mutable_end_time(), &has_start,
                 &has_end, &rc)) {
    return rc;
  }
  *request.mutable_start_time() = times.start_time();
  if (has_end) *request.mutable_end_time() = times.end_time();
  if (int code = ctx.Connect()) return code;
  auto stats = Patrols(ctx).GetPatrolStatistics(request);
  if (!stats.ok()) return ctx.Fail(stats.status());
  Table table({"grid", "user_id", "patrols", "hours", "km", "days", "visits", "reports"});
  for (size_t i = 2; i < 8; ++i) table.AlignRight(i);
  auto add = [&](const v1::PatrolStatistics::Row& r, const std::string& grid,
                 const std::string& user) {
    table.AddRow({grid, user, absl::StrCat(r.patrol_count()), absl::StrFormat("%.1f", r.hours()),
                  absl::StrFormat("%.2f", r.kilometres()), absl::StrCat(r.patrol_days()),
                  absl::StrCat(r.visit_count()), absl::StrCat(r.report_count())});
  };
  for (const auto& r : stats->rows()) add(r, ctx.GridCell(r.grid_code()), r.user_id());
  if (!ctx.machine() && stats->rows_size() > 0) add(stats->total(), "total", "");
  PrintList(ctx, table, false, "patrols in the period");
  return kExitOk;
}

}  // namespace

void AddPatrolCommands(std::vector<Command>* commands) {
  const FlagSpec from = {"from", "DATE",
                         "patrols started at or after DATE (YYYY-MM-DD or RFC 3339)"};
  const FlagSpec to = {"to", "DATE", "patrols started up to DATE (a date: its end)"};
  const FlagSpec grid = {"grid", "CODE", "patrols in this grid's subtree"};
  commands->push_back({{"patrols", "list"},
                       "[--grid CODE] [--user ID] [--state active|ended]... [--from DATE] "
                       "[--to DATE] [--limit N]",
                       "List the patrols in your scope, newest first",
                       "Grid leaders and staff see their own patrols (staff: their department's),\n"
                       "dispatchers and supervisors their subtree, operators all.",
                       {grid,
                        {"user", "ID", "one patroller's"},
                        {"state", "STATE", "active or ended (repeatable)", true},
                        from,
                        to,
                        {"limit", "N", "show at most N patrols (default 100; 0: all)"}},
                       0,
                       0,
                       false,
                       true,
                       PatrolsList});
  commands->push_back({{"patrols", "show"},
                       "PATROL_ID",
                       "Show a patrol and its visits",
                       "",
                       {},
                       1,
                       1,
                       false,
                       true,
                       PatrolsShow});
  commands->push_back({{"patrols", "track"},
                       "PATROL_ID",
                       "Print a patrol's GNSS track, oldest point first",
                       "With --output csv: time, latitude, longitude (for a map or GIS tool).",
                       {},
                       1,
                       1,
                       false,
                       true,
                       PatrolsTrack});
  commands->push_back({{"patrols", "stats"},
                       "--from DATE [--to DATE] [--grid CODE]",
                       "Patrol figures per grid and person: patrols, hours, km, days, visits",
                       "Counts the patrols started in the period, with their hours (ended: start\n"
                       "to end; active: start to the last track point), kilometres, the days with\n"
                       "a patrol, the visits and the reports found on them. A table ends with the\n"
                       "total (days: distinct person-days); --output csv gives the rows only.",
                       {{"from", "DATE", "the period's start (required)"},
                        {"to", "DATE", "the period's end (default: now)"},
                        grid},
                       0,
                       0,
                       false,
                       true,
                       PatrolsStats});
}

}  // namespace gridctl
