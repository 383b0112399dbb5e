// report and `cases mine`: a grid leader's commands. Reports go through the SDK's offline outbox
// (gridline/client/outbox.h), as on a handset: queued in a local SQLite file first, then sent;
// without signal they wait there for `gridctl report flush`.
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "commands.h"
#include "gridline/client/outbox.h"
#include "gridline/client/photo.h"
#include "gridline/client/report_client.h"

namespace gridctl {
namespace {

// The most photos a report may carry (SubmitReportRequest.attachment_ids).
constexpr size_t kMaxPhotos = 9;

gc::ReportClient Report(const Context& ctx) {
  return gc::ReportClient(gc::MakeReportConnection(ctx.options()));
}

// --outbox, or $XDG_STATE_HOME/gridctl/outbox.db, or ~/.local/state/gridctl/outbox.db.
std::string OutboxPath(const Args& args) {
  if (args.Has("outbox")) return args.Value("outbox");
  std::filesystem::path dir;
  if (const char* state = std::getenv("XDG_STATE_HOME"); state != nullptr && *state != '\0') {
    dir = state;
  } else if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    dir = std::filesystem::path(home) / ".local" / "state";
  } else {
    dir = ".";
  }
  return (dir / "gridctl" / "outbox.db").string();
}

FlagSpec OutboxFlag() {
  return {"outbox", "FILE",
          "the outbox file (default $XDG_STATE_HOME/gridctl/outbox.db, else "
          "~/.local/state/gridctl/outbox.db)"};
}

// Opens the outbox, creating its directory. Prints what went wrong and sets `*rc` on failure.
std::unique_ptr<gc::Outbox> OpenOutbox(Context& ctx, const Args& args, int* rc) {
  const std::string path = OutboxPath(args);
  std::error_code ec;
  const auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  auto outbox = gc::Outbox::Open(path);
  if (!outbox.ok()) {
    ctx.Note(absl::StrCat("cannot open the outbox ", path, ": ", outbox.status().message()));
    *rc = kExitOther;
    return nullptr;
  }
  return *std::move(outbox);
}

std::string OutboxStateName(gc::OutboxState s) {
  switch (s) {
    case gc::OutboxState::kPending:
      return "pending";
    case gc::OutboxState::kSent:
      return "sent";
    case gc::OutboxState::kFailed:
      return "failed";
  }
  return "";
}

// ---- report submit ---------------------------------------------------------------------------

// `own` followed by the flags every report takes (ReportRequest and LoadPhotos read them).
std::vector<FlagSpec> ReportFlags(std::vector<FlagSpec> own) {
  std::vector<FlagSpec> common = {
      {"address", "TEXT", "a free-text address"},
      {"lat", "DEGREES", "latitude of a GNSS fix (with --lng)"},
      {"lng", "DEGREES", "longitude of a GNSS fix (with --lat)"},
      {"urgency", "LEVEL", "normal, urgent or emergency (default normal)"},
      {"observed", "TIME", "when it was seen (default now): YYYY-MM-DD or RFC 3339"},
      {"photo", "FILE", "a JPEG, PNG or WebP photo; up to 9", true},
      {"request-id", "ID", "the idempotency key (default: a new one)"}};
  own.insert(own.end(), common.begin(), common.end());
  return own;
}

// The --photo files, read. Prints a usage error, sets `*rc` and returns false on a bad one.
bool LoadPhotos(Context& ctx, const Args& args, std::vector<gc::Photo>* photos, int* rc) {
  const auto files = args.Values("photo");
  if (files.size() > kMaxPhotos) {
    *rc = ctx.Usage("at most 9 --photo per report");
    return false;
  }
  for (const auto& file : files) {
    auto photo = gc::Photo::FromFile(file);
    if (!photo.ok()) {
      *rc = ctx.Usage(absl::StrCat("--photo ", file, ": ", photo.status().message()));
      return false;
    }
    photos->push_back(*std::move(photo));
  }
  return true;
}

// The report from the flags; prints a usage error and returns false when one is bad.
bool ReportRequest(Context& ctx, const Args& args, v1::SubmitReportRequest* r, int* rc) {
  r->set_request_id(args.Value("request-id"));
  r->set_patrol_id(args.Value("patrol"));
  r->set_category_code(args.Value("category"));
  r->set_description(args.Value("description"));
  r->mutable_location()->set_grid_code(args.Value("grid"));
  r->mutable_location()->set_address(args.Value("address"));
  if (args.Has("lat") || args.Has("lng")) {
    double lat = 0, lng = 0;
    if (!absl::SimpleAtod(args.Value("lat"), &lat) || !absl::SimpleAtod(args.Value("lng"), &lng) ||
        lat < -90 || lat > 90 || lng < -180 || lng > 180) {
      *rc = ctx.Usage("--lat and --lng go together: degrees, -90..90 and -180..180");
      return false;
    }
    r->mutable_location()->mutable_coordinates()->set_latitude(lat);
    r->mutable_location()->mutable_coordinates()->set_longitude(lng);
  }
  if (args.Has("urgency")) {
    v1::Urgency u;
    if (!ParseUrgency(args.Value("urgency"), &u)) {
      *rc = ctx.Usage("--urgency must be normal, urgent or emergency");
      return false;
    }
    r->set_urgency(u);
  }
  if (args.Has("observed") &&
      !ParseTimeArgument(args.Value("observed"), false, r->mutable_observe_time())) {
    *rc = ctx.Usage("--observed must be a date (YYYY-MM-DD) or an RFC 3339 time");
    return false;
  }
  return true;
}

int ReportSubmit(Context& ctx, const Args& args) {
  int rc = 0;
  v1::SubmitReportRequest request;
  if (!ReportRequest(ctx, args, &request, &rc)) return rc;
  std::vector<gc::Photo> photos;
  if (!LoadPhotos(ctx, args, &photos, &rc)) return rc;
  if (int code = ctx.Connect()) return code;
  // Without --grid: the leader's own grid, which the server knows.
  if (request.location().grid_code().empty()) {
    auto me = ctx.Admin().GetCurrentUser();
    if (!me.ok()) {
      ctx.Note("without --grid the report goes to your grid, and asking the server for it failed");
      return ctx.Fail(me.status());
    }
    if (me->user().grid_code().empty()) return ctx.Usage("you have no grid: give --grid CODE");
    request.mutable_location()->set_grid_code(me->user().grid_code());
  }
  auto outbox = OpenOutbox(ctx, args, &rc);
  if (outbox == nullptr) return rc;
  auto queued = outbox->Enqueue(request, std::move(photos));
  if (!queued.ok()) return ctx.Fail(queued.status());
  const std::string request_id = queued->request_id;

  auto client = Report(ctx);
  auto flushed = outbox->Flush(client);
  if (!flushed.ok()) return ctx.Fail(flushed.status());
  auto entry = outbox->Get(request_id);
  if (!entry.ok()) return ctx.Fail(entry.status());

  Table fields({"field", "value"});
  fields.HideHeader();
  fields.AddRow({"request_id", request_id});
  fields.AddRow({"outbox", OutboxStateName(entry->state)});
  switch (entry->state) {
    case gc::OutboxState::kSent: {
      fields.AddRow({"case_id", entry->case_id});
      if (auto c = client.GetCase(entry->case_id); c.ok()) {
        fields.AddRow({"case_number", c->case_number()});
        fields.AddRow({"state", StateName(c->state())});
        fields.AddRow({"grid", c->location().grid_code()});
        fields.AddRow({"photos", std::to_string(c->before_photos_size())});
      }
      ctx.PrintDetails(fields);
      return kExitOk;
    }
    case gc::OutboxState::kFailed:
      ctx.PrintDetails(fields);
      ctx.Note("the server refused the report; it stays in the outbox as failed");
      return ctx.Fail(entry->error);
    case gc::OutboxState::kPending:
      break;
  }
  ctx.PrintDetails(fields);
  ctx.Note(absl::StrCat("the report is queued in ", OutboxPath(args),
                        " but not sent: ", flushed->stopped_by.message(),
                        ". `gridctl report flush` sends it (the request id keeps it from being "
                        "filed twice)."));
  return ExitCodeFor(flushed->stopped_by.code() == gc::StatusCode::kOk
                         ? gc::StatusCode::kUnavailable
                         : flushed->stopped_by.code());
}

// ---- cases register --------------------------------------------------------------------------

// "public" or "PUBLIC", and so on; never HANDSET (that is `report submit`).
bool ParseSource(const std::string& text, v1::CaseSource* out) {
  return ParseCaseSource(text, out) && *out != v1::HANDSET;
}

int CasesRegister(Context& ctx, const Args& args) {
  int rc = 0;
  v1::RegisterCaseRequest request;
  v1::CaseSource source;
  if (!ParseSource(args.Value("source"), &source)) {
    return ctx.Usage("--source must be public, media, leader or inspection");
  }
  request.set_source(source);
  if (!ReportRequest(ctx, args, request.mutable_report(), &rc)) return rc;
  if (request.report().request_id().empty()) {
    request.mutable_report()->set_request_id(gc::NewRequestId());
  }
  std::vector<gc::Photo> photos;
  if (!LoadPhotos(ctx, args, &photos, &rc)) return rc;
  if (int code = ctx.Connect()) return code;
  auto uploader = Report(ctx);
  for (const auto& photo : photos) {
    auto stored = uploader.UploadPhoto(photo);
    if (!stored.ok()) return ctx.Fail(stored.status());
    request.mutable_report()->add_attachment_ids(stored->attachment_id());
  }
  auto registered = ctx.Dispatch().RegisterCase(request);
  if (!registered.ok()) return ctx.Fail(registered.status());
  const v1::Case& c = registered->case_();
  Table fields({"field", "value"});
  fields.HideHeader();
  fields.AddRow({"case_id", c.case_id()});
  fields.AddRow({"request_id", request.report().request_id()});
  fields.AddRow({"source", v1::CaseSource_Name(c.source())});
  fields.AddRow({"state", StateName(c.state())});
  fields.AddRow({"case_number", c.case_number()});
  fields.AddRow({"grid", ctx.GridCell(c.location().grid_code())});
  fields.AddRow({"photos", std::to_string(c.before_photos_size())});
  ctx.PrintDetails(fields);
  return kExitOk;
}

// ---- report flush / outbox -------------------------------------------------------------------

int ReportFlush(Context& ctx, const Args& args) {
  int rc = 0;
  if (int code = ctx.Connect()) return code;
  auto outbox = OpenOutbox(ctx, args, &rc);
  if (outbox == nullptr) return rc;
  auto client = Report(ctx);
  auto flushed = outbox->Flush(client);
  if (!flushed.ok()) return ctx.Fail(flushed.status());
  Table fields({"field", "value"});
  fields.HideHeader();
  fields.AddRow({"sent", std::to_string(flushed->sent)});
  fields.AddRow({"failed", std::to_string(flushed->failed)});
  fields.AddRow({"pending", std::to_string(flushed->pending)});
  ctx.PrintDetails(fields);
  if (!flushed->stopped_by.ok()) {
    ctx.Note(absl::StrCat("stopped: ", flushed->stopped_by.message()));
    return ExitCodeFor(flushed->stopped_by.code());
  }
  return flushed->failed > 0 ? kExitOther : kExitOk;
}

int ReportOutbox(Context& ctx, const Args& args) {
  int rc = 0;
  auto outbox = OpenOutbox(ctx, args, &rc);
  if (outbox == nullptr) return rc;
  auto entries = outbox->List();
  if (!entries.ok()) return ctx.Fail(entries.status());
  Table table({"request_id", "state", "attempts", "case_id", "category", "grid", "photos", "queued",
               "error", "description"});
  table.SetMaxWidth(9, 30);
  for (const auto& e : *entries) {
    google::protobuf::Timestamp queued;
    queued.set_seconds(
        std::chrono::duration_cast<std::chrono::seconds>(e.enqueue_time.time_since_epoch())
            .count());
    table.AddRow({e.request_id, OutboxStateName(e.state), std::to_string(e.attempts), e.case_id,
                  e.report.category_code(), e.report.location().grid_code(),
                  std::to_string(e.photo_count), TimeCell(ctx, queued),
                  e.error.ok() ? "" : std::string(e.error.message()), e.report.description()});
  }
  PrintList(ctx, table, false, "reports in the outbox");
  return kExitOk;
}

// ---- cases mine ------------------------------------------------------------------------------

int CasesMine(Context& ctx, const Args& args) {
  v1::ListMyCasesRequest request;
  for (const auto& s : args.Values("state")) {
    v1::CaseState state;
    if (!ParseCaseState(s, &state)) return ctx.Usage("unknown --state '" + s + "'");
    request.add_states(state);
  }
  int rc = 0;
  int64_t limit;
  if (!ParseLimit(ctx, args, kDefaultListLimit, &limit, &rc)) return rc;
  if (int code = ctx.Connect()) return code;
  auto client = Report(ctx);
  Table table({"case_id", "case_number", "state", "category", "grid", "urgency", "observed",
               "deadline", "description"});
  table.SetMaxWidth(8, 30);
  bool more = false;
  gc::Status status = ForEachItem(
      request, limit, [&](const v1::ListMyCasesRequest& r) { return client.ListMyCases(r); },
      [](const v1::ListMyCasesResponse& r) -> const auto& { return r.cases(); },
      [&](const v1::Case& c) {
        table.AddRow({c.case_id(), c.case_number(), StateName(c.state()),
                      ctx.CategoryCell(c.category_code()), ctx.GridCell(c.location().grid_code()),
                      UrgencyName(c.urgency()), TimeCell(ctx, c.observe_time()),
                      TimeCell(ctx, c.deadline_time()), c.description()});
      },
      &more);
  if (!status.ok()) return ctx.Fail(status);
  PrintList(ctx, table, more, "cases");
  return kExitOk;
}

}  // namespace

