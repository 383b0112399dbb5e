// The workflow gate, table-driven: every state x action x actor gets either OK or exactly the
// error the API documents. The table below is the specification, written out independently of
// the implementation (server/domain/workflow.cc).
#include "server/domain/workflow.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "gridline/v1/department_service.pb.h"
#include "gridline/v1/dispatch_service.pb.h"
#include "gridline/v1/report_service.pb.h"
#include "server/domain/errors.h"

namespace gridline::domain {
namespace {

namespace v1 = ::gridline::v1;
using A = CaseAction;
using S = CaseState;

struct Actor {
  const char* name;
  User user;
};

// The case: reported by u-rep in cell C1 of street S1, led by department L, assisted by A.
Case TheCase(S state) {
  Case c;
  c.case_id = "c1";
  c.state = state;
  c.grid_code = "C1";
  c.grid_path = "/D/S1/C1/";
  c.reporter_user_id = "u-rep";
  c.lead_department_code = "L";
  c.assisting_department_codes = {"A"};
  c.version = 3;
  return c;
}

const std::vector<Actor>& Actors() {
  static const auto* actors = new std::vector<Actor>{
      {"reporter", {"u-rep", "", Role::kGridLeader, "C1", "", false}},
      {"leader_same_grid", {"u-l2", "", Role::kGridLeader, "C1", "", false}},
      {"leader_other_grid", {"u-l3", "", Role::kGridLeader, "C9", "", false}},
      {"dispatcher_in", {"u-d1", "", Role::kDispatcher, "S1", "", false}},
      {"dispatcher_out", {"u-d2", "", Role::kDispatcher, "S2", "", false}},
      {"lead_staff", {"u-s1", "", Role::kDepartmentStaff, "D", "L", false}},
      {"assisting_staff", {"u-s2", "", Role::kDepartmentStaff, "D", "A", false}},
      {"other_staff", {"u-s3", "", Role::kDepartmentStaff, "D", "O", false}},
      {"supervisor_in", {"u-v1", "", Role::kSupervisor, "D", "", false}},
      {"operator", {"u-o1", "", Role::kOperator, "", "", false}},
  };
  return *actors;
}

// Per action, one letter per actor in Actors() order:
//   Y allowed (subject to the state), D PERMISSION_DENIED, N NOT_FOUND.
const std::map<A, std::string>& Who() {
  static const auto* who = new std::map<A, std::string>{
      {A::kAcceptCase, "DDDYNDDDDD"},       {A::kRejectCase, "DDDYNDDDDD"},
      {A::kMarkDuplicate, "DDDYNDDDDD"},    {A::kCorrectCategory, "DDDYNDDDDD"},
      {A::kRouteCase, "DDDYNDDDDD"},        {A::kDecideExtension, "DDDYNDDDDD"},
      {A::kAcceptAssignment, "DDDDDYDNDD"}, {A::kReturnCase, "DDDDDYDNDD"},
      {A::kRequestExtension, "DDDDDYDNDD"}, {A::kAddProgress, "DDDDDYYNDD"},
      {A::kResolveCase, "DDDDDYDNDD"},      {A::kVerifyCase, "YDNYNDDDDD"},
  };
  return *who;
}

// The states each action is allowed in, from the API documentation.
const std::map<A, std::vector<S>>& When() {
  static const auto* when = new std::map<A, std::vector<S>>{
      {A::kAcceptCase, {S::kPendingTriage}},
      {A::kRejectCase, {S::kPendingTriage, S::kReturned}},
      {A::kMarkDuplicate, {S::kPendingTriage, S::kReturned}},
      {A::kCorrectCategory, {S::kPendingTriage, S::kDispatched, S::kReturned}},
      {A::kRouteCase, {S::kReturned, S::kDispatched, S::kInProgress}},
      {A::kDecideExtension, {S::kDispatched, S::kInProgress}},
      {A::kAcceptAssignment, {S::kDispatched}},
      {A::kReturnCase, {S::kDispatched, S::kInProgress}},
      {A::kRequestExtension, {S::kDispatched, S::kInProgress}},
      {A::kAddProgress, {S::kDispatched, S::kInProgress}},
      {A::kResolveCase, {S::kInProgress}},
      {A::kVerifyCase, {S::kResolved}},
  };
  return *when;
}

TEST(WorkflowTest, EveryStateActionAndActorGetsTheDocumentedAnswer) {
  const std::vector<S> states = {S::kPendingTriage, S::kDispatched, S::kInProgress, S::kReturned,
                                 S::kResolved,      S::kClosed,     S::kRejected,   S::kMerged};
  ASSERT_EQ(Who().size(), AllCaseActions().size()) << "every action is in the table";
  int checked = 0, allowed = 0;
  for (A action : AllCaseActions()) {
    const std::string& who = Who().at(action);
    ASSERT_EQ(who.size(), Actors().size());
    const auto& ok_states = When().at(action);
    for (size_t i = 0; i < Actors().size(); ++i) {
      const Actor& actor = Actors()[i];
      for (S state : states) {
        absl::Status got = CheckAllowed(actor.user, TheCase(state), action);
        std::string where =
            absl::StrCat(CaseActionName(action), " by ", actor.name, " in ", CaseStateName(state));
        ++checked;
        switch (who[i]) {
          case 'D':
            EXPECT_EQ(got.code(), absl::StatusCode::kPermissionDenied) << where << ": " << got;
            break;
          case 'N':
            EXPECT_EQ(got.code(), absl::StatusCode::kNotFound) << where << ": " << got;
            break;
          case 'Y':
            if (std::find(ok_states.begin(), ok_states.end(), state) != ok_states.end()) {
              EXPECT_TRUE(got.ok()) << where << ": " << got;
              ++allowed;
            } else {
              EXPECT_EQ(got.code(), absl::StatusCode::kFailedPrecondition) << where << ": " << got;
              EXPECT_EQ(GetWrongState(got), state) << where << " names the current state";
            }
            break;
          default:
            FAIL() << "bad table entry";
        }
      }
    }
  }
  EXPECT_EQ(checked, 12 * 10 * 8);
  EXPECT_GT(allowed, 0);
}

TEST(WorkflowTest, TheGateAgreesWithTheAllowedStatesItPublishes) {
  for (A action : AllCaseActions()) {
    std::vector<S> published = AllowedStates(action);
    std::vector<S> documented = When().at(action);
    std::sort(published.begin(), published.end());
    std::sort(documented.begin(), documented.end());
    EXPECT_EQ(published, documented) << CaseActionName(action);
  }
}

// Issue 12: the state machine is one table. Every action has exactly one row, in enum order,
// named after the RPC that takes it (a method of a gridline.v1 service: its handler), and a
// target state that a case can be in.
TEST(WorkflowTest, EveryActionHasOneTableRowAndAnRpc) {
  std::vector<const google::protobuf::ServiceDescriptor*> services = {
      v1::SubmitReportRequest::descriptor()->file()->FindServiceByName("ReportService"),
      v1::ExtensionRequest::descriptor()->file()->FindServiceByName("DispatchService"),
      v1::ListAssignedCasesRequest::descriptor()->file()->FindServiceByName("DepartmentService")};
  for (const auto* service : services) ASSERT_NE(service, nullptr);
  const auto& table = TransitionTable();
  ASSERT_EQ(table.size(), static_cast<size_t>(A::kVerifyCase) + 1);
  for (size_t i = 0; i < table.size(); ++i) {
    const ActionRule& rule = table[i];
    EXPECT_EQ(static_cast<size_t>(rule.action), i) << rule.name << ": rows in enum order";
    int rpcs = 0;
    for (const auto* service : services) rpcs += service->FindMethodByName(rule.name) != nullptr;
    // VerifyCase is on two services: the grid leader's and the center's.
    EXPECT_GE(rpcs, 1) << rule.name << " is no RPC of the case services";
    EXPECT_FALSE(rule.roles.empty()) << rule.name;
    EXPECT_FALSE(rule.from.empty()) << rule.name;
    for (S to : {rule.to, rule.to_otherwise}) {
      if (to == S::kUnspecified) continue;
      EXPECT_TRUE(to >= S::kPendingTriage && to <= S::kMerged) << rule.name;
    }
  }
}

// Issue 12: each row also says what the action writes: its event, its text field and when that
// is required, its photos and whether it cancels a pending extension. The services read these.
TEST(WorkflowTest, EveryRowSaysWhatTheActionWrites) {
  std::set<int> events;
  for (const auto& r : domain::TransitionTable()) {
    EXPECT_NE(r.record.event, domain::EventType::kUnspecified) << r.name;
    EXPECT_TRUE(events.insert(static_cast<int>(r.record.event)).second)
        << r.name << " shares its event type with another action";
    const std::string field = r.record.text_field;
    EXPECT_TRUE(field == "note" || field == "reason" || field == "result") << r.name;
  }
  // Spot checks against the API's documented requirements.
  using T = domain::ActionRecord::Text;
  EXPECT_EQ(domain::RuleFor(domain::CaseAction::kReturnCase).record.text, T::kRequired);
  EXPECT_EQ(domain::RuleFor(domain::CaseAction::kVerifyCase).record.text, T::kRequiredWhenNegative);
  EXPECT_TRUE(domain::RuleFor(domain::CaseAction::kResolveCase).record.takes_photos);
  EXPECT_EQ(domain::RuleFor(domain::CaseAction::kResolveCase).record.cancels_extension,
            domain::CancelsExtension::kAlways);
}

TEST(WorkflowTest, DisabledUsersAndTerminalStates) {
  User disabled = Actors()[3].user;
  disabled.disabled = true;
  EXPECT_EQ(CheckAllowed(disabled, TheCase(S::kPendingTriage), A::kAcceptCase).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_FALSE(IsOpen(S::kClosed));
  EXPECT_FALSE(IsOpen(S::kRejected));
  EXPECT_FALSE(IsOpen(S::kMerged));
  EXPECT_TRUE(IsOpen(S::kReturned));
}

}  // namespace
}  // namespace gridline::domain
