#include "server/service/patrols.h"

#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/domain/report_checks.h"
#include "server/service/domain_names.h"
#include "server/service/paging.h"
#include "server/service/scope.h"
#include "server/util/sha256.h"

namespace gridline::service {
namespace {

using domain::Patrol;
using domain::PatrolState;
using domain::TrackPoint;
using domain::Visit;

constexpr int kPatrolAttempts = 4;

absl::Status NotFound() { return absl::NotFoundError("patrol not found"); }

// What identifies a track batch's content, so a reused batch id with other points is caught.
std::string BatchDigest(const std::vector<TrackPoint>& points) {
  std::string text;
  for (const TrackPoint& p : points) {
    absl::StrAppend(&text, p.time, ",", p.latitude, ",", p.longitude, ";");
  }
  return util::Sha256Hex(text);
}

// The same for a visit. An unset visit time is left out: a retry made later must still match.
std::string VisitDigest(const Visit& v, Micros requested_time) {
  return util::Sha256Hex(
      absl::StrCat(v.patrol_id, "\x1f", static_cast<int>(v.kind), "\x1f", v.subject, "\x1f", v.note,
                   "\x1f", v.has_position ? absl::StrCat(v.latitude, ",", v.longitude) : "", "\x1f",
                   requested_time, "\x1f", absl::StrJoin(v.attachment_ids, ",")));
}

absl::Status Clash(const std::string& field, const std::string& what) {
  FieldViolations v;
  v.Add(field, absl::StrCat("was used before for ", what,
                            " with other content: choose a new id for new content"));
  return v.ToStatusWithCode(absl::StatusCode::kAlreadyExists, "id already used");
}

}  // namespace

template <typename T>
absl::StatusOr<T> PatrolService::WithRetry(int64_t expected_version,
                                           const std::function<absl::StatusOr<T>()>& attempt) {
  for (int i = 1;; ++i) {
    absl::StatusOr<T> result = attempt();
    if (result.ok() || !absl::IsAborted(result.status()) || expected_version != 0 ||
        i == kPatrolAttempts) {
      return result;
    }
  }
}

absl::StatusOr<Patrol> PatrolService::LoadOwn(const RequestContext& rc,
                                              const std::string& patrol_id) {
  if (patrol_id.empty()) return InvalidField("patrol_id", "is required");
  auto p = patrols_->GetPatrol(patrol_id);
  if (!p.ok()) return p.status();
  if (!p->has_value() || (*p)->user_id != rc.caller.user.user_id) return NotFound();
  return **p;
}

absl::StatusOr<Patrol> PatrolService::LoadVisible(const RequestContext& rc,
                                                  const std::string& patrol_id) {
  if (patrol_id.empty()) return InvalidField("patrol_id", "is required");
  auto p = patrols_->GetPatrol(patrol_id);
  if (!p.ok()) return p.status();
  if (!p->has_value() || !domain::CanSeePatrol(rc.caller.user, **p)) return NotFound();
  return **p;
}

absl::StatusOr<Patrol> PatrolService::StartPatrol(const RequestContext& rc,
                                                  const StartPatrolInput& in) {
  const domain::User& user = rc.caller.user;
  if (!domain::MayPatrol(user)) {
    return absl::PermissionDeniedError(
        "patrols are made by grid leaders and by department staff stationed in a grid");
  }
  FieldViolations v;
  CheckClientId(v, "patrol_id", in.patrol_id,
                "is required: generate one per patrol and reuse it on retries");
  if (in.start_time != 0 && (in.start_time > rc.now + domain::kMaxClientClockSkewMicros ||
                             in.start_time < domain::kEarliestClientTimeMicros)) {
    v.Add("start_time", "must not be in the future or before 2000");
  }
  // A patrol id in use answers first: a retry gets the patrol, other content a clash.
  auto same = [&](const Patrol& s) {
    return s.user_id == user.user_id && s.grid_code == in.grid_code &&
           (in.start_time == 0 || s.start_time == in.start_time);
  };
  if (v.empty()) {
    auto existing = patrols_->GetPatrol(in.patrol_id);
    if (!existing.ok()) return existing.status();
    if (existing->has_value()) {
      if (!same(**existing)) return Clash("patrol_id", "another patrol");
      return **existing;
    }
  }
  std::optional<Grid> grid;
  if (in.grid_code.empty()) {
    v.Add("grid_code", "is required");
  } else {
    auto g = org_->FindGrid(in.grid_code);
    if (!g.ok()) return g.status();
    if (!g->has_value()) {
      v.Add("grid_code", "unknown grid " + in.grid_code);
    } else if (!domain::PathHasGrid((*g)->path, user.grid_code)) {
      v.Add("grid_code", absl::StrCat("grid ", in.grid_code, " is not in your grid ",
                                      user.grid_code, " or below it"));
    }
    grid = *std::move(g);
  }
  if (!v.empty()) return v.ToStatus("the patrol is invalid");

  Patrol p;
  p.patrol_id = in.patrol_id;
  p.user_id = user.user_id;
  p.role = user.role;
  if (user.role == Role::kDepartmentStaff) p.department_code = user.department_code;
  p.grid_code = grid->code;
  p.grid_path = grid->path;
  p.state = PatrolState::kActive;
  p.start_time = in.start_time != 0 ? in.start_time : rc.now;
  p.create_time = rc.now;
  p.update_time = rc.now;
  auto stored = patrols_->StartPatrol(p);
  if (!stored.ok()) return stored.status();
  if (!stored->created && !same(stored->stored)) return Clash("patrol_id", "another patrol");
  return stored->stored;
}

absl::StatusOr<Patrol> PatrolService::AppendTrack(const RequestContext& rc,
                                                  const TrackBatchInput& in) {
  FieldViolations ids;
  CheckClientId(ids, "batch_id", in.batch_id,
                "is required: generate one per batch and reuse it on retries");
  if (!ids.empty()) return ids.ToStatus("the track batch is invalid");
  const std::string digest = BatchDigest(in.points);
  return WithRetry<Patrol>(in.expected_version, [&]() -> absl::StatusOr<Patrol> {
    auto patrol = LoadOwn(rc, in.patrol_id);
    if (!patrol.ok()) return patrol.status();
    // A batch stored already is a retry: answer as the first call did.
    auto stored_digest = patrols_->FindTrackBatch(in.patrol_id, in.batch_id);
    if (!stored_digest.ok()) return stored_digest.status();
    if (stored_digest->has_value()) {
      if (**stored_digest != digest) return Clash("batch_id", "another batch of this patrol");
      return *patrol;
    }
    FieldViolations v;
    if (patrol->state == PatrolState::kEnded) {
      v.Add("patrol_id", "the patrol has ended: no more track points can be added");
    } else {
      domain::CheckTrackBatch(v, in.points, patrol->last_point, patrol->start_time, rc.now);
    }
    if (!v.empty()) return v.ToStatus("the track batch is invalid");
    if (in.expected_version != 0 && in.expected_version != patrol->version) {
      return absl::AbortedError(absl::StrCat("the patrol is at version ", patrol->version));
    }
    store::PatrolWrite w;
    w.patrol = *patrol;
    domain::ApplyTrackBatch(w.patrol, in.points);
    w.patrol.update_time = rc.now;
    w.expected_version = patrol->version;
    w.batch_id = in.batch_id;
    w.batch_digest = digest;
    w.points = in.points;
    auto result = patrols_->UpdatePatrol(w);
    if (!result.ok()) return result.status();
    if (!result->created && result->existing_digest != digest) {
      return Clash("batch_id", "another batch of this patrol");
    }
    return result->stored;
  });
}

absl::StatusOr<Visit> PatrolService::RecordVisit(const RequestContext& rc, const VisitInput& in) {
  FieldViolations ids;
  CheckClientId(ids, "visit_id", in.visit.visit_id,
                "is required: generate one per visit and reuse it on retries");
  if (!ids.empty()) return ids.ToStatus("the visit is invalid");
  const std::string digest = VisitDigest(in.visit, in.visit.visit_time);
  return WithRetry<Visit>(in.expected_version, [&]() -> absl::StatusOr<Visit> {
    auto patrol = LoadOwn(rc, in.visit.patrol_id);
    if (!patrol.ok()) return patrol.status();
    auto existing = patrols_->GetVisit(in.visit.visit_id);
    if (!existing.ok()) return existing.status();
    if (existing->has_value()) {
      if ((*existing)->request_digest != digest || (*existing)->user_id != patrol->user_id) {
        return Clash("visit_id", "another visit");
      }
      return **existing;
    }
    Visit visit = in.visit;
    visit.user_id = patrol->user_id;
    visit.grid_code = patrol->grid_code;
    visit.grid_path = patrol->grid_path;
    if (visit.visit_time == 0) visit.visit_time = rc.now;
    visit.request_digest = digest;
    visit.create_time = rc.now;
    FieldViolations v;
    if (patrol->state == PatrolState::kEnded) {
      v.Add("patrol_id", "the patrol has ended: record visits while on patrol");
    } else {
      domain::CheckVisit(v, visit, *patrol, rc.now);
    }
    if (!visit.attachment_ids.empty() && v.empty()) {
      auto found = attachments_->FindAttachments(visit.attachment_ids);
      if (!found.ok()) return found.status();
      std::set<std::string> known;
      for (const auto& a : *found) known.insert(a.attachment_id);
      for (const auto& id : visit.attachment_ids) {
        if (!known.count(id)) v.Add("attachment_ids", "unknown attachment " + id);
      }
    }
    if (!v.empty()) return v.ToStatus("the visit is invalid");
    if (in.expected_version != 0 && in.expected_version != patrol->version) {
      return absl::AbortedError(absl::StrCat("the patrol is at version ", patrol->version));
    }
    store::PatrolWrite w;
    w.patrol = *patrol;
    w.patrol.visit_count += 1;
    w.patrol.last_visit_time = std::max(w.patrol.last_visit_time, visit.visit_time);
    w.patrol.update_time = rc.now;
    w.expected_version = patrol->version;
    w.visit = visit;
    auto result = patrols_->UpdatePatrol(w);
    if (!result.ok()) return result.status();
    if (!result->created) {
      if (result->existing_digest != digest) return Clash("visit_id", "another visit");
      auto stored = patrols_->GetVisit(visit.visit_id);
      if (!stored.ok()) return stored.status();
      if (stored->has_value()) return **stored;
    }
    return visit;
  });
}

absl::StatusOr<Patrol> PatrolService::EndPatrol(const RequestContext& rc,
                                                const EndPatrolInput& in) {
  return WithRetry<Patrol>(in.expected_version, [&]() -> absl::StatusOr<Patrol> {
    auto patrol = LoadOwn(rc, in.patrol_id);
    if (!patrol.ok()) return patrol.status();
    // Ending an ended patrol is a retry: it stays as it ended.
    if (patrol->state == PatrolState::kEnded) return *patrol;
    const Micros end = in.end_time != 0 ? in.end_time : rc.now;
    FieldViolations v;
    domain::CheckPatrolEnd(v, *patrol, end, rc.now);
    if (!v.empty()) return v.ToStatus("the patrol cannot end then");
    if (in.expected_version != 0 && in.expected_version != patrol->version) {
      return absl::AbortedError(absl::StrCat("the patrol is at version ", patrol->version));
    }
    store::PatrolWrite w;
    w.patrol = *patrol;
    w.patrol.state = PatrolState::kEnded;
    w.patrol.end_time = end;
    w.patrol.update_time = rc.now;
    w.expected_version = patrol->version;
    auto result = patrols_->UpdatePatrol(w);
    if (!result.ok()) return result.status();
    return result->stored;
  });
}

absl::StatusOr<Patrol> PatrolService::GetPatrol(const RequestContext& rc,
                                                const std::string& patrol_id) {
  return LoadVisible(rc, patrol_id);
}

absl::Status PatrolService::ScopeQuery(const RequestContext& rc, const std::string& grid_code,
                                       FieldViolations& v, store::PatrolQuery& q) {
  const domain::User& user = rc.caller.user;
  std::string scope;  // a grid subtree the caller is limited to ("" none)
  switch (user.role) {
    case Role::kGridLeader:
      q.user_id = user.user_id;
      break;
    case Role::kDepartmentStaff:
      if (user.department_code.empty()) {
        q.user_id = user.user_id;
      } else {
        q.department_code = user.department_code;
      }
      break;
    case Role::kDispatcher:
    case Role::kSupervisor:
      scope = user.grid_code;
      break;
    case Role::kOperator:
      break;
    default:
      return absl::PermissionDeniedError("no patrols are visible to this role");
  }
  auto subtree = ListSubtree(org_, v, scope, grid_code);
  if (!subtree.ok()) return subtree.status();
  if (!subtree->empty() && v.empty()) {
    auto g = org_->FindGrid(*subtree);
    if (!g.ok()) return g.status();
    if (g->has_value()) q.subtree_grid_path = (*g)->path;
  }
  return absl::OkStatus();
}

absl::StatusOr<Page<Patrol>> PatrolService::ListPatrols(const RequestContext& rc,
                                                        const PatrolListFilter& filter,
                                                        const PageRequest& page) {
  FieldViolations v;
  store::PatrolQuery q;
  if (auto s = ScopeQuery(rc, filter.grid_code, v, q); !s.ok()) return s;
  auto size = PageSizeOf(page.page_size);
  if (!size.ok()) v.Add("page_size", "must not be negative");
  if (!page.page_token.empty()) {
    if (auto s = ParsePageToken(page.page_token, &q.after_start_time, &q.after_id); !s.ok()) {
      v.Add("page_token", "is not a token from this RPC");
    }
    q.has_after = true;
  }
  if (filter.start_from != 0 && filter.start_to != 0 && filter.start_from >= filter.start_to) {
    v.Add("start_time", "must be before end_time");
  }
  if (!v.empty()) return v.ToStatus();
  Page<Patrol> out;
  // Another user's patrols asked of a role that sees only its own: none.
  if (!filter.user_id.empty() && !q.user_id.empty() && filter.user_id != q.user_id) return out;
  if (!filter.user_id.empty()) q.user_id = filter.user_id;
  q.states = filter.states;
  q.start_from = filter.start_from;
  q.start_to = filter.start_to;
  q.limit = *size + 1;
  auto rows = patrols_->ListPatrols(q);
  if (!rows.ok()) return rows.status();
  out.items = *std::move(rows);
  if (static_cast<int>(out.items.size()) > *size) {
    out.items.resize(*size);
    out.next_page_token = MakePageToken(out.items.back().start_time, out.items.back().patrol_id);
  }
  return out;
}

absl::StatusOr<Page<TrackPoint>> PatrolService::ListTrackPoints(const RequestContext& rc,
                                                                const std::string& patrol_id,
                                                                const PageRequest& page) {
  auto patrol = LoadVisible(rc, patrol_id);
  if (!patrol.ok()) return patrol.status();
  auto size = PageSizeOf(page.page_size, 1000, 5000);
  if (!size.ok()) return size.status();
  int64_t after = 0;
  if (!page.page_token.empty() && (!absl::SimpleAtoi(page.page_token, &after) || after < 0)) {
    return InvalidField("page_token", "is not a token from this RPC");
  }
  auto points = patrols_->ListTrackPoints(patrol_id, after, *size + 1);
  if (!points.ok()) return points.status();
  Page<TrackPoint> out;
  out.items = *std::move(points);
  if (static_cast<int>(out.items.size()) > *size) {
    out.items.resize(*size);
    out.next_page_token = absl::StrCat(after + *size);
  }
  return out;
}

absl::StatusOr<Page<Visit>> PatrolService::ListVisits(const RequestContext& rc,
                                                      const std::string& patrol_id,
                                                      const PageRequest& page) {
  auto patrol = LoadVisible(rc, patrol_id);
  if (!patrol.ok()) return patrol.status();
  auto size = PageSizeOf(page.page_size);
  if (!size.ok()) return size.status();
  int64_t after_time = 0;
  std::string after_id;
  if (!page.page_token.empty()) {
    if (auto s = ParsePageToken(page.page_token, &after_time, &after_id); !s.ok()) return s;
  }
  auto visits =
      patrols_->ListVisits(patrol_id, !page.page_token.empty(), after_time, after_id, *size + 1);
  if (!visits.ok()) return visits.status();
  Page<Visit> out;
  out.items = *std::move(visits);
  if (static_cast<int>(out.items.size()) > *size) {
    out.items.resize(*size);
    out.next_page_token = MakePageToken(out.items.back().visit_time, out.items.back().visit_id);
  }
  return out;
}

absl::StatusOr<PatrolStatistics> PatrolService::Statistics(const RequestContext& rc,
                                                           const std::string& grid_code,
                                                           Micros start, Micros end) {
  FieldViolations v;
  store::PatrolQuery q;
  if (auto s = ScopeQuery(rc, grid_code, v, q); !s.ok()) return s;
  if (end == 0) end = rc.now;
  if (start == 0) {
    v.Add("start_time", "is required");
  } else if (start >= end) {
    v.Add("start_time", "must be before end_time");
  }
  if (!v.empty()) return v.ToStatus();
  PatrolStatistics out;
  out.grid_code = grid_code;
  out.start_time = start;
  out.end_time = end;
  auto rows = patrols_->SumPatrolFigures(q, start, end);
  if (!rows.ok()) return rows.status();
  out.rows = *std::move(rows);
  for (const auto& r : out.rows) {
    out.total.patrol_count += r.patrol_count;
    out.total.duration += r.duration;
    out.total.length_metres += r.length_metres;
    out.total.visit_count += r.visit_count;
    out.total.report_count += r.report_count;
  }
  auto days = patrols_->CountPatrolDays(q, start, end);
  if (!days.ok()) return days.status();
  out.total.patrol_days = *days;
  return out;
}

}  // namespace gridline::service
