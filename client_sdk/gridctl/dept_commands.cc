// dept: what a line department's staff do with the cases routed to them (steps 4-5).
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "commands.h"
#include "gridline/client/photo.h"

namespace gridctl {
namespace {

// Reads the --photo files. On failure prints the problem and sets `*rc`.
bool ReadPhotos(Context& ctx, const Args& args, std::vector<gc::Photo>* photos, int* rc) {
  std::vector<std::string> paths = args.Values("photo");
  if (paths.size() > 9) {
    *rc = ctx.Usage("at most 9 --photo files");
    return false;
  }
  for (const auto& path : paths) {
    auto photo = gc::Photo::FromFile(path);
    if (!photo.ok()) {
      *rc = ctx.Fail(photo.status());
      return false;
    }
    photos->push_back(*std::move(photo));
  }
  return true;
}

int DeptList(Context& ctx, const Args& args) {
  v1::ListAssignedCasesRequest request;
  for (const auto& s : args.Values("state")) {
    v1::CaseState state;
    if (!ParseCaseState(s, &state)) return ctx.Usage("unknown --state '" + s + "'");
    request.add_states(state);
  }
  request.set_include_assisting(args.Has("assisting"));
  int rc = 0;
  int64_t limit;
  if (!ParseLimit(ctx, args, kDefaultListLimit, &limit, &rc)) return rc;
  if (int code = ctx.Connect()) return code;
  auto client = ctx.Department();

  Table table({"case_id", "case_number", "state", "deadline", "category", "grid", "urgency",
               "lead_department", "description"});
  table.SetMaxWidth(8, 30);
  bool more = false;
  gc::Status status = ForEachItem(
      request, limit,
      [&](const v1::ListAssignedCasesRequest& r) { return client.ListAssignedCases(r); },
      [](const v1::ListAssignedCasesResponse& r) -> const auto& { return r.cases(); },
      [&](const v1::Case& c) {
        table.AddRow({c.case_id(), c.case_number(), StateName(c.state()),
                      TimeCell(ctx, c.deadline_time()), ctx.CategoryCell(c.category_code()),
                      ctx.GridCell(c.location().grid_code()), UrgencyName(c.urgency()),
                      ctx.DepartmentCell(c.lead_department_code()), c.description()});
      },
      &more);
  if (!status.ok()) return ctx.Fail(status);
  PrintList(ctx, table, more, "cases");
  return kExitOk;
}

int DeptAccept(Context& ctx, const Args& args) {
  v1::AcceptAssignmentRequest request;
  request.set_case_id(args.positional()[0]);
  request.set_note(args.Value("note"));
  return RunCaseWrite(ctx, args, request,
                      [&](const auto& r) { return ctx.Department().AcceptAssignment(r); });
}

int DeptReturn(Context& ctx, const Args& args) {
  v1::ReturnCaseRequest request;
  request.set_case_id(args.positional()[0]);
  request.set_reason(args.Value("reason"));
  if (request.reason().empty()) {
    return ctx.Usage("--reason is required: why it is not your department's responsibility");
  }
  return RunCaseWrite(ctx, args, request,
                      [&](const auto& r) { return ctx.Department().ReturnCase(r); });
}

int DeptProgress(Context& ctx, const Args& args) {
  v1::AddProgressRequest request;
  request.set_case_id(args.positional()[0]);
  request.set_note(args.Value("note"));
  if (request.note().empty()) return ctx.Usage("--note is required: what was done");
  int rc = 0;
  std::vector<gc::Photo> photos;
  if (!ReadPhotos(ctx, args, &photos, &rc)) return rc;
  return RunCaseWrite(ctx, args, request, [&](v1::AddProgressRequest r) -> gc::StatusOr<v1::Case> {
    auto client = ctx.Department();
    for (const auto& photo : photos) {
      auto attachment = client.UploadPhoto(photo);
      if (!attachment.ok()) return attachment.status();
      r.add_attachment_ids(attachment->attachment_id());
    }
    return client.AddProgress(r);
  });
}

int DeptResolve(Context& ctx, const Args& args) {
  v1::ResolveCaseRequest request;
  request.set_case_id(args.positional()[0]);
  request.set_result(args.Value("result"));
  if (request.result().empty()) {
    return ctx.Usage("--result is required: what was done (the verifier reads it)");
  }
  int rc = 0;
  std::vector<gc::Photo> photos;
  if (!ReadPhotos(ctx, args, &photos, &rc)) return rc;
  return RunCaseWrite(ctx, args, request, [&](const v1::ResolveCaseRequest& r) {
    return ctx.Department().ResolveCase(r, photos);
  });
}

int DeptExtend(Context& ctx, const Args& args) {
  v1::RequestExtensionRequest request;
  request.set_case_id(args.positional()[0]);
  request.set_reason(args.Value("reason"));
  if (request.reason().empty()) return ctx.Usage("--reason is required");
  if (!args.Has("until")) return ctx.Usage("--until is required: the deadline asked for");
  if (!ParseTimeArgument(args.Value("until"), true, request.mutable_requested_deadline_time())) {
    return ctx.Usage("--until must be a date YYYY-MM-DD (the end of that day) or an RFC 3339 time");
  }
  int rc = 0;
  int64_t version;
  if (!ParseExpectedVersion(ctx, args, &version, &rc)) return rc;
  request.set_expected_version(version);
  if (int code = ctx.Connect()) return code;
  auto extension = ctx.Department().RequestExtension(request);
  if (!extension.ok()) return ctx.Fail(extension.status());
  Table table({"field", "value"});
  table.HideHeader();
  table.AddRow({"extension_request_id", extension->extension_request_id()});
  table.AddRow({"case_id", extension->case_id()});
  table.AddRow({"state", ExtensionStateName(extension->state())});
  table.AddRow({"current_deadline", LocalTime(extension->current_deadline_time())});
  table.AddRow({"requested_deadline", LocalTime(extension->requested_deadline_time())});
  ctx.PrintDetails(table);
  return kExitOk;
}

}  // namespace

void AddDeptCommands(std::vector<Command>* commands) {
  commands->push_back({{"dept", "list"},
                       "[--state STATE]... [--assisting] [--limit N]",
                       "List the cases your department holds, soonest deadline first",
                       "Without --state: DISPATCHED, IN_PROGRESS and RESOLVED cases.",
                       {{"state", "STATE", "only cases in this state", true},
                        {"assisting", "", "also cases your department assists (联合执法)"},
                        {"limit", "N", "show at most N cases (default 100; 0: all)"}},
                       0,
                       0,
                       false,
                       true,
                       DeptList});
  commands->push_back({{"dept", "accept"},
                       "CASE_ID [--note TEXT]",
                       "Take on a DISPATCHED case (it becomes IN_PROGRESS)",
                       "",
                       {{"note", "TEXT", "e.g. who will go"}, ExpectedVersionFlag()},
                       1,
                       1,
                       false,
                       false,
                       DeptAccept});
  commands->push_back({{"dept", "return"},
                       "CASE_ID --reason TEXT",
                       "Return a case to the acceptance center as not your responsibility (退回)",
                       "",
                       {{"reason", "TEXT", "why, ideally naming the right department (required)"},
                        ExpectedVersionFlag()},
                       1,
                       1,
                       false,
                       false,
                       DeptReturn});
  commands->push_back({{"dept", "progress"},
                       "CASE_ID --note TEXT [--photo FILE]...",
                       "Record progress on a case (lead and assisting departments)",
                       "",
                       {{"note", "TEXT", "what was done (required)"},
                        {"photo", "FILE", "a JPEG, PNG or WebP photo (at most 9)", true},
                        ExpectedVersionFlag()},
                       1,
                       1,
                       false,
                       false,
                       DeptProgress});
  commands->push_back({{"dept", "resolve"},
                       "CASE_ID --result TEXT [--photo FILE]...",
                       "Report the result of an IN_PROGRESS case with after-photos (结果反馈)",
                       "The case becomes RESOLVED and waits for on-site verification.",
                       {{"result", "TEXT", "what was done (required)"},
                        {"photo", "FILE", "an after-photo: JPEG, PNG or WebP (at most 9)", true},
                        ExpectedVersionFlag()},
                       1,
                       1,
                       false,
                       false,
                       DeptResolve});
  commands->push_back(
      {{"dept", "extend"},
       "CASE_ID --until DATE --reason TEXT",
       "Ask the acceptance center for a later deadline (延期)",
       "",
       {{"until", "DATE", "the deadline asked for: YYYY-MM-DD (end of day) or RFC 3339"},
        {"reason", "TEXT", "why more time is needed (required)"},
        ExpectedVersionFlag()},
       1,
       1,
       false,
       false,
       DeptExtend});
}

}  // namespace gridctl
