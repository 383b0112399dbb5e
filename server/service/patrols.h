// Patrols (巡查) and visits (走访): who may patrol where, who sees which patrols, idempotent and
// version-checked writes, and the patrol figures. Over the PatrolStore; knows neither gRPC nor
// SQL, and takes the time from each call's RequestContext.
#ifndef GRIDLINE_SERVER_SERVICE_PATROLS_H_
#define GRIDLINE_SERVER_SERVICE_PATROLS_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/domain/patrol.h"
#include "server/service/case_service.h"
#include "server/service/request_context.h"
#include "server/store/store.h"

namespace gridline::service {

struct StartPatrolInput {
  std::string patrol_id;
  std::string grid_code;
  domain::Micros start_time = 0;  // 0: now
};

struct TrackBatchInput {
  std::string patrol_id;
  std::string batch_id;
  std::vector<domain::TrackPoint> points;
  int64_t expected_version = 0;  // 0: no check
};

struct VisitInput {
  // visit_id, patrol_id, kind, subject, note, position, visit_time (0: now), attachment_ids.
  domain::Visit visit;
  int64_t expected_version = 0;
};

struct EndPatrolInput {
  std::string patrol_id;
  domain::Micros end_time = 0;  // 0: now
  int64_t expected_version = 0;
};

struct PatrolListFilter {
  std::string grid_code;
  std::string user_id;
  std::vector<domain::PatrolState> states;
  domain::Micros start_from = 0;
  domain::Micros start_to = 0;
};

struct PatrolStatistics {
  std::string grid_code;
  domain::Micros start_time = 0;
  domain::Micros end_time = 0;
  std::vector<domain::PatrolFigures> rows;
  domain::PatrolFigures total;  // patrol_days: distinct (person, day) pairs
};

class PatrolService {
 public:
  // Not owned.
  PatrolService(store::PatrolStore* patrols, store::OrganisationStore* org,
                store::AttachmentStore* attachments)
      : patrols_(patrols), org_(org), attachments_(attachments) {}

  absl::StatusOr<domain::Patrol> StartPatrol(const RequestContext& rc, const StartPatrolInput& in);
  absl::StatusOr<domain::Patrol> AppendTrack(const RequestContext& rc, const TrackBatchInput& in);
  absl::StatusOr<domain::Visit> RecordVisit(const RequestContext& rc, const VisitInput& in);
  absl::StatusOr<domain::Patrol> EndPatrol(const RequestContext& rc, const EndPatrolInput& in);

  absl::StatusOr<domain::Patrol> GetPatrol(const RequestContext& rc, const std::string& patrol_id);
  absl::StatusOr<Page<domain::Patrol>> ListPatrols(const RequestContext& rc,
                                                   const PatrolListFilter& filter,
                                                   const PageRequest& page);
  absl::StatusOr<Page<domain::TrackPoint>> ListTrackPoints(const RequestContext& rc,
                                                           const std::string& patrol_id,
                                                           const PageRequest& page);
  absl::StatusOr<Page<domain::Visit>> ListVisits(const RequestContext& rc,
                                                 const std::string& patrol_id,
                                                 const PageRequest& page);
  // `end` 0: now. Every role, in its scope (see patrol_service.proto).
  absl::StatusOr<PatrolStatistics> Statistics(const RequestContext& rc,
                                              const std::string& grid_code, domain::Micros start,
                                              domain::Micros end);

 private:
  // The caller's own patrol (NOT_FOUND otherwise: another's patrol does not exist for them).
  absl::StatusOr<domain::Patrol> LoadOwn(const RequestContext& rc, const std::string& patrol_id);
  // A patrol the caller may read (NOT_FOUND otherwise).
  absl::StatusOr<domain::Patrol> LoadVisible(const RequestContext& rc,
                                             const std::string& patrol_id);
  // The patrols the caller may read, narrowed to `grid_code`'s subtree when given: into `q`.
  absl::Status ScopeQuery(const RequestContext& rc, const std::string& grid_code,
                          domain::FieldViolations& v, store::PatrolQuery& q);
  // Runs `attempt` (load, check, write) again when it lost a race on the version and the client
  // asked for no version check: ABORTED then means only "someone else wrote first".
  template <typename T>
  absl::StatusOr<T> WithRetry(int64_t expected_version,
                              const std::function<absl::StatusOr<T>()>& attempt);

  store::PatrolStore* patrols_;
  store::OrganisationStore* org_;
  store::AttachmentStore* attachments_;
};

}  // namespace gridline::service

#endif  // GRIDLINE_SERVER_SERVICE_PATROLS_H_