void AddReportCommands(std::vector<Command>* commands) {
  commands->push_back(
      {{"report", "submit"},
       "--category CODE --description TEXT [--grid CODE] [--photo FILE]... [flags]",
       "Report a problem found on patrol, with photos, through the offline outbox",
       "The report and its photos are first queued in the outbox file (durable), then sent.\n"
       "Prints the new case. Without a connection the report stays queued (exit 6) and\n"
       "`gridctl report flush` sends it later, filed exactly once. Without --grid the report\n"
       "is for your own grid. Grid leaders report; other roles get exit 4.",
       ReportFlags({{"category", "CODE", "the problem category (`gridctl org categories`)"},
                    {"description", "TEXT", "what was seen, 1..2000 characters"},
                    {"patrol", "PATROL_ID", "the patrol of yours this was found on"},
                    {"grid", "CODE", "the grid the problem is in (default: your grid)"},
                    OutboxFlag()}),
       0,
       0,
       false,
       false,
       ReportSubmit});
  commands->push_back({{"report", "flush"},
                       "[--outbox FILE]",
                       "Send the reports waiting in the outbox, oldest first",
                       "Stops at the first transient failure (exit 6), leaving the rest queued.",
                       {OutboxFlag()},
                       0,
                       0,
                       false,
                       false,
                       ReportFlush});
  commands->push_back({{"report", "outbox"},
                       "[--outbox FILE]",
                       "List the reports in the outbox: pending, sent and failed",
                       "Reads the local file only; no server needed.",
                       {OutboxFlag()},
                       0,
                       0,
                       true,
                       true,
                       ReportOutbox});
  commands->push_back(
      {{"cases", "register"},
       "--source SOURCE --category CODE --description TEXT --grid CODE [--photo FILE]... [flags]",
       "Register a report of the public, the media, a leader or an inspection (dispatchers)",
       "The acceptance center files what did not come from a handset: a 12345 call or an app\n"
       "report (public), a media exposure (media), a leader's assignment (leader), or an\n"
       "inspection's finding (inspection). The case enters triage like a grid leader's report,\n"
       "with its source recorded. Give --request-id to make a retry of this command safe.",
       ReportFlags(
           {{"source", "SOURCE", "public, media, leader or inspection (required)"},
            {"category", "CODE", "the problem category (`gridctl org categories`)"},
            {"description", "TEXT", "what was reported, 1..2000 characters"},
            {"grid", "CODE", "the grid the problem is in, inside your subtree (required)"}}),
       0,
       0,
       false,
       false,
       CasesRegister});
  commands->push_back({{"cases", "mine"},
                       "[--state STATE]... [--limit N]",
                       "List the cases you reported, newest first (grid leaders)",
                       "",
                       {{"state", "STATE", "only cases in this state (repeatable)", true},
                        {"limit", "N", "show at most N cases (default 100; 0: all)"}},
                       0,
                       0,
                       false,
                       true,
                       CasesMine});
}

}  // namespace gridctl
