#include "server/store/org_snapshot.h"

#include <utility>

namespace gridline::store {

void OrgSnapshots::Saw(int64_t version) {
  const domain::Micros now = clock_->NowMicros();
  std::lock_guard<std::mutex> lock(mu_);
  if (version >= seen_version_) {
    seen_version_ = version;
    seen_at_ = now;
  }
}

void OrgSnapshots::Changed() {
  std::lock_guard<std::mutex> lock(mu_);
  seen_version_ = -1;
}

absl::StatusOr<std::shared_ptr<const OrgSnapshot>> OrgSnapshots::Current(
    const VersionReader& read_version, const Loader& load) {
  {
    const domain::Micros now = clock_->NowMicros();
    std::lock_guard<std::mutex> lock(mu_);
    if (snapshot_ && seen_version_ == snapshot_->version && now >= seen_at_ &&
        now - seen_at_ <= fresh_for_) {
      return snapshot_;
    }
  }
  auto version = read_version();
  if (!version.ok()) return version.status();
  auto current = [&]() -> std::shared_ptr<const OrgSnapshot> {
    std::lock_guard<std::mutex> lock(mu_);
    // A snapshot newer than the version read is as good: the tables only move forward.
    if (snapshot_ && snapshot_->version >= *version) return snapshot_;
    return nullptr;
  };
  if (auto s = current()) return s;
  std::lock_guard<std::mutex> loading(load_mu_);
  if (auto s = current()) return s;  // loaded by the caller this one waited for
  auto built = load(*version);
  if (!built.ok()) return built.status();
  std::lock_guard<std::mutex> lock(mu_);
  if (!snapshot_ || (*built)->version >= snapshot_->version) snapshot_ = *built;
  return *std::move(built);
}

}  // namespace gridline::store
