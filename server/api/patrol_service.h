// gridline.v1.PatrolService: translates patrol requests into service::PatrolService calls that
// run on the worker pool.
#ifndef GRIDLINE_SERVER_API_PATROL_SERVICE_H_
#define GRIDLINE_SERVER_API_PATROL_SERVICE_H_

#include "gridline/v1/patrol_service.grpc.pb.h"
#include "server/api/context.h"

namespace gridline::api {

class PatrolServiceImpl final : public v1::PatrolService::CallbackService {
 public:
  explicit PatrolServiceImpl(ServiceContext deps) : deps_(deps) {}

  grpc::ServerUnaryReactor* StartPatrol(grpc::CallbackServerContext* context,
                                        const v1::StartPatrolRequest* request,
                                        v1::Patrol* response) override;
  grpc::ServerUnaryReactor* AppendTrack(grpc::CallbackServerContext* context,
                                        const v1::AppendTrackRequest* request,
                                        v1::Patrol* response) override;
  grpc::ServerUnaryReactor* RecordVisit(grpc::CallbackServerContext* context,
                                        const v1::RecordVisitRequest* request,
                                        v1::Visit* response) override;
  grpc::ServerUnaryReactor* EndPatrol(grpc::CallbackServerContext* context,
                                      const v1::EndPatrolRequest* request,
                                      v1::Patrol* response) override;
  grpc::ServerUnaryReactor* GetPatrol(grpc::CallbackServerContext* context,
                                      const v1::GetPatrolRequest* request,
                                      v1::Patrol* response) override;
  grpc::ServerUnaryReactor* ListPatrols(grpc::CallbackServerContext* context,
                                        const v1::ListPatrolsRequest* request,
                                        v1::ListPatrolsResponse* response) override;
  grpc::ServerUnaryReactor* ListTrackPoints(grpc::CallbackServerContext* context,
                                            const v1::ListTrackPointsRequest* request,
                                            v1::ListTrackPointsResponse* response) override;
  grpc::ServerUnaryReactor* ListVisits(grpc::CallbackServerContext* context,
                                       const v1::ListVisitsRequest* request,
                                       v1::ListVisitsResponse* response) override;
  grpc::ServerUnaryReactor* GetPatrolStatistics(grpc::CallbackServerContext* context,
                                                const v1::GetPatrolStatisticsRequest* request,
                                                v1::PatrolStatistics* response) override;

 private:
  ServiceContext deps_;
};

}  // namespace gridline::api

#endif  // GRIDLINE_SERVER_API_PATROL_SERVICE_H_
