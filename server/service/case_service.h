// The case use cases, over the Store port. Knows neither gRPC nor SQL.
#ifndef GRIDLINE_SERVER_SERVICE_CASE_SERVICE_H_
#define GRIDLINE_SERVER_SERVICE_CASE_SERVICE_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/domain/errors.h"
#include "server/domain/report_checks.h"
#include "server/domain/supervision.h"
#include "server/domain/types.h"
#include "server/domain/visibility.h"
#include "server/domain/workflow.h"
#include "server/service/grid_locator.h"
#include "server/service/publisher.h"
#include "server/service/request_context.h"
#include "server/store/store.h"

namespace gridline::service {

// A handset's report, as the API layer decoded it.
struct ReportInput {
  std::string request_id;
  std::string category_code;
  std::string description;
  std::string grid_code;
  bool has_coordinates = false;
  double latitude = 0;
  double longitude = 0;
  std::string address;
  domain::Micros observe_time = 0;  // 0: now
  int urgency = 0;                  // raw, validated here
  std::vector<std::string> attachment_ids;
  // The caller's patrol the report was found on (PatrolService), or empty.
  std::string patrol_id;
};

// The checks of a report's own fields, which need neither the store nor the organisation:
// request_id, description, location.address, the coordinates when given, observe_time (not
// beyond five minutes of clock skew after `now`, not before 2000) and urgency. Report runs them
// first, then the photos (CheckPhotoIds, then the lookup), then the grid, category and patrol.
// Defined in report_fields.cc.
void CheckReportFields(domain::FieldViolations& v, const ReportInput& in, domain::Micros now);

// The checks of a request's photo ids that need no lookup: at most domain::kMaxAttachments, none
// twice. Returns whether the ids are worth looking up (some, and not too many).
bool CheckPhotoIds(domain::FieldViolations& v, const std::string& field,
                   const std::vector<std::string>& ids);

// One page of a list. Tokens are opaque to clients; an empty next_page_token means the end.
struct PageRequest {
  int page_size = 0;  // 0: default 50; capped at 500
  std::string page_token;
};
template <typename T>
struct Page {
  std::vector<T> items;
  std::string next_page_token;
};

// The result of a case write: the case after it and the events it appended (with seqs).
struct CaseChange {
  domain::Case c;
  std::vector<domain::CaseEvent> events;
};

// Inputs of the lifecycle actions, as the API layer decoded them. `expected_version` 0 skips the
// optimistic check; otherwise a mismatch gets ABORTED.
struct ActionInput {
  std::string case_id;
  std::string note;  // note, reason or result text
  std::vector<std::string> attachment_ids;
  int64_t expected_version = 0;
};

// A supervision order (督办) as the API layer decoded it.
struct SupervisionInput {
  std::string case_id;
  std::string request_id;
  std::string reason;
  domain::Micros respond_by_time = 0;
  int64_t expected_version = 0;  // the case's; 0: no check
};

struct SupervisionListFilter {
  std::string case_id;
  std::vector<domain::SupervisionState> states;
  std::string grid_code;
};

// The filters of the acceptance center's and supervisors' case table (DispatchService.ListCases),
// as the API layer decoded them. Empty ones are ignored; they combine with AND.
struct CaseListFilter {
  std::vector<domain::CaseState> states;
  std::vector<std::string> category_codes;
  std::string grid_code;  // a subtree inside the caller's own
  std::string lead_department_code;
  domain::Micros observe_start_time = 0;  // 0: open
  domain::Micros observe_end_time = 0;    // 0: open
};

struct TriageItem {
  domain::Case c;
};

struct DuplicateCandidate {
  domain::Case c;
  std::optional<double> distance_metres;
  domain::Micros observe_time_offset = 0;
};

struct SubmitOutcome {
  domain::Case stored;
  domain::CaseEvent first_event;
  bool created = false;
  // The call filed the case by rule (auto-accept), appending events after `first_event`.
  bool filed = false;
};

class CaseService {
 public:
  // The storage it uses: cases, the organisation (routing, validation), photos' metadata and
  // the patrols reports name (not owned). `publisher` (not owned, may be null) is told after every
  // commit that appended events. `utc_offset_minutes`: the platform's time zone (case numbers'
  // year, warning texts). The service reads no clock: a call's time is its RequestContext's `now`,
  // and WarnDeadlines is given its `now`.
  CaseService(store::CaseStore* cases, store::OrganisationStore* org,
              store::AttachmentStore* attachments, EventPublisher* publisher,
              int utc_offset_minutes = 480, store::PatrolStore* patrols = nullptr,
              store::SupervisionStore* supervision = nullptr)
      : cases_(cases),
        org_(org),
        attachments_(attachments),
        publisher_(publisher),
        zone_(absl::FixedTimeZone(utc_offset_minutes * 60)),
        patrols_(patrols),
        supervision_(supervision),
        locator_(std::make_shared<GridLocatorCache>(org)) {}

