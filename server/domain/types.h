// The vocabulary of the domain core. Plain C++: no gRPC, no SQL, no protobuf.
// Enum values equal the gridline.v1 proto numbers so the API layer can translate one to one.
#ifndef GRIDLINE_SERVER_DOMAIN_TYPES_H_
#define GRIDLINE_SERVER_DOMAIN_TYPES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gridline::domain {

enum class CaseState : int {
  kUnspecified = 0,
  kPendingTriage = 1,
  kDispatched = 2,
  kInProgress = 3,
  kReturned = 4,
  kResolved = 5,
  kClosed = 6,
  kRejected = 7,
  kMerged = 8,
};

enum class Urgency : int { kUnspecified = 0, kNormal = 1, kUrgent = 2, kEmergency = 3 };

// Where a case came from (gridline.v1.CaseSource): a grid leader's handset, or a report the
// acceptance center registered for the public (12345 hotline, apps), the media, a leader
// (领导交办) or a supervising inspection. The 三责 rules turn on it.
enum class CaseSource : int {
  kUnspecified = 0,
  kHandset = 1,
  kPublic = 2,
  kMedia = 3,
  kLeader = 4,
  kInspection = 5,
};
const char* CaseSourceName(CaseSource s);

enum class Role : int {
  kUnspecified = 0,
  kGridLeader = 1,
  kDispatcher = 2,
  kDepartmentStaff = 3,
  kSupervisor = 4,
  kOperator = 5,
  kPublicApp = 6,  // a residents' app (Open311): see Role.PUBLIC_APP in common.proto
};

enum class EventType : int {
  kUnspecified = 0,
  kReported = 1,
  kAcceptedForFiling = 2,
  kRejectedInvalid = 3,
  kMarkedDuplicate = 4,
  kCategoryCorrected = 5,
  kRouted = 6,
  kAssignmentAccepted = 7,
  kReturnedNotResponsible = 8,
  kExtensionRequested = 9,
  kExtensionDecided = 10,
  kProgressAdded = 11,
  kCaseResolved = 12,
  kVerificationPassed = 13,
  kVerificationFailed = 14,
  kOverdueWarning = 15,
  kSupervisionOrdered = 16,
  kSupervisionAcknowledged = 17,
  kSupervisionAnswered = 18,
  kSupervisionEscalated = 19,
};

enum class GridLevel : int {
  kUnspecified = 0,
  kCity = 1,
  kDistrict = 2,
  kStreet = 3,
  kCommunity = 4,
  kCell = 5,
  kCompound = 6,
};

enum class CategoryKind : int { kUnspecified = 0, kComponent = 1, kEvent = 2, kService = 3 };

const char* CaseStateName(CaseState s);
const char* RoleName(Role r);

// Times are microseconds since the Unix epoch, UTC.
using Micros = int64_t;

struct Case {
  std::string case_id;
  std::string case_number;
  CaseState state = CaseState::kUnspecified;
  std::string category_code;
  std::string description;
  std::string grid_code;
  // The grid's ancestry, "/root/.../grid_code/": a subtree test is a prefix test.
  std::string grid_path;
  double latitude = 0;
  double longitude = 0;
  std::string address;
  CaseSource source = CaseSource::kHandset;
  // The reporter's patrol the report was found on, if it named one.
  std::string patrol_id;
  Micros observe_time = 0;
  Urgency urgency = Urgency::kNormal;
  std::string reporter_user_id;
  std::vector<std::string> before_photo_ids;
  std::vector<std::string> after_photo_ids;
  std::string lead_department_code;
  std::vector<std::string> assisting_department_codes;
  Micros deadline_time = 0;
  int rework_count = 0;
  std::string duplicate_of_case_id;
  std::string resolution_note;
  // When the case entered its current state (the triage queue's sort key).
  Micros state_time = 0;
  // The department that last returned it (退回) and why; cleared when it is routed again.
  std::string returned_by_department_code;
  std::string return_reason;
  // Filing (建档立案): when, and the deadline as first set then (evaluation counts by it).
  Micros filed_time = 0;
  Micros first_deadline_time = 0;
  Micros closed_time = 0;
  // Deadline warnings sent for the current deadline: 0 none, 1 due soon, 2 overdue.
  int warning_level = 0;
  Micros create_time = 0;
  Micros update_time = 0;
  int64_t version = 0;
  // The idempotency key the reporter chose, and a digest of the request it came with.
  std::string request_id;
  std::string request_digest;
};

struct CaseEvent {
  int64_t seq = 0;  // position in the global event log; assigned by the store at commit
  std::string case_id;
  EventType type = EventType::kUnspecified;
  CaseState from_state = CaseState::kUnspecified;
  CaseState to_state = CaseState::kUnspecified;
  std::string actor_user_id;
  Role actor_role = Role::kUnspecified;
  Micros event_time = 0;
  std::string note;
  std::vector<std::string> attachment_ids;
  // The case as it stands after the event.
  std::string category_code;
  std::string grid_code;
  std::string grid_path;
  std::string lead_department_code;
  std::vector<std::string> assisting_department_codes;
  // The lead before the event, when it changed (returned, re-routed): that department's stream
  // learns the case left it.
  std::string previous_lead_department_code;
  std::string reporter_user_id;
  int64_t case_version = 0;
  // The supervision order of a kSupervision* event.
  std::string related_id;
};

