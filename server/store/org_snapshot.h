// The organisation's grids and categories held in memory by a store (issue 16).
//
// Every report looks up its grid and its category. On MariaDB those were two of the three and a
// half statements a report cost, and a city's grids and categories change a few times a day.
// A snapshot is tagged with the organisation version read before its tables, and it is used
// only while that version is the newest this process has seen, and seen recently:
//  - the store reads the version along with every token lookup (the same SELECT), so a call
//    finds its grid and category as of its own authentication, whichever replica changed them;
//  - a change made through this store marks the version unknown, so the next lookup reads it;
//  - a lookup with no version seen for `fresh_for` reads the version first (one statement).
#ifndef GRIDLINE_SERVER_STORE_ORG_SNAPSHOT_H_
#define GRIDLINE_SERVER_STORE_ORG_SNAPSHOT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "server/domain/types.h"
#include "server/util/clock.h"

namespace gridline::store {

struct OrgSnapshot {
  int64_t version = -1;
  absl::flat_hash_map<std::string, domain::Grid> grids;
  absl::flat_hash_map<std::string, domain::Category> categories;
};

class OrgSnapshots {
 public:
  // Reads the organisation version (and reports it to Saw).
  using VersionReader = std::function<absl::StatusOr<int64_t>()>;
  // Reads the grids and categories, after the version `version` was read.
  using Loader = std::function<absl::StatusOr<std::shared_ptr<const OrgSnapshot>>(int64_t version)>;

  OrgSnapshots(domain::Micros fresh_for, const util::Clock* clock)
      : fresh_for_(fresh_for), clock_(clock) {}

  // A version read from the store by any statement. The newest one is kept, with when.
  void Saw(int64_t version);
  // This process changed the organisation (committed): the next lookup reads the version.
  void Changed();

  // The snapshot of the newest version seen, if seen within `fresh_for`; else the version is
  // read, and the tables too if it moved. One caller loads at a time; the others wait for it.
  absl::StatusOr<std::shared_ptr<const OrgSnapshot>> Current(const VersionReader& read_version,
                                                             const Loader& load);

 private:
  const domain::Micros fresh_for_;
  const util::Clock* const clock_;
  std::mutex load_mu_;  // one load at a time
  std::mutex mu_;       // the fields below
  std::shared_ptr<const OrgSnapshot> snapshot_;
  int64_t seen_version_ = -1;  // -1: unknown (never read, or changed here since)
  domain::Micros seen_at_ = 0;
};

}  // namespace gridline::store

#endif  // GRIDLINE_SERVER_STORE_ORG_SNAPSHOT_H_
