// org: loading an organisation file and listing what is configured (operators).
#include <sys/ioctl.h>
#include <unistd.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "commands.h"

namespace gridctl {
namespace {

std::string Lower(const std::string& s) { return absl::AsciiStrToLower(s); }

std::string KindName(v1::OrganisationKind kind) {
  return kind == v1::ORGANISATION_KIND_UNSPECIFIED ? "" : Lower(v1::OrganisationKind_Name(kind));
}

// Shows an import's progress on stderr: a bar redrawn in place on a terminal, else a line per
// phase and per tenth of the work.
class ProgressPrinter {
 public:
  explicit ProgressPrinter(std::ostream& err) : err_(err), tty_(isatty(STDERR_FILENO) == 1) {}

  void Update(const v1::ImportProgress& p) {
    const std::string phase = Lower(v1::ImportProgress::Phase_Name(p.phase()));
    const std::string kind = KindName(p.kind());
    const int percent =
        p.total() > 0 ? static_cast<int>(std::min<int64_t>(100, p.done() * 100 / p.total())) : -1;
    std::string label = kind.empty() ? phase : phase + " " + kind;
    if (tty_) {
      std::string line = PadToWidth(label, 26);
      if (percent >= 0) {
        const int width = BarWidth();
        const int filled = percent * width / 100;
        absl::StrAppend(&line, " [", std::string(filled, '#'), std::string(width - filled, '.'),
                        "] ", percent, "%  ", p.done(), "/", p.total());
      } else if (p.done() > 0) {
        absl::StrAppend(&line, " ", p.done());
      }
      while (!line.empty() && line.back() == ' ') line.pop_back();
      if (line == line_) return;  // nothing new to draw
      err_ << '\r' << line << "\033[K" << std::flush;
      line_ = line;
      drawn_ = true;
    } else {
      const bool new_step = label != label_;
      const bool new_tenth = percent >= 0 && percent / 10 != percent_ / 10;
      if (!new_step && !new_tenth) return;
      err_ << "import: " << label;
      if (percent >= 0) {
        err_ << ' ' << p.done() << '/' << p.total() << " (" << percent << "%)";
      } else if (p.done() > 0) {
        err_ << ' ' << p.done();
      }
      err_ << '\n';
    }
    label_ = label;
    percent_ = percent;
  }

  // Ends the bar's line.
  void Finish() {
    if (drawn_) err_ << '\n' << std::flush;
    drawn_ = false;
  }

 private:
  static int BarWidth() {
    winsize ws{};
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
      return std::max(10, std::min(40, static_cast<int>(ws.ws_col) - 50));
    }
    return 30;
  }

