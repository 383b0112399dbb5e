// The case use cases, over the Store port. Knows neither gRPC nor SQL.
#ifndef GRIDLINE_SERVER_DOMAIN_CASE_SERVICE_H_
#define GRIDLINE_SERVER_DOMAIN_CASE_SERVICE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/domain/errors.h"
#include "server/domain/types.h"
#include "server/store/store.h"

namespace gridline::domain {

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
  Micros observe_time = 0;  // 0: now
  int urgency = 0;          // raw, validated here
  std::vector<std::string> attachment_ids;
};

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
  Case c;
  std::vector<CaseEvent> events;
};

// Inputs of the lifecycle actions, as the API layer decoded them. `expected_version` 0 skips the
// optimistic check; otherwise a mismatch gets ABORTED.
struct ActionInput {
  std::string case_id;
  std::string note;  // note, reason or result text
  std::vector<std::string> attachment_ids;
  int64_t expected_version = 0;
};

// The filters of the acceptance center's and supervisors' case table (DispatchService.ListCases),
// as the API layer decoded them. Empty ones are ignored; they combine with AND.
struct CaseListFilter {
  std::vector<CaseState> states;
  std::vector<std::string> category_codes;
  std::string grid_code;  // a subtree inside the caller's own
  std::string lead_department_code;
  Micros observe_start_time = 0;  // 0: open
  Micros observe_end_time = 0;    // 0: open
};

struct TriageItem {
  Case c;
};

struct DuplicateCandidate {
  Case c;
  std::optional<double> distance_metres;
  Micros observe_time_offset = 0;
};

struct SubmitOutcome {
  Case stored;
  CaseEvent first_event;
  bool created = false;
  // The call filed the case by rule (auto-accept), appending events after `first_event`.
  bool filed = false;
};

// Limits of report fields, in Unicode code points.
inline constexpr int kMaxDescriptionChars = 2000;
inline constexpr int kMaxAddressChars = 500;
inline constexpr int kMaxRequestIdChars = 64;
inline constexpr int kMaxAttachments = 9;

// May `user` read this case (GetCase, lists, streams)? One rule everywhere.
bool CanSee(const User& user, const std::string& reporter_user_id, const std::string& grid_path,
            const std::string& lead_department_code,
            const std::vector<std::string>& assisting_department_codes);
bool CanSee(const User& user, const Case& c);
bool CanSee(const User& user, const CaseEvent& e);

// The interest keys of an event, for routing it to the streams it may concern: "g:<code>" for
// each grid on its path, "u:<reporter>", and "d:<department>" for its lead, previous lead and
// assisting departments. Each stream registers keys that cover what it may show.
std::vector<std::string> EventInterestKeys(const CaseEvent& e);

// What the acceptance center's stream (DispatchService.WatchQueue) sends a dispatcher: events
// that put a case in or take it out of the queue, or concern an extension, for cases in
// `grid_code`'s subtree (the dispatcher's own grid, or one inside it).
bool QueueStreamShows(const User& dispatcher, const std::string& grid_code, const CaseEvent& e);
// What a department's stream (DepartmentService.WatchAssignments) sends its staff: every event of
// the cases it leads (with `include_assisting`, also assists), and the event by which a case it
// led was returned or re-routed away (so that its console drops it).
bool AssignmentStreamShows(const User& staff, bool include_assisting, const CaseEvent& e);

class CaseService {
 public:
  // `utc_offset_minutes`: the platform's time zone (case numbers' year, warning texts).
  explicit CaseService(store::Store* store, int utc_offset_minutes = 480)
      : store_(store), zone_(absl::FixedTimeZone(utc_offset_minutes * 60)) {}

  // Step 1: validate and store a report as a case with its REPORTED event. Idempotent on the
  // caller's request id.
  absl::StatusOr<SubmitOutcome> SubmitReport(const Caller& caller, const ReportInput& in);

  // NOT_FOUND also when the caller may not see the case, so ids cannot be probed.
  absl::StatusOr<Case> GetCase(const Caller& caller, const std::string& case_id);
  absl::StatusOr<std::vector<CaseEvent>> ListCaseEvents(const Caller& caller,
                                                        const std::string& case_id);

