// gMock PatrolConnection. Stable. See mock_report_connection.h.
#ifndef GRIDLINE_CLIENT_MOCKS_MOCK_PATROL_CONNECTION_H_
#define GRIDLINE_CLIENT_MOCKS_MOCK_PATROL_CONNECTION_H_

#include <gmock/gmock.h>

#include "gridline/client/patrol_connection.h"

namespace gridline::client {

class MockPatrolConnection : public PatrolConnection {
 public:
  MOCK_METHOD(Options, options, (), (const, override));
  MOCK_METHOD(StatusOr<v1::Patrol>, StartPatrol, (const v1::StartPatrolRequest& request),
              (override));
  MOCK_METHOD(StatusOr<v1::Patrol>, AppendTrack, (const v1::AppendTrackRequest& request),
              (override));
  MOCK_METHOD(StatusOr<v1::Visit>, RecordVisit, (const v1::RecordVisitRequest& request),
              (override));
  MOCK_METHOD(StatusOr<v1::Patrol>, EndPatrol, (const v1::EndPatrolRequest& request), (override));
  MOCK_METHOD(StatusOr<v1::Patrol>, GetPatrol, (const v1::GetPatrolRequest& request), (override));
  MOCK_METHOD(StatusOr<v1::ListPatrolsResponse>, ListPatrols,
              (const v1::ListPatrolsRequest& request), (override));
  MOCK_METHOD(StatusOr<v1::ListTrackPointsResponse>, ListTrackPoints,
              (const v1::ListTrackPointsRequest& request), (override));
  MOCK_METHOD(StatusOr<v1::ListVisitsResponse>, ListVisits, (const v1::ListVisitsRequest& request),
              (override));
  MOCK_METHOD(StatusOr<v1::PatrolStatistics>, GetPatrolStatistics,
              (const v1::GetPatrolStatisticsRequest& request), (override));
};

}  // namespace gridline::client

#endif  // GRIDLINE_CLIENT_MOCKS_MOCK_PATROL_CONNECTION_H_
