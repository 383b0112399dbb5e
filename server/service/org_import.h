// The organisation over the store: authenticating tokens, and importing a whole organisation
// (plan, validate, apply), as AdminService.ImportOrganisation and the server start use it.
#ifndef GRIDLINE_SERVER_SERVICE_ORG_IMPORT_H_
#define GRIDLINE_SERVER_SERVICE_ORG_IMPORT_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/domain/organisation.h"
#include "server/domain/types.h"
#include "server/store/store.h"

namespace gridline::service {

// Demo tokens (Caller.demo_token) are refused unless `demo_mode` (ServerConfig.demo).
absl::StatusOr<domain::Caller> Authenticate(store::TokenStore* store, absl::string_view token,
                                            bool demo_mode, domain::Micros now);
// Authenticate's judgement of what the store found for a token (nullopt: nothing).
absl::StatusOr<domain::Caller> AcceptFound(std::optional<domain::Caller> found, bool demo_mode);

// ---- Writing a whole organisation (import) ----------------------------------------------------

struct ImportCounts {
  int64_t created = 0;
  int64_t updated = 0;
  int64_t unchanged = 0;
};

// Numbers equal gridline.v1.ImportProgress.Phase.
enum class ImportPhase : int { kReceiving = 1, kValidating = 2, kApplying = 3 };
using ImportProgressFn =
    std::function<void(ImportPhase phase, domain::OrgKind kind, int64_t done, int64_t total)>;

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
  std::vector<domain::OrgViolation> violations;
  bool violations_truncated = false;
  // The created and updated entries, parents before children.
  domain::Organisation upserts;
  // Users the import disables that are enabled now: their tokens are revoked on apply.
  std::vector<std::string> users_to_disable;
};

// Validates `incoming` merged onto the stored organisation (entries replace stored ones with the
// same code or id; nothing is deleted) and counts what would change. Only violations the import
// causes are reported: problems the stored organisation already had elsewhere are not its
// fault. Errors are the store's.
absl::StatusOr<ImportPlan> PlanImport(store::OrganisationStore* store,
                                      const domain::Organisation& incoming,
                                      const ImportProgressFn& progress = nullptr);

// Writes a plan that has no violations in one transaction. ABORTED when the organisation changed
// since the plan was made (nothing is written then).
absl::Status ApplyImport(store::OrganisationStore* org, store::TokenStore* tokens,
                         const ImportPlan& plan, domain::Micros now);

// Stores `org`'s demo tokens (hashed) and returns them as "user_id  role  scope  token" lines.
absl::StatusOr<std::vector<std::string>> StoreDemoTokens(store::TokenStore* store,
                                                         const domain::Organisation& org);

// The organisation file at start: the same plan-validate-apply path as an import (retried when a
// replica starting at the same time wins the race). In demo mode it also stores the demo tokens
// and returns the lines to print. INVALID_ARGUMENT with "grids[3].parent_code"-style field
// violations when the file would make the organisation invalid.
absl::StatusOr<std::vector<std::string>> LoadOrganisation(store::OrganisationStore* store,
                                                          store::TokenStore* tokens,
                                                          const domain::Organisation& org,
                                                          bool demo, domain::Micros now);

}  // namespace gridline::service

#endif  // GRIDLINE_SERVER_SERVICE_ORG_IMPORT_H_