  // Step 1: validate and store a report as a case with its REPORTED event. Idempotent on the
  // caller's request id.
  absl::StatusOr<SubmitOutcome> SubmitReport(const RequestContext& rc, const ReportInput& in);

  // Step 1 for the reports that do not come from a handset: the acceptance center (DISPATCHER)
  // registers a report of the public, the media, a leader or an inspection (`source`, not
  // HANDSET) in its subtree, with SubmitReport's validation, idempotency and photos. The
  // dispatcher is the case's reporter.
  absl::StatusOr<SubmitOutcome> RegisterCase(const RequestContext& rc, const ReportInput& in,
                                             domain::CaseSource source);

  // NOT_FOUND also when the caller may not see the case, so ids cannot be probed.
  absl::StatusOr<domain::Case> GetCase(const RequestContext& rc, const std::string& case_id);
  absl::StatusOr<std::vector<domain::CaseEvent>> ListCaseEvents(const RequestContext& rc,
                                                                const std::string& case_id);

  // ---- Lists ----
  // Grid leader: cases they reported or located in their grid, newest first.
  absl::StatusOr<Page<domain::Case>> ListMyCases(const RequestContext& rc,
                                                 const std::vector<domain::CaseState>& states,
                                                 const PageRequest& page);
  // Dispatcher: PENDING_TRIAGE and RETURNED cases in their subtree (or `grid_code` within it),
  // oldest in queue first.
  absl::StatusOr<Page<domain::Case>> ListTriageQueue(const RequestContext& rc,
                                                     const std::vector<domain::CaseState>& states,
                                                     const std::vector<std::string>& category_codes,
                                                     const std::string& grid_code,
                                                     const PageRequest& page);
  // Dispatchers and supervisors: every case in their subtree (or `grid_code` within it), whatever
  // its state; operators: the whole platform. Newest first.
  absl::StatusOr<Page<domain::Case>> ListCases(const RequestContext& rc,
                                               const CaseListFilter& filter,
                                               const PageRequest& page);
  // Department staff: cases their department leads (and assists), soonest deadline first.
  absl::StatusOr<Page<domain::Case>> ListAssignedCases(const RequestContext& rc,
                                                       const std::vector<domain::CaseState>& states,
                                                       bool include_assisting,
                                                       const PageRequest& page);
  absl::StatusOr<Page<domain::ExtensionRequest>> ListExtensionRequests(
      const RequestContext& rc, const std::vector<domain::ExtensionState>& states,
      const std::string& case_id, const PageRequest& page);
  absl::StatusOr<Page<domain::Category>> ListReportCategories(const RequestContext& rc,
                                                              const PageRequest& page);

  // ---- Acceptance center: triage, filing, dispatch (steps 2-4) ----
  // `urgency` 0 keeps the reported one.
  absl::StatusOr<CaseChange> AcceptCase(const RequestContext& rc, const ActionInput& in,
                                        int urgency);
  absl::StatusOr<CaseChange> RejectCase(const RequestContext& rc, const ActionInput& in);
  absl::StatusOr<std::vector<DuplicateCandidate>> SuggestDuplicates(const RequestContext& rc,
                                                                    const std::string& case_id,
                                                                    double radius_metres,
                                                                    domain::Micros time_window,
                                                                    int max_results);
  absl::StatusOr<CaseChange> MarkDuplicate(const RequestContext& rc, const ActionInput& in,
                                           const std::string& duplicate_of_case_id);
  absl::StatusOr<CaseChange> CorrectCategory(const RequestContext& rc, const ActionInput& in,
                                             const std::string& category_code);
  absl::StatusOr<CaseChange> RouteCase(const RequestContext& rc, const ActionInput& in,
                                       const std::string& lead_department_code,
                                       const std::vector<std::string>& assisting);
  absl::StatusOr<CaseChange> DecideExtension(const RequestContext& rc,
                                             const std::string& extension_request_id, bool approve,
                                             const std::string& note,
                                             domain::Micros approved_deadline_time,
                                             int64_t expected_version);

  // ---- Line departments (step 4-5) ----
  absl::StatusOr<CaseChange> AcceptAssignment(const RequestContext& rc, const ActionInput& in);
  absl::StatusOr<CaseChange> ReturnCase(const RequestContext& rc, const ActionInput& in);
  absl::StatusOr<domain::ExtensionRequest> RequestExtension(const RequestContext& rc,
                                                            const ActionInput& in,
                                                            domain::Micros requested_deadline_time,
                                                            CaseChange* change = nullptr);
  absl::StatusOr<CaseChange> AddProgress(const RequestContext& rc, const ActionInput& in);
  absl::StatusOr<CaseChange> ResolveCase(const RequestContext& rc, const ActionInput& in);

  // ---- Deadline warnings (效能监察) ----
  // Writes an OVERDUE_WARNING event for each filed, open case whose deadline is within
  // `warn_before` of `now` (once) or has passed (once more). A case another writer changes at
  // the same moment is skipped and warned about on the next run. Returns the warnings written.
  absl::StatusOr<int> WarnDeadlines(domain::Micros now, domain::Micros warn_before);

