// ReportClient, DispatchClient and DepartmentClient: thin layers over their connections that add
// request ids, SHA-256 digests, paging and resumable watches.
#include <random>

#include "absl/strings/str_format.h"
#include "gridline/client/department_client.h"
#include "gridline/client/dispatch_client.h"
#include "gridline/client/report_client.h"

namespace gridline::client {
namespace {

template <typename Connection>
StatusOr<std::vector<v1::CaseEvent>> AllEvents(Connection& connection, const std::string& case_id) {
  std::vector<v1::CaseEvent> events;
  v1::ListCaseEventsRequest request;
  request.set_case_id(case_id);
  request.set_page_size(500);
  for (;;) {
    auto page = connection.ListCaseEvents(request);
    if (!page.ok()) return page.status();
    for (auto& e : *page->mutable_events()) events.push_back(std::move(e));
    if (page->next_page_token().empty()) return events;
    request.set_page_token(page->next_page_token());
  }
}

v1::GetCaseRequest GetCaseRequest(const std::string& case_id) {
  v1::GetCaseRequest request;
  request.set_case_id(case_id);
  return request;
}

template <typename Connection>
StatusOr<v1::Attachment> Upload(Connection& connection, const Photo& photo) {
  PhotoUpload upload;
  upload.sha256 = Sha256Hex(photo.bytes);
  upload.bytes = photo.bytes;
  upload.file_name = photo.file_name;
  return connection.UploadAttachment(upload);
}

template <typename Connection>
StatusOr<DownloadedPhoto> Download(Connection& connection, const std::string& attachment_id) {
  v1::DownloadAttachmentRequest request;
  request.set_attachment_id(attachment_id);
  return connection.DownloadAttachment(request);
}

}  // namespace

std::string NewRequestId() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  uint64_t hi = random(), lo = random();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  return absl::StrFormat("%08x-%04x-%04x-%04x-%012x", hi >> 32, (hi >> 16) & 0xffff, hi & 0xffff,
                         lo >> 48, lo & 0xffffffffffffULL);
}

// ---- ReportClient --------------------------------------------------------------------------

StatusOr<v1::SubmitReportResponse> ReportClient::SubmitReport(v1::SubmitReportRequest request) {
  if (request.request_id().empty()) request.set_request_id(NewRequestId());
  return connection_->SubmitReport(request);
}

StatusOr<v1::SubmitReportResponse> ReportClient::SubmitReport(v1::SubmitReportRequest request,
                                                              const std::vector<Photo>& photos) {
  for (const auto& photo : photos) {
    auto attachment = UploadPhoto(photo);
    if (!attachment.ok()) return attachment.status();
    request.add_attachment_ids(attachment->attachment_id());
  }
  return SubmitReport(std::move(request));
}

StatusOr<v1::Attachment> ReportClient::UploadPhoto(const Photo& photo) {
  return Upload(*connection_, photo);
}

StatusOr<DownloadedPhoto> ReportClient::DownloadPhoto(const std::string& attachment_id) {
  return Download(*connection_, attachment_id);
}

StatusOr<v1::Case> ReportClient::GetCase(const std::string& case_id) {
  return connection_->GetCase(GetCaseRequest(case_id));
}

StatusOr<v1::ListMyCasesResponse> ReportClient::ListMyCases(const v1::ListMyCasesRequest& request) {
  return connection_->ListMyCases(request);
}

StatusOr<std::vector<v1::CaseEvent>> ReportClient::ListCaseEvents(const std::string& case_id) {
  return AllEvents(*connection_, case_id);
}

StatusOr<v1::Case> ReportClient::VerifyCase(const v1::VerifyCaseRequest& request) {
  return connection_->VerifyCase(request);
}

StatusOr<v1::Case> ReportClient::VerifyCase(const std::string& case_id, bool passed,
                                            const std::string& note) {
  v1::VerifyCaseRequest request;
  request.set_case_id(case_id);
  request.set_passed(passed);
  request.set_note(note);
  return connection_->VerifyCase(request);
}

StatusOr<std::vector<v1::Category>> ReportClient::ListReportCategories() {
  std::vector<v1::Category> out;
  v1::ListReportCategoriesRequest request;
  request.set_page_size(500);
  for (;;) {
    auto page = connection_->ListReportCategories(request);
    if (!page.ok()) return page.status();
    for (auto& c : *page->mutable_categories()) out.push_back(std::move(c));
    if (page->next_page_token().empty()) return out;
    request.set_page_token(page->next_page_token());
  }
}

std::unique_ptr<Watch> ReportClient::WatchCases(WatchOptions options) {
  auto connection = connection_;
  return std::make_unique<Watch>(
      [connection](const std::string& cursor) {
        v1::WatchCasesRequest request;
        request.set_after_cursor(cursor);
        return connection->WatchCases(request);
      },
      std::move(options), connection_->options());
}

// ---- DispatchClient ------------------------------------------------------------------------

