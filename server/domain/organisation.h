// The organisation model's rules: a well-formed grid tree, unique codes, and rules and users
// that name existing things. Used by the demo loader now and by AdminService later.
#ifndef GRIDLINE_SERVER_DOMAIN_ORGANISATION_H_
#define GRIDLINE_SERVER_DOMAIN_ORGANISATION_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/domain/types.h"
#include "server/store/store.h"

namespace gridline::domain {

// INVALID_ARGUMENT with a field violation per problem, e.g. "grids[3].parent_code".
// Checks the organisation on its own (everything it names must be in it).
absl::Status ValidateOrganisation(const Organisation& org);

// Authentication: bearer tokens are stored as SHA-256 digests only.
std::string HashToken(absl::string_view token);
absl::StatusOr<Caller> Authenticate(store::Store* store, absl::string_view token);

// Validates and applies `org`; in demo mode also stores its demo tokens (hashed) and returns
// them as "user_id role grid token" lines to print.
absl::StatusOr<std::vector<std::string>> LoadOrganisation(store::Store* store,
                                                          const Organisation& org, bool demo);

}  // namespace gridline::domain

#endif  // GRIDLINE_SERVER_DOMAIN_ORGANISATION_H_
