#include "gridline/client/admin_connection.h"

#include "gridline/client/internal/grpc_stubs.h"
#include "unimplemented.h"

namespace gridline::client {

using internal::Unimplemented;

StatusOr<v1::ImportResult> AdminConnection::ImportOrganisation(const ImportRequest&) {
  return Unimplemented("ImportOrganisation");
}
StatusOr<v1::CurrentUser> AdminConnection::GetCurrentUser(const v1::GetCurrentUserRequest&) {
  return Unimplemented("GetCurrentUser");
}
StatusOr<v1::Statistics> AdminConnection::GetStatistics(const v1::GetStatisticsRequest&) {
  return Unimplemented("GetStatistics");
}
StatusOr<v1::ListEvaluationsResponse> AdminConnection::ListEvaluations(
    const v1::ListEvaluationsRequest&) {
  return Unimplemented("ListEvaluations");
}
StatusOr<v1::ListAccountabilityRecordsResponse> AdminConnection::ListAccountabilityRecords(
    const v1::ListAccountabilityRecordsRequest&) {
  return Unimplemented("ListAccountabilityRecords");
}
StatusOr<v1::ComputeAccountabilityResponse> AdminConnection::ComputeAccountability(
    const v1::ComputeAccountabilityRequest&) {
  return Unimplemented("ComputeAccountability");
}
StatusOr<v1::AccountabilityRecord> AdminConnection::DismissAccountabilityRecord(
    const v1::DismissAccountabilityRecordRequest&) {
  return Unimplemented("DismissAccountabilityRecord");
}
StatusOr<v1::ResolveRouteResponse> AdminConnection::ResolveRoute(const v1::ResolveRouteRequest&) {
  return Unimplemented("ResolveRoute");
}
StatusOr<v1::ListGridsResponse> AdminConnection::ListGrids(const v1::ListGridsRequest&) {
  return Unimplemented("ListGrids");
}
StatusOr<v1::ListDepartmentsResponse> AdminConnection::ListDepartments(
    const v1::ListDepartmentsRequest&) {
  return Unimplemented("ListDepartments");
}
StatusOr<v1::ListCategoriesResponse> AdminConnection::ListCategories(
    const v1::ListCategoriesRequest&) {
  return Unimplemented("ListCategories");
}
StatusOr<v1::ListUsersResponse> AdminConnection::ListUsers(const v1::ListUsersRequest&) {
  return Unimplemented("ListUsers");
}
StatusOr<v1::IssueTokenResponse> AdminConnection::IssueToken(const v1::IssueTokenRequest&) {
  return Unimplemented("IssueToken");
}
StatusOr<v1::ListTokensResponse> AdminConnection::ListTokens(const v1::ListTokensRequest&) {
  return Unimplemented("ListTokens");
}
StatusOr<v1::TokenInfo> AdminConnection::RevokeToken(const v1::RevokeTokenRequest&) {
  return Unimplemented("RevokeToken");
}
StatusOr<v1::IssueTokenResponse> AdminConnection::RotateToken(const v1::RotateTokenRequest&) {
  return Unimplemented("RotateToken");
}
StatusOr<v1::ListAuditLogResponse> AdminConnection::ListAuditLog(const v1::ListAuditLogRequest&) {
  return Unimplemented("ListAuditLog");
}

namespace {

using AdminStub = v1::AdminService::Stub;

class GrpcAdminConnection final : public AdminConnection {
 public:
  explicit GrpcAdminConnection(std::shared_ptr<internal::GrpcStubs> stubs)
      : stubs_(std::move(stubs)) {}
  Options options() const override { return stubs_->options(); }

