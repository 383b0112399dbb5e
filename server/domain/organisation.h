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

// Equal for two violations that say the same thing (to tell new ones from those already there).
std::string ViolationSignature(const OrgViolation& v);

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
// (category, grid), users whose role lacks its grid or department, and grid boundaries that
// break the rules of grid_geometry.h (field "boundary_geojson").
OrgCheckResult CheckOrganisation(const Organisation& org, const OrgCheckOptions& options = {});

// CheckOrganisation as INVALID_ARGUMENT with a field violation per problem, e.g.
// "grids[3].parent_code".
absl::Status ValidateOrganisation(const Organisation& org);

// Authentication: bearer tokens are stored as SHA-256 digests only.
std::string HashToken(absl::string_view token);

}  // namespace gridline::domain

#endif  // GRIDLINE_SERVER_DOMAIN_ORGANISATION_H_
