// Numbered reports and photos shared by the SDK tests and their handset app, so that a test can
// recompute what a separate process queued.
#ifndef GRIDLINE_TESTS_SDK_TEST_DATA_H_
#define GRIDLINE_TESTS_SDK_TEST_DATA_H_

#include <chrono>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gridline/client/options.h"
#include "gridline/client/photo.h"
#include "gridline/client/retry_policy.h"
#include "gridline/v1/report_service.pb.h"
#include "tests/test_images.h"

namespace gridline::testing {

inline gridline::v1::SubmitReportRequest NumberedReport(int i) {
  gridline::v1::SubmitReportRequest r;
  r.set_category_code("C01_ROAD_DAMAGE");
  r.set_description(absl::StrCat("离线上报 #", i, "：路面坑洼"));
  r.mutable_location()->set_grid_code("410184001001001");
  r.mutable_location()->set_address(absl::StrCat("郑韩路", i, "号"));
  r.set_urgency(gridline::v1::NORMAL);
  return r;
}

// A real PNG of 20,000 bytes, different for every (report, photo).
inline gridline::client::Photo NumberedPhoto(int report, int photo) {
  std::string bytes = TestPng(20000, absl::StrCat("report ", report, " photo ", photo, ";"));
  return gridline::client::Photo{bytes, absl::StrCat("r", report, "-p", photo, ".png")};
}

// SDK options for a plain-text test server on loopback `port`, calling with `token`: 10 s
// deadlines, retries for 5 s with quick backoff.
inline gridline::client::Options OptionsFor(int port, const std::string& token) {
  namespace gc = ::gridline::client;
  using std::chrono::milliseconds;
  return gc::Options{}
      .set<gc::EndpointOption>(absl::StrCat("127.0.0.1:", port))
      .set<gc::AuthTokenOption>(token)
      .set<gc::InsecureChannelOption>(true)
      .set<gc::TimeoutOption>(milliseconds(10000))
      .set<gc::RetryPolicyOption>(std::make_shared<gc::LimitedTimeRetryPolicy>(milliseconds(5000)))
      .set<gc::BackoffPolicyOption>(
          std::make_shared<gc::ExponentialBackoffPolicy>(milliseconds(20), milliseconds(200)));
}

}  // namespace gridline::testing

#endif  // GRIDLINE_TESTS_SDK_TEST_DATA_H_
