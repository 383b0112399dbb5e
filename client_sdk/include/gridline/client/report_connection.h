// The handset's connection to ReportService (the grid leader's 社管通). Stable.
//
// `ReportClient` (report_client.h) is what applications call; this interface is what it calls,
// so that tests can replace it with `MockReportConnection` (mocks/mock_report_connection.h).
// Every method returns UNIMPLEMENTED unless overridden, so new methods never break a subclass.
#ifndef GRIDLINE_CLIENT_REPORT_CONNECTION_H_
#define GRIDLINE_CLIENT_REPORT_CONNECTION_H_

#include <memory>
#include <string>

#include "gridline/client/event_stream.h"
#include "gridline/client/options.h"
#include "gridline/client/status.h"
#include "gridline/v1/report_service.pb.h"

namespace gridline::client {

namespace v1 = ::gridline::v1;

// A photo to upload: its bytes, their lowercase hex SHA-256 and an optional file name.
// `ReportClient::UploadPhoto` fills the digest.
struct PhotoUpload {
  std::string sha256;
  std::string bytes;
  std::string file_name;
};

// A downloaded photo.
struct DownloadedPhoto {
  v1::Attachment attachment;
  std::string bytes;
};

class ReportConnection {
 public:
  virtual ~ReportConnection() = default;
  virtual Options options() const { return {}; }

  virtual StatusOr<v1::SubmitReportResponse> SubmitReport(const v1::SubmitReportRequest& request);
  virtual StatusOr<v1::Attachment> UploadAttachment(const PhotoUpload& photo);
  virtual StatusOr<DownloadedPhoto> DownloadAttachment(
      const v1::DownloadAttachmentRequest& request);
  virtual StatusOr<v1::Case> GetCase(const v1::GetCaseRequest& request);
  virtual StatusOr<v1::ListMyCasesResponse> ListMyCases(const v1::ListMyCasesRequest& request);
  virtual StatusOr<v1::ListCaseEventsResponse> ListCaseEvents(
      const v1::ListCaseEventsRequest& request);
  virtual StatusOr<v1::Case> VerifyCase(const v1::VerifyCaseRequest& request);
  virtual StatusOr<v1::ListReportCategoriesResponse> ListReportCategories(
      const v1::ListReportCategoriesRequest& request);
  virtual std::unique_ptr<EventStream> WatchCases(const v1::WatchCasesRequest& request);
};

// A connection to the server named by `options` (EndpointOption, AuthTokenOption, ...). It does
// not connect yet: the first call does. Calls on a connection without an endpoint return
// INVALID_ARGUMENT.
std::shared_ptr<ReportConnection> MakeReportConnection(Options options);

}  // namespace gridline::client

#endif  // GRIDLINE_CLIENT_REPORT_CONNECTION_H_
