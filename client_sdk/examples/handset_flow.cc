// A grid leader's handset (社管通), start to finish: list the categories, report a problem with a
// photo, follow the case live until the department reports it RESOLVED, then verify it on site.
//
//   export GRIDLINE_TOKEN=demo-leader-1-a5afbedb015471db
//   ./handset_flow --endpoint 127.0.0.1:50051 --insecure [--timeout 300] [photo.jpg]
//
// Flags: --endpoint HOST:PORT (default: $GRIDLINE_ENDPOINT), --insecure (plain text, local
// servers only), --category CODE, --grid CODE, --timeout SECONDS (how long to wait for the
// department). Without a photo file a tiny built-in PNG is sent. Exit status 0 once the case is
// verified, 1 on an error or timeout.
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gridline/client/photo.h"
#include "gridline/client/report_client.h"
#include "gridline/client/status.h"
#include "gridline/client/version.h"
#include "gridline/client/watch.h"

namespace gc = ::gridline::client;
namespace v1 = ::gridline::v1;

namespace {

// Prints what went wrong, including the fields the server named (google.rpc.BadRequest).
int Fail(const std::string& what, const gc::Status& status) {
  std::cerr << what << ": " << status << "\n";
  for (const auto& v : gc::GetErrorDetails(status).field_violations) {
    std::cerr << "  field " << v.field << ": " << v.description << "\n";
  }
  return 1;
}

// A 1x1 orange PNG, for running the example without a photo at hand.
gc::Photo BuiltInPhoto() {
  static const unsigned char kPng[] = {
      0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48,
      0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00,
      0x00, 0x90, 0x77, 0x53, 0xde, 0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x78,
      0xda, 0x63, 0xf8, 0xbf, 0x80, 0x01, 0x00, 0x04, 0x41, 0x01, 0xa0, 0xef, 0x9f, 0x60,
      0x9e, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};
  return gc::Photo{std::string(reinterpret_cast<const char*>(kPng), sizeof(kPng)), "builtin.png"};
}

// Cancels `watch` when `timeout` has passed, unless destroyed first. Watch::Cancel works from any
// thread: the blocked Next() (or Run()) returns CANCELLED.
class CancelAfter {
 public:
  CancelAfter(gc::Watch& watch, std::chrono::seconds timeout)
      : thread_([this, &watch, timeout] {
          std::unique_lock<std::mutex> lock(mu_);
          if (!cv_.wait_for(lock, timeout, [this] { return done_; })) {
            expired_ = true;
            watch.Cancel();
          }
        }) {}
  ~CancelAfter() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  bool expired() {
    std::lock_guard<std::mutex> lock(mu_);
    return expired_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  bool expired_ = false;
  std::thread thread_;  // last: starts after the members it uses
};

}  // namespace

int main(int argc, char** argv) {
  const char* env_endpoint = std::getenv("GRIDLINE_ENDPOINT");
  const char* env_token = std::getenv("GRIDLINE_TOKEN");  // never on the command line
  std::string endpoint = env_endpoint ? env_endpoint : "";
  std::string category = "C04_STREET_LIGHT_OUT";  // auto-accepted in the demo organisation
  std::string grid = "410184001001001";           // demo grid leader 1's cell
  std::string photo_file;
  bool insecure = false;
  int timeout_seconds = 300;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--endpoint" && has_value) {
      endpoint = argv[++i];
    } else if (arg == "--category" && has_value) {
      category = argv[++i];
    } else if (arg == "--grid" && has_value) {
      grid = argv[++i];
    } else if (arg == "--timeout" && has_value) {
      timeout_seconds = std::atoi(argv[++i]);
    } else if (arg == "--insecure") {
      insecure = true;
    } else if (arg.rfind("--", 0) != 0 && photo_file.empty()) {
      photo_file = arg;
    } else {
      std::cerr << "usage: " << argv[0]
                << " [--endpoint HOST:PORT] [--insecure] [--category CODE] [--grid CODE]"
                   " [--timeout SECONDS] [photo]\n";
      return 2;
    }
  }
  if (endpoint.empty() || env_token == nullptr) {
    std::cerr << "set --endpoint (or GRIDLINE_ENDPOINT) and GRIDLINE_TOKEN\n";
    return 2;
  }

  // 1. Connect. Nothing is sent yet: the first call connects.
  auto options = gc::Options{}
                     .set<gc::EndpointOption>(endpoint)
                     .set<gc::AuthTokenOption>(env_token)
                     .set<gc::InsecureChannelOption>(insecure)
                     .set<gc::UserAgentPrefixOption>("handset-flow-example/1.0")
                     .set<gc::TimeoutOption>(std::chrono::seconds(10))
                     .set<gc::RetryPolicyOption>(
                         std::make_shared<gc::LimitedTimeRetryPolicy>(std::chrono::seconds(30)));
  gc::ReportClient client(gc::MakeReportConnection(options));
  std::cout << "gridline client SDK " << gc::VersionString() << ", server " << endpoint << "\n";

  // 2. The categories the handset offers.
  auto categories = client.ListReportCategories();
  if (!categories.ok()) return Fail("ListReportCategories", categories.status());
  bool known = false;
  for (const v1::Category& c : *categories) {
    std::cout << "  category " << c.code() << "  " << c.name()
              << (c.auto_accept() ? "  (dispatched on submit)" : "") << "\n";
    known = known || c.code() == category;
  }
  if (!known) {
    std::cerr << "the server does not offer category " << category << "\n";
    return 1;
  }

  // 3. Report it with a photo. SubmitReport uploads the photo, then submits with a fresh request
  // id that it keeps across its own retries: the report is filed exactly once.
  gc::Photo photo = BuiltInPhoto();
  if (!photo_file.empty()) {
    auto from_file = gc::Photo::FromFile(photo_file);
    if (!from_file.ok()) return Fail("reading " + photo_file, from_file.status());
    photo = *std::move(from_file);
  }
  v1::SubmitReportRequest report;
  report.set_category_code(category);
  report.set_description("路灯不亮 street light out in front of building 3");
  report.mutable_location()->set_grid_code(grid);
  report.mutable_location()->mutable_coordinates()->set_latitude(34.3962);
  report.mutable_location()->mutable_coordinates()->set_longitude(113.7394);
  report.set_urgency(v1::NORMAL);
  auto submitted = client.SubmitReport(report, {photo});
  if (!submitted.ok()) return Fail("SubmitReport", submitted.status());
  const v1::Case& filed = submitted->case_();
  std::cout << "reported case " << filed.case_id() << ": " << v1::CaseState_Name(filed.state())
            << (filed.case_number().empty() ? "" : ", number " + filed.case_number()) << "\n";

  // 4. Follow the case live. Starting after the REPORTED event's cursor means nothing that
  // happens to the case from now on can be missed, however slowly this handset gets here.
  gc::WatchOptions watch_options;
  watch_options.after_cursor = submitted->event_cursor();
  std::unique_ptr<gc::Watch> watch = client.WatchCases(watch_options);
  CancelAfter deadline(*watch, std::chrono::seconds(timeout_seconds));
  // Keep watching until the department has reported a result (or the case ended otherwise).
  auto waiting = [](v1::CaseState s) {
    return s != v1::RESOLVED && s != v1::CLOSED && s != v1::REJECTED && s != v1::MERGED;
  };
  v1::CaseState state = filed.state();
  gc::Status watched = watch->Run([&](const gc::WatchUpdate& update) {
    if (update.kind == gc::WatchUpdate::Kind::kResyncRequired) {
      // Events were lost (the cursor expired): re-read the case, then keep watching.
      auto now = client.GetCase(filed.case_id());
      if (now.ok()) state = now->state();
      return waiting(state);
    }
    const v1::CaseEvent& e = update.event;
    if (e.case_id() != filed.case_id()) return true;  // another case of this grid
    std::cout << "  event " << v1::CaseEventType_Name(e.type()) << " -> "
              << v1::CaseState_Name(e.to_state())
              << (e.lead_department_code().empty() ? "" : " (" + e.lead_department_code() + ")")
              << (e.note().empty() ? "" : ": " + e.note()) << "\n";
    state = e.to_state();
    return waiting(state);
  });
  if (!watched.ok()) {
    if (deadline.expired()) {
      std::cerr << "timed out after " << timeout_seconds << " s; the case is "
                << v1::CaseState_Name(state) << "\n";
      return 1;
    }
    return Fail("WatchCases", watched);
  }
  if (state != v1::RESOLVED) {
    std::cerr << "the case ended " << v1::CaseState_Name(state) << " without a resolution\n";
    return 1;
  }

  // 5. Check the result on site and pass it: the case is closed.
  auto resolved = client.GetCase(filed.case_id());
  if (!resolved.ok()) return Fail("GetCase", resolved.status());
  std::cout << "resolved: " << resolved->resolution_note() << " (" << resolved->after_photos_size()
            << " after-photo(s))\n";
  auto verified = client.VerifyCase(filed.case_id(), /*passed=*/true, "checked on site: fixed");
  if (!verified.ok()) return Fail("VerifyCase", verified.status());
  std::cout << "verified case " << verified->case_id() << ": "
            << v1::CaseState_Name(verified->state()) << "\n";
  return verified->state() == v1::CLOSED ? 0 : 1;
}