  StatusOr<v1::ImportResult> ImportOrganisation(const ImportRequest& request) override {
    if (!stubs_->config_status().ok()) return stubs_->config_status();
    grpc::ClientContext context;
    stubs_->Prepare(context, stubs_->transfer_timeout());
    auto stream = stubs_->admin().ImportOrganisation(&context);
    std::optional<v1::ImportResult> result;
    v1::ImportOrganisationResponse response;
    // The server answers every part with one RECEIVING progress, so reading one answer per part
    // keeps both directions moving without a second thread.
    auto read_one = [&]() {
      if (!stream->Read(&response)) return false;
      if (response.has_progress()) {
        if (request.on_progress) request.on_progress(response.progress());
      } else if (response.has_result()) {
        result = response.result();
      }
      return true;
    };
    v1::ImportOrganisationRequest message;
    message.mutable_options()->set_dry_run(request.dry_run);
    message.mutable_options()->set_expected_entries(request.expected_entries);
    bool open = stream->Write(message);
    for (const auto& part : request.parts) {
      if (!open) break;
      *message.mutable_part() = part;
      open = stream->Write(message) && read_one();
    }
    if (open) stream->WritesDone();
    while (read_one()) {
    }
    Status status = internal::FromGrpcStatus(stream->Finish());
    if (!status.ok()) return status;
    if (!result) return absl::InternalError("the import stream ended without a result");
    return *std::move(result);
  }
  StatusOr<v1::CurrentUser> GetCurrentUser(const v1::GetCurrentUserRequest& r) override {
    return stubs_->Unary(stubs_->admin(), &AdminStub::GetCurrentUser, r, internal::kIdempotent);
  }
  StatusOr<v1::Statistics> GetStatistics(const v1::GetStatisticsRequest& r) override {
    return stubs_->Unary(stubs_->admin(), &AdminStub::GetStatistics, r, internal::kIdempotent);
  }
  StatusOr<v1::ListEvaluationsResponse> ListEvaluations(
      const v1::ListEvaluationsRequest& r) override {
    return stubs_->Unary(stubs_->admin(), &AdminStub::ListEvaluations, r, internal::kIdempotent);
  }
  StatusOr<v1::ListAccountabilityRecordsResponse> ListAccountabilityRecords(
      const v1::ListAccountabilityRecordsRequest& r) override {
    return stubs_->Unary(stubs_->admin(), &AdminStub::ListAccountabilityRecords, r,
                         internal::kIdempotent);
  }
  // Computing a month again is idempotent.
  StatusOr<v1::ComputeAccountabilityResponse> ComputeAccountability(
      const v1::ComputeAccountabilityRequest& r) override {
    return stubs_->Unary(stubs_->admin(), &AdminStub::ComputeAccountability, r,
                         internal::kIdempotent);
  }
  StatusOr<v1::AccountabilityRecord> DismissAccountabilityRecord(
      const v1::DismissAccountabilityRecordRequest& r) override {
    return stubs_->Unary(stubs_->admin(), &AdminStub::DismissAccountabilityRecord, r,
                         internal::WriteIdempotency(r));
  }
  StatusOr<v1::ResolveRouteResponse> ResolveRoute(const v1::ResolveRouteRequest& r) override {
    return stubs_->Unary(stubs_->admin(), &AdminStub::ResolveRoute, r, internal::kIdempotent);
  }
  StatusOr<v1::ListGridsResponse> ListGrids(const v1::ListGridsRequest& r) override {
    return stubs_->Unary(stubs_->admin(), &AdminStub::ListGrids, r, internal::kIdempotent);
  }
  StatusOr<v1::ListDepartmentsResponse> ListDepartments(
      const v1::ListDepartmentsRequest& r) override {
    return stubs_->Unary(stubs_->admin(), &AdminStub::ListDepartments, r, internal::kIdempotent);
  }
  StatusOr<v1::ListCategoriesResponse> ListCategories(const v1::ListCategoriesRequest& r) override {
    return stubs_->Unary(stubs_->admin(), &AdminStub::ListCategories, r, internal::kIdempotent);
  }
  StatusOr<v1::ListUsersResponse> ListUsers(const v1::ListUsersRequest& r) override {
    return stubs_->Unary(stubs_->admin(), &AdminStub::ListUsers, r, internal::kIdempotent);
  }
  // A repeat after a lost answer would issue a second token: DEADLINE_EXCEEDED is not retried.
  StatusOr<v1::IssueTokenResponse> IssueToken(const v1::IssueTokenRequest& r) override {
    return stubs_->Unary(stubs_->admin(), &AdminStub::IssueToken, r, Idempotency::kNonIdempotent);
  }
  StatusOr<v1::ListTokensResponse> ListTokens(const v1::ListTokensRequest& r) override {
    return stubs_->Unary(stubs_->admin(), &AdminStub::ListTokens, r, internal::kIdempotent);
  }
  StatusOr<v1::TokenInfo> RevokeToken(const v1::RevokeTokenRequest& r) override {
    return stubs_->Unary(stubs_->admin(), &AdminStub::RevokeToken, r, internal::kIdempotent);
  }
  // A repeat after a lost answer would find the token rotated already: not retried.
  StatusOr<v1::IssueTokenResponse> RotateToken(const v1::RotateTokenRequest& r) override {
    return stubs_->Unary(stubs_->admin(), &AdminStub::RotateToken, r, Idempotency::kNonIdempotent);
  }
  StatusOr<v1::ListAuditLogResponse> ListAuditLog(const v1::ListAuditLogRequest& r) override {
    return stubs_->Unary(stubs_->admin(), &AdminStub::ListAuditLog, r, internal::kIdempotent);
  }

 private:
  std::shared_ptr<internal::GrpcStubs> stubs_;
};

}  // namespace

std::shared_ptr<AdminConnection> MakeAdminConnection(Options options) {
  return std::make_shared<GrpcAdminConnection>(
      std::make_shared<internal::GrpcStubs>(std::move(options)));
}

}  // namespace gridline::client
