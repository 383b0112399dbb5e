#include "gridline/client/admin_client.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace gridline::client {
namespace {

// Cuts `organisation` into parts of at most `limit` entries and, past the first entry, at most
// kPartBytes (grid boundaries can be up to 1 MiB each; the server takes messages of 4 MiB),
// keeping each kind's order (the server concatenates parts with protobuf merge, so the order of
// entries is preserved).
constexpr size_t kPartBytes = 2 << 20;

std::vector<v1::Organisation> Cut(const v1::Organisation& organisation, int limit, int64_t* total) {
  std::vector<v1::Organisation> parts(1);
  int in_part = 0;
  size_t part_bytes = 0;
  auto next = [&](size_t bytes) -> v1::Organisation& {
    if (in_part == limit || (in_part > 0 && part_bytes + bytes > kPartBytes)) {
      parts.emplace_back();
      in_part = 0;
      part_bytes = 0;
    }
    ++in_part;
    part_bytes += bytes;
    ++*total;
    return parts.back();
  };
  for (const auto& g : organisation.grids()) *next(g.ByteSizeLong()).add_grids() = g;
  for (const auto& d : organisation.departments()) {
    *next(d.ByteSizeLong()).add_departments() = d;
  }
  for (const auto& c : organisation.categories()) *next(c.ByteSizeLong()).add_categories() = c;
  for (const auto& r : organisation.routing_rules()) {
    *next(r.ByteSizeLong()).add_routing_rules() = r;
  }
  for (const auto& u : organisation.users()) *next(u.ByteSizeLong()).add_users() = u;
  return parts;
}

}  // namespace

StatusOr<v1::ImportResult> AdminClient::ImportOrganisation(
    const v1::Organisation& organisation, bool dry_run,
    std::function<void(const v1::ImportProgress&)> on_progress, int entries_per_part) {
  ImportRequest request;
  request.dry_run = dry_run;
  request.parts =
      Cut(organisation, entries_per_part > 0 ? entries_per_part : 1000, &request.expected_entries);
  request.on_progress = std::move(on_progress);
  return connection_->ImportOrganisation(request);
}

StatusOr<v1::Organisation> AdminClient::ReadOrganisationFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  v1::Organisation organisation;
  std::string errors;
  struct Collector : google::protobuf::io::ErrorCollector {
    std::string* out;
    explicit Collector(std::string* o) : out(o) {}
    void AddError(int line, int column, const std::string& message) override {
      absl::StrAppend(out, "line ", line + 1, ":", column + 1, ": ", message, "; ");
    }
  } collector(&errors);
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&collector);
  if (!parser.ParseFromString(text.str(), &organisation)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", errors));
  }
  return organisation;
}

StatusOr<v1::CurrentUser> AdminClient::GetCurrentUser() {
  return connection_->GetCurrentUser(v1::GetCurrentUserRequest());
}
StatusOr<v1::Statistics> AdminClient::GetStatistics(const v1::GetStatisticsRequest& request) {
  return connection_->GetStatistics(request);
}
StatusOr<v1::ListEvaluationsResponse> AdminClient::ListEvaluations(
    const v1::ListEvaluationsRequest& request) {
  return connection_->ListEvaluations(request);
}
StatusOr<v1::ListAccountabilityRecordsResponse> AdminClient::ListAccountabilityRecords(
    const v1::ListAccountabilityRecordsRequest& request) {
  return connection_->ListAccountabilityRecords(request);
}
StatusOr<v1::ComputeAccountabilityResponse> AdminClient::ComputeAccountability(int year,
                                                                               int month) {
  v1::ComputeAccountabilityRequest request;
  request.set_year(year);
  request.set_month(month);
  return connection_->ComputeAccountability(request);
}
StatusOr<v1::AccountabilityRecord> AdminClient::DismissAccountabilityRecord(
    const v1::DismissAccountabilityRecordRequest& request) {
  return connection_->DismissAccountabilityRecord(request);
}
StatusOr<v1::ResolveRouteResponse> AdminClient::ResolveRoute(
    const v1::ResolveRouteRequest& request) {
  return connection_->ResolveRoute(request);
}
StatusOr<v1::ListGridsResponse> AdminClient::ListGrids(const v1::ListGridsRequest& request) {
  return connection_->ListGrids(request);
}
StatusOr<v1::ListDepartmentsResponse> AdminClient::ListDepartments(
    const v1::ListDepartmentsRequest& request) {
  return connection_->ListDepartments(request);
}
StatusOr<v1::ListCategoriesResponse> AdminClient::ListCategories(
    const v1::ListCategoriesRequest& request) {
  return connection_->ListCategories(request);
}
StatusOr<v1::ListUsersResponse> AdminClient::ListUsers(const v1::ListUsersRequest& request) {
  return connection_->ListUsers(request);
}
StatusOr<v1::IssueTokenResponse> AdminClient::IssueToken(const v1::IssueTokenRequest& request) {
  return connection_->IssueToken(request);
}
StatusOr<v1::ListTokensResponse> AdminClient::ListTokens(const v1::ListTokensRequest& request) {
  return connection_->ListTokens(request);
}
StatusOr<v1::TokenInfo> AdminClient::RevokeToken(const v1::RevokeTokenRequest& request) {
  return connection_->RevokeToken(request);
}
StatusOr<v1::IssueTokenResponse> AdminClient::RotateToken(const v1::RotateTokenRequest& request) {
  return connection_->RotateToken(request);
}
StatusOr<v1::ListAuditLogResponse> AdminClient::ListAuditLog(
    const v1::ListAuditLogRequest& request) {
  return connection_->ListAuditLog(request);
}

}  // namespace gridline::client
