#include "server/service/case_service.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "server/domain/errors.h"
#include "server/service/domain_names.h"
#include "server/util/sha256.h"

namespace gridline::service {

namespace {

// What identifies the content of a report, so a reused request id with other content is caught.
// (A handset report's digest is what it was before cases had a source, so that a retry across
// an upgrade still matches.)
std::string Digest(const ReportInput& in, CaseSource source) {
  return util::Sha256Hex(absl::StrCat(
      in.category_code, "\x1f", in.description, "\x1f", in.grid_code, "\x1f",
      in.has_coordinates ? absl::StrCat(in.latitude, ",", in.longitude) : "", "\x1f", in.address,
      "\x1f", in.observe_time, "\x1f", in.urgency, "\x1f", absl::StrJoin(in.attachment_ids, ","),
      source == CaseSource::kHandset ? "" : absl::StrCat("\x1f", static_cast<int>(source)),
      in.patrol_id.empty() ? "" : absl::StrCat("\x1fpatrol=", in.patrol_id)));
}

}  // namespace

absl::StatusOr<SubmitOutcome> CaseService::SubmitReport(const RequestContext& rc,
                                                        const ReportInput& in) {
  if (rc.caller.user.role != Role::kGridLeader) {
    return absl::PermissionDeniedError("only grid leaders submit reports");
  }
  // A grid leader may report in any grid (不论分属网格).
  return Report(rc, in, CaseSource::kHandset, "");
}

absl::StatusOr<SubmitOutcome> CaseService::RegisterCase(const RequestContext& rc,
                                                        const ReportInput& in, CaseSource source) {
  const domain::User& user = rc.caller.user;
  if (user.role == Role::kPublicApp) {
    // A residents' app (the Open311 facade): PUBLIC reports in its own subtree only.
    if (user.grid_code.empty()) {
      return absl::PermissionDeniedError("this app's account has no grid to report in");
    }
    if (source != CaseSource::kPublic) {
      return domain::InvalidField("source", "a public app registers PUBLIC reports only");
    }
    if (in.grid_code.empty() && !in.has_coordinates && !in.address.empty()) {
      // An address without coordinates: the app's own grid, for the center to triage.
      ReportInput placed = in;
      placed.grid_code = user.grid_code;
      return Report(rc, placed, source, user.grid_code);
    }
    return Report(rc, in, source, user.grid_code);
  }
  if (user.role != Role::kDispatcher) {
    return absl::PermissionDeniedError(
        "only the acceptance center (DISPATCHER) registers reports from other sources");
  }
  if (source == CaseSource::kUnspecified || source == CaseSource::kHandset ||
      static_cast<int>(source) > static_cast<int>(CaseSource::kInspection)) {
    return domain::InvalidField(
        "source", "must be PUBLIC, MEDIA, LEADER or INSPECTION (handset reports use SubmitReport)");
  }
  return Report(rc, in, source, user.grid_code);
}

absl::StatusOr<SubmitOutcome> CaseService::Report(const RequestContext& rc, const ReportInput& in,
                                                  CaseSource source, const std::string& scope) {
  FieldViolations v;
  CheckReportFields(v, in, rc.now);
  const Micros now = rc.now;
  if (auto st = CheckAttachments(v, "attachment_ids", in.attachment_ids); !st.ok()) return st;
  std::optional<Grid> grid;
  bool auto_accept = false;
  // The grid named, else the unit grid the coordinates lie in.
  std::string grid_code = in.grid_code;
  std::string grid_field = "location.grid_code";
  if (grid_code.empty()) {
    if (!in.has_coordinates) {
      v.Add("location.grid_code", "is required when location.coordinates are not given");
    } else {
      auto located = LocateGrid(v, in);
      if (!located.ok()) return located.status();
      grid_code = *std::move(located);
      grid_field = "location.coordinates";
    }
  }
  if (!grid_code.empty()) {
    auto g = org_->FindGrid(grid_code);
    if (!g.ok()) return g.status();
    if (!g->has_value()) {
      v.Add(grid_field, "unknown grid " + grid_code);  // located, then deleted meanwhile
    } else if (!scope.empty() &&
               (*g)->path.find(absl::StrCat("/", scope, "/")) == std::string::npos) {
      v.Add(grid_field, absl::StrCat("grid ", grid_code, " is not in your subtree"));
    }
    grid = *std::move(g);
  }
  if (in.category_code.empty()) {
    v.Add("category_code", "is required");
  } else {
    auto k = org_->FindCategory(in.category_code);
    if (!k.ok()) return k.status();
    if (!k->has_value()) v.Add("category_code", "unknown category " + in.category_code);
    if (k->has_value()) auto_accept = (*k)->auto_accept;
  }
  if (!in.patrol_id.empty()) {
    std::optional<domain::Patrol> patrol;
    if (patrols_ != nullptr) {
      auto p = patrols_->GetPatrol(in.patrol_id);
      if (!p.ok()) return p.status();
      patrol = *std::move(p);
    }
    const Micros observed = in.observe_time != 0 ? in.observe_time : now;
    if (!patrol || patrol->user_id != rc.caller.user.user_id) {
      v.Add("patrol_id", "is not a patrol of yours");
    } else if (patrol->state == domain::PatrolState::kEnded && observed > patrol->end_time) {
      v.Add("patrol_id", "the patrol ended before the problem was seen");
    }
  }
  if (!v.empty()) return v.ToStatus("the report is invalid");

  Case c;
  c.case_id = absl::StrCat("c", util::RandomHex(12));
  c.state = CaseState::kPendingTriage;
  c.category_code = in.category_code;
  c.description = in.description;
  c.grid_code = grid->code;
  c.grid_path = grid->path;
  if (in.has_coordinates) {
    c.latitude = in.latitude;
    c.longitude = in.longitude;
  }
  c.address = in.address;
  c.observe_time = in.observe_time != 0 ? in.observe_time : now;
  c.urgency = in.urgency == 0 ? Urgency::kNormal : static_cast<Urgency>(in.urgency);
  c.reporter_user_id = rc.caller.user.user_id;
  c.before_photo_ids = in.attachment_ids;
  c.create_time = now;
  c.update_time = now;
  c.state_time = now;
  c.version = 1;
  c.request_id = in.request_id;
  c.patrol_id = in.patrol_id;
  c.request_digest = Digest(in, source);
  c.source = source;

  CaseEvent e;
  e.case_id = c.case_id;
  e.type = EventType::kReported;
  e.from_state = CaseState::kUnspecified;
  e.to_state = c.state;
  e.actor_user_id = rc.caller.user.user_id;
  e.actor_role = rc.caller.user.role;
  e.event_time = now;
  e.attachment_ids = in.attachment_ids;
  e.category_code = c.category_code;
  e.grid_code = c.grid_code;
  e.grid_path = c.grid_path;
  e.reporter_user_id = c.reporter_user_id;
  e.case_version = c.version;

  auto result = cases_->CreateCase(c, e);
  if (!result.ok()) return result.status();
  if (result->created && publisher_ != nullptr) {
    publisher_->EventsCommitted(result->first_event.seq);
  }
  if (!result->created && result->stored.request_digest != c.request_digest) {
    return absl::AlreadyExistsError(absl::StrCat("request_id ", in.request_id,
                                                 " was already used for a different report (",
                                                 result->stored.case_id, ")"));
  }
  SubmitOutcome out{result->stored, result->first_event, result->created};
  if (auto_accept && out.stored.state == CaseState::kPendingTriage && out.stored.version == 1) {
    // Clear-cut category: filed and dispatched by rule at once, in a second transaction. Only
    // "nothing to route to" (FAILED_PRECONDITION: no rule and no street office, or the grid or
    // category gone meanwhile) leaves the report waiting for triage, as documented. Any other
    // failure fails the call retryably: the report is stored but not acknowledged, and the
    // retry (same request id) finds it at version 1 and files it then.
    auto retry_later = [](const absl::Status& s) {
      return absl::UnavailableError(
          absl::StrCat("the report was received but could not be filed yet (", s.message(),
                       "); retry with the same request_id"));
    };
    Case filed = out.stored;
    store::CaseWrite w;
    w.expected_version = filed.version;
    absl::Status routed =
        FileAndRoute(nullptr, filed, w, rc.now, "auto-accepted: clear-cut category");
    if (routed.ok()) {
      filed.update_time = filed.state_time;
      w.c = filed;
      auto written = Write(std::move(w));
      if (written.ok()) {
        out.stored = written->c;
        out.filed = true;
      } else if (absl::IsAborted(written.status())) {
        auto again = cases_->GetCase(filed.case_id);  // a concurrent retry filed it
        if (!again.ok()) return retry_later(again.status());
        if (!again->has_value()) return retry_later(written.status());
        out.stored = **again;
      } else {
        return retry_later(written.status());
      }
    } else if (!absl::IsFailedPrecondition(routed)) {
      return retry_later(routed);
    }
  }
  return out;
}

absl::StatusOr<std::string> CaseService::LocateGrid(FieldViolations& v, const ReportInput& in) {
  if (!std::isfinite(in.latitude) || !std::isfinite(in.longitude) || std::abs(in.latitude) > 90 ||
      std::abs(in.longitude) > 180) {
    return std::string();  // CheckReportFields has named the coordinates
  }
  auto locator = locator_->Current();
  if (!locator.ok()) return locator.status();
  if ((*locator)->unit_count() == 0) {
    v.Add("location.grid_code",
          "is required: no grid has a boundary to place location.coordinates in");
    return std::string();
  }
  domain::GridLocation at = (*locator)->Locate(in.latitude, in.longitude);
  if (!at.code.empty()) return at.code;
  // Codes and distances only: a violation's description is cut at 200 bytes (api/convert.cc),
  // and the client has the names.
  std::vector<std::string> nearest;
  for (const domain::NearbyGrid& n : at.nearest) {
    nearest.push_back(absl::StrCat(n.code, " (", std::llround(n.distance_metres), " m)"));
  }
  v.Add("location.coordinates",
        absl::StrCat("is outside every unit grid; nearest: ", absl::StrJoin(nearest, ", ")));
  return std::string();
}

absl::StatusOr<Case> CaseService::GetCase(const RequestContext& rc, const std::string& case_id) {
  if (case_id.empty()) return InvalidField("case_id", "is required");
  auto c = cases_->GetCase(case_id);
  if (!c.ok()) return c.status();
  if (!c->has_value() || !CanSee(rc.caller.user, **c)) {
    return absl::NotFoundError(absl::StrCat("case ", case_id, " not found"));
  }
  return **c;
}

absl::StatusOr<std::vector<CaseEvent>> CaseService::ListCaseEvents(const RequestContext& rc,
                                                                   const std::string& case_id) {
  auto c = GetCase(rc, case_id);
  if (!c.ok()) return c.status();
  if (rc.caller.user.role == Role::kPublicApp) {
    // The history names staff and carries their notes: not for the public.
    return absl::PermissionDeniedError("a public app reads cases, not their history");
  }
  return cases_->ListCaseEvents(case_id);
}

}  // namespace gridline::service
