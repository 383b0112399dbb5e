// ReportClient: what a handset app calls. Stable.
//
//   namespace gc = gridline::client;
//   gc::ReportClient client(gc::MakeReportConnection(
//       gc::Options{}.set<gc::EndpointOption>("grid.example.cn:443").set<gc::AuthTokenOption>(t)));
//   auto photo = gc::Photo::FromFile("/sdcard/DCIM/0001.jpg");
//   auto submitted = client.SubmitReport(report, {*photo});
//   if (!submitted) ShowError(submitted.status());
//
// Calls are blocking and thread-safe; copies of a client share its connection. For reports
// taken without signal, queue them in an `Outbox` (outbox.h) instead of calling SubmitReport.
#ifndef GRIDLINE_CLIENT_REPORT_CLIENT_H_
#define GRIDLINE_CLIENT_REPORT_CLIENT_H_

#include <memory>
#include <string>
#include <vector>

#include "gridline/client/photo.h"
#include "gridline/client/report_connection.h"
#include "gridline/client/status.h"
#include "gridline/client/watch.h"

namespace gridline::client {

// A new idempotency key for SubmitReport: a random (version 4) UUID.
std::string NewRequestId();

class ReportClient {
 public:
  explicit ReportClient(std::shared_ptr<ReportConnection> connection)
      : connection_(std::move(connection)) {}

  // Step 1: report a problem. An empty `request_id` is filled with NewRequestId(); the SDK keeps
  // it across its own retries, so the report is filed exactly once. To stay exactly-once across
  // app restarts, persist the id before calling (the Outbox does).
  StatusOr<v1::SubmitReportResponse> SubmitReport(v1::SubmitReportRequest request);
  // Uploads `photos` (skipping none), appends their ids to the request, then submits it.
  StatusOr<v1::SubmitReportResponse> SubmitReport(v1::SubmitReportRequest request,
                                                  const std::vector<Photo>& photos);

  // Uploads one photo in chunks, with the SHA-256 computed here. Safe to repeat: the same bytes
  // give the same attachment.
  StatusOr<v1::Attachment> UploadPhoto(const Photo& photo);
  StatusOr<DownloadedPhoto> DownloadPhoto(const std::string& attachment_id);

  StatusOr<v1::Case> GetCase(const std::string& case_id);
  StatusOr<v1::ListMyCasesResponse> ListMyCases(const v1::ListMyCasesRequest& request);
  // Every page of a case's history, oldest first.
  StatusOr<std::vector<v1::CaseEvent>> ListCaseEvents(const std::string& case_id);
  // Step 6: the reporter's on-site check. `note` is required when `passed` is false.
  StatusOr<v1::Case> VerifyCase(const v1::VerifyCaseRequest& request);
  StatusOr<v1::Case> VerifyCase(const std::string& case_id, bool passed, const std::string& note);
  StatusOr<std::vector<v1::Category>> ListReportCategories();

  // Live events of the caller's cases (reported by them or in their grid).
  std::unique_ptr<Watch> WatchCases(WatchOptions options = {});
  // Every page of ListMyCases(request) (request.page_token is ignored), and a WatchCases watch
  // that starts where the first page was read and skips what the list already shows (events at
  // or below a listed case's version): see ListAndWatchResult in watch.h.
  StatusOr<ListAndWatchResult<v1::Case>> ListAndWatchCases(v1::ListMyCasesRequest request = {},
                                                           WatchOptions options = {});

  std::shared_ptr<ReportConnection> connection() const { return connection_; }

 private:
  std::shared_ptr<ReportConnection> connection_;
};

}  // namespace gridline::client

#endif  // GRIDLINE_CLIENT_REPORT_CLIENT_H_