  std::ostream& err_;
  const bool tty_;
  bool drawn_ = false;
  std::string label_;
  std::string line_;
  int percent_ = -2;
};

int OrgLoad(Context& ctx, const Args& args) {
  const std::string& path = args.positional()[0];
  const bool dry_run = args.Has("dry-run");
  int64_t part_size = 1000;
  if (args.Has("part-size") &&
      (!ParseCount(args.Value("part-size"), &part_size) || part_size == 0 || part_size > 100000)) {
    return ctx.Usage("--part-size must be a number of entries in 1..100000");
  }
  auto organisation = gc::AdminClient::ReadOrganisationFile(path);
  if (!organisation.ok()) return ctx.Fail(organisation.status());
  if (int code = ctx.Connect()) return code;

  ProgressPrinter progress(ctx.err());
  auto result = ctx.Admin().ImportOrganisation(
      *organisation, dry_run, [&](const v1::ImportProgress& p) { progress.Update(p); },
      static_cast<int>(part_size));
  progress.Finish();
  if (!result.ok()) return ctx.Fail(result.status());

  Table counts({"kind", "created", "updated", "unchanged"});
  for (int i = 1; i <= 3; ++i) counts.AlignRight(i);
  for (const auto& c : result->counts()) {
    counts.AddRow({KindName(c.kind()), absl::StrCat(c.created()), absl::StrCat(c.updated()),
                   absl::StrCat(c.unchanged())});
  }
  Table violations({"kind", "key", "index", "field", "description"});
  violations.AlignRight(2);
  for (const auto& v : result->violations()) {
    violations.AddRow(
        {KindName(v.kind()), v.key(), absl::StrCat(v.index()), v.field(), v.description()});
  }
  if (ctx.format() == OutputFormat::kJson) {
    // One object: {"counts": [...], "violations": [...], "dry_run": "true"|"false"}.
    ctx.out() << "{\"counts\":" << counts.ToJson() << ",\"violations\":" << violations.ToJson()
              << ",\"dry_run\":\"" << (dry_run ? "true" : "false") << "\"}\n";
  } else {
    ctx.Print(counts);
    if (violations.rows() > 0) {
      ctx.out() << "\nViolations:\n";
      ctx.Print(violations);
      ctx.out() << '\n';
    }
  }
  if (result->violations_truncated()) {
    ctx.Note("only the first violations are listed; fix these and load again");
  }
  if (!result->violations().empty()) {
    ctx.Note(absl::StrCat(path, ": ", result->violations_size(),
                          result->violations_truncated() ? "+" : "",
                          " violations; nothing was written"));
    return kExitOther;
  }
  if (result->dry_run()) {
    ctx.Note(path + " is valid (dry run: nothing was written)");
    return kExitOk;
  }
  if (!result->applied()) {
    ctx.Note(path + ": the server did not apply the import");
    return kExitOther;
  }
  ctx.Note(path + " loaded");
  return kExitOk;
}

int OrgGrids(Context& ctx, const Args& args) {
  v1::ListGridsRequest request;
  request.set_parent_code(args.Value("parent"));
  if (args.Has("level")) {
    v1::GridLevel level;
    if (!v1::GridLevel_Parse(absl::AsciiStrToUpper(args.Value("level")), &level) ||
        level == v1::GRID_LEVEL_UNSPECIFIED) {
      return ctx.Usage("--level must be CITY, DISTRICT, STREET, COMMUNITY, CELL or COMPOUND");
    }
    request.set_level(level);
  }
  if (int code = ctx.Connect()) return code;
  auto client = ctx.Admin();
  Table table({"code", "level", "parent_code", "name"});
  bool more = false;
  gc::Status status = ForEachItem(
      request, 0, [&](const v1::ListGridsRequest& r) { return client.ListGrids(r); },
      [](const v1::ListGridsResponse& r) -> const auto& { return r.grids(); },
      [&](const v1::Grid& g) {
        table.AddRow({g.code(), v1::GridLevel_Name(g.level()), g.parent_code(), g.name()});
      },
      &more);
  if (!status.ok()) return ctx.Fail(status);
  ctx.Print(table);
  return kExitOk;
}

int OrgDepartments(Context& ctx, const Args& args) {
  v1::ListDepartmentsRequest request;
  request.set_parent_code(args.Value("parent"));
  request.set_grid_code(args.Value("grid"));
  if (int code = ctx.Connect()) return code;
  auto client = ctx.Admin();
  Table table({"code", "grid_code", "parent_code", "name"});
  bool more = false;
  gc::Status status = ForEachItem(
      request, 0, [&](const v1::ListDepartmentsRequest& r) { return client.ListDepartments(r); },
      [](const v1::ListDepartmentsResponse& r) -> const auto& { return r.departments(); },
      [&](const v1::Department& d) {
        table.AddRow({d.code(), d.grid_code(), d.parent_code(), d.name()});
      },
      &more);
  if (!status.ok()) return ctx.Fail(status);
  ctx.Print(table);
  return kExitOk;
}

int OrgCategories(Context& ctx, const Args& /*args*/) {
  v1::ListCategoriesRequest request;
  if (int code = ctx.Connect()) return code;
  auto client = ctx.Admin();
  Table table(
      {"code", "kind", "normal_hours", "urgent_hours", "emergency_hours", "auto_accept", "name"});
  for (int i = 2; i <= 4; ++i) table.AlignRight(i);
  bool more = false;
  gc::Status status = ForEachItem(
      request, 0, [&](const v1::ListCategoriesRequest& r) { return client.ListCategories(r); },
      [](const v1::ListCategoriesResponse& r) -> const auto& { return r.categories(); },
      [&](const v1::Category& c) {
        table.AddRow(
            {c.code(), v1::CategoryKind_Name(c.kind()), absl::StrCat(c.normal_deadline_hours()),
             absl::StrCat(c.urgent_deadline_hours()), absl::StrCat(c.emergency_deadline_hours()),
             c.auto_accept() ? "yes" : "", c.name()});
      },
      &more);
  if (!status.ok()) return ctx.Fail(status);
  ctx.Print(table);
  return kExitOk;
}

int OrgUsers(Context& ctx, const Args& args) {
  v1::ListUsersRequest request;
  if (args.Has("role")) {
    v1::Role role;
    if (!v1::Role_Parse(absl::AsciiStrToUpper(args.Value("role")), &role) ||
        role == v1::ROLE_UNSPECIFIED) {
      return ctx.Usage(
          "--role must be GRID_LEADER, DISPATCHER, DEPARTMENT_STAFF, SUPERVISOR, OPERATOR or "
          "PUBLIC_APP");
    }
    request.set_role(role);
  }
  request.set_grid_code(args.Value("grid"));
  request.set_department_code(args.Value("department"));
  request.set_include_disabled(args.Has("include-disabled"));
  if (int code = ctx.Connect()) return code;
  auto client = ctx.Admin();
  Table table({"user_id", "role", "grid_code", "department_code", "disabled", "display_name"});
  bool more = false;
  gc::Status status = ForEachItem(
      request, 0, [&](const v1::ListUsersRequest& r) { return client.ListUsers(r); },
      [](const v1::ListUsersResponse& r) -> const auto& { return r.users(); },
      [&](const v1::User& u) {
        table.AddRow({u.user_id(), v1::Role_Name(u.role()), u.grid_code(), u.department_code(),
                      u.disabled() ? "yes" : "", u.display_name()});
      },
      &more);
  if (!status.ok()) return ctx.Fail(status);
  ctx.Print(table);
  return kExitOk;
}

int OrgRoute(Context& ctx, const Args& args) {
  v1::ResolveRouteRequest request;
  request.set_category_code(args.positional()[0]);
  request.set_grid_code(args.positional()[1]);
  if (int code = ctx.Connect()) return code;
  auto route = ctx.Admin().ResolveRoute(request);
  if (!route.ok()) return ctx.Fail(route.status());
  Table table({"field", "value"});
  table.HideHeader();
  table.AddRow({"source", v1::RouteSource_Name(route->source())});
  if (route->has_rule()) table.AddRow({"rule", route->rule().rule_id()});
  table.AddRow({"lead_department", route->lead_department_code()});
  table.AddRow({"assisting", absl::StrJoin(route->assisting_department_codes(), ", ")});
  if (!route->street_grid_code().empty()) table.AddRow({"street", route->street_grid_code()});
  std::vector<std::string> shadowed;
  for (const auto& r : route->shadowed_rules()) shadowed.push_back(r.rule_id());
  if (!shadowed.empty()) table.AddRow({"shadowed_rules", absl::StrJoin(shadowed, ", ")});
  ctx.PrintDetails(table);
  return route->source() == v1::NO_ROUTE ? kExitConflict : kExitOk;
}

}  // namespace

