// Routing over the store: loads what domain/routing.h decides on.
#ifndef GRIDLINE_SERVER_SERVICE_ROUTING_H_
#define GRIDLINE_SERVER_SERVICE_ROUTING_H_

#include <string>

#include "absl/status/statusor.h"
#include "server/domain/routing.h"
#include "server/domain/types.h"
#include "server/store/store.h"

namespace gridline::service {

// The route of a case of `category_code` in `grid`: by rule, else to the street office.
absl::StatusOr<domain::RouteDecision> ResolveRoute(store::OrganisationStore* store,
                                                   const std::string& category_code,
                                                   const domain::Grid& grid);

}  // namespace gridline::service

#endif  // GRIDLINE_SERVER_SERVICE_ROUTING_H_
