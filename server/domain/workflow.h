// The seven-step loop as a state machine: which role may take which action on a case, in which
// state. Pure: no store, no gRPC. Every case write goes through CheckAllowed first.
#ifndef GRIDLINE_SERVER_DOMAIN_WORKFLOW_H_
#define GRIDLINE_SERVER_DOMAIN_WORKFLOW_H_

#include <vector>

#include "absl/status/status.h"
#include "server/domain/types.h"

namespace gridline::domain {

enum class CaseAction {
  // Acceptance center (DISPATCHER, within their grid subtree).
  kAcceptCase,       // file and dispatch a PENDING_TRIAGE report
  kRejectCase,       // reject as invalid
  kMarkDuplicate,    // merge into another open case
  kCorrectCategory,  // correct the category (re-routes a dispatched or returned case)
  kRouteCase,        // route by hand to named departments
  kDecideExtension,  // approve or deny a department's extension request
  // Line department (DEPARTMENT_STAFF of the lead department; progress also assisting ones).
  kAcceptAssignment,
  kReturnCase,
  kRequestExtension,
  kAddProgress,
  kResolveCase,
  // On-site verification: the reporting grid leader, or the center (DISPATCHER).
  kVerifyCase,
};

// Whose relation to the case an action needs, beyond role and visibility.
enum class ActionRelation {
  kAny,               // anyone of the roles who can see the case
  kLeadDepartment,    // staff of the case's lead department (not an assisting one)
  kReporterOrCenter,  // the grid leader who reported it, or the acceptance center
};

// When an action cancels the case's pending extension request (it is moot once the department
// no longer holds the case).
enum class CancelsExtension { kNever, kAlways, kWhenRerouted };

// What an action writes: the event it appends, the text it takes and whether it is required,
// the photos it takes, and its side effects.
struct ActionRecord {
  EventType event;  // the positive outcome's (VerifyCase failed: VERIFICATION_FAILED)
  // The request field of its text (note, reason or result). Required: always (kAlways), never,
  // or only for the negative outcome (a denied extension, a failed verification).
  const char* text_field;
  enum class Text { kOptional, kRequired, kRequiredWhenNegative } text;
  bool takes_photos;  // attachment_ids, checked to exist and be the caller's to use
  CancelsExtension cancels_extension;
};

// One row of the state machine. Adding a case action is: a proto RPC, one row here, one
// service method (case_lifecycle.cc; a plain action is one call of CaseService::Act), one
// handler, and tests.
struct ActionRule {
  CaseAction action;
  const char* name;  // the RPC that takes it
  std::vector<Role> roles;
  ActionRelation relation;
  std::vector<CaseState> from;  // the states it is allowed in
  // The state it enters; kUnspecified when the case stays where it is (progress, extension
  // requests and decisions, a category correction that does not re-route).
  CaseState to;
  ActionRecord record;
  // The state it enters when the outcome is negative (VerifyCase failed: IN_PROGRESS again).
  CaseState to_otherwise = CaseState::kUnspecified;
};

// The whole state machine, one row per action, in AllCaseActions() order.
const std::vector<ActionRule>& TransitionTable();
const ActionRule& RuleFor(CaseAction a);

const char* CaseActionName(CaseAction a);
const std::vector<CaseAction>& AllCaseActions();
// The states in which `a` is allowed.
const std::vector<CaseState>& AllowedStates(CaseAction a);

// The single gate for case writes. Checked in this order:
// 1. the actor's role may take `a` at all, else PERMISSION_DENIED;
// 2. the actor may see the case (CanSee), else NOT_FOUND, so that ids cannot be probed;
// 3. the actor's relation to the case allows it, else PERMISSION_DENIED (an assisting
//    department on a lead-only action; a grid leader verifying a case they did not report);
// 4. the case's state allows it, else FAILED_PRECONDITION naming the current state.
absl::Status CheckAllowed(const User& actor, const Case& c, CaseAction a);

// Open cases can still change; CLOSED, REJECTED and MERGED are terminal.
bool IsOpen(CaseState s);

}  // namespace gridline::domain

#endif  // GRIDLINE_SERVER_DOMAIN_WORKFLOW_H_
