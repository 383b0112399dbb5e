// The one storage interface of gridline. Two implementations sit behind it (SQLite, embedded
// default; MySQL/MariaDB through Connector/C++, production); callers never see which. Every
// method is blocking and thread-safe: call it from the server's worker pool, never from a gRPC
// reaction.
#ifndef GRIDLINE_SERVER_STORE_STORE_H_
#define GRIDLINE_SERVER_STORE_STORE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/domain/accountability.h"
#include "server/domain/figures.h"
#include "server/domain/patrol.h"
#include "server/domain/supervision.h"
#include "server/domain/types.h"

namespace gridline::util {
class Clock;
}  // namespace gridline::util

namespace gridline::store {

struct CreateCaseResult {
  domain::Case stored;
  domain::CaseEvent first_event;  // with its seq
  bool created = false;           // false: the (reporter, request_id) pair existed already
};

// A supervision order written with a case change: inserted when `expected_version` is 0, else
// updated if its stored version is still `expected_version` (ABORTED otherwise). Its version
// becomes expected_version + 1.
struct SupervisionWrite {
  domain::SupervisionOrder order;
  int64_t expected_version = 0;
};

// A change of one case, written atomically: the case (its version becomes expected_version + 1),
// then its events in order, plus the extension requests it creates or settles and the
// supervision orders it issues or moves on.
struct CaseWrite {
  domain::Case c;
  int64_t expected_version = 0;
  std::vector<domain::CaseEvent> events;
  // Non-empty: the case is being filed; the store allocates the next number for this prefix
  // (e.g. "410184-2026-") in the same transaction and sets c.case_number to prefix + %06d.
  std::string case_number_prefix;
  // Inserted or updated by extension_request_id.
  std::vector<domain::ExtensionRequest> extension_upserts;
  std::vector<SupervisionWrite> supervision_writes;
};

struct CaseWriteResult {
  domain::Case stored;
  std::vector<domain::CaseEvent> events;  // with their seqs
};

// A case as it stands and its whole history, for BulkLoadCases.
struct BulkCase {
  domain::Case c;
  std::vector<domain::CaseEvent> events;  // oldest first; seqs are assigned by the store
};

// Which cases to list. Filters combine with AND; empty ones are ignored.
struct CaseQuery {
  std::vector<domain::CaseState> states;
  // Cases whose grid lies in this grid's subtree.
  std::string subtree_grid_code;
  // With subtree_grid_code: also cases this user reported (grid leader's "my cases").
  std::string or_reporter_user_id;
  // Cases this department leads (and with include_assisting, assists).
  std::string department_code;
  bool include_assisting = false;
  std::vector<std::string> category_codes;
  // Filed cases whose deadline is at or before this (when non-zero).
  domain::Micros deadline_before = 0;
  // Cases whose warning_level is below this (when non-zero).
  int warning_level_below = 0;
  // observe_time within [observed_from, observed_to] when either is non-zero.
  domain::Micros observed_from = 0;
  domain::Micros observed_to = 0;
  // Only cases from this source (kUnspecified: any).
  domain::CaseSource source = domain::CaseSource::kUnspecified;
  enum class Order {
    kNewestFirst,      // create_time desc
    kQueueOldest,      // state_time asc (the triage queue)
    kDeadlineSoonest,  // deadline asc, no deadline last, then create_time asc
  };
  Order order = Order::kNewestFirst;
  // Keyset pagination: resume after the item with this sort key and case id (from SortKey()).
  bool has_after = false;
  int64_t after_key = 0;
  std::string after_case_id;
  int limit = 100;
};
// The sort key of `c` under `order`, for CaseQuery::after_key.
int64_t SortKey(const domain::Case& c, CaseQuery::Order order);

struct ExtensionQuery {
  std::string case_id;
  std::vector<domain::ExtensionState> states;
  std::string subtree_grid_code;  // cases in this subtree
  // Oldest first by create_time; resume after this (create_time, id).
  bool has_after = false;
  int64_t after_create_time = 0;
  std::string after_id;
  int limit = 100;
};

struct AuditQuery {
  std::string actor_user_id;
  domain::Micros start_time = 0;  // 0: open
  domain::Micros end_time = 0;    // 0: open
  std::string resource_kind;
  std::string resource_id;
  // Newest first; resume after this (event_time, id).
  bool has_after = false;
  int64_t after_time = 0;
  std::string after_id;
  int limit = 100;
};

// Which cases figures are about: a grid subtree (by its path; empty: all) and a lead department
// (empty: any).
struct FigureScope {
  std::string grid_path;
  std::string department_code;
  // Only cases from this source (domain::CaseSource; kUnspecified: any). The stored sums have no
  // source, so a figure by source is counted from the cases (FigureFactsWithin over the range).
  domain::CaseSource source = domain::CaseSource::kUnspecified;
};
struct OverdueGroup {
  std::string grid_path;
  std::string lead_department_code;
  int64_t overdue = 0;
  int64_t late = 0;
};
struct FigureQuery {
  std::string node;  // a grid code, or "" for the platform
  std::string department_code;
  int64_t first_day = 0;  // domain::FigureDay
  int64_t end_day = 0;
};

// Which patrols to list: filters combine with AND, empty ones are ignored. Newest start first.
struct PatrolQuery {
  std::string subtree_grid_path;  // patrols in this subtree
  std::string user_id;
  std::string department_code;                     // patrols of this department's staff
  domain::Role role = domain::Role::kUnspecified;  // patrols by users of this role
  std::vector<domain::PatrolState> states;
  domain::Micros start_from = 0;  // start_time >= (when non-zero)
  domain::Micros start_to = 0;    // start_time < (when non-zero)
  // Resume after this (start_time, patrol_id).
  bool has_after = false;
  int64_t after_start_time = 0;
  std::string after_id;
  int limit = 100;
};

// A change of one patrol, written atomically if its stored version is still `expected_version`
// (ABORTED otherwise): the patrol row, and the track batch or the visit it adds.
struct PatrolWrite {
  domain::Patrol patrol;
  int64_t expected_version = 0;
  // A track batch: idempotent on (patrol_id, batch_id).
  std::string batch_id;
  std::string batch_digest;
  std::vector<domain::TrackPoint> points;
  // A visit: idempotent on visit_id.
  std::optional<domain::Visit> visit;
};

struct PatrolWriteResult {
  domain::Patrol stored;
  // False: the batch or visit (or, for StartPatrol, the patrol) was stored already; nothing was
  // written and `existing_digest` is the digest it was stored with (a batch's digest; a visit's
  // request_digest).
  bool created = false;
  std::string existing_digest;
};

// Which accountability records to list: one month's, filtered (AND), in the order of their keys.
struct AccountabilityQuery {
  int year = 0;
  int month = 0;
  std::vector<domain::AccountabilityRule> rules;
  std::string unit_code;
  std::string user_id;
  // Records whose case lies in this subtree.
  std::string subtree_grid_path;
  // Records naming this department; with `or_user_id`, also the records naming that user.
  std::string department_code;
  std::string or_user_id;
  bool include_inactive = false;  // dismissed and withdrawn ones too
  // Resume after the record with this key (domain::AccountabilityRecord::Key()).
  std::string after_key;
  int limit = 100;
};

// Which supervision orders to list, newest issue first; filters combine with AND.
struct SupervisionQuery {
  std::string case_id;
  std::string subtree_grid_path;
  std::string lead_department_code;
  std::vector<domain::SupervisionState> states;
  // Resume after this (issue_time, order_id).
  bool has_after = false;
  int64_t after_issue_time = 0;
  std::string after_id;
  int limit = 100;
};

// An organisation entry to delete.
struct OrgKey {
  domain::OrgKind kind = domain::OrgKind::kUnspecified;
  std::string code;  // grid/department/category code, rule id or user id
};

// The storage is one database behind narrow interfaces, one per aggregate, so that each service
// declares exactly what it reads and writes (its constructor takes those interfaces). SqlStore
// implements them all for SQLite and MySQL/MariaDB; tests/store_conformance_test.cc runs each on
// both engines.

// The organisation: grids, departments, categories, routing rules, users.
class OrganisationStore {
 public:
  virtual ~OrganisationStore() = default;

