// The organisation model's rules: a well-formed grid tree, unique codes, and rules and users
// that name existing things; and the one path by which a whole organisation is written, shared
// by the organisation file loaded at start and AdminService.ImportOrganisation.
#ifndef GRIDLINE_SERVER_DOMAIN_ORGANISATION_H_
#define GRIDLINE_SERVER_DOMAIN_ORGANISATION_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/domain/types.h"
#include "server/store/store.h"

namespace gridline::domain {

// Grid, department and category codes: 1..32 of [0-9A-Za-z_-].
bool IsValidCode(absl::string_view code);
// User ids and routing rule ids: 1..64 of [0-9A-Za-z_.-].
bool IsValidId(absl::string_view id);
// Names: 1..100 characters of valid UTF-8. Empty when fine, otherwise what is wrong.
std::string CheckName(absl::string_view name);

// The plural the API uses for a kind: "grids", "departments", "categories", "routing_rules",
// "users" (PreconditionFailure subjects, field paths of an Organisation).
const char* OrgKindPlural(OrgKind kind);

// One problem with one organisation entry.
struct OrgViolation {
  OrgKind kind = OrgKind::kUnspecified;
  std::string key;     // its code, rule id or user id (as given, possibly malformed)
  int64_t index = -1;  // position within its kind
  std::string field;   // e.g. "parent_code"
  std::string description;
};

struct OrgCheckOptions {
  // Keeps at most this many violations; the result says when there were more.
  size_t limit = std::numeric_limits<size_t>::max();
  // When set, only violations it accepts are kept (and count towards the limit).
  std::function<bool(const OrgViolation&)> keep;
  // Called after each kind with the entries checked so far and the total.
  std::function<void(OrgKind kind, int64_t done, int64_t total)> progress;
};

struct OrgCheckResult {
  std::vector<OrgViolation> violations;
  bool truncated = false;
};

// Every problem with `org` on its own (everything it names must be in it): malformed or
// duplicate codes and names, a grid tree with more than one root, unknown parents, cycles or
// levels not below the parent's, unknown references, bad deadline hours, two rules for one
// (category, grid), users whose role lacks its grid or department.
OrgCheckResult CheckOrganisation(const Organisation& org, const OrgCheckOptions& options = {});

// CheckOrganisation as INVALID_ARGUMENT with a field violation per problem, e.g.
// "grids[3].parent_code".
absl::Status ValidateOrganisation(const Organisation& org);

// Authentication: bearer tokens are stored as SHA-256 digests only.
std::string HashToken(absl::string_view token);
// Demo tokens (Caller.demo_token) are refused unless `demo_mode` (ServerConfig.demo).
absl::StatusOr<Caller> Authenticate(store::Store* store, absl::string_view token, bool demo_mode);

// ---- Writing a whole organisation (import) ----------------------------------------------------

struct ImportCounts {
  int64_t created = 0;
  int64_t updated = 0;
  int64_t unchanged = 0;
};

// Numbers equal gridline.v1.ImportProgress.Phase.
enum class ImportPhase : int { kReceiving = 1, kValidating = 2, kApplying = 3 };
using ImportProgressFn =
    std::function<void(ImportPhase phase, OrgKind kind, int64_t done, int64_t total)>;

// At most this many violations are reported by an import.
inline constexpr size_t kMaxImportViolations = 10000;

// What an import would do to the stored organisation.
struct ImportPlan {
  // The organisation version the plan was made against; applying it fails with ABORTED if the
  // organisation has changed since.
  int64_t version = 0;
  // Indexed by OrgKind (element 0 unused).
  std::array<ImportCounts, 6> counts{};
  // `index` is the entry's position within its kind in the import; -1 for a stored entry that
  // the import breaks (e.g. a child whose parent's level the import changes).
  std::vector<OrgViolation> violations;
  bool violations_truncated = false;
  // The created and updated entries, parents before children.
  Organisation upserts;
  // Users the import disables that are enabled now: their tokens are revoked on apply.
  std::vector<std::string> users_to_disable;
};

// Validates `incoming` merged onto the stored organisation (entries replace stored ones with the
// same code or id; nothing is deleted) and counts what would change. Only violations the import
// causes are reported: problems the stored organisation already had elsewhere are not its
// fault. Errors are the store's.
absl::StatusOr<ImportPlan> PlanImport(store::Store* store, const Organisation& incoming,
                                      const ImportProgressFn& progress = nullptr);

// Writes a plan that has no violations in one transaction. ABORTED when the organisation changed
// since the plan was made (nothing is written then).
absl::Status ApplyImport(store::Store* store, const ImportPlan& plan);

// Stores `org`'s demo tokens (hashed) and returns them as "user_id  role  scope  token" lines.
absl::StatusOr<std::vector<std::string>> StoreDemoTokens(store::Store* store,
                                                         const Organisation& org);

// The organisation file at start: the same plan-validate-apply path as an import (retried when a
// replica starting at the same time wins the race). In demo mode it also stores the demo tokens
// and returns the lines to print. INVALID_ARGUMENT with "grids[3].parent_code"-style field
// violations when the file would make the organisation invalid.
absl::StatusOr<std::vector<std::string>> LoadOrganisation(store::Store* store,
                                                          const Organisation& org, bool demo);

}  // namespace gridline::domain

#endif  // GRIDLINE_SERVER_DOMAIN_ORGANISATION_H_