void AddOrgCommands(std::vector<Command>* commands) {
  commands->push_back(
      {{"org", "load"},
       "FILE [--dry-run]",
       "Load an organisation file (grids, departments, categories, routing rules, users)",
       "FILE is a gridline.v1.Organisation in protobuf text format, e.g.\n"
       "deploy/demo/organisation.textproto. The import is all or nothing: entries are created\n"
       "or updated by code, and with any violation nothing is written. Progress goes to stderr\n"
       "(a bar on a terminal). Prints the counts per kind and the violations.\n"
       "Exit status 1 when the file has violations (also with --dry-run).",
       {{"dry-run", "", "validate and count only; write nothing"},
        {"part-size", "N", "entries per message sent (default 1000)"}},
       1,
       1,
       false,
       false,
       OrgLoad});
  commands->push_back({{"org", "grids"},
                       "[--parent CODE] [--level LEVEL]",
                       "List the grid tree's nodes by code",
                       "",
                       {{"parent", "CODE", "only the direct children of this grid"},
                        {"level", "LEVEL", "only grids of this level (STREET, CELL, ...)"}},
                       0,
                       0,
                       false,
                       true,
                       OrgGrids});
  commands->push_back({{"org", "departments"},
                       "[--parent CODE] [--grid CODE]",
                       "List the line departments and their stationed teams",
                       "",
                       {{"parent", "CODE", "only the teams of this department"},
                        {"grid", "CODE", "only departments that sit at this grid"}},
                       0,
                       0,
                       false,
                       true,
                       OrgDepartments});
  commands->push_back({{"org", "categories"},
                       "",
                       "List the problem categories and their deadlines",
                       "",
                       {},
                       0,
                       0,
                       false,
                       true,
                       OrgCategories});
  commands->push_back({{"org", "users"},
                       "[--role ROLE] [--grid CODE] [--department CODE] [--include-disabled]",
                       "List the users",
                       "",
                       {{"role", "ROLE", "only users with this role"},
                        {"grid", "CODE", "only users whose grid lies in this subtree"},
                        {"department", "CODE", "only staff of this department"},
                        {"include-disabled", "", "also disabled users"}},
                       0,
                       0,
                       false,
                       true,
                       OrgUsers});
  commands->push_back({{"org", "route"},
                       "CATEGORY GRID",
                       "Show where a case of CATEGORY in GRID would be dispatched, and why",
                       "Exit status 5 when no department would take it (NO_ROUTE).",
                       {},
                       2,
                       2,
                       false,
                       false,
                       OrgRoute});
}

}  // namespace gridctl