  // Upserts every grid, department, category, rule and user of `org` in one transaction.
  // Demo tokens are stored hashed. Validation is the caller's job (domain::ValidateOrganisation).
  virtual absl::Status ApplyOrganisation(const domain::Organisation& org) = 0;

  // Applies upserts and deletes in one transaction if the organisation version is still
  // `expected_version` (ABORTED otherwise), and bumps it. Grid paths are recomputed for moved
  // subtrees, and the cases in them follow. Validation is the caller's job.
  virtual absl::Status ChangeOrganisation(const domain::Organisation& upserts,
                                          const std::vector<OrgKey>& deletes,
                                          int64_t expected_version) = 0;
  // Increases with every ApplyOrganisation / ChangeOrganisation.
  virtual absl::StatusOr<int64_t> OrganisationVersion() = 0;
  // The whole organisation (grids with paths), without tokens.
  virtual absl::StatusOr<domain::Organisation> LoadOrganisation() = 0;
  // How many cases name `key` (grid, department as lead or assisting, category); 0 for others.
  virtual absl::StatusOr<int64_t> CountCasesReferencing(const OrgKey& key) = 0;

  virtual absl::StatusOr<std::optional<domain::Grid>> FindGrid(const std::string& code) = 0;
  virtual absl::StatusOr<std::vector<domain::Grid>> ListGrids() = 0;
  virtual absl::StatusOr<std::optional<domain::Category>> FindCategory(const std::string& code) = 0;
  virtual absl::StatusOr<std::optional<domain::User>> FindUser(const std::string& user_id) = 0;
  virtual absl::StatusOr<std::vector<domain::Category>> ListCategories() = 0;
  virtual absl::StatusOr<std::vector<domain::Department>> ListDepartments() = 0;
  virtual absl::StatusOr<std::optional<domain::Department>> FindDepartment(
      const std::string& code) = 0;
  virtual absl::StatusOr<std::vector<domain::RoutingRule>> ListRoutingRulesForCategory(
      const std::string& category_code) = 0;
};

// What RotateToken did.
struct TokenRotation {
  bool rotated = false;
  domain::TokenInfo old_token;  // as it is after the call
  domain::TokenInfo new_token;  // when rotated
};

// Bearer tokens, and disabling users (which revokes their tokens).
class TokenStore {
 public:
  virtual ~TokenStore() = default;