  // ---- Lists ----
  // Grid leader: cases they reported or located in their grid, newest first.
  absl::StatusOr<Page<Case>> ListMyCases(const Caller& caller, const std::vector<CaseState>& states,
                                         const PageRequest& page);
  // Dispatcher: PENDING_TRIAGE and RETURNED cases in their subtree (or `grid_code` within it),
  // oldest in queue first.
  absl::StatusOr<Page<Case>> ListTriageQueue(const Caller& caller,
                                             const std::vector<CaseState>& states,
                                             const std::vector<std::string>& category_codes,
                                             const std::string& grid_code, const PageRequest& page);
  // Dispatchers and supervisors: every case in their subtree (or `grid_code` within it), whatever
  // its state; operators: the whole platform. Newest first.
  absl::StatusOr<Page<Case>> ListCases(const Caller& caller, const CaseListFilter& filter,
                                       const PageRequest& page);
  // Department staff: cases their department leads (and assists), soonest deadline first.
  absl::StatusOr<Page<Case>> ListAssignedCases(const Caller& caller,
                                               const std::vector<CaseState>& states,
                                               bool include_assisting, const PageRequest& page);
  absl::StatusOr<Page<ExtensionRequest>> ListExtensionRequests(
      const Caller& caller, const std::vector<ExtensionState>& states, const std::string& case_id,
      const PageRequest& page);
  absl::StatusOr<Page<Category>> ListReportCategories(const Caller& caller,
                                                      const PageRequest& page);

  // ---- Acceptance center: triage, filing, dispatch (steps 2-4) ----
  // `urgency` 0 keeps the reported one.
  absl::StatusOr<CaseChange> AcceptCase(const Caller& caller, const ActionInput& in, int urgency);
  absl::StatusOr<CaseChange> RejectCase(const Caller& caller, const ActionInput& in);
  absl::StatusOr<std::vector<DuplicateCandidate>> SuggestDuplicates(const Caller& caller,
                                                                    const std::string& case_id,
                                                                    double radius_metres,
                                                                    Micros time_window,
                                                                    int max_results);
  absl::StatusOr<CaseChange> MarkDuplicate(const Caller& caller, const ActionInput& in,
                                           const std::string& duplicate_of_case_id);
  absl::StatusOr<CaseChange> CorrectCategory(const Caller& caller, const ActionInput& in,
                                             const std::string& category_code);
  absl::StatusOr<CaseChange> RouteCase(const Caller& caller, const ActionInput& in,
                                       const std::string& lead_department_code,
                                       const std::vector<std::string>& assisting);
  absl::StatusOr<CaseChange> DecideExtension(const Caller& caller,
                                             const std::string& extension_request_id, bool approve,
                                             const std::string& note, Micros approved_deadline_time,
                                             int64_t expected_version);

  // ---- Line departments (step 4-5) ----
  absl::StatusOr<CaseChange> AcceptAssignment(const Caller& caller, const ActionInput& in);
  absl::StatusOr<CaseChange> ReturnCase(const Caller& caller, const ActionInput& in);
  absl::StatusOr<ExtensionRequest> RequestExtension(const Caller& caller, const ActionInput& in,
                                                    Micros requested_deadline_time,
                                                    CaseChange* change = nullptr);
  absl::StatusOr<CaseChange> AddProgress(const Caller& caller, const ActionInput& in);
  absl::StatusOr<CaseChange> ResolveCase(const Caller& caller, const ActionInput& in);

  // ---- Deadline warnings (效能监察) ----
  // Writes an OVERDUE_WARNING event for each filed, open case whose deadline is within
  // `warn_before` of `now` (once) or has passed (once more). A case another writer changes at
  // the same moment is skipped and warned about on the next run. Returns the warnings written.
  absl::StatusOr<int> WarnDeadlines(Micros now, Micros warn_before);

  // ---- Verification (step 6) ----
  absl::StatusOr<CaseChange> VerifyCase(const Caller& caller, const ActionInput& in, bool passed);

 private:
  // Loads the case and runs the workflow gate and the optimistic version check.
  absl::StatusOr<Case> LoadForAction(const Caller& caller, const ActionInput& in, int action);
  // Files and routes `c` (PENDING_TRIAGE) by the rules; appends the events to `w`.
  absl::Status FileAndRoute(const Caller* caller, Case& c, store::CaseWrite& w, Micros now,
                            const std::string& note);
  // Cancels the pending extension request of the case, if any, into `w`.
  absl::Status CancelPendingExtension(const Case& c, store::CaseWrite& w, Micros now);
  absl::StatusOr<CaseChange> Write(store::CaseWrite w);
  // Stamps the update time, then Write.
  absl::StatusOr<CaseChange> Commit(Case c, store::CaseWrite w, Micros now);
  absl::Status CheckAttachments(FieldViolations& v, const std::string& field,
                                const std::vector<std::string>& ids);

  store::Store* store_;
  absl::TimeZone zone_;
};

// Great-circle distance in metres between two WGS-84 points.
double DistanceMetres(double lat1, double lng1, double lat2, double lng2);

// Adds a violation for `field` unless `text` is valid UTF-8 of at most `max_chars` code points
// (and, when `required`, not empty).
void CheckText(FieldViolations& v, const std::string& field, const std::string& text, bool required,
               int max_chars);

// True if `s` is valid UTF-8; `chars` receives its length in code points.
bool IsValidUtf8(absl::string_view s, int* chars);

}  // namespace gridline::domain

#endif  // GRIDLINE_SERVER_DOMAIN_CASE_SERVICE_H_
