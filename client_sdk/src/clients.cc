// ReportClient, DispatchClient and DepartmentClient: thin layers over their connections that add
// request ids, SHA-256 digests, paging, resumable watches and list-then-watch.
#include <random>
#include <unordered_map>

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

// ---- list, then watch ----

const v1::Case& CaseOf(const v1::Case& c) { return c; }
const v1::Case& CaseOf(const v1::TriageItem& item) { return item.case_(); }

auto* MutableItems(v1::ListMyCasesResponse& page) { return page.mutable_cases(); }
auto* MutableItems(v1::ListTriageQueueResponse& page) { return page.mutable_items(); }
auto* MutableItems(v1::ListAssignedCasesResponse& page) { return page.mutable_cases(); }

// Every page from the first, each case once (a case that moved between pages while they were
// read keeps its first place and its newest version), with the first page's feed cursor.
template <typename Item, typename Request, typename Fetch>
StatusOr<ListAndWatchResult<Item>> ListEveryPage(Request request, const Fetch& fetch) {
  ListAndWatchResult<Item> result;
  std::unordered_map<std::string, size_t> index;  // case id -> position in result.items
  request.clear_page_token();
  for (bool first = true;; first = false) {
    auto page = fetch(request);
    if (!page.ok()) return page.status();
    if (first) result.feed_cursor = page->feed_cursor();
    for (auto& item : *MutableItems(*page)) {
      auto [at, added] = index.emplace(CaseOf(item).case_id(), result.items.size());
      if (added) {
        result.items.push_back(std::move(item));
      } else if (CaseOf(item).version() > CaseOf(result.items[at->second]).version()) {
        result.items[at->second] = std::move(item);
      }
    }
    if (page->next_page_token().empty()) return result;
    request.set_page_token(page->next_page_token());
  }
}

// Drops the events that the list already reflects: those at or below the listed version of their
// case. Events come in order, so once one of a case is newer than the list, so are the later ones
// and the case is forgotten.
template <typename Item>
Watch::Skip SkipListed(const std::vector<Item>& items) {
  auto listed = std::make_shared<std::unordered_map<std::string, int64_t>>();
  for (const auto& item : items) (*listed)[CaseOf(item).case_id()] = CaseOf(item).version();
  return [listed](const v1::CaseEvent& event) {
    auto it = listed->find(event.case_id());
    if (it == listed->end() || event.case_version() <= 0) return false;
    if (event.case_version() <= it->second) return true;
    listed->erase(it);
    return false;
  };
}

// Lists every page with `fetch`, then makes the watch that `opener` opens start at the first
// page's feed cursor and skip what the list reflects.
template <typename Item, typename Request, typename Fetch>
StatusOr<ListAndWatchResult<Item>> ListAndWatch(Request request, const Fetch& fetch,
                                                Watch::Opener opener, WatchOptions options,
                                                const Options& connection_options) {
  auto listed = ListEveryPage<Item>(std::move(request), fetch);
  if (!listed.ok()) return listed.status();
  options.after_cursor = listed->feed_cursor;
  listed->watch = std::make_unique<Watch>(std::move(opener), std::move(options), connection_options,
                                          SkipListed(listed->items));
  return listed;
}

Watch::Opener CasesOpener(std::shared_ptr<ReportConnection> connection) {
  return [connection](const std::string& cursor) {
    v1::WatchCasesRequest request;
    request.set_after_cursor(cursor);
    return connection->WatchCases(request);
  };
}

Watch::Opener QueueOpener(std::shared_ptr<DispatchConnection> connection, std::string grid_code) {
  return [connection, grid_code](const std::string& cursor) {
    v1::WatchQueueRequest request;
    request.set_after_cursor(cursor);
    request.set_grid_code(grid_code);
    return connection->WatchQueue(request);
  };
}