  // Tokens are stored as SHA-256 hex digests only. A demo token (label "demo", TokenInfo.demo)
  // is stored once: one an operator revoked stays revoked when the demo file is loaded again.
  virtual absl::Status PutDemoToken(const std::string& token_hash, const std::string& user_id) = 0;
  // The enabled user owning a non-revoked, unexpired token, or nullopt. Caller.token_id and
  // Caller.demo_token are set (the store does not judge whether demo tokens may be used).
  // Touches the token's last_used_time at most once a minute.
  virtual absl::StatusOr<std::optional<domain::Caller>> FindCallerByTokenHash(
      const std::string& token_hash, domain::Micros now) = 0;
  // FindCallerByTokenHash for many tokens at once (open streams re-checking theirs): one entry
  // per hash, in the same order (a hash may repeat).
  virtual absl::StatusOr<std::vector<std::optional<domain::Caller>>> FindCallersByTokenHashes(
      const std::vector<std::string>& token_hashes, domain::Micros now) = 0;
  // Stores a newly issued token (ALREADY_EXISTS if the hash or id exists).
  virtual absl::Status CreateToken(const domain::TokenInfo& info,
                                   const std::string& token_hash) = 0;
  // Newest first. `user_id` empty: all users. Inactive: revoked or expired at `now`.
  virtual absl::StatusOr<std::vector<domain::TokenInfo>> ListTokens(const std::string& user_id,
                                                                    bool include_inactive,
                                                                    domain::Micros now) = 0;
  // Revokes one token (no-op if revoked already); nullopt if unknown.
  virtual absl::StatusOr<std::optional<domain::TokenInfo>> RevokeToken(const std::string& token_id,
                                                                       domain::Micros now) = 0;
  // Rotation, in one transaction: if `token_id` is active (not revoked, unexpired at `now`, not
  // rotated already) stores a new token with its user, label, device and certificate binding
  // (id `new_token_id`, hash `new_hash`, created `now` by `issued_by`, expiring at
  // `new_expire_time`), marks the old one replaced by it and brings its expiry forward to
  // `old_expire_time` (kept if sooner). nullopt if `token_id` is unknown; `rotated` false (and
  // nothing written) if it is inactive.
  virtual absl::StatusOr<std::optional<TokenRotation>> RotateToken(
      const std::string& token_id, const std::string& new_token_id, const std::string& new_hash,
      const std::string& issued_by, domain::Micros new_expire_time, domain::Micros old_expire_time,
      domain::Micros now) = 0;
  // Disables the user and revokes all their tokens, in one transaction.
  virtual absl::Status DisableUser(const std::string& user_id, domain::Micros now) = 0;
};

// The operators' audit log (append only).
class AuditStore {
 public:
  virtual ~AuditStore() = default;

