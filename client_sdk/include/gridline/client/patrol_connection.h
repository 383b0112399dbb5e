// The handset's connection to PatrolService (patrols, tracks, visits, patrol figures). Stable.
// See report_connection.h for how connections, clients and mocks relate.
#ifndef GRIDLINE_CLIENT_PATROL_CONNECTION_H_
#define GRIDLINE_CLIENT_PATROL_CONNECTION_H_

#include <memory>

#include "gridline/client/options.h"
#include "gridline/client/status.h"
#include "gridline/v1/patrol_service.pb.h"

namespace gridline::client {

namespace v1 = ::gridline::v1;

class PatrolConnection {
 public:
  virtual ~PatrolConnection() = default;
  virtual Options options() const { return {}; }

  virtual StatusOr<v1::Patrol> StartPatrol(const v1::StartPatrolRequest& request);
  virtual StatusOr<v1::Patrol> AppendTrack(const v1::AppendTrackRequest& request);
  virtual StatusOr<v1::Visit> RecordVisit(const v1::RecordVisitRequest& request);
  virtual StatusOr<v1::Patrol> EndPatrol(const v1::EndPatrolRequest& request);
  virtual StatusOr<v1::Patrol> GetPatrol(const v1::GetPatrolRequest& request);
  virtual StatusOr<v1::ListPatrolsResponse> ListPatrols(const v1::ListPatrolsRequest& request);
  virtual StatusOr<v1::ListTrackPointsResponse> ListTrackPoints(
      const v1::ListTrackPointsRequest& request);
  virtual StatusOr<v1::ListVisitsResponse> ListVisits(const v1::ListVisitsRequest& request);
  virtual StatusOr<v1::PatrolStatistics> GetPatrolStatistics(
      const v1::GetPatrolStatisticsRequest& request);
};

std::shared_ptr<PatrolConnection> MakePatrolConnection(Options options);

}  // namespace gridline::client

#endif  // GRIDLINE_CLIENT_PATROL_CONNECTION_H_
