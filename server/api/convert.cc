#include "server/api/convert.h"

#include <algorithm>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "server/domain/errors.h"

namespace gridline::api {

void SetTimestamp(domain::Micros t, google::protobuf::Timestamp* out) {
  int64_t secs = t / 1000000;
  int64_t micros = t % 1000000;
  if (micros < 0) {
    micros += 1000000;
    secs -= 1;
  }
  out->set_seconds(secs);
  out->set_nanos(static_cast<int32_t>(micros * 1000));
}

domain::Micros FromTimestamp(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1000000 + t.nanos() / 1000;
}

void ToProto(const domain::Case& in, v1::Case* out) {
  out->set_case_id(in.case_id);
  out->set_case_number(in.case_number);
  out->set_state(static_cast<v1::CaseState>(in.state));
  out->set_category_code(in.category_code);
  out->set_description(in.description);
  auto* loc = out->mutable_location();
  loc->set_grid_code(in.grid_code);
  loc->mutable_coordinates()->set_latitude(in.latitude);
  loc->mutable_coordinates()->set_longitude(in.longitude);
  loc->set_address(in.address);
  SetTimestamp(in.observe_time, out->mutable_observe_time());
  out->set_urgency(static_cast<v1::Urgency>(in.urgency));
  out->set_reporter_user_id(in.reporter_user_id);
  for (const auto& id : in.before_photo_ids) out->add_before_photos()->set_attachment_id(id);
  for (const auto& id : in.after_photo_ids) out->add_after_photos()->set_attachment_id(id);
  out->set_lead_department_code(in.lead_department_code);
  for (const auto& d : in.assisting_department_codes) out->add_assisting_department_codes(d);
  if (in.deadline_time != 0) SetTimestamp(in.deadline_time, out->mutable_deadline_time());
  out->set_rework_count(in.rework_count);
  out->set_duplicate_of_case_id(in.duplicate_of_case_id);
  out->set_resolution_note(in.resolution_note);
  SetTimestamp(in.create_time, out->mutable_create_time());
  SetTimestamp(in.update_time, out->mutable_update_time());
  out->set_version(in.version);
}

void ToProto(const domain::CaseEvent& in, v1::CaseEvent* out) {
  out->set_cursor(EncodeCursor(in.seq));
  out->set_case_id(in.case_id);
  out->set_type(static_cast<v1::CaseEventType>(in.type));
  out->set_from_state(static_cast<v1::CaseState>(in.from_state));
  out->set_to_state(static_cast<v1::CaseState>(in.to_state));
  out->set_actor_user_id(in.actor_user_id);
  out->set_actor_role(static_cast<v1::Role>(in.actor_role));
  SetTimestamp(in.event_time, out->mutable_event_time());
  out->set_note(in.note);
  for (const auto& id : in.attachment_ids) out->add_attachment_ids(id);
  out->set_category_code(in.category_code);
  out->set_grid_code(in.grid_code);
  out->set_lead_department_code(in.lead_department_code);
  out->set_case_version(in.case_version);
}

void ToProto(const domain::ExtensionRequest& in, v1::ExtensionRequest* out) {
  out->set_extension_request_id(in.extension_request_id);
  out->set_case_id(in.case_id);
  out->set_department_code(in.department_code);
  out->set_requested_by_user_id(in.requested_by_user_id);
  if (in.current_deadline_time != 0) {
    SetTimestamp(in.current_deadline_time, out->mutable_current_deadline_time());
  }
  SetTimestamp(in.requested_deadline_time, out->mutable_requested_deadline_time());
  out->set_reason(in.reason);
  out->set_state(static_cast<v1::ExtensionState>(in.state));
  out->set_decided_by_user_id(in.decided_by_user_id);
  out->set_decision_note(in.decision_note);
  if (in.approved_deadline_time != 0) {
    SetTimestamp(in.approved_deadline_time, out->mutable_approved_deadline_time());
  }
  SetTimestamp(in.create_time, out->mutable_create_time());
  if (in.decide_time != 0) SetTimestamp(in.decide_time, out->mutable_decide_time());
}

void ToProto(const domain::Category& in, v1::Category* out) {
  out->set_code(in.code);
  out->set_name(in.name);
  out->set_kind(static_cast<v1::CategoryKind>(in.kind));
  out->set_normal_deadline_hours(in.normal_deadline_hours);
  out->set_urgent_deadline_hours(in.urgent_deadline_hours);
  out->set_emergency_deadline_hours(in.emergency_deadline_hours);
  out->set_auto_accept(in.auto_accept);
}

void ToProto(const domain::Attachment& in, v1::Attachment* out) {
  out->set_attachment_id(in.attachment_id);
  out->set_content_type(in.content_type);
  out->set_size_bytes(in.size_bytes);
  SetTimestamp(in.create_time, out->mutable_create_time());
}

absl::Status FillPhotos(store::Store* store, const std::vector<v1::Case*>& cases) {
  std::vector<std::string> ids;
  for (const v1::Case* c : cases) {
    for (const auto& p : c->before_photos()) ids.push_back(p.attachment_id());
    for (const auto& p : c->after_photos()) ids.push_back(p.attachment_id());
  }
  if (ids.empty()) return absl::OkStatus();
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  auto found = store->FindAttachments(ids);
  if (!found.ok()) return found.status();
  std::map<std::string, const domain::Attachment*> by_id;
  for (const auto& a : *found) by_id[a.attachment_id] = &a;
  auto fill = [&](v1::Attachment* p) {
    auto it = by_id.find(p->attachment_id());
    if (it != by_id.end()) ToProto(*it->second, p);
  };
  for (v1::Case* c : cases) {
    for (auto& p : *c->mutable_before_photos()) fill(&p);
    for (auto& p : *c->mutable_after_photos()) fill(&p);
  }
  return absl::OkStatus();
}

absl::Status CaseReply(absl::StatusOr<domain::CaseChange> change, v1::Case* out,
                       store::Store* store, runtime::EventHub* hub) {
  if (!change.ok()) return change.status();
  if (hub != nullptr && !change->events.empty()) hub->Notify();
  ToProto(change->c, out);
  return FillPhotos(store, {out});
}

domain::ReportInput FromProto(const v1::SubmitReportRequest& in) {
  domain::ReportInput r;
  r.request_id = in.request_id();
  r.category_code = in.category_code();
  r.description = in.description();
  r.grid_code = in.location().grid_code();
  r.has_coordinates =
      in.location().has_coordinates() &&
      (in.location().coordinates().latitude() != 0 || in.location().coordinates().longitude() != 0);
  r.latitude = in.location().coordinates().latitude();
  r.longitude = in.location().coordinates().longitude();
  r.address = in.location().address();
  if (in.has_observe_time()) r.observe_time = FromTimestamp(in.observe_time());
  r.urgency = static_cast<int>(in.urgency());
  r.attachment_ids.assign(in.attachment_ids().begin(), in.attachment_ids().end());
  return r;
}

domain::Organisation FromProto(const v1::Organisation& in) {
  domain::Organisation org;
  for (const auto& g : in.grids()) {
    org.grids.push_back(
        {g.code(), g.name(), static_cast<domain::GridLevel>(g.level()), g.parent_code(), ""});
  }
  for (const auto& d : in.departments()) {
    org.departments.push_back({d.code(), d.name(), d.parent_code(), d.grid_code()});
  }
  for (const auto& k : in.categories()) {
    domain::Category c;
    c.code = k.code();
    c.name = k.name();
    c.kind = static_cast<domain::CategoryKind>(k.kind());
    c.normal_deadline_hours = k.normal_deadline_hours();
    c.urgent_deadline_hours = k.urgent_deadline_hours();
    c.emergency_deadline_hours = k.emergency_deadline_hours();
    c.auto_accept = k.auto_accept();
    org.categories.push_back(c);
  }
  for (const auto& r : in.routing_rules()) {
    org.routing_rules.push_back(
        {r.rule_id(),
         r.category_code(),
         r.grid_code(),
         r.lead_department_code(),
         {r.assisting_department_codes().begin(), r.assisting_department_codes().end()}});
  }
  for (const auto& ou : in.users()) {
    const auto& u = ou.user();
    org.users.push_back({u.user_id(), u.display_name(), static_cast<domain::Role>(u.role()),
                         u.grid_code(), u.department_code(), u.disabled()});
    if (!ou.demo_token().empty()) org.demo_tokens.emplace_back(u.user_id(), ou.demo_token());
  }
  return org;
}

std::string EncodeCursor(int64_t seq) { return absl::StrCat("g1-", seq); }

std::optional<int64_t> DecodeCursor(const std::string& cursor) {
  if (!absl::StartsWith(cursor, "g1-")) return std::nullopt;
  int64_t seq = 0;
  if (!absl::SimpleAtoi(cursor.substr(3), &seq) || seq < 0) return std::nullopt;
  return seq;
}

grpc::Status ToGrpcStatus(const absl::Status& status, const std::string& reason) {
  if (status.ok()) return grpc::Status::OK;
  google::rpc::Status rich;
  rich.set_code(static_cast<int>(status.code()));
  rich.set_message(std::string(status.message()));
  auto violations = domain::GetFieldViolations(status);
  if (!violations.empty()) {
    google::rpc::BadRequest bad;
    for (const auto& v : violations) {
      auto* fv = bad.add_field_violations();
      fv->set_field(v.field);
      fv->set_description(v.description);
    }
    rich.add_details()->PackFrom(bad);
  }
  if (domain::CaseState state = domain::GetWrongState(status);
      state != domain::CaseState::kUnspecified) {
    google::rpc::PreconditionFailure pf;
    auto* v = pf.add_violations();
    v->set_type("CASE_STATE");
    v->set_subject(domain::CaseStateName(state));
    v->set_description(std::string(status.message()));
    rich.add_details()->PackFrom(pf);
  }
  if (auto preconditions = domain::GetPreconditionViolations(status); !preconditions.empty()) {
    google::rpc::PreconditionFailure pf;
    for (const auto& p : preconditions) {
      auto* v = pf.add_violations();
      v->set_type(p.type);
      v->set_subject(p.subject);
      v->set_description(p.description);
    }
    rich.add_details()->PackFrom(pf);
  }
  if (!reason.empty()) {
    google::rpc::ErrorInfo info;
    info.set_reason(reason);
    info.set_domain("gridline.v1");
    rich.add_details()->PackFrom(info);
  }
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()),
                      rich.SerializeAsString());
}

std::string BearerToken(const grpc::CallbackServerContext* context) {
  const auto& md = context->client_metadata();
  auto it = md.find("authorization");
  if (it == md.end()) return "";
  std::string value(it->second.data(), it->second.size());
  constexpr absl::string_view kBearer = "Bearer ";
  if (value.size() > kBearer.size() && absl::StartsWithIgnoreCase(value, kBearer)) {
    return value.substr(kBearer.size());
  }
  return "";
}

}  // namespace gridline::api
