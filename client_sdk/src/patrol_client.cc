#include "gridline/client/patrol_client.h"

#include "gridline/client/report_client.h"

namespace gridline::client {

StatusOr<v1::Patrol> PatrolClient::StartPatrol(v1::StartPatrolRequest request) {
  if (request.patrol_id().empty()) request.set_patrol_id(NewRequestId());
  return connection_->StartPatrol(request);
}

StatusOr<v1::Patrol> PatrolClient::StartPatrol(const std::string& grid_code) {
  v1::StartPatrolRequest request;
  request.set_grid_code(grid_code);
  return StartPatrol(std::move(request));
}

StatusOr<v1::Patrol> PatrolClient::AppendTrack(v1::AppendTrackRequest request) {
  if (request.batch_id().empty()) request.set_batch_id(NewRequestId());
  return connection_->AppendTrack(request);
}

StatusOr<v1::Patrol> PatrolClient::AppendTrack(const std::string& patrol_id,
                                               const std::vector<v1::TrackPoint>& points) {
  v1::AppendTrackRequest request;
  request.set_patrol_id(patrol_id);
  for (const auto& p : points) *request.add_points() = p;
  return AppendTrack(std::move(request));
}

StatusOr<v1::Visit> PatrolClient::RecordVisit(v1::RecordVisitRequest request) {
  if (request.visit_id().empty()) request.set_visit_id(NewRequestId());
  return connection_->RecordVisit(request);
}

StatusOr<v1::Patrol> PatrolClient::EndPatrol(const v1::EndPatrolRequest& request) {
  return connection_->EndPatrol(request);
}

StatusOr<v1::Patrol> PatrolClient::EndPatrol(const std::string& patrol_id) {
  v1::EndPatrolRequest request;
  request.set_patrol_id(patrol_id);
  return EndPatrol(request);
}

StatusOr<v1::Patrol> PatrolClient::GetPatrol(const std::string& patrol_id) {
  v1::GetPatrolRequest request;
  request.set_patrol_id(patrol_id);
  return connection_->GetPatrol(request);
}

StatusOr<v1::ListPatrolsResponse> PatrolClient::ListPatrols(const v1::ListPatrolsRequest& request) {
  return connection_->ListPatrols(request);
}

StatusOr<std::vector<v1::TrackPoint>> PatrolClient::ListTrackPoints(const std::string& patrol_id) {
  std::vector<v1::TrackPoint> points;
  v1::ListTrackPointsRequest request;
  request.set_patrol_id(patrol_id);
  request.set_page_size(5000);
  for (;;) {
    auto page = connection_->ListTrackPoints(request);
    if (!page.ok()) return page.status();
    for (auto& p : *page->mutable_points()) points.push_back(std::move(p));
    if (page->next_page_token().empty()) return points;
    request.set_page_token(page->next_page_token());
  }
}

StatusOr<std::vector<v1::Visit>> PatrolClient::ListVisits(const std::string& patrol_id) {
  std::vector<v1::Visit> visits;
  v1::ListVisitsRequest request;
  request.set_patrol_id(patrol_id);
  request.set_page_size(500);
  for (;;) {
    auto page = connection_->ListVisits(request);
    if (!page.ok()) return page.status();
    for (auto& v : *page->mutable_visits()) visits.push_back(std::move(v));
    if (page->next_page_token().empty()) return visits;
    request.set_page_token(page->next_page_token());
  }
}

StatusOr<v1::PatrolStatistics> PatrolClient::GetPatrolStatistics(
    const v1::GetPatrolStatisticsRequest& request) {
  return connection_->GetPatrolStatistics(request);
}

}  // namespace gridline::client
