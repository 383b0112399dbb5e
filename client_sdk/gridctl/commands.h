// gridctl's commands, by group, and what several of them share.
#ifndef GRIDLINE_CLIENT_SDK_GRIDCTL_COMMANDS_H_
#define GRIDLINE_CLIENT_SDK_GRIDCTL_COMMANDS_H_

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "cli.h"
#include "context.h"

namespace gridctl {

// org: organisation import and listings (operators).
void AddOrgCommands(std::vector<Command>* commands);
// cases, triage and extensions: the acceptance center (dispatchers; `cases list` also
// supervisors and operators).
void AddCaseCommands(std::vector<Command>* commands);
// dept: a line department's staff.
void AddDeptCommands(std::vector<Command>* commands);
// tokens and audit: bearer tokens and the audit log (operators).
void AddAdminCommands(std::vector<Command>* commands);
// export, stats and evaluations: CSV exports and evaluation figures.
void AddExportCommands(std::vector<Command>* commands);
// report and `cases mine`: grid leaders (reports through the offline outbox).
void AddReportCommands(std::vector<Command>* commands);
// patrols: patrols and visits in your scope and their figures.
void AddPatrolCommands(std::vector<Command>* commands);
// cases supervise, supervision list, dept orders|ack-order|answer-order: 督办.
void AddSupervisionCommands(std::vector<Command>* commands);
// accountability list|compute|dismiss and export accountability: 三责.
void AddAccountabilityCommands(std::vector<Command>* commands);

// The largest page the API serves.
inline constexpr int32_t kMaxPageSize = 500;
// How many items the list commands show without --limit.
inline constexpr int64_t kDefaultListLimit = 100;

// Calls `fetch` page after page (following next_page_token) and `on_item` for every item, until
// the last page or `limit` items (0: no limit). `*more` tells whether items were left.
// `items_of(response)` gives the response's repeated field.
template <typename Request, typename Fetch, typename ItemsOf, typename OnItem>
gc::Status ForEachItem(Request request, int64_t limit, Fetch fetch, ItemsOf items_of,
                       OnItem on_item, bool* more, int32_t page_size = kMaxPageSize) {
  int64_t seen = 0;
  *more = false;
  for (;;) {
    int64_t want = limit > 0 ? std::min<int64_t>(limit - seen, page_size) : page_size;
    request.set_page_size(static_cast<int32_t>(want));
    auto page = fetch(request);
    if (!page.ok()) return page.status();
    for (const auto& item : items_of(*page)) {
      if (limit > 0 && seen >= limit) {
        *more = true;
        return gc::Status();
      }
      on_item(item);
      ++seen;
    }
    if (page->next_page_token().empty()) return gc::Status();
    if (limit > 0 && seen >= limit) {
      *more = true;
      return gc::Status();
    }
    request.set_page_token(page->next_page_token());
  }
}

// --limit N of the list commands, and its value (`fallback` when not given). On a bad value
// prints it, sets `*rc` and returns false.
bool ParseLimit(Context& ctx, const Args& args, int64_t fallback, int64_t* limit, int* rc);
// The end of a list command: prints `table` (for people only when it has rows), then notes on
// stderr that --limit cut the list (`more`) or that there are no `what`.
void PrintList(Context& ctx, const Table& table, bool more, const std::string& what);

// --expected-version N of the write commands, and its value (0 when not given). On a bad value
// prints it, sets `*rc` and returns false.
FlagSpec ExpectedVersionFlag();
bool ParseExpectedVersion(Context& ctx, const Args& args, int64_t* version, int* rc);

// The case filters of `cases list` and `export cases`.
std::vector<FlagSpec> CaseFilterFlags();
// Fills `request` from the filters; on a bad value prints it and returns false.
bool CaseFilterRequest(Context& ctx, const Args& args, v1::ListCasesRequest* request);

// The columns of `export cases`, and one case as such a row (times in RFC 3339, UTC).
std::vector<std::string> CaseExportColumns();
std::vector<std::string> CaseExportRow(const v1::Case& c);

// A time cell: RFC 3339 (UTC) for CSV, local time for tables.
std::string TimeCell(const Context& ctx, const google::protobuf::Timestamp& ts);

// After a write: the case's state and where it stands now, as a key-value table.
void PrintCaseOutcome(Context& ctx, const v1::Case& c);

// A case write: sets the request's `expected_version` from --expected-version, connects, runs
// `call(request)` and prints the outcome (or the failure). Returns the exit status.
template <typename Request, typename Call>
int RunCaseWrite(Context& ctx, const Args& args, Request& request, Call&& call) {
  int rc = 0;
  int64_t version = 0;
  if (!ParseExpectedVersion(ctx, args, &version, &rc)) return rc;
  request.set_expected_version(version);
  if (int code = ctx.Connect()) return code;
  auto c = call(request);
  if (!c.ok()) return ctx.Fail(c.status());
  PrintCaseOutcome(ctx, *c);
  return kExitOk;
}

}  // namespace gridctl

#endif  // GRIDLINE_CLIENT_SDK_GRIDCTL_COMMANDS_H_