  virtual absl::Status AppendAudit(const domain::AuditEntry& entry) = 0;
  virtual absl::StatusOr<std::vector<domain::AuditEntry>> ListAudit(const AuditQuery& query) = 0;
};

// Photos' metadata.
class AttachmentStore {
 public:
  virtual ~AttachmentStore() = default;

  // Photos' metadata; the bytes live in the blob directory. Put is idempotent on the id: a
  // second put of an unused photo only moves its touch_time on (restarting its grace period).
  // `*created` (if given) tells whether this put stored it, so that `a` is what is stored.
  virtual absl::Status PutAttachment(const domain::Attachment& a, bool* created = nullptr) = 0;
  // The known ones among `ids`, in no particular order.
  virtual absl::StatusOr<std::vector<domain::Attachment>> FindAttachments(
      const std::vector<std::string>& ids) = 0;
  // Ids of cases whose photos or events use the attachment (at most `limit`).
  virtual absl::StatusOr<std::vector<std::string>> CasesUsingAttachment(
      const std::string& attachment_id, int limit) = 0;
  // Deletes the metadata of attachments no case or event uses whose last upload was before
  // `uploaded_before`, and returns their ids so the caller can delete the bytes.
  virtual absl::StatusOr<std::vector<std::string>> PruneUnreferencedAttachments(
      domain::Micros uploaded_before) = 0;
};

// Cases with their history (events) and extension requests: the case aggregate.
class CaseStore {
 public:
  virtual ~CaseStore() = default;

  // Stores a new case and its first event in one transaction, idempotently on
  // (reporter_user_id, request_id): if that pair exists, nothing is written and the stored case
  // and its first event are returned with created=false.
  virtual absl::StatusOr<CreateCaseResult> CreateCase(const domain::Case& c,
                                                      const domain::CaseEvent& first_event) = 0;

  virtual absl::StatusOr<std::optional<domain::Case>> GetCase(const std::string& case_id) = 0;

  // Loads finished histories in bulk (a migration of historic cases, the figures benchmark):
  // every case row and its events in one transaction, events numbered in the order given. No
  // idempotency and no photos: the caller vouches for the data. ALREADY_EXISTS on a duplicate.
  virtual absl::Status BulkLoadCases(const std::vector<BulkCase>& cases) = 0;
  // How many cases the store holds, in any state.
  virtual absl::StatusOr<int64_t> CountCases() = 0;

  // Writes `w` in one transaction. ABORTED if the stored version is not `w.expected_version`;
  // NOT_FOUND if the case is missing. Attachments named by the case or events become referenced.
  virtual absl::StatusOr<CaseWriteResult> UpdateCase(const CaseWrite& w) = 0;
  virtual absl::StatusOr<std::vector<domain::Case>> ListCases(const CaseQuery& query) = 0;