  // ---- Verification (step 6) ----
  // Two front doors verify: the grid leader's (ReportService.VerifyCase) and the center's
  // (DispatchService.VerifyCase). `door` is the role the door serves; another caller gets
  // PERMISSION_DENIED.
  enum class VerifyDoor { kGridLeader, kCenter };
  absl::StatusOr<CaseChange> VerifyCase(const RequestContext& rc, const ActionInput& in,
                                        bool passed, VerifyDoor door);

  // ---- Supervision (督办) ----
  // A supervisor or dispatcher above an open, filed case orders it hurried.
  absl::StatusOr<domain::SupervisionOrder> IssueSupervisionOrder(const RequestContext& rc,
                                                                 const SupervisionInput& in);
  // The lead department's staff acknowledge an order, and answer it (`answer` true, with `note`).
  absl::StatusOr<domain::SupervisionOrder> AcknowledgeSupervisionOrder(const RequestContext& rc,
                                                                       const std::string& order_id,
                                                                       int64_t expected_version);
  absl::StatusOr<domain::SupervisionOrder> AnswerSupervisionOrder(const RequestContext& rc,
                                                                  const std::string& order_id,
                                                                  const std::string& note,
                                                                  int64_t expected_version);
  absl::StatusOr<Page<domain::SupervisionOrder>> ListSupervisionOrders(
      const RequestContext& rc, const SupervisionListFilter& filter, const PageRequest& page);
  // Escalates every unanswered order due at `now` one level up (then every `interval`). An
  // order another replica escalates at the same moment is left to it. Returns how many.
  absl::StatusOr<int> EscalateSupervisionOrders(domain::Micros now, domain::Micros interval);

 private:
  // An order the caller's department must answer (NOT_FOUND otherwise), with its case, and the
  // write of `order` moved on by `edit` plus its event of `type` (`note`).
  absl::StatusOr<domain::SupervisionOrder> MoveOrder(
      const RequestContext& rc, const std::string& order_id, int64_t expected_version,
      const std::function<absl::StatusOr<bool>(domain::SupervisionOrder&)>& edit,
      domain::EventType type,
      const std::function<std::string(const domain::SupervisionOrder&)>& note);

  // SubmitReport and RegisterCase after their checks of who calls: validate, store, and file a
  // clear-cut category at once. `scope`: the grid subtree the report must be in ("" anywhere).
  // Without a grid code the report goes to the unit grid its coordinates lie in (LocateGrid).
  absl::StatusOr<SubmitOutcome> Report(const RequestContext& rc, const ReportInput& in,
                                       domain::CaseSource source, const std::string& scope);

  // A plain action, as its row of the transition table (domain/workflow.h) describes it: load and
  // gate, check its text and photos, cancel a pending extension if it does, append its event,
  // let `edit` change the case, enter its state, commit.
  absl::StatusOr<CaseChange> Act(
      const RequestContext& rc, const ActionInput& in, domain::CaseAction action,
      const std::function<void(domain::Case&, domain::Micros)>& edit = nullptr);
  // Loads the case and runs the workflow gate and the optimistic version check.
  absl::StatusOr<domain::Case> LoadForAction(const domain::Caller& caller, const ActionInput& in,
                                             int action);
  // Files and routes `c` (PENDING_TRIAGE) by the rules; appends the events to `w`.
  absl::Status FileAndRoute(const domain::Caller* caller, domain::Case& c, store::CaseWrite& w,
                            domain::Micros now, const std::string& note);
  // Cancels the pending extension request of the case, if any, into `w`.
  absl::Status CancelPendingExtension(const domain::Case& c, store::CaseWrite& w,
                                      domain::Micros now);
  absl::StatusOr<CaseChange> Write(store::CaseWrite w);
  // Stamps the update time, then Write.
  absl::StatusOr<CaseChange> Commit(domain::Case c, store::CaseWrite w, domain::Micros now);
  absl::Status CheckAttachments(domain::FieldViolations& v, const std::string& field,
                                const std::vector<std::string>& ids);
  // The code of the unit grid (domain::GridLocator) that covers the report's coordinates, or ""
  // with a violation added: of "location.coordinates" naming the nearest unit grids when the
  // point is outside them all, of "location.grid_code" when no grid has a boundary.
  absl::StatusOr<std::string> LocateGrid(domain::FieldViolations& v, const ReportInput& in);

  store::CaseStore* cases_;
  store::OrganisationStore* org_;
  store::AttachmentStore* attachments_;
  EventPublisher* publisher_;
  absl::TimeZone zone_;
  // The patrols a report may name (null: naming one is refused).
  store::PatrolStore* patrols_;
  // Supervision orders (null: the supervision calls are UNIMPLEMENTED).
  store::SupervisionStore* supervision_;
  // Where reports with coordinates and no grid code go.
  std::shared_ptr<GridLocatorCache> locator_;
};

}  // namespace gridline::service

#endif  // GRIDLINE_SERVER_SERVICE_CASE_SERVICE_H_
