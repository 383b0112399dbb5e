// PatrolClient: a grid leader's or stationed staff member's patrols (巡查) and visits (走访), and
// everyone's patrol figures in their scope. Stable.
//
//   gc::PatrolClient patrols(gc::MakePatrolConnection(options));
//   auto patrol = patrols.StartPatrol("410184001001001");
//   patrols.AppendTrack(patrol->patrol_id(), points);
//   patrols.EndPatrol(patrol->patrol_id());
//
// Every write is idempotent on an id chosen once (filled with NewRequestId() when empty), so the
// SDK retries them safely. To stay exactly-once across app restarts, or to patrol without
// signal, queue them in an `Outbox` (outbox.h), which persists the ids first.
#ifndef GRIDLINE_CLIENT_PATROL_CLIENT_H_
#define GRIDLINE_CLIENT_PATROL_CLIENT_H_

#include <memory>
#include <string>
#include <vector>

#include "gridline/client/patrol_connection.h"
#include "gridline/client/status.h"

namespace gridline::client {

class PatrolClient {
 public:
  explicit PatrolClient(std::shared_ptr<PatrolConnection> connection)
      : connection_(std::move(connection)) {}

  // An empty patrol_id / batch_id / visit_id is filled with NewRequestId().
  StatusOr<v1::Patrol> StartPatrol(v1::StartPatrolRequest request);
  StatusOr<v1::Patrol> StartPatrol(const std::string& grid_code);
  StatusOr<v1::Patrol> AppendTrack(v1::AppendTrackRequest request);
  StatusOr<v1::Patrol> AppendTrack(const std::string& patrol_id,
                                   const std::vector<v1::TrackPoint>& points);
  StatusOr<v1::Visit> RecordVisit(v1::RecordVisitRequest request);
  StatusOr<v1::Patrol> EndPatrol(const v1::EndPatrolRequest& request);
  StatusOr<v1::Patrol> EndPatrol(const std::string& patrol_id);

  StatusOr<v1::Patrol> GetPatrol(const std::string& patrol_id);
  StatusOr<v1::ListPatrolsResponse> ListPatrols(const v1::ListPatrolsRequest& request);
  // Every page of a patrol's track, oldest point first.
  StatusOr<std::vector<v1::TrackPoint>> ListTrackPoints(const std::string& patrol_id);
  // Every page of a patrol's visits, oldest first.
  StatusOr<std::vector<v1::Visit>> ListVisits(const std::string& patrol_id);
  StatusOr<v1::PatrolStatistics> GetPatrolStatistics(const v1::GetPatrolStatisticsRequest& request);

  std::shared_ptr<PatrolConnection> connection() const { return connection_; }

 private:
  std::shared_ptr<PatrolConnection> connection_;
};

}  // namespace gridline::client

#endif  // GRIDLINE_CLIENT_PATROL_CLIENT_H_
