// Numbered reports and photos shared by the SDK tests and their handset app, so that a test can
// recompute what a separate process queued.
#ifndef GRIDLINE_TESTS_SDK_TEST_DATA_H_
#define GRIDLINE_TESTS_SDK_TEST_DATA_H_

#include <string>

#include "absl/strings/str_cat.h"
#include "gridline/client/photo.h"
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

}  // namespace gridline::testing

#endif  // GRIDLINE_TESTS_SDK_TEST_DATA_H_
