// Supervision orders (督办): `cases supervise` and `supervision list` for dispatchers and
// supervisors (operators list too), `dept orders`, `dept ack-order` and `dept answer-order` for
// the department that must answer.
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "commands.h"

namespace gridctl {
namespace {

std::string OrderStateName(v1::SupervisionOrderState s) {
  switch (s) {
    case v1::ORDER_OPEN:
      return "open";
    case v1::ORDER_ACKNOWLEDGED:
      return "acknowledged";
    case v1::ORDER_ANSWERED:
      return "answered";
    default:
      return "";
  }
}

// --state open|acknowledged|answered into `request`; false (after printing) on a bad one.
bool OrderStates(Context& ctx, const Args& args, v1::ListSupervisionOrdersRequest* request,
                 int* rc) {
  for (const auto& s : args.Values("state")) {
    const std::string key = absl::AsciiStrToLower(s);
    if (key == "open") {
      request->add_states(v1::ORDER_OPEN);
    } else if (key == "acknowledged") {
      request->add_states(v1::ORDER_ACKNOWLEDGED);
    } else if (key == "answered") {
      request->add_states(v1::ORDER_ANSWERED);
    } else {
      *rc = ctx.Usage("--state must be open, acknowledged or answered");
      return false;
    }
  }
  return true;
}

void PrintOrder(Context& ctx, const v1::SupervisionOrder& o) {
  Table table({"field", "value"});
  table.HideHeader();
  table.AddRow({"order", o.order_id()});
  table.AddRow({"case", o.case_id()});
  table.AddRow({"state", OrderStateName(o.state())});
  table.AddRow({"department", ctx.DepartmentCell(o.lead_department_code())});
  table.AddRow({"respond by", TimeCell(ctx, o.respond_by_time())});
  table.AddRow({"level", ctx.GridCell(o.holder_grid_code())});
  table.AddRow({"escalations", absl::StrCat(o.escalation_count())});
  if (!o.answer().empty()) table.AddRow({"answer", o.answer()});
  table.AddRow({"version", absl::StrCat(o.version())});
  ctx.Print(table);
}

// `make_client()` gives the DispatchClient or DepartmentClient to list with, once connected.
template <typename MakeClient>
int ListOrders(Context& ctx, const Args& args, MakeClient make_client) {
  v1::ListSupervisionOrdersRequest request;
  request.set_case_id(args.Value("case"));
  request.set_grid_code(args.Value("grid"));
  int rc = 0;
  if (!OrderStates(ctx, args, &request, &rc)) return rc;
  int64_t limit;
  if (!ParseLimit(ctx, args, kDefaultListLimit, &limit, &rc)) return rc;
  if (int code = ctx.Connect()) return code;
  auto client = make_client();
  auto fetch = [&](const v1::ListSupervisionOrdersRequest& r) {
    return client.ListSupervisionOrders(r);
  };
  Table table({"order_id", "case_id", "state", "department", "issued", "respond_by", "level",
               "escalations", "reason"});
  table.SetMaxWidth(8, 30);
  bool more = false;
  gc::Status status = ForEachItem(
      request, limit, fetch,
      [](const v1::ListSupervisionOrdersResponse& r) -> const auto& { return r.orders(); },
      [&](const v1::SupervisionOrder& o) {
        table.AddRow({o.order_id(), o.case_id(), OrderStateName(o.state()),
                      ctx.DepartmentCell(o.lead_department_code()), TimeCell(ctx, o.issue_time()),
                      TimeCell(ctx, o.respond_by_time()), ctx.GridCell(o.holder_grid_code()),
                      absl::StrCat(o.escalation_count()), o.reason()});
      },
      &more);
  if (!status.ok()) return ctx.Fail(status);
  PrintList(ctx, table, more, "supervision orders");
  return kExitOk;
}

int CasesSupervise(Context& ctx, const Args& args) {
  v1::IssueSupervisionOrderRequest request;
  request.set_case_id(args.positional()[0]);
  request.set_request_id(args.Value("request-id"));
  if (!args.Has("reason")) return ctx.Usage("--reason TEXT is required");
  request.set_reason(args.Value("reason"));
  if (!args.Has("respond-by") ||
      !ParseTimeArgument(args.Value("respond-by"), true, request.mutable_respond_by_time())) {
    return ctx.Usage(
        "--respond-by must be a date YYYY-MM-DD (the end of that day) or an RFC 3339 time");
  }
  int rc = 0;
  int64_t version = 0;
  if (!ParseExpectedVersion(ctx, args, &version, &rc)) return rc;
  request.set_expected_version(version);
  if (int code = ctx.Connect()) return code;
  auto order = ctx.Dispatch().IssueSupervisionOrder(request);
  if (!order.ok()) return ctx.Fail(order.status());
  PrintOrder(ctx, *order);
  return kExitOk;
}

int DeptAckOrder(Context& ctx, const Args& args) {
  if (int code = ctx.Connect()) return code;
  auto order = ctx.Department().AcknowledgeSupervisionOrder(args.positional()[0]);
  if (!order.ok()) return ctx.Fail(order.status());
  PrintOrder(ctx, *order);
  return kExitOk;
}

int DeptAnswerOrder(Context& ctx, const Args& args) {
  if (!args.Has("note")) return ctx.Usage("--note TEXT is required");
  if (int code = ctx.Connect()) return code;
  auto order = ctx.Department().AnswerSupervisionOrder(args.positional()[0], args.Value("note"));
  if (!order.ok()) return ctx.Fail(order.status());
  PrintOrder(ctx, *order);
  return kExitOk;
}

}  // namespace

void AddSupervisionCommands(std::vector<Command>* commands) {
  const std::vector<FlagSpec> list_flags = {
      {"case", "CASE_ID", "one case's orders"},
      {"state", "STATE", "open, acknowledged or answered (repeatable)", true},
      {"grid", "CODE", "orders on cases in this grid's subtree"},
      {"limit", "N", "show at most N orders (default 100; 0: all)"}};
  commands->push_back(
      {{"cases", "supervise"},
       "CASE_ID --reason TEXT --respond-by TIME [--request-id ID]",
       "Order an open case hurried (督办): the lead department must answer in time",
       "Dispatchers and supervisors above the case. Unanswered by --respond-by, the order\n"
       "escalates one level up the grid tree, then once more every escalation interval\n"
       "(ServerConfig.supervision). Give --request-id to make a retry of this command safe.",
       {{"reason", "TEXT", "why (required)"},
        {"respond-by", "TIME", "when the answer is due: YYYY-MM-DD (its end) or RFC 3339"},
        {"request-id", "ID", "the idempotency key (default: a new one)"},
        ExpectedVersionFlag()},
       1,
       1,
       false,
       false,
       CasesSupervise});
  commands->push_back({{"supervision", "list"},
                       "[--case ID] [--state STATE]... [--grid CODE] [--limit N]",
                       "List the supervision orders in your subtree, newest first",
                       "Dispatchers and supervisors: their subtree; operators: all. Department\n"
                       "staff use `gridctl dept orders`.",
                       list_flags,
                       0,
                       0,
                       false,
                       true,
                       [](Context& ctx, const Args& args) {
                         return ListOrders(ctx, args, [&ctx] { return ctx.Dispatch(); });
                       }});
  commands->push_back({{"dept", "orders"},
                       "[--case ID] [--state STATE]... [--limit N]",
                       "List the supervision orders your department must answer",
                       "",
                       list_flags,
                       0,
                       0,
                       false,
                       true,
                       [](Context& ctx, const Args& args) {
                         return ListOrders(ctx, args, [&ctx] { return ctx.Department(); });
                       }});
  commands->push_back({{"dept", "ack-order"},
                       "ORDER_ID",
                       "Acknowledge a supervision order",
                       "",
                       {},
                       1,
                       1,
                       false,
                       false,
                       DeptAckOrder});
  commands->push_back({{"dept", "answer-order"},
                       "ORDER_ID --note TEXT",
                       "Answer a supervision order; it escalates no more",
                       "",
                       {{"note", "TEXT", "the answer (required)"}},
                       1,
                       1,
                       false,
                       false,
                       DeptAnswerOrder});
}

}  // namespace gridctl
