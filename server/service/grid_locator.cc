#include "server/service/grid_locator.h"

#include <utility>

namespace gridline::service {

absl::StatusOr<std::shared_ptr<const domain::GridLocator>> GridLocatorCache::Current() {
  // The version before the grids: if the organisation changes between the two reads, the
  // locator is filed under the older version and the next call builds it again.
  auto version = org_->OrganisationVersion();
  if (!version.ok()) return version.status();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (locator_ && version_ == *version) return locator_;
  }
  auto grids = org_->ListGrids();
  if (!grids.ok()) return grids.status();
  // Built outside the lock: reports that find the current locator do not wait for it.
  auto built = std::make_shared<const domain::GridLocator>(*grids);
  std::lock_guard<std::mutex> lock(mu_);
  if (!locator_ || *version >= version_) {
    version_ = *version;
    locator_ = built;
  }
  return built;
}

}  // namespace gridline::service
