// Who may open which live stream, and which events each shows: the policy of
// ReportService.WatchCases, DispatchService.WatchQueue and DepartmentService.WatchAssignments,
// whatever transport carries them.
#ifndef GRIDLINE_SERVER_SERVICE_STREAMS_H_
#define GRIDLINE_SERVER_SERVICE_STREAMS_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/domain/types.h"
#include "server/store/store.h"

namespace gridline::service {

// Which events a stream's caller may see, and the interest keys (domain::EventInterestKeys) that
// cover them, so the hub wakes the stream only for events that may concern it.
struct StreamFilter {
  std::function<bool(const domain::CaseEvent&)> shows;
  std::vector<std::string> keys;
};

// A grid leader's stream: the cases they may see (reported by them or in their grid).
absl::StatusOr<StreamFilter> CaseStreamFor(const domain::Caller& caller);

// The acceptance center's stream, for a dispatcher: queue, extension and warning events in their
// subtree, or in `grid_code` when it is inside it (INVALID_ARGUMENT otherwise).
absl::StatusOr<StreamFilter> QueueStreamFor(store::OrganisationStore* org,
                                            const domain::Caller& caller,
                                            const std::string& grid_code);

// A department's stream, for its staff: every event of the cases it leads (and, with
// `include_assisting`, assists).
absl::StatusOr<StreamFilter> AssignmentStreamFor(const domain::Caller& caller,
                                                 bool include_assisting);

}  // namespace gridline::service

#endif  // GRIDLINE_SERVER_SERVICE_STREAMS_H_
