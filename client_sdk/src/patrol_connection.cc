#include "gridline/client/patrol_connection.h"

#include "gridline/client/internal/grpc_stubs.h"
#include "unimplemented.h"

namespace gridline::client {

using internal::Unimplemented;

StatusOr<v1::Patrol> PatrolConnection::StartPatrol(const v1::StartPatrolRequest&) {
  return Unimplemented("StartPatrol");
}
StatusOr<v1::Patrol> PatrolConnection::AppendTrack(const v1::AppendTrackRequest&) {
  return Unimplemented("AppendTrack");
}
StatusOr<v1::Visit> PatrolConnection::RecordVisit(const v1::RecordVisitRequest&) {
  return Unimplemented("RecordVisit");
}
StatusOr<v1::Patrol> PatrolConnection::EndPatrol(const v1::EndPatrolRequest&) {
  return Unimplemented("EndPatrol");
}
StatusOr<v1::Patrol> PatrolConnection::GetPatrol(const v1::GetPatrolRequest&) {
  return Unimplemented("GetPatrol");
}
StatusOr<v1::ListPatrolsResponse> PatrolConnection::ListPatrols(const v1::ListPatrolsRequest&) {
  return Unimplemented("ListPatrols");
}
StatusOr<v1::ListTrackPointsResponse> PatrolConnection::ListTrackPoints(
    const v1::ListTrackPointsRequest&) {
  return Unimplemented("ListTrackPoints");
}
StatusOr<v1::ListVisitsResponse> PatrolConnection::ListVisits(const v1::ListVisitsRequest&) {
  return Unimplemented("ListVisits");
}
StatusOr<v1::PatrolStatistics> PatrolConnection::GetPatrolStatistics(
    const v1::GetPatrolStatisticsRequest&) {
  return Unimplemented("GetPatrolStatistics");
}

namespace {

using PatrolStub = v1::PatrolService::Stub;
// Every patrol write is idempotent on the id the handset chose: retried like a read.

class GrpcPatrolConnection final : public PatrolConnection {
 public:
  explicit GrpcPatrolConnection(std::shared_ptr<internal::GrpcStubs> stubs)
      : stubs_(std::move(stubs)) {}
  Options options() const override { return stubs_->options(); }

  StatusOr<v1::Patrol> StartPatrol(const v1::StartPatrolRequest& r) override {
    return stubs_->Unary(stubs_->patrol(), &PatrolStub::StartPatrol, r, internal::kIdempotent);
  }
  StatusOr<v1::Patrol> AppendTrack(const v1::AppendTrackRequest& r) override {
    return stubs_->Unary(stubs_->patrol(), &PatrolStub::AppendTrack, r, internal::kIdempotent);
  }
  StatusOr<v1::Visit> RecordVisit(const v1::RecordVisitRequest& r) override {
    return stubs_->Unary(stubs_->patrol(), &PatrolStub::RecordVisit, r, internal::kIdempotent);
  }
  StatusOr<v1::Patrol> EndPatrol(const v1::EndPatrolRequest& r) override {
    return stubs_->Unary(stubs_->patrol(), &PatrolStub::EndPatrol, r, internal::kIdempotent);
  }
  StatusOr<v1::Patrol> GetPatrol(const v1::GetPatrolRequest& r) override {
    return stubs_->Unary(stubs_->patrol(), &PatrolStub::GetPatrol, r, internal::kIdempotent);
  }
  StatusOr<v1::ListPatrolsResponse> ListPatrols(const v1::ListPatrolsRequest& r) override {
    return stubs_->Unary(stubs_->patrol(), &PatrolStub::ListPatrols, r, internal::kIdempotent);
  }
  StatusOr<v1::ListTrackPointsResponse> ListTrackPoints(
      const v1::ListTrackPointsRequest& r) override {
    return stubs_->Unary(stubs_->patrol(), &PatrolStub::ListTrackPoints, r, internal::kIdempotent);
  }
  StatusOr<v1::ListVisitsResponse> ListVisits(const v1::ListVisitsRequest& r) override {
    return stubs_->Unary(stubs_->patrol(), &PatrolStub::ListVisits, r, internal::kIdempotent);
  }
  StatusOr<v1::PatrolStatistics> GetPatrolStatistics(
      const v1::GetPatrolStatisticsRequest& r) override {
    return stubs_->Unary(stubs_->patrol(), &PatrolStub::GetPatrolStatistics, r,
                         internal::kIdempotent);
  }

 private:
  std::shared_ptr<internal::GrpcStubs> stubs_;
};

}  // namespace

std::shared_ptr<PatrolConnection> MakePatrolConnection(Options options) {
  return std::make_shared<GrpcPatrolConnection>(
      std::make_shared<internal::GrpcStubs>(std::move(options)));
}

}  // namespace gridline::client
