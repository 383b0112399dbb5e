// Translation between the AdminService messages and the domain's organisation, token and audit
// types.
#ifndef GRIDLINE_SERVER_API_ADMIN_CONVERT_H_
#define GRIDLINE_SERVER_API_ADMIN_CONVERT_H_

#include <string>
#include <vector>

#include "google/protobuf/field_mask.pb.h"
#include "gridline/v1/admin_service.pb.h"
#include "gridline/v1/organisation.pb.h"
#include "server/domain/routing.h"
#include "server/domain/types.h"

namespace gridline::api {

namespace v1 = ::gridline::v1;

void ToProto(const domain::Grid& in, v1::Grid* out);
domain::Grid FromProto(const v1::Grid& in);
void ToProto(const domain::Department& in, v1::Department* out);
domain::Department FromProto(const v1::Department& in);
// ToProto(domain::Category) is in convert.h.
domain::Category FromProto(const v1::Category& in);
void ToProto(const domain::RoutingRule& in, v1::RoutingRule* out);
domain::RoutingRule FromProto(const v1::RoutingRule& in);
void ToProto(const domain::User& in, v1::User* out);
domain::User FromProto(const v1::User& in);
void ToProto(const domain::TokenInfo& in, v1::TokenInfo* out);
void ToProto(const domain::AuditEntry& in, v1::AuditEntry* out);
void ToProto(const domain::RouteDecision& in, v1::ResolveRouteResponse* out);

std::vector<std::string> MaskPaths(const google::protobuf::FieldMask& mask);

}  // namespace gridline::api

#endif  // GRIDLINE_SERVER_API_ADMIN_CONVERT_H_