  virtual absl::StatusOr<std::optional<domain::ExtensionRequest>> GetExtensionRequest(
      const std::string& extension_request_id) = 0;
  virtual absl::StatusOr<std::vector<domain::ExtensionRequest>> ListExtensionRequests(
      const ExtensionQuery& query) = 0;
  // One case's history, oldest first.
  virtual absl::StatusOr<std::vector<domain::CaseEvent>> ListCaseEvents(
      const std::string& case_id) = 0;
};

// The evaluation figures' sums.
class FigureStore {
 public:
  virtual ~FigureStore() = default;

  // The evaluation figures (domain/figures.h), kept by every case write in the same transaction.
  // Days are counted at FiguresUtcOffsetMinutes() (the store's option).
  virtual int FiguresUtcOffsetMinutes() = 0;
  // The sums of the figure terms of the counted cases under a grid node and lead department, for
  // the range of whole days [first_day, end_day).
  virtual absl::StatusOr<domain::FigureSums> SumFigures(const FigureQuery& query) = 0;
  // The same sums for every grid node (any department) or for every lead department (the whole
  // platform) at once: node or department code -> sums. (The monthly ratings of all units.)
  enum class FigureGrouping { kByNode, kByDepartment };
  virtual absl::StatusOr<std::map<std::string, domain::FigureSums>> SumFiguresGrouped(
      FigureGrouping grouping, int64_t first_day, int64_t end_day) = 0;
  // The counted cases in scope with a filing, deadline, closing, resolution or failed
  // verification time in one of `windows` ([from, to) each).
  virtual absl::StatusOr<std::vector<domain::FigureFacts>> FigureFactsWithin(
      const FigureScope& scope,
      const std::vector<std::pair<domain::Micros, domain::Micros>>& windows) = 0;
  // The figures that depend on the present (domain::OpenOverdueOf), for the open counted cases
  // in scope whose deadline is in [deadline_from, now), by grid path and lead department: how
  // many (open_overdue_count), and how many of them count as late in [start, end). Counted in
  // the database from one covering index; callers pass the start of today as `deadline_from`
  // and take the days before from SumOpenOverdue.
  virtual absl::StatusOr<std::vector<OverdueGroup>> CountOpenOverdue(const FigureScope& scope,
                                                                     domain::Micros deadline_from,
                                                                     domain::Micros now,
                                                                     domain::Micros start,
                                                                     domain::Micros end) = 0;
  // The same figures from the stored counts of open cases by deadline day
  // (domain::OpenDeadlineKey), for the open counted cases under a grid node and lead department
  // whose deadline lies before the day `before_day`, late in the days [first_day, end_day):
  // OpenOverdueOf with start, end and now at the starts of those days. Kept in the same
  // transaction as every case write, like the sums; a few hundred rows per node.
  virtual absl::StatusOr<domain::OpenOverdueCounts> SumOpenOverdue(const FigureQuery& query,
                                                                   int64_t before_day) = 0;
  // The same for every grid node (any department) or every lead department at once.
  virtual absl::StatusOr<std::map<std::string, domain::OpenOverdueCounts>> SumOpenOverdueGrouped(
      FigureGrouping grouping, int64_t first_day, int64_t end_day, int64_t before_day) = 0;
};

// 三责 accountability records, computed per month and kept: a recomputation updates them by
// key, withdraws those no longer found, and never deletes one.
class AccountabilityStore {
 public:
  virtual ~AccountabilityStore() = default;

  // The cases the rules of the month [start, end) need: created in [created_from, end), and
  // those with a deadline before `end` that are open or were closed at or after `start`; with
  // the time each left triage.
  virtual absl::StatusOr<std::vector<domain::AccountabilityCase>> LoadAccountabilityCases(
      domain::Micros created_from, domain::Micros start, domain::Micros end) = 0;
  // Stores the month's records in one transaction: new keys are inserted (ids assigned here),
  // known ones updated (a dismissed one stays dismissed, a withdrawn one is active again), and
  // the active ones not among `records` are withdrawn. Records when the month was computed.
  virtual absl::Status SaveAccountability(int year, int month,
                                          const std::vector<domain::AccountabilityRecord>& records,
                                          domain::Micros compute_time) = 0;
  // When the month was last computed, or nullopt.
  virtual absl::StatusOr<std::optional<domain::Micros>> AccountabilityComputeTime(int year,
                                                                                  int month) = 0;
  virtual absl::StatusOr<std::vector<domain::AccountabilityRecord>> ListAccountabilityRecords(
      const AccountabilityQuery& query) = 0;
  virtual absl::StatusOr<std::optional<domain::AccountabilityRecord>> GetAccountabilityRecord(
      const std::string& record_id) = 0;
  // Dismisses an active record if it is still at `expected_version` (ABORTED otherwise).
  virtual absl::StatusOr<domain::AccountabilityRecord> DismissAccountabilityRecord(
      const std::string& record_id, int64_t expected_version, const std::string& reason,
      const std::string& by_user_id, domain::Micros time) = 0;
};

// Supervision orders (督办). They are written with their case (CaseWrite.supervision_writes).
class SupervisionStore {
 public:
  virtual ~SupervisionStore() = default;

