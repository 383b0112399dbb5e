// cases, triage and extensions: the acceptance center's work (steps 2-4 and 6 of the seven-step
// loop) and the case table that supervisors and operators read too.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "commands.h"
#include "gridline/client/watch.h"

namespace gridctl {
namespace {

// ---- cases list ------------------------------------------------------------------------------

int CasesList(Context& ctx, const Args& args) {
  v1::ListCasesRequest request;
  if (!CaseFilterRequest(ctx, args, &request)) return kExitUsage;
  int rc = 0;
  int64_t limit;
  if (!ParseLimit(ctx, args, kDefaultListLimit, &limit, &rc)) return rc;
  if (int code = ctx.Connect()) return code;
  auto client = ctx.Dispatch();

  Table table({"case_id", "case_number", "state", "category", "grid", "lead_department", "urgency",
               "observed", "deadline", "description"});
  table.SetMaxWidth(9, 30);
  bool more = false;
  gc::Status status = ForEachItem(
      request, limit, [&](const v1::ListCasesRequest& r) { return client.ListCases(r); },
      [](const v1::ListCasesResponse& r) -> const auto& { return r.cases(); },
      [&](const v1::Case& c) {
        table.AddRow({c.case_id(), c.case_number(), StateName(c.state()),
                      ctx.CategoryCell(c.category_code()), ctx.GridCell(c.location().grid_code()),
                      ctx.DepartmentCell(c.lead_department_code()), UrgencyName(c.urgency()),
                      TimeCell(ctx, c.observe_time()), TimeCell(ctx, c.deadline_time()),
                      c.description()});
      },
      &more);
  if (!status.ok()) return ctx.Fail(status);
  PrintList(ctx, table, more, "cases");
  return kExitOk;
}

// ---- cases show / history --------------------------------------------------------------------

std::string PhotoList(const google::protobuf::RepeatedPtrField<v1::Attachment>& photos) {
  if (photos.empty()) return "";
  std::vector<std::string> ids;
  for (const auto& p : photos) ids.push_back(p.attachment_id().substr(0, 12));
  return absl::StrCat(photos.size(), " (", absl::StrJoin(ids, ", "), ")");
}

Table HistoryTable(Context& ctx, const std::vector<v1::CaseEvent>& events) {
  Table table({"time", "event", "from", "to", "actor", "role", "department", "note"});
  for (const auto& e : events) {
    std::string time = ctx.machine() ? Rfc3339(e.event_time()) : LocalTime(e.event_time(), true);
    table.AddRow({time, v1::CaseEventType_Name(e.type()), StateName(e.from_state()),
                  StateName(e.to_state()), e.actor_user_id(),
                  e.actor_role() == v1::ROLE_UNSPECIFIED ? "" : v1::Role_Name(e.actor_role()),
                  e.lead_department_code(), e.note()});
  }
  table.SetMaxWidth(7, 60);
  return table;
}

int CasesShow(Context& ctx, const Args& args) {
  if (int code = ctx.Connect()) return code;
  auto client = ctx.Dispatch();
  const std::string& id = args.positional()[0];
  auto c = client.GetCase(id);
  if (!c.ok()) return ctx.Fail(c.status());
  Table fields({"field", "value"});
  fields.HideHeader();
  const auto add = [&](const std::string& key, const std::string& value) {
    fields.AddRow({key, value});
  };
  add("case_id", c->case_id());
  add("case_number", c->case_number());
  add("state", StateName(c->state()));
  add("category", ctx.CategoryCell(c->category_code()));
  add("urgency", UrgencyName(c->urgency()));
  add("description", c->description());
  add("grid", ctx.GridCell(c->location().grid_code()));
  add("address", c->location().address());
  const auto& ll = c->location().coordinates();
  add("coordinates", ll.latitude() == 0 && ll.longitude() == 0
                         ? ""
                         : absl::StrCat(ll.latitude(), ", ", ll.longitude()));
  add("reporter", c->reporter_user_id());
  add("source", c->source() == v1::CASE_SOURCE_UNSPECIFIED ? "" : v1::CaseSource_Name(c->source()));
  add("lead_department", ctx.DepartmentCell(c->lead_department_code()));
  add("assisting", absl::StrJoin(c->assisting_department_codes(), ", "));
  add("observed", LocalTime(c->observe_time()));
  add("created", LocalTime(c->create_time()));
  add("deadline", LocalTime(c->deadline_time()));
  add("updated", LocalTime(c->update_time()));
  add("rework_count", absl::StrCat(c->rework_count()));
  add("resolution", c->resolution_note());
  add("duplicate_of", c->duplicate_of_case_id());
  add("before_photos", PhotoList(c->before_photos()));
  add("after_photos", PhotoList(c->after_photos()));
  add("version", absl::StrCat(c->version()));
  if (ctx.format() == OutputFormat::kJson) {
    // One object: {"case": {...}, "history": [...]} (without history with --no-history).
    ctx.out() << "{\"case\":" << fields.ToJson();
    if (!args.Has("no-history")) {
      auto events = client.ListCaseEvents(id);
      if (!events.ok()) return ctx.Fail(events.status());
      ctx.out() << ",\"history\":" << HistoryTable(ctx, *events).ToJson();
    }
    ctx.out() << "}\n";
    return kExitOk;
  }
  ctx.Print(fields);
  if (args.Has("no-history")) return kExitOk;

  auto events = client.ListCaseEvents(id);
  if (!events.ok()) return ctx.Fail(events.status());
  ctx.out() << "\nHistory:\n";
  ctx.Print(HistoryTable(ctx, *events));
  return kExitOk;
}

int CasesHistory(Context& ctx, const Args& args) {
  if (int code = ctx.Connect()) return code;
  auto events = ctx.Dispatch().ListCaseEvents(args.positional()[0]);
  if (!events.ok()) return ctx.Fail(events.status());
  ctx.Print(HistoryTable(ctx, *events));
  return kExitOk;
}

// ---- writes ----------------------------------------------------------------------------------

int CasesRoute(Context& ctx, const Args& args) {
  v1::RouteCaseRequest request;
  request.set_case_id(args.positional()[0]);
  request.set_lead_department_code(args.Value("department"));
  for (const auto& d : args.Values("assist")) request.add_assisting_department_codes(d);
  request.set_note(args.Value("note"));
  if (request.lead_department_code().empty()) return ctx.Usage("--department is required");
  if (request.note().empty()) return ctx.Usage("--note is required: why this department");
  return RunCaseWrite(ctx, args, request,
                      [&](const auto& r) { return ctx.Dispatch().RouteCase(r); });
}

int CasesVerify(Context& ctx, const Args& args) {
  if (args.Has("pass") == args.Has("fail"))
    return ctx.Usage("give exactly one of --pass and --fail");
  v1::VerifyCaseRequest request;
  request.set_case_id(args.positional()[0]);
  request.set_passed(args.Has("pass"));
  request.set_note(args.Value("note"));
  if (!request.passed() && request.note().empty()) {
    return ctx.Usage("--fail needs --note: what is still wrong (the department reads it)");
  }
  return RunCaseWrite(ctx, args, request,
                      [&](const auto& r) { return ctx.Dispatch().VerifyCase(r); });
}

// ---- cases follow ----------------------------------------------------------------------------

// The columns of `cases follow --output csv|json`.
std::vector<std::string> FollowColumns() {
  return {"time", "event",           "case_id", "from_state",   "to_state", "category",
          "grid", "lead_department", "actor",   "case_version", "note",     "cursor"};
}

std::vector<std::string> EventRecord(const v1::CaseEvent& e) {
  return {Rfc3339(e.event_time()),
          v1::CaseEventType_Name(e.type()),
          e.case_id(),
          StateName(e.from_state()),
          StateName(e.to_state()),
          e.category_code(),
          e.grid_code(),
          e.lead_department_code(),
          e.actor_user_id(),
          absl::StrCat(e.case_version()),
          e.note(),
          e.cursor()};
}

// One line for people: time, type, case and transition in columns, then `fields` as key=value
// (the empty ones left out).
std::string FollowLine(const google::protobuf::Timestamp& time, const std::string& type,
                       const std::string& case_id, const std::string& transition,
                       const std::vector<std::pair<const char*, std::string>>& fields) {
  std::string line = absl::StrCat(LocalTime(time, true), "  ", PadToWidth(type, 24), "  ", case_id,
                                  "  ", PadToWidth(transition, 30));
  for (const auto& [key, value] : fields) {
    if (!value.empty()) absl::StrAppend(&line, "  ", key, "=", SanitizeCell(value));
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line;
}

// One event as a line for people. The cursor is left out (long and opaque): the resume hint
// gives the last one.
std::string EventLine(const v1::CaseEvent& e) {
  std::string transition = StateName(e.to_state());
  if (e.from_state() != v1::CASE_STATE_UNSPECIFIED && e.from_state() != e.to_state()) {
    transition = StateName(e.from_state()) + " -> " + transition;
  }
  return FollowLine(e.event_time(), v1::CaseEventType_Name(e.type()), e.case_id(), transition,
                    {{"category", e.category_code()},
                     {"grid", e.grid_code()},
                     {"lead", e.lead_department_code()},
                     {"by", e.actor_user_id()},
                     {"note", e.note()}});
}

// A case waiting in the triage queue when following began, as the pseudo event QUEUED: time is
// when it entered the queue, the note the department's reason for returning it; in CSV the
// cursor is where following began.
constexpr char kQueued[] = "QUEUED";

std::vector<std::string> QueuedRecord(const v1::TriageItem& item, const std::string& cursor) {
  const v1::Case& c = item.case_();
  return {Rfc3339(item.queue_time()),
          kQueued,
          c.case_id(),
          "",
          StateName(c.state()),
          c.category_code(),
          c.location().grid_code(),
          c.lead_department_code(),
          "",
          absl::StrCat(c.version()),
          item.return_reason(),
          cursor};
}

std::string QueuedLine(const v1::TriageItem& item) {
  const v1::Case& c = item.case_();
  return FollowLine(item.queue_time(), kQueued, c.case_id(), StateName(c.state()),
                    {{"category", c.category_code()},
                     {"grid", c.location().grid_code()},
                     {"returned_by", item.returned_by_department_code()},
                     {"note", item.return_reason()}});
}

// Whether `path` holds a cursor to resume from (what the SDK reads from a cursor file).
bool HasSavedCursor(const std::string& path) {
  if (path.empty()) return false;
  std::ifstream in(path);
  std::string cursor;
  return in && std::getline(in, cursor) && !cursor.empty();
}

int CasesFollow(Context& ctx, const Args& args) {
  // Ctrl-C and SIGTERM are taken by a thread of ours with sigwait, which cancels the watch; they
  // must be blocked before the SDK starts any thread, so that every thread inherits the mask.
  // SIGUSR1 only wakes that thread when the watch ends by itself.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  if (int code = ctx.Connect()) return code;
  gc::DispatchClient client = ctx.Dispatch();
  gc::WatchOptions options;
  options.after_cursor = args.Value("after");
  options.cursor_file = args.Value("cursor-file");
  options.on_reconnect = [&ctx](const gc::Status& why) {
    ctx.Note(absl::StrCat("reconnecting (", absl::StatusCodeToString(why.code()), ": ",
                          why.message(), ")"));
  };
  // With no position to resume from, the queue as it stands comes first, and the events from
  // where it was read.
  const bool list_first =
      !args.Has("no-list") && options.after_cursor.empty() && !HasSavedCursor(options.cursor_file);

  std::mutex mu;
  std::unique_ptr<gc::Watch> watch;  // replaced only by this thread, under `mu`
  bool stopping = false;             // under `mu`
  std::atomic<bool> interrupted{false};
  std::thread waiter([&] {
    int sig = 0;
    if (sigwait(&signals, &sig) == 0 && sig != SIGUSR1) interrupted = true;
    std::lock_guard<std::mutex> lock(mu);
    stopping = true;
    if (watch) watch->Cancel();
  });
  // Makes `next` the watch to follow; false when interrupted meanwhile.
  const auto install = [&](std::unique_ptr<gc::Watch> next) {
    std::unique_ptr<gc::Watch> old;  // destroyed after the lock is released
    std::lock_guard<std::mutex> lock(mu);
    if (stopping) return false;
    old = std::move(watch);
    watch = std::move(next);
    return true;
  };

  // csv: a header, then a record per line; json: an object per line (JSON Lines) with the
  // CSV's column names.
  const bool json = ctx.format() == OutputFormat::kJson;
  const bool csv = ctx.format() == OutputFormat::kCsv;
  std::string start_cursor = options.after_cursor;
  // Prints the queue and follows from where it was read. CANCELLED when interrupted meanwhile.
  const auto list_and_watch = [&]() -> gc::Status {
    v1::ListTriageQueueRequest request;
    request.set_grid_code(args.Value("grid"));
    request.set_page_size(kMaxPageSize);
    auto listed = client.ListAndWatchQueue(request, options);
    if (!listed.ok()) return listed.status();
    for (const v1::TriageItem& item : listed->items) {
      if (json) {
        ctx.out() << JsonObject(FollowColumns(), QueuedRecord(item, listed->feed_cursor)) << '\n';
      } else if (csv) {
        ctx.out() << CsvRecord(QueuedRecord(item, listed->feed_cursor));
      } else {
        ctx.out() << QueuedLine(item) << '\n';
      }
    }
    ctx.out() << std::flush;
    const size_t n = listed->items.size();
    ctx.Note(absl::StrCat(
        n == 0 ? std::string("no cases") : absl::StrCat(n, n == 1 ? " case" : " cases"),
        " waiting for triage; following from here"));
    start_cursor = listed->feed_cursor;
    if (!install(std::move(listed->watch))) return absl::CancelledError("interrupted");
    return gc::Status();
  };

  if (csv) ctx.out() << CsvRecord(FollowColumns()) << std::flush;
  int rc = kExitOk;
  gc::Status started = list_first ? list_and_watch()
                                  : (install(client.WatchQueue(options, args.Value("grid")))
                                         ? gc::Status()
                                         : absl::CancelledError("interrupted"));
  if (!started.ok()) {
    if (!(interrupted && started.code() == gc::StatusCode::kCancelled)) rc = ctx.Fail(started);
  }
  while (started.ok()) {
    gc::StatusOr<gc::WatchUpdate> update = watch->Next();
    if (!update.ok()) {
      if (!(interrupted && update.status().code() == gc::StatusCode::kCancelled)) {
        rc = ctx.Fail(update.status());
      }
      break;
    }
    if (update->kind == gc::WatchUpdate::Kind::kResyncRequired) {
      if (list_first) {
        ctx.Note(
            "RESYNC REQUIRED: the server no longer holds the position this watch resumed from, "
            "so events may have been missed; printing the queue again and following from there.");
        gc::Status relisted = list_and_watch();
        if (!relisted.ok()) {
          if (!(interrupted && relisted.code() == gc::StatusCode::kCancelled)) {
            rc = ctx.Fail(relisted);
          }
          break;
        }
      } else {
        ctx.Note(
            "RESYNC REQUIRED: the server no longer holds the position this watch resumed from, "
            "so events may have been missed; following from now on. Re-list with `gridctl "
            "triage list` (or `gridctl cases list`).");
      }
      continue;
    }
    if (json) {
      ctx.out() << JsonObject(FollowColumns(), EventRecord(update->event)) << '\n';
    } else if (csv) {
      ctx.out() << CsvRecord(EventRecord(update->event));
    } else {
      ctx.out() << EventLine(update->event) << '\n';
    }
    ctx.out() << std::flush;
  }
  pthread_kill(waiter.native_handle(), SIGUSR1);
  waiter.join();
  // Worth resuming from: after an interrupt, or when the watch got somewhere before failing.
  const std::string cursor = watch ? watch->cursor() : "";
  if (!cursor.empty() && (interrupted || cursor != start_cursor)) {
    ctx.Note("stopped; resume with: gridctl cases follow --after " + cursor);
  }
  return rc;
}

// ---- triage ----------------------------------------------------------------------------------

int TriageList(Context& ctx, const Args& args) {
  v1::ListTriageQueueRequest request;
  for (const auto& s : args.Values("state")) {
    v1::CaseState state;
    if (!ParseCaseState(s, &state) || (state != v1::PENDING_TRIAGE && state != v1::RETURNED)) {
      return ctx.Usage("--state must be PENDING_TRIAGE or RETURNED, not '" + s + "'");
    }
    request.add_states(state);
  }
  for (const auto& c : args.Values("category")) request.add_category_codes(c);
  request.set_grid_code(args.Value("grid"));
  int rc = 0;
  int64_t limit;
  if (!ParseLimit(ctx, args, kDefaultListLimit, &limit, &rc)) return rc;
  if (int code = ctx.Connect()) return code;
  auto client = ctx.Dispatch();

  Table table({"case_id", "state", "queued", "category", "grid", "urgency", "reporter",
               "description", "returned_by", "return_reason"});
  table.SetMaxWidth(7, 30);
  table.SetMaxWidth(9, 30);
  bool more = false;
  gc::Status status = ForEachItem(
      request, limit,
      [&](const v1::ListTriageQueueRequest& r) { return client.ListTriageQueue(r); },
      [](const v1::ListTriageQueueResponse& r) -> const auto& { return r.items(); },
      [&](const v1::TriageItem& item) {
        const v1::Case& c = item.case_();
        table.AddRow({c.case_id(), StateName(c.state()), TimeCell(ctx, item.queue_time()),
                      ctx.CategoryCell(c.category_code()), ctx.GridCell(c.location().grid_code()),
                      UrgencyName(c.urgency()), c.reporter_user_id(), c.description(),
                      ctx.DepartmentCell(item.returned_by_department_code()),
                      item.return_reason()});
      },
      &more);
  if (!status.ok()) return ctx.Fail(status);
  PrintList(ctx, table, more, "cases waiting for triage");
  return kExitOk;
}

int TriageAccept(Context& ctx, const Args& args) {
  v1::AcceptCaseRequest request;
  request.set_case_id(args.positional()[0]);
  if (args.Has("urgency")) {
    v1::Urgency urgency;
    if (!ParseUrgency(args.Value("urgency"), &urgency)) {
      return ctx.Usage("--urgency must be NORMAL, URGENT or EMERGENCY");
    }
    request.set_urgency(urgency);
  }
  request.set_note(args.Value("note"));
  return RunCaseWrite(ctx, args, request,
                      [&](const auto& r) { return ctx.Dispatch().AcceptCase(r); });
}

int TriageReject(Context& ctx, const Args& args) {
  v1::RejectCaseRequest request;
  request.set_case_id(args.positional()[0]);
  request.set_reason(args.Value("reason"));
  if (request.reason().empty()) {
    return ctx.Usage("--reason is required: the reporting grid leader reads it");
  }
  return RunCaseWrite(ctx, args, request,
                      [&](const auto& r) { return ctx.Dispatch().RejectCase(r); });
}

int TriageDuplicate(Context& ctx, const Args& args) {
  v1::MarkDuplicateRequest request;
  request.set_case_id(args.positional()[0]);
  request.set_duplicate_of_case_id(args.Value("of"));
  request.set_note(args.Value("note"));
  if (request.duplicate_of_case_id().empty()) return ctx.Usage("--of CASE_ID is required");
  return RunCaseWrite(ctx, args, request,
                      [&](const auto& r) { return ctx.Dispatch().MarkDuplicate(r); });
}

int TriageCategory(Context& ctx, const Args& args) {
  v1::CorrectCategoryRequest request;
  request.set_case_id(args.positional()[0]);
  request.set_category_code(args.Value("category"));
  request.set_note(args.Value("note"));
  if (request.category_code().empty()) return ctx.Usage("--category CODE is required");
  return RunCaseWrite(ctx, args, request,
                      [&](const auto& r) { return ctx.Dispatch().CorrectCategory(r); });
}

// "+2d 03h 05m" (later) or "-0d 00h 30m" (earlier) for people; seconds for CSV.
std::string OffsetCell(const Context& ctx, const google::protobuf::Duration& d) {
  if (ctx.machine()) return absl::StrCat(d.seconds());
  const int64_t minutes = (d.seconds() < 0 ? -d.seconds() : d.seconds()) / 60;
  return absl::StrFormat("%c%dd %02dh %02dm", d.seconds() < 0 ? '-' : '+', minutes / (24 * 60),
                         minutes / 60 % 24, minutes % 60);
}

int TriageDuplicates(Context& ctx, const Args& args) {
  // A whole number in [1, max] when `flag` was given; 0 (the server's default) when not.
  const auto bounded = [&](const char* flag, int64_t max, int64_t* out) {
    *out = 0;
    return !args.Has(flag) || (ParseCount(args.Value(flag), out) && *out >= 1 && *out <= max);
  };
  int64_t radius, window_hours, limit;
  if (!bounded("radius-m", 5000, &radius)) {
    return ctx.Usage("--radius-m must be a number of metres in 1..5000");
  }
  if (!bounded("window-hours", 30 * 24, &window_hours)) {
    return ctx.Usage("--window-hours must be a number of hours in 1..720 (30 days)");
  }
  if (!bounded("limit", 50, &limit)) return ctx.Usage("--limit must be in 1..50");
  v1::SuggestDuplicatesRequest request;
  request.set_case_id(args.positional()[0]);
  request.set_radius_metres(static_cast<double>(radius));
  if (window_hours > 0) request.mutable_time_window()->set_seconds(window_hours * 3600);
  request.set_max_results(static_cast<int32_t>(limit));
  if (int code = ctx.Connect()) return code;
  auto found = ctx.Dispatch().SuggestDuplicates(request);
  if (!found.ok()) return ctx.Fail(found.status());

  Table table({"case_id", "state", "distance_m", "observed_offset", "observed", "grid",
               "lead_department", "reporter", "description"});
  table.AlignRight(2);
  table.SetMaxWidth(8, 30);
  for (const auto& candidate : found->candidates()) {
    const v1::Case& c = candidate.case_();
    table.AddRow({c.case_id(), StateName(c.state()),
                  candidate.has_distance_metres()
                      ? absl::StrFormat("%.0f", candidate.distance_metres())
                      : "",
                  OffsetCell(ctx, candidate.observe_time_offset()), TimeCell(ctx, c.observe_time()),
                  c.location().grid_code(), c.lead_department_code(), c.reporter_user_id(),
                  c.description()});
  }
  PrintList(ctx, table, false, "open cases nearby that may report the same problem");
  return kExitOk;
}

// ---- extensions ------------------------------------------------------------------------------

int ExtensionsList(Context& ctx, const Args& args) {
  v1::ListExtensionRequestsRequest request;
  for (const auto& s : args.Values("state")) {
    v1::ExtensionState state;
    if (!ParseExtensionState(s, &state)) {
      return ctx.Usage("--state must be PENDING, APPROVED, DENIED or CANCELLED, not '" + s + "'");
    }
    request.add_states(state);
  }
  request.set_case_id(args.Value("case"));
  if (int code = ctx.Connect()) return code;
  auto client = ctx.Dispatch();

  Table table({"extension_request_id", "case_id", "state", "department", "requested_by",
               "requested", "current_deadline", "requested_deadline", "reason", "decided_by",
               "approved_deadline", "decision_note"});
  table.SetMaxWidth(8, 30);
  table.SetMaxWidth(11, 30);
  bool more = false;
  gc::Status status = ForEachItem(
      request, 0,
      [&](const v1::ListExtensionRequestsRequest& r) { return client.ListExtensionRequests(r); },
      [](const v1::ListExtensionRequestsResponse& r) -> const auto& {
        return r.extension_requests();
      },
      [&](const v1::ExtensionRequest& x) {
        table.AddRow({x.extension_request_id(), x.case_id(), ExtensionStateName(x.state()),
                      x.department_code(), x.requested_by_user_id(), TimeCell(ctx, x.create_time()),
                      TimeCell(ctx, x.current_deadline_time()),
                      TimeCell(ctx, x.requested_deadline_time()), x.reason(),
                      x.decided_by_user_id(), TimeCell(ctx, x.approved_deadline_time()),
                      x.decision_note()});
      },
      &more);
  if (!status.ok()) return ctx.Fail(status);
  PrintList(ctx, table, more, "extension requests");
  return kExitOk;
}

int ExtensionsDecide(Context& ctx, const Args& args) {
  if (args.Has("approve") == args.Has("deny")) {
    return ctx.Usage("give exactly one of --approve and --deny");
  }
  v1::DecideExtensionRequest request;
  request.set_extension_request_id(args.positional()[0]);
  request.set_approve(args.Has("approve"));
  request.set_note(args.Value("note"));
  if (!request.approve() && request.note().empty()) {
    return ctx.Usage("--deny needs --note: why the deadline stays (the department reads it)");
  }
  if (args.Has("deadline")) {
    if (!request.approve()) return ctx.Usage("--deadline goes with --approve only");
    if (!ParseTimeArgument(args.Value("deadline"), true,
                           request.mutable_approved_deadline_time())) {
      return ctx.Usage(
          "--deadline must be a date YYYY-MM-DD (the end of that day) or an RFC 3339 time");
    }
  }
  return RunCaseWrite(ctx, args, request,
                      [&](const auto& r) { return ctx.Dispatch().DecideExtension(r); });
}

}  // namespace

bool ParseLimit(Context& ctx, const Args& args, int64_t fallback, int64_t* limit, int* rc) {
  *limit = fallback;
  if (args.Has("limit") && !ParseCount(args.Value("limit"), limit)) {
    *rc = ctx.Usage("--limit must be a whole number >= 0 (0: no limit)");
    return false;
  }
  return true;
}

void PrintList(Context& ctx, const Table& table, bool more, const std::string& what) {
  if (table.rows() > 0 || ctx.machine()) ctx.Print(table);
  if (more) {
    ctx.Note(absl::StrCat("showing the first ", table.rows(), " ", what,
                          "; raise --limit (0 for all) to see more"));
  } else if (table.rows() == 0 && ctx.format() == OutputFormat::kTable) {
    ctx.Note("no " + what);
  }
}

FlagSpec ExpectedVersionFlag() {
  return {"expected-version", "N",
          "act only if the case is still at this version (else ABORTED, exit 5)"};
}

bool ParseExpectedVersion(Context& ctx, const Args& args, int64_t* version, int* rc) {
  *version = 0;
  if (args.Has("expected-version") && !ParseCount(args.Value("expected-version"), version)) {
    *rc = ctx.Usage("--expected-version must be a case version (a whole number)");
    return false;
  }
  return true;
}

std::vector<FlagSpec> CaseFilterFlags() {
  return {
      {"state", "STATE",
       "only cases in this state (PENDING_TRIAGE, DISPATCHED, IN_PROGRESS, RETURNED, RESOLVED, "
       "CLOSED, REJECTED, MERGED)",
       true},
      {"grid", "CODE", "only cases in this grid's subtree"},
      {"department", "CODE", "only cases this department leads now"},
      {"category", "CODE", "only cases of this category", true},
      {"observed-from", "DATE", "only cases observed at or after DATE (YYYY-MM-DD or RFC 3339)"},
      {"observed-to", "DATE", "only cases observed up to DATE (a date counts whole)"},
  };
}

bool CaseFilterRequest(Context& ctx, const Args& args, v1::ListCasesRequest* request) {
  for (const auto& s : args.Values("state")) {
    v1::CaseState state;
    if (!ParseCaseState(s, &state)) {
      ctx.Usage("unknown --state '" + s + "'");
      return false;
    }
    request->add_states(state);
  }
  for (const auto& c : args.Values("category")) request->add_category_codes(c);
  request->set_grid_code(args.Value("grid"));
  request->set_lead_department_code(args.Value("department"));
  if (args.Has("observed-from") && !ParseTimeArgument(args.Value("observed-from"), false,
                                                      request->mutable_observe_start_time())) {
    ctx.Usage("--observed-from must be a date YYYY-MM-DD or an RFC 3339 time");
    return false;
  }
  if (args.Has("observed-to") &&
      !ParseTimeArgument(args.Value("observed-to"), true, request->mutable_observe_end_time())) {
    ctx.Usage("--observed-to must be a date YYYY-MM-DD or an RFC 3339 time");
    return false;
  }
  return true;
}

std::string TimeCell(const Context& ctx, const google::protobuf::Timestamp& ts) {
  return ctx.machine() ? Rfc3339(ts) : LocalTime(ts);
}

void PrintCaseOutcome(Context& ctx, const v1::Case& c) {
  Table table({"field", "value"});
  table.HideHeader();
  table.AddRow({"case_id", c.case_id()});
  if (!c.case_number().empty()) table.AddRow({"case_number", c.case_number()});
  table.AddRow({"state", StateName(c.state())});
  if (!c.lead_department_code().empty()) {
    table.AddRow({"lead_department", c.lead_department_code()});
  }
  if (!c.assisting_department_codes().empty()) {
    table.AddRow({"assisting", absl::StrJoin(c.assisting_department_codes(), ", ")});
  }
  if (IsSet(c.deadline_time())) table.AddRow({"deadline", LocalTime(c.deadline_time())});
  if (c.rework_count() > 0) table.AddRow({"rework_count", absl::StrCat(c.rework_count())});
  if (!c.duplicate_of_case_id().empty()) table.AddRow({"duplicate_of", c.duplicate_of_case_id()});
  table.AddRow({"version", absl::StrCat(c.version())});
  ctx.PrintDetails(table);
}

void AddCaseCommands(std::vector<Command>* commands) {
  std::vector<FlagSpec> list_flags = CaseFilterFlags();
  list_flags.push_back({"limit", "N", "show at most N cases (default 100; 0: all)"});
  commands->push_back({{"cases", "list"},
                       "[FILTERS] [--limit N]",
                       "List the cases in your scope, newest first",
                       "Dispatchers and supervisors see their grid subtree, operators the whole "
                       "platform.\nFilters combine with AND; a repeated filter matches any of its "
                       "values.",
                       list_flags,
                       0,
                       0,
                       false,
                       true,
                       CasesList});
  commands->push_back({{"cases", "show"},
                       "CASE_ID [--no-history]",
                       "Show one case and its history",
                       "Works for every role within its scope.",
                       {{"no-history", "", "leave out the history"}},
                       1,
                       1,
                       false,
                       false,
                       CasesShow});
  commands->push_back({{"cases", "history"},
                       "CASE_ID",
                       "List the events of one case, oldest first",
                       "",
                       {},
                       1,
                       1,
                       false,
                       true,
                       CasesHistory});
  commands->push_back(
      {{"cases", "route"},
       "CASE_ID --department CODE [--assist CODE]... --note TEXT",
       "Route a case by hand to a lead department (and assisting ones), overriding the rules",
       "Allowed for RETURNED and DISPATCHED cases (the case ends DISPATCHED) and IN_PROGRESS\n"
       "ones (a new lead must accept it again). --assist replaces the assisting departments;\n"
       "without it they are cleared.",
       {{"department", "CODE", "the department to lead (required)"},
        {"assist", "CODE", "a department to assist (联合执法)", true},
        {"note", "TEXT", "why this department (required)"},
        ExpectedVersionFlag()},
       1,
       1,
       false,
       false,
       CasesRoute});
  commands->push_back(
      {{"cases", "verify"},
       "CASE_ID (--pass | --fail --note TEXT)",
       "Verify a RESOLVED case on behalf of the acceptance center (核查结案)",
       "--pass closes the case; --fail sends it back to its department as rework (返工).",
       {{"pass", "", "the problem is solved: close the case"},
        {"fail", "", "the problem is not solved: rework"},
        {"note", "TEXT", "what was checked; required with --fail"},
        ExpectedVersionFlag()},
       1,
       1,
       false,
       false,
       CasesVerify});
  commands->push_back(
      {{"cases", "follow"},
       "[--after CURSOR] [--no-list] [--cursor-file FILE] [--grid CODE]",
       "Print the triage queue, then follow live events, one line each, until Ctrl-C or SIGTERM",
       "First prints the triage queue as it stands, one QUEUED line per case (oldest first;\n"
       "the time is when it was queued), then follows from the moment the queue was read, so\n"
       "no change is missed or shown twice: new reports, returned cases, extension requests\n"
       "and overdue warnings in your subtree, and the triage actions of other consoles, one\n"
       "line each. With --after, or a --cursor-file that holds a cursor, it resumes from there\n"
       "instead and prints no queue. The connection is resumed after network trouble without\n"
       "losing or repeating events. When the server no longer holds the position to resume\n"
       "from, a RESYNC REQUIRED notice goes to stderr and the queue is printed again (when\n"
       "resuming from --after or a file: re-list with `gridctl triage list`). On exit the\n"
       "last cursor is printed to stderr.",
       {{"after", "CURSOR", "resume after this cursor; no queue is printed"},
        {"no-list", "", "print no queue: follow from now"},
        {"grid", "CODE", "only cases in this grid's subtree (inside your own)"},
        {"cursor-file", "FILE",
         "keep the cursor in FILE; the next run resumes from it (and prints no queue)"}},
       0,
       0,
       false,
       true,
       CasesFollow});

  commands->push_back({{"triage", "list"},
                       "[--state STATE]... [--grid CODE] [--category CODE]... [--limit N]",
                       "List the triage queue: new reports and returned cases, oldest first",
                       "",
                       {{"state", "STATE", "PENDING_TRIAGE or RETURNED (default: both)", true},
                        {"grid", "CODE", "only cases in this grid's subtree"},
                        {"category", "CODE", "only cases of this category", true},
                        {"limit", "N", "show at most N cases (default 100; 0: all)"}},
                       0,
                       0,
                       false,
                       true,
                       TriageList});
  commands->push_back(
      {{"triage", "accept"},
       "CASE_ID [--urgency URGENCY] [--note TEXT]",
       "Accept a new report as a case: file it (case number, deadline) and dispatch it by rule",
       "",
       {{"urgency", "URGENCY", "NORMAL, URGENT or EMERGENCY: overrides the reported urgency"},
        {"note", "TEXT", "a note for the case history"},
        ExpectedVersionFlag()},
       1,
       1,
       false,
       false,
       TriageAccept});
  commands->push_back({{"triage", "reject"},
                       "CASE_ID --reason TEXT",
                       "Reject a report as invalid (the case becomes REJECTED)",
                       "",
                       {{"reason", "TEXT", "why; the reporting grid leader sees it (required)"},
                        ExpectedVersionFlag()},
                       1,
                       1,
                       false,
                       false,
                       TriageReject});
  commands->push_back({{"triage", "duplicate"},
                       "CASE_ID --of CASE_ID [--note TEXT]",
                       "Merge a report into an open case that covers the same problem",
                       "",
                       {{"of", "CASE_ID", "the open case it duplicates (required)"},
                        {"note", "TEXT", "a note for the case history"},
                        ExpectedVersionFlag()},
                       1,
                       1,
                       false,
                       false,
                       TriageDuplicate});
  commands->push_back(
      {{"triage", "duplicates"},
       "CASE_ID [--radius-m N] [--window-hours N] [--limit N]",
       "List open cases nearby that may report the same problem as a case, nearest first",
       "Candidates have the case's category, are open and lie in your subtree, within the\n"
       "radius of the case's coordinates (without a GNSS fix: in the same grid cell, with no\n"
       "distance) and observed within the window before or after it. OBSERVED_OFFSET is the\n"
       "candidate's observe time minus the case's (in seconds in CSV). Merge one with\n"
       "`gridctl triage duplicate CASE_ID --of CANDIDATE_ID`.",
       {{"radius-m", "N", "search radius in metres (default 200, at most 5000)"},
        {"window-hours", "N", "observed at most N hours apart (default 72, at most 720)"},
        {"limit", "N", "show at most N candidates (default 10, at most 50)"}},
       1,
       1,
       false,
       true,
       TriageDuplicates});
  commands->push_back({{"triage", "category"},
                       "CASE_ID --category CODE [--note TEXT]",
                       "Correct a case's category (a dispatched case is re-routed by rule)",
                       "",
                       {{"category", "CODE", "the right category (required)"},
                        {"note", "TEXT", "a note for the case history"},
                        ExpectedVersionFlag()},
                       1,
                       1,
                       false,
                       false,
                       TriageCategory});
  commands->push_back(
      {{"extensions", "list"},
       "[--state STATE]... [--case CASE_ID]",
       "List the departments' extension requests (延期) for cases in your subtree, oldest first",
       "Without --state only the PENDING ones, which wait for `gridctl extensions decide`.",
       {{"state", "STATE", "PENDING, APPROVED, DENIED or CANCELLED (default: PENDING)", true},
        {"case", "CASE_ID", "only the requests of this case"}},
       0,
       0,
       false,
       true,
       ExtensionsList});
  commands->push_back(
      {{"extensions", "decide"},
       "EXTENSION_ID (--approve [--deadline DATE] | --deny --note TEXT)",
       "Approve or deny a PENDING extension request",
       "--approve moves the case's deadline to the requested one, or to --deadline; --deny\n"
       "keeps the deadline. The department sees the decision and the note. Prints the case.\n"
       "--expected-version is checked against the version of the request's case.",
       {{"approve", "", "grant more time"},
        {"deadline", "DATE",
         "with --approve: this deadline instead of the requested one, YYYY-MM-DD (end of day) "
         "or RFC 3339"},
        {"deny", "", "refuse: the deadline stays"},
        {"note", "TEXT", "why; required with --deny"},
        ExpectedVersionFlag()},
       1,
       1,
       false,
       false,
       ExtensionsDecide});
}

}  // namespace gridctl