StatusOr<v1::ListTriageQueueResponse> DispatchClient::ListTriageQueue(
    const v1::ListTriageQueueRequest& request) {
  return connection_->ListTriageQueue(request);
}
StatusOr<v1::ListCasesResponse> DispatchClient::ListCases(const v1::ListCasesRequest& request) {
  return connection_->ListCases(request);
}
StatusOr<v1::Case> DispatchClient::GetCase(const std::string& case_id) {
  return connection_->GetCase(GetCaseRequest(case_id));
}
StatusOr<std::vector<v1::CaseEvent>> DispatchClient::ListCaseEvents(const std::string& case_id) {
  return AllEvents(*connection_, case_id);
}
StatusOr<v1::Case> DispatchClient::AcceptCase(const v1::AcceptCaseRequest& request) {
  return connection_->AcceptCase(request);
}
StatusOr<v1::Case> DispatchClient::RejectCase(const v1::RejectCaseRequest& request) {
  return connection_->RejectCase(request);
}
StatusOr<v1::SuggestDuplicatesResponse> DispatchClient::SuggestDuplicates(
    const v1::SuggestDuplicatesRequest& request) {
  return connection_->SuggestDuplicates(request);
}
StatusOr<v1::Case> DispatchClient::MarkDuplicate(const v1::MarkDuplicateRequest& request) {
  return connection_->MarkDuplicate(request);
}
StatusOr<v1::Case> DispatchClient::CorrectCategory(const v1::CorrectCategoryRequest& request) {
  return connection_->CorrectCategory(request);
}
StatusOr<v1::Case> DispatchClient::RouteCase(const v1::RouteCaseRequest& request) {
  return connection_->RouteCase(request);
}
StatusOr<v1::Case> DispatchClient::DecideExtension(const v1::DecideExtensionRequest& request) {
  return connection_->DecideExtension(request);
}
StatusOr<v1::Case> DispatchClient::VerifyCase(const v1::VerifyCaseRequest& request) {
  return connection_->VerifyCase(request);
}
StatusOr<v1::ListExtensionRequestsResponse> DispatchClient::ListExtensionRequests(
    const v1::ListExtensionRequestsRequest& request) {
  return connection_->ListExtensionRequests(request);
}
std::unique_ptr<Watch> DispatchClient::WatchQueue(WatchOptions options, std::string grid_code) {
  auto connection = connection_;
  return std::make_unique<Watch>(
      [connection, grid_code](const std::string& cursor) {
        v1::WatchQueueRequest request;
        request.set_after_cursor(cursor);
        request.set_grid_code(grid_code);
        return connection->WatchQueue(request);
      },
      std::move(options), connection_->options());
}

// ---- DepartmentClient ----------------------------------------------------------------------

StatusOr<v1::ListAssignedCasesResponse> DepartmentClient::ListAssignedCases(
    const v1::ListAssignedCasesRequest& request) {
  return connection_->ListAssignedCases(request);
}
StatusOr<v1::Case> DepartmentClient::GetCase(const std::string& case_id) {
  return connection_->GetCase(GetCaseRequest(case_id));
}
StatusOr<std::vector<v1::CaseEvent>> DepartmentClient::ListCaseEvents(const std::string& case_id) {
  return AllEvents(*connection_, case_id);
}
StatusOr<v1::Case> DepartmentClient::AcceptAssignment(const v1::AcceptAssignmentRequest& request) {
  return connection_->AcceptAssignment(request);
}
StatusOr<v1::Case> DepartmentClient::ReturnCase(const v1::ReturnCaseRequest& request) {
  return connection_->ReturnCase(request);
}
StatusOr<v1::ExtensionRequest> DepartmentClient::RequestExtension(
    const v1::RequestExtensionRequest& request) {
  return connection_->RequestExtension(request);
}
StatusOr<v1::Case> DepartmentClient::AddProgress(const v1::AddProgressRequest& request) {
  return connection_->AddProgress(request);
}
StatusOr<v1::Case> DepartmentClient::ResolveCase(const v1::ResolveCaseRequest& request) {
  return connection_->ResolveCase(request);
}
StatusOr<v1::Case> DepartmentClient::ResolveCase(v1::ResolveCaseRequest request,
                                                 const std::vector<Photo>& photos) {
  for (const auto& photo : photos) {
    auto attachment = UploadPhoto(photo);
    if (!attachment.ok()) return attachment.status();
    request.add_attachment_ids(attachment->attachment_id());
  }
  return connection_->ResolveCase(request);
}
StatusOr<v1::Attachment> DepartmentClient::UploadPhoto(const Photo& photo) {
  return Upload(*connection_, photo);
}
StatusOr<DownloadedPhoto> DepartmentClient::DownloadPhoto(const std::string& attachment_id) {
  return Download(*connection_, attachment_id);
}
std::unique_ptr<Watch> DepartmentClient::WatchAssignments(WatchOptions options,
                                                          bool include_assisting) {
  auto connection = connection_;
  return std::make_unique<Watch>(
      [connection, include_assisting](const std::string& cursor) {
        v1::WatchAssignmentsRequest request;
        request.set_after_cursor(cursor);
        request.set_include_assisting(include_assisting);
        return connection->WatchAssignments(request);
      },
      std::move(options), connection_->options());
}

}  // namespace gridline::client
