#include "server/api/admin_convert.h"

#include "server/api/convert.h"

namespace gridline::api {
void ToProto(const domain::Grid& in, v1::Grid* out) {
  out->set_code(in.code);
  out->set_name(in.name);
  out->set_level(static_cast<v1::GridLevel>(in.level));
  out->set_parent_code(in.parent_code);
  out->set_boundary_geojson(in.boundary_geojson);
}

domain::Grid FromProto(const v1::Grid& in) {
  domain::Grid g;
  g.code = in.code();
  g.name = in.name();
  g.level = static_cast<domain::GridLevel>(in.level());
  g.parent_code = in.parent_code();
  g.boundary_geojson = in.boundary_geojson();
  return g;
}

void ToProto(const domain::Department& in, v1::Department* out) {
  out->set_code(in.code);
  out->set_name(in.name);
  out->set_parent_code(in.parent_code);
  out->set_grid_code(in.grid_code);
  out->set_leader_user_id(in.leader_user_id);
}

domain::Department FromProto(const v1::Department& in) {
  return {in.code(), in.name(), in.parent_code(), in.grid_code(), in.leader_user_id()};
}

domain::Category FromProto(const v1::Category& in) {
  domain::Category c;
  c.code = in.code();
  c.name = in.name();
  c.kind = static_cast<domain::CategoryKind>(in.kind());
  c.normal_deadline_hours = in.normal_deadline_hours();
  c.urgent_deadline_hours = in.urgent_deadline_hours();
  c.emergency_deadline_hours = in.emergency_deadline_hours();
  c.auto_accept = in.auto_accept();
  return c;
}

void ToProto(const domain::RoutingRule& in, v1::RoutingRule* out) {
  out->set_rule_id(in.rule_id);
  out->set_category_code(in.category_code);
  out->set_grid_code(in.grid_code);
  out->set_lead_department_code(in.lead_department_code);
  for (const auto& d : in.assisting_department_codes) out->add_assisting_department_codes(d);
}

domain::RoutingRule FromProto(const v1::RoutingRule& in) {
  return {in.rule_id(),
          in.category_code(),
          in.grid_code(),
          in.lead_department_code(),
          {in.assisting_department_codes().begin(), in.assisting_department_codes().end()}};
}

void ToProto(const domain::User& in, v1::User* out) {
  out->set_user_id(in.user_id);
  out->set_display_name(in.display_name);
  out->set_role(static_cast<v1::Role>(in.role));
  out->set_grid_code(in.grid_code);
  out->set_department_code(in.department_code);
  out->set_disabled(in.disabled);
}

domain::User FromProto(const v1::User& in) {
  return {in.user_id(),   in.display_name(),    static_cast<domain::Role>(in.role()),
          in.grid_code(), in.department_code(), in.disabled()};
}

void ToProto(const domain::TokenInfo& in, v1::TokenInfo* out) {
  out->set_token_id(in.token_id);
  out->set_user_id(in.user_id);
  out->set_label(in.label);
  out->set_device_id(in.device_id);
  // Zero times are unset ones.
  if (in.create_time != 0) SetTimestamp(in.create_time, out->mutable_create_time());
  if (in.last_used_time != 0) SetTimestamp(in.last_used_time, out->mutable_last_used_time());
  if (in.expire_time != 0) SetTimestamp(in.expire_time, out->mutable_expire_time());
  out->set_revoked(in.revoked);
  if (in.revoke_time != 0) SetTimestamp(in.revoke_time, out->mutable_revoke_time());
  out->set_issued_by_user_id(in.issued_by_user_id);
  out->set_demo(in.demo);
  out->set_client_certificate_sha256(in.client_cert_sha256);
  out->set_replaced_by_token_id(in.replaced_by_token_id);
}

void ToProto(const domain::AuditEntry& in, v1::AuditEntry* out) {
  out->set_audit_entry_id(in.audit_entry_id);
  out->set_actor_user_id(in.actor_user_id);
  out->set_actor_token_id(in.actor_token_id);
  out->set_method(in.method);
  out->set_resource_kind(in.resource_kind);
  out->set_resource_id(in.resource_id);
  SetTimestamp(in.event_time, out->mutable_event_time());
  out->set_status_code(in.status_code);
  out->set_status_message(in.status_message);
  out->set_request_summary(in.request_summary);
  out->set_peer(in.peer);
}

void ToProto(const domain::RouteDecision& in, v1::ResolveRouteResponse* out) {
  out->set_source(static_cast<v1::RouteSource>(static_cast<int>(in.source)));
  if (in.rule) ToProto(*in.rule, out->mutable_rule());
  out->set_lead_department_code(in.lead_department_code);
  for (const auto& d : in.assisting_department_codes) out->add_assisting_department_codes(d);
  out->set_street_grid_code(in.street_grid_code);
  for (const auto& r : in.shadowed_rules) ToProto(r, out->add_shadowed_rules());
}

std::vector<std::string> MaskPaths(const google::protobuf::FieldMask& mask) {
  return {mask.paths().begin(), mask.paths().end()};
}

}  // namespace gridline::api