Watch::Opener AssignmentsOpener(std::shared_ptr<DepartmentConnection> connection,
                                bool include_assisting) {
  return [connection, include_assisting](const std::string& cursor) {
    v1::WatchAssignmentsRequest request;
    request.set_after_cursor(cursor);
    request.set_include_assisting(include_assisting);
    return connection->WatchAssignments(request);
  };
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
  return std::make_unique<Watch>(CasesOpener(connection_), std::move(options),
                                 connection_->options());
}

StatusOr<ListAndWatchResult<v1::Case>> ReportClient::ListAndWatchCases(
    v1::ListMyCasesRequest request, WatchOptions options) {
  auto connection = connection_;
  return ListAndWatch<v1::Case>(
      std::move(request),
      [&connection](const v1::ListMyCasesRequest& r) { return connection->ListMyCases(r); },
      CasesOpener(connection), std::move(options), connection->options());
}

// ---- DispatchClient ------------------------------------------------------------------------

StatusOr<v1::ListTriageQueueResponse> DispatchClient::ListTriageQueue(
    const v1::ListTriageQueueRequest& request) {
  return connection_->ListTriageQueue(request);
}
StatusOr<v1::SubmitReportResponse> DispatchClient::RegisterCase(
    const v1::RegisterCaseRequest& request) {
  return connection_->RegisterCase(request);
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
  return std::make_unique<Watch>(QueueOpener(connection_, std::move(grid_code)), std::move(options),
                                 connection_->options());
}
StatusOr<ListAndWatchResult<v1::TriageItem>> DispatchClient::ListAndWatchQueue(
    v1::ListTriageQueueRequest request, WatchOptions options) {
  auto connection = connection_;
  Watch::Opener opener = QueueOpener(connection, request.grid_code());
  return ListAndWatch<v1::TriageItem>(
      std::move(request),
      [&connection](const v1::ListTriageQueueRequest& r) { return connection->ListTriageQueue(r); },
      std::move(opener), std::move(options), connection->options());
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
  return std::make_unique<Watch>(AssignmentsOpener(connection_, include_assisting),
                                 std::move(options), connection_->options());
}
StatusOr<ListAndWatchResult<v1::Case>> DepartmentClient::ListAndWatchAssignments(
    v1::ListAssignedCasesRequest request, WatchOptions options) {
  auto connection = connection_;
  Watch::Opener opener = AssignmentsOpener(connection, request.include_assisting());
  return ListAndWatch<v1::Case>(
      std::move(request),
      [&connection](const v1::ListAssignedCasesRequest& r) {
        return connection->ListAssignedCases(r);
      },
      std::move(opener), std::move(options), connection->options());
}

StatusOr<v1::SupervisionOrder> DispatchClient::IssueSupervisionOrder(
    v1::IssueSupervisionOrderRequest request) {
  if (request.request_id().empty()) request.set_request_id(NewRequestId());
  return connection_->IssueSupervisionOrder(request);
}
StatusOr<v1::ListSupervisionOrdersResponse> DispatchClient::ListSupervisionOrders(
    const v1::ListSupervisionOrdersRequest& request) {
  return connection_->ListSupervisionOrders(request);
}

StatusOr<v1::SupervisionOrder> DepartmentClient::AcknowledgeSupervisionOrder(
    const std::string& order_id) {
  v1::AcknowledgeSupervisionOrderRequest request;
  request.set_order_id(order_id);
  return connection_->AcknowledgeSupervisionOrder(request);
}
StatusOr<v1::SupervisionOrder> DepartmentClient::AnswerSupervisionOrder(const std::string& order_id,
                                                                        const std::string& note) {
  v1::AnswerSupervisionOrderRequest request;
  request.set_order_id(order_id);
  request.set_note(note);
  return connection_->AnswerSupervisionOrder(request);
}
StatusOr<v1::ListSupervisionOrdersResponse> DepartmentClient::ListSupervisionOrders(
    const v1::ListSupervisionOrdersRequest& request) {
  return connection_->ListSupervisionOrders(request);
}

}  // namespace gridline::client
