#include "server/api/patrol_service.h"

#include "absl/strings/str_cat.h"
#include "server/api/convert.h"
#include "server/api/patrol_convert.h"
#include "server/api/pool_reactor.h"
#include "server/domain/errors.h"
#include "server/service/patrols.h"

namespace gridline::api {
namespace {

void ToProto(const domain::TrackPoint& in, v1::TrackPoint* out) {
  SetTimestamp(in.time, out->mutable_time());
  out->mutable_position()->set_latitude(in.latitude);
  out->mutable_position()->set_longitude(in.longitude);
}

void ToProto(const domain::Patrol& in, v1::Patrol* out) {
  out->set_patrol_id(in.patrol_id);
  out->set_user_id(in.user_id);
  out->set_role(static_cast<v1::Role>(in.role));
  out->set_department_code(in.department_code);
  out->set_grid_code(in.grid_code);
  out->set_state(static_cast<v1::PatrolState>(in.state));
  SetTimestamp(in.start_time, out->mutable_start_time());
  if (in.end_time != 0) SetTimestamp(in.end_time, out->mutable_end_time());
  out->set_point_count(in.point_count);
  out->set_length_metres(in.length_metres);
  if (in.last_point) ToProto(*in.last_point, out->mutable_last_point());
  out->set_visit_count(in.visit_count);
  out->set_report_count(in.report_count);
  out->set_version(in.version);
  SetTimestamp(in.update_time, out->mutable_update_time());
}

void ToProto(const domain::Visit& in, v1::Visit* out) {
  out->set_visit_id(in.visit_id);
  out->set_patrol_id(in.patrol_id);
  out->set_user_id(in.user_id);
  out->set_grid_code(in.grid_code);
  out->set_kind(static_cast<v1::VisitKind>(in.kind));
  out->set_subject(in.subject);
  out->set_note(in.note);
  if (in.has_position) {
    out->mutable_position()->set_latitude(in.latitude);
    out->mutable_position()->set_longitude(in.longitude);
  }
  SetTimestamp(in.visit_time, out->mutable_visit_time());
  for (const auto& id : in.attachment_ids) out->add_attachment_ids(id);
}

void ToProto(const domain::PatrolFigures& in, v1::PatrolStatistics::Row* out) {
  out->set_grid_code(in.grid_code);
  out->set_user_id(in.user_id);
  out->set_patrol_count(in.patrol_count);
  out->set_hours(static_cast<double>(in.duration) / 3.6e9);
  out->set_kilometres(in.length_metres / 1000);
  out->set_patrol_days(in.patrol_days);
  out->set_visit_count(in.visit_count);
  out->set_report_count(in.report_count);
}

template <typename T, typename P>
absl::Status Reply(const absl::StatusOr<T>& result, P* response) {
  if (!result.ok()) return result.status();
  ToProto(*result, response);
  return absl::OkStatus();
}

}  // namespace

grpc::ServerUnaryReactor* PatrolServiceImpl::StartPatrol(grpc::CallbackServerContext* context,
                                                         const v1::StartPatrolRequest* request,
                                                         v1::Patrol* response) {
  return RunUnary(context, deps_, "StartPatrol",
                  [this, request, response](const service::RequestContext& rc) {
                    service::StartPatrolInput in;
                    in.patrol_id = request->patrol_id();
                    in.grid_code = request->grid_code();
                    if (auto s = ReadTime(request->has_start_time(), request->start_time(),
                                          "start_time", &in.start_time);
                        !s.ok()) {
                      return s;
                    }
                    return Reply(deps_.patrols->StartPatrol(rc, in), response);
                  });
}

grpc::ServerUnaryReactor* PatrolServiceImpl::AppendTrack(grpc::CallbackServerContext* context,
                                                         const v1::AppendTrackRequest* request,
                                                         v1::Patrol* response) {
  return RunUnary(context, deps_, "AppendTrack",
                  [this, request, response](const service::RequestContext& rc) {
                    auto in = FromProto(*request);
                    if (!in.ok()) return in.status();
                    return Reply(deps_.patrols->AppendTrack(rc, *in), response);
                  });
}

grpc::ServerUnaryReactor* PatrolServiceImpl::RecordVisit(grpc::CallbackServerContext* context,
                                                         const v1::RecordVisitRequest* request,
                                                         v1::Visit* response) {
  return RunUnary(context, deps_, "RecordVisit",
                  [this, request, response](const service::RequestContext& rc) {
                    auto in = FromProto(*request);
                    if (!in.ok()) return in.status();
                    return Reply(deps_.patrols->RecordVisit(rc, *in), response);
                  });
}

grpc::ServerUnaryReactor* PatrolServiceImpl::EndPatrol(grpc::CallbackServerContext* context,
                                                       const v1::EndPatrolRequest* request,
                                                       v1::Patrol* response) {
  return RunUnary(
      context, deps_, "EndPatrol", [this, request, response](const service::RequestContext& rc) {
        service::EndPatrolInput in;
        in.patrol_id = request->patrol_id();
        in.expected_version = request->expected_version();
        if (auto s =
                ReadTime(request->has_end_time(), request->end_time(), "end_time", &in.end_time);
            !s.ok()) {
          return s;
        }
        return Reply(deps_.patrols->EndPatrol(rc, in), response);
      });
}

grpc::ServerUnaryReactor* PatrolServiceImpl::GetPatrol(grpc::CallbackServerContext* context,
                                                       const v1::GetPatrolRequest* request,
                                                       v1::Patrol* response) {
  return RunUnary(context, deps_, "GetPatrol",
                  [this, request, response](const service::RequestContext& rc) {
                    return Reply(deps_.patrols->GetPatrol(rc, request->patrol_id()), response);
                  });
}

grpc::ServerUnaryReactor* PatrolServiceImpl::ListPatrols(grpc::CallbackServerContext* context,
                                                         const v1::ListPatrolsRequest* request,
                                                         v1::ListPatrolsResponse* response) {
  return RunUnary(
      context, deps_, "ListPatrols", [this, request, response](const service::RequestContext& rc) {
        service::PatrolListFilter filter;
        filter.grid_code = request->grid_code();
        filter.user_id = request->user_id();
        for (int s : request->states())
          filter.states.push_back(static_cast<domain::PatrolState>(s));
        if (auto s = ReadTime(request->has_start_time(), request->start_time(), "start_time",
                              &filter.start_from);
            !s.ok()) {
          return s;
        }
        if (auto s = ReadTime(request->has_end_time(), request->end_time(), "end_time",
                              &filter.start_to);
            !s.ok()) {
          return s;
        }
        auto page =
            deps_.patrols->ListPatrols(rc, filter, {request->page_size(), request->page_token()});
        if (!page.ok()) return page.status();
        for (const auto& p : page->items) ToProto(p, response->add_patrols());
        response->set_next_page_token(page->next_page_token);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* PatrolServiceImpl::ListTrackPoints(
    grpc::CallbackServerContext* context, const v1::ListTrackPointsRequest* request,
    v1::ListTrackPointsResponse* response) {
  return RunUnary(context, deps_, "ListTrackPoints",
                  [this, request, response](const service::RequestContext& rc) {
                    auto page = deps_.patrols->ListTrackPoints(
                        rc, request->patrol_id(), {request->page_size(), request->page_token()});
                    if (!page.ok()) return page.status();
                    for (const auto& p : page->items) ToProto(p, response->add_points());
                    response->set_next_page_token(page->next_page_token);
                    return absl::OkStatus();
                  });
}

grpc::ServerUnaryReactor* PatrolServiceImpl::ListVisits(grpc::CallbackServerContext* context,
                                                        const v1::ListVisitsRequest* request,
                                                        v1::ListVisitsResponse* response) {
  return RunUnary(context, deps_, "ListVisits",
                  [this, request, response](const service::RequestContext& rc) {
                    auto page = deps_.patrols->ListVisits(
                        rc, request->patrol_id(), {request->page_size(), request->page_token()});
                    if (!page.ok()) return page.status();
                    for (const auto& v : page->items) ToProto(v, response->add_visits());
                    response->set_next_page_token(page->next_page_token);
                    return absl::OkStatus();
                  });
}

grpc::ServerUnaryReactor* PatrolServiceImpl::GetPatrolStatistics(
    grpc::CallbackServerContext* context, const v1::GetPatrolStatisticsRequest* request,
    v1::PatrolStatistics* response) {
  return RunUnary(context, deps_, "GetPatrolStatistics",
                  [this, request, response](const service::RequestContext& rc) {
                    domain::Micros start = 0;
                    domain::Micros end = 0;
                    if (auto s = ReadTimeRange(*request, &start, &end); !s.ok()) return s;
                    auto stats = deps_.patrols->Statistics(rc, request->grid_code(), start, end);
                    if (!stats.ok()) return stats.status();
                    response->set_grid_code(stats->grid_code);
                    SetTimestamp(stats->start_time, response->mutable_start_time());
                    SetTimestamp(stats->end_time, response->mutable_end_time());
                    for (const auto& r : stats->rows) ToProto(r, response->add_rows());
                    ToProto(stats->total, response->mutable_total());
                    return absl::OkStatus();
                  });
}

}  // namespace gridline::api