  virtual absl::StatusOr<std::optional<domain::SupervisionOrder>> GetSupervisionOrder(
      const std::string& order_id) = 0;
  // The order `issuer` made with `request_id`, if any (the idempotency of issuing).
  virtual absl::StatusOr<std::optional<domain::SupervisionOrder>> FindSupervisionOrder(
      const std::string& issuer, const std::string& request_id) = 0;
  virtual absl::StatusOr<std::vector<domain::SupervisionOrder>> ListSupervisionOrders(
      const SupervisionQuery& query) = 0;
  // Unanswered orders on open cases whose next escalation is due at `now`, soonest first.
  virtual absl::StatusOr<std::vector<domain::SupervisionOrder>> ListDueSupervisionOrders(
      domain::Micros now, int limit) = 0;
  // The orders issued in [start, end) on cases in the subtree `grid_path` ("" all) that
  // `department_code` ("" any) must answer: how many, answered on time, escalated.
  virtual absl::StatusOr<domain::SupervisionCounts> CountSupervisionOrders(
      const std::string& grid_path, const std::string& department_code, domain::Micros start,
      domain::Micros end) = 0;
};

// Patrols (巡查), their tracks and visits (走访).
class PatrolStore {
 public:
  virtual ~PatrolStore() = default;

  // Stores a new patrol (version 1), idempotently on patrol_id: if it exists, nothing is written
  // and the stored patrol is returned with created=false.
  virtual absl::StatusOr<PatrolWriteResult> StartPatrol(const domain::Patrol& patrol) = 0;
  virtual absl::StatusOr<std::optional<domain::Patrol>> GetPatrol(const std::string& patrol_id) = 0;
  // The digest a track batch was stored with, or nullopt if it is not stored.
  virtual absl::StatusOr<std::optional<std::string>> FindTrackBatch(
      const std::string& patrol_id, const std::string& batch_id) = 0;
  virtual absl::StatusOr<std::optional<domain::Visit>> GetVisit(const std::string& visit_id) = 0;
  // Writes `w` (the patrol's version becomes expected_version + 1); a visit's photos become
  // referenced (kept by the photo cleanup). When the batch or visit it
  // adds is stored already, writes nothing and answers created=false with its digest, whatever
  // the version. NOT_FOUND if the patrol is missing.
  virtual absl::StatusOr<PatrolWriteResult> UpdatePatrol(const PatrolWrite& w) = 0;
  virtual absl::StatusOr<std::vector<domain::Patrol>> ListPatrols(const PatrolQuery& query) = 0;
  // A patrol's track points after the `after`-th (0: from the first), oldest first.
  virtual absl::StatusOr<std::vector<domain::TrackPoint>> ListTrackPoints(
      const std::string& patrol_id, int64_t after, int limit) = 0;
  // A patrol's visits, oldest first; resume after this (visit_time, visit_id) when `has_after`.
  virtual absl::StatusOr<std::vector<domain::Visit>> ListVisits(const std::string& patrol_id,
                                                                bool has_after, int64_t after_time,
                                                                const std::string& after_id,
                                                                int limit) = 0;
  // The figures of the patrols started in [start, end) matching `query`'s subtree, user,
  // department and role (its other fields are ignored), per grid and user, by grid code then user
  // id. Days are counted at the store's figures offset (FigureStore::FiguresUtcOffsetMinutes).
  virtual absl::StatusOr<std::vector<domain::PatrolFigures>> SumPatrolFigures(
      const PatrolQuery& query, domain::Micros start, domain::Micros end) = 0;
  // The distinct (user, day) pairs with a patrol in scope in [start, end): the total of
  // patrol_days over many grids.
  virtual absl::StatusOr<int64_t> CountPatrolDays(const PatrolQuery& query, domain::Micros start,
                                                  domain::Micros end) = 0;
};

// The global event log as a feed, for the watch streams.
class FeedStore {
 public:
  virtual ~FeedStore() = default;

