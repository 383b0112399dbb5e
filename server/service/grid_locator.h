// The unit grid a report's coordinates lie in: a domain::GridLocator over the stored grids,
// built again when the organisation's version changes (on this replica or another).
#ifndef GRIDLINE_SERVER_SERVICE_GRID_LOCATOR_H_
#define GRIDLINE_SERVER_SERVICE_GRID_LOCATOR_H_

#include <cstdint>
#include <memory>
#include <mutex>

#include "absl/status/statusor.h"
#include "server/domain/grid_geometry.h"
#include "server/store/store.h"

namespace gridline::service {

class GridLocatorCache {
 public:
  explicit GridLocatorCache(store::OrganisationStore* org) : org_(org) {}

  // The locator of the current organisation: one version read per call; the grids are loaded
  // and indexed again only when the version has moved. Store errors are returned.
  absl::StatusOr<std::shared_ptr<const domain::GridLocator>> Current();

 private:
  store::OrganisationStore* org_;
  std::mutex mu_;
  int64_t version_ = -1;  // of `locator_`; -1: none yet
  std::shared_ptr<const domain::GridLocator> locator_;
};

}  // namespace gridline::service

#endif  // GRIDLINE_SERVER_SERVICE_GRID_LOCATOR_H_
