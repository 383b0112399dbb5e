// Which grid subtree a caller may read: the one rule behind the case lists and the figures.
#ifndef GRIDLINE_SERVER_SERVICE_SCOPE_H_
#define GRIDLINE_SERVER_SERVICE_SCOPE_H_

#include <string>

#include "absl/status/statusor.h"
#include "server/domain/errors.h"
#include "server/domain/types.h"
#include "server/store/store.h"

namespace gridline::service {

// The grid subtree a list covers: `scope`, the caller's own grid (empty: the whole platform),
// narrowed to `grid_code` when one is given. A `grid_code` that is unknown or outside `scope` is
// a violation of "grid_code" added to `v`.
absl::StatusOr<std::string> ListSubtree(store::OrganisationStore* store, domain::FieldViolations& v,
                                        const std::string& scope, const std::string& grid_code);

// The grid subtree whose figures (GetStatistics, ListEvaluations) `caller` asks for with
// `grid_code`: an operator's is `grid_code` as given (empty: the whole platform); a
// supervisor's is their own grid, or `grid_code` inside it (INVALID_ARGUMENT of "grid_code"
// otherwise). Any other role: PERMISSION_DENIED.
absl::StatusOr<std::string> FiguresSubtree(store::OrganisationStore* store,
                                           const domain::Caller& caller,
                                           const std::string& grid_code);

}  // namespace gridline::service

#endif  // GRIDLINE_SERVER_SERVICE_SCOPE_H_
