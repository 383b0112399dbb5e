// gMock connections: unit-test an application without a server. Stable.
//
//   auto mock = std::make_shared<gridline::client::MockReportConnection>();
//   EXPECT_CALL(*mock, SubmitReport).WillOnce(Return(response));
//   gridline::client::ReportClient client(mock);   // the code under test gets this client
//
// A watch test returns a `MockEventStream` (or any EventStream) from WatchCases.
#ifndef GRIDLINE_CLIENT_MOCKS_MOCK_REPORT_CONNECTION_H_
#define GRIDLINE_CLIENT_MOCKS_MOCK_REPORT_CONNECTION_H_

#include <gmock/gmock.h>

#include <memory>
#include <optional>

#include "gridline/client/event_stream.h"
#include "gridline/client/report_connection.h"

namespace gridline::client {

class MockEventStream : public EventStream {
 public:
  MOCK_METHOD(std::optional<v1::WatchEvent>, Read, (), (override));
  MOCK_METHOD(Status, Finish, (), (override));
  MOCK_METHOD(void, Cancel, (), (override));
};

class MockReportConnection : public ReportConnection {
 public:
  MOCK_METHOD(Options, options, (), (const, override));
  MOCK_METHOD(StatusOr<v1::SubmitReportResponse>, SubmitReport,
              (const v1::SubmitReportRequest& request), (override));
  MOCK_METHOD(StatusOr<v1::Attachment>, UploadAttachment, (const PhotoUpload& photo), (override));
  MOCK_METHOD(StatusOr<DownloadedPhoto>, DownloadAttachment,
              (const v1::DownloadAttachmentRequest& request), (override));
  MOCK_METHOD(StatusOr<v1::Case>, GetCase, (const v1::GetCaseRequest& request), (override));
  MOCK_METHOD(StatusOr<v1::ListMyCasesResponse>, ListMyCases,
              (const v1::ListMyCasesRequest& request), (override));
  MOCK_METHOD(StatusOr<v1::ListCaseEventsResponse>, ListCaseEvents,
              (const v1::ListCaseEventsRequest& request), (override));
  MOCK_METHOD(StatusOr<v1::Case>, VerifyCase, (const v1::VerifyCaseRequest& request), (override));
  MOCK_METHOD(StatusOr<v1::ListReportCategoriesResponse>, ListReportCategories,
              (const v1::ListReportCategoriesRequest& request), (override));
  MOCK_METHOD(std::unique_ptr<EventStream>, WatchCases, (const v1::WatchCasesRequest& request),
              (override));
};

}  // namespace gridline::client

#endif  // GRIDLINE_CLIENT_MOCKS_MOCK_REPORT_CONNECTION_H_