struct Grid {
  std::string code;
  std::string name;
  GridLevel level = GridLevel::kUnspecified;
  std::string parent_code;
  // "/root/.../code/", computed by the store from the tree.
  std::string path;
  // Optional: the grid's area as a GeoJSON Polygon or MultiPolygon ([longitude, latitude],
  // WGS 84), as given; "" for none. Checked by CheckOrganisation (grid_geometry.h).
  std::string boundary_geojson;
};

// Whether grid `code` is on `path` ("/root/.../code/"): the grid itself or one of its
// ancestors, so a case with that path is in the grid's subtree. False for an empty code.
// Allocates nothing: it runs for every event a watch stream looks at.
bool PathHasGrid(const std::string& path, const std::string& code);

struct Department {
  std::string code;
  std::string name;
  std::string parent_code;
  std::string grid_code;
  // The leader in charge (分管领导), for 连责; may be empty.
  std::string leader_user_id;
};

struct Category {
  std::string code;
  std::string name;
  CategoryKind kind = CategoryKind::kUnspecified;
  int normal_deadline_hours = 0;
  int urgent_deadline_hours = 0;
  int emergency_deadline_hours = 0;
  bool auto_accept = false;
};

struct RoutingRule {
  std::string rule_id;
  std::string category_code;
  std::string grid_code;
  std::string lead_department_code;
  std::vector<std::string> assisting_department_codes;
};

struct User {
  std::string user_id;
  std::string display_name;
  Role role = Role::kUnspecified;
  std::string grid_code;
  std::string department_code;
  bool disabled = false;
};

struct Organisation {
  std::vector<Grid> grids;
  std::vector<Department> departments;
  std::vector<Category> categories;
  std::vector<RoutingRule> routing_rules;
  std::vector<User> users;
  // user_id -> demo token; honoured only in demo mode.
  std::vector<std::pair<std::string, std::string>> demo_tokens;
};

// Who is calling, as authentication established it.
struct Caller {
  User user;
  std::string token_id;
  // The token came from an organisation file in demo mode (TokenInfo.demo).
  bool demo_token = false;
  // The device certificate the token is bound to (hex SHA-256 of its DER form); empty: unbound.
  std::string client_cert_sha256;
};

// A stored photo; content-addressed (attachment_id is the hex SHA-256 of the bytes).
struct Attachment {
  std::string attachment_id;
  std::string content_type;
  int64_t size_bytes = 0;
  Micros create_time = 0;
  std::string uploaded_by_user_id;
  // Set once a case or event uses it; unreferenced ones are cleaned up after a grace period.
  bool referenced = false;
};

enum class ExtensionState : int {
  kUnspecified = 0,
  kPending = 1,
  kApproved = 2,
  kDenied = 3,
  kCancelled = 4,
};

struct ExtensionRequest {
  std::string extension_request_id;
  std::string case_id;
  std::string department_code;
  std::string requested_by_user_id;
  Micros current_deadline_time = 0;
  Micros requested_deadline_time = 0;
  std::string reason;
  ExtensionState state = ExtensionState::kUnspecified;
  std::string decided_by_user_id;
  std::string decision_note;
  Micros approved_deadline_time = 0;
  Micros create_time = 0;
  Micros decide_time = 0;
};

// A bearer token's metadata (never the token).
struct TokenInfo {
  std::string token_id;
  std::string user_id;
  std::string label;
  std::string device_id;
  Micros create_time = 0;
  Micros last_used_time = 0;
  Micros expire_time = 0;  // 0: never
  bool revoked = false;
  Micros revoke_time = 0;
  std::string issued_by_user_id;
  // Stored by demo mode from the organisation file; refused unless the server runs in demo mode.
  bool demo = false;
  // Bound to the device certificate with this fingerprint (hex SHA-256 of its DER form); empty:
  // usable from any machine.
  std::string client_cert_sha256;
  // Rotated: the token that replaced this one (this one works until its expire_time).
  std::string replaced_by_token_id;
};

// One administrative action, successful or not.
struct AuditEntry {
  std::string audit_entry_id;
  std::string actor_user_id;
  std::string actor_token_id;
  std::string method;
  std::string resource_kind;
  std::string resource_id;
  Micros event_time = 0;
  int status_code = 0;
  std::string status_message;
  std::string request_summary;
  std::string peer;
};

// The kinds of organisation entries (numbers equal gridline.v1.OrganisationKind).
enum class OrgKind : int {
  kUnspecified = 0,
  kGrid = 1,
  kDepartment = 2,
  kCategory = 3,
  kRoutingRule = 4,
  kUser = 5
};

const char* ExtensionStateName(ExtensionState s);

}  // namespace gridline::domain

#endif  // GRIDLINE_SERVER_DOMAIN_TYPES_H_