  // The global event log, in seq order. Sequence numbers are dense and become visible in order:
  // once a reader has seen seq N, no event with seq < N can appear later. That makes
  // "everything after my cursor" exact across replicas.
  virtual absl::StatusOr<std::vector<domain::CaseEvent>> ListEventsAfter(int64_t after_seq,
                                                                         int limit) = 0;
  virtual absl::StatusOr<int64_t> LastEventSeq() = 0;

  // The watch feed's window (ServerConfig.watch.retention_days). Events are the case history
  // and are never deleted; the window only says how far back a watch may resume: a cursor
  // before FeedHorizonSeq() has expired. AdvanceFeedHorizon moves the horizon to the newest
  // event older than `before` (never to the newest event of all, never backwards) and returns
  // it. (Versions before issue 11 deleted the events up to the horizon.)
  virtual absl::StatusOr<int64_t> AdvanceFeedHorizon(domain::Micros before) = 0;
  virtual absl::StatusOr<int64_t> FeedHorizonSeq() = 0;
};

// All of it, over one database.
class Store : public OrganisationStore,
              public TokenStore,
              public AuditStore,
              public AttachmentStore,
              public CaseStore,
              public FigureStore,
              public FeedStore,
              public PatrolStore,
              public SupervisionStore,
              public AccountabilityStore {
 public:
  ~Store() override = default;

  // Cheap round trip to the database; the health service reports SERVING only while it is OK.
  virtual absl::Status Ping() = 0;
  // The schema version this store is at, after migrations.
  virtual absl::StatusOr<int> SchemaVersion() = 0;
};

struct SqliteOptions {
  std::string path;
  int pool_size = 8;
  // The UTC offset of the figures' days (ServerConfig.evaluation.utc_offset_minutes). A store
  // opened with another offset than before adds its figures again.
  int figures_utc_offset_minutes = 480;
  // The time the store's in-memory organisation snapshot goes by (org_snapshot.h): a lookup
  // with no organisation version read for 100 ms reads it first. nullptr: the machine's clock.
  const util::Clock* clock = nullptr;
};

struct MysqlHost {
  std::string host;
  int port = 3306;
};

struct MysqlOptions {
  std::string host = "127.0.0.1";
  int port = 3306;
  // The nodes of a Galera cluster, in the order they are tried; when not empty, `host` and
  // `port` are ignored. Every connection of the store goes to one node, the current one, until
  // it fails (MysqlStore.hosts in server_config.proto).
  std::vector<MysqlHost> hosts;
  std::string user;
  std::string password;
  std::string database = "gridline";
  int pool_size = 8;
  bool create_database = false;
  int connect_timeout_seconds = 5;
  // How long one read from or write to the server may wait: a query on a hung server fails
  // after it (MysqlStore.read_timeout_seconds).
  int read_timeout_seconds = 60;
  int figures_utc_offset_minutes = 480;  // as in SqliteOptions
  const util::Clock* clock = nullptr;    // as in SqliteOptions
};

// Open a store and bring its schema up to date. FAILED_PRECONDITION when the database schema is
// newer than this build knows; UNAVAILABLE when the database cannot be reached.
absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const SqliteOptions& options);
absl::StatusOr<std::unique_ptr<Store>> OpenMysqlStore(const MysqlOptions& options);

// The newest schema version this build knows.
int LatestSchemaVersion();

}  // namespace gridline::store

#endif  // GRIDLINE_SERVER_STORE_STORE_H_
