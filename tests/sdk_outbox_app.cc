// A minimal handset app for the outbox tests: each run is a fresh process, so running it twice
// is an app restart. Reports and photos are numbered, so the test can recompute what was sent.
//
//   sdk_outbox_app enqueue OUTBOX FIRST COUNT   queue reports FIRST..FIRST+COUNT-1, 2 photos each
//   sdk_outbox_app flush OUTBOX ENDPOINT        send what is pending (token in GRIDLINE_TOKEN)
//
// flush prints "sent=S failed=F pending=P stopped=CODE" and exits 0 when nothing is pending, 3
// when something is.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/numbers.h"
#include "gridline/client/outbox.h"
#include "tests/sdk_test_data.h"

namespace gc = gridline::client;

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: sdk_outbox_app enqueue|flush OUTBOX ...\n");
    return 2;
  }
  std::string command = argv[1];
  auto outbox = gc::Outbox::Open(argv[2]);
  if (!outbox.ok()) {
    std::fprintf(stderr, "%s\n", outbox.status().ToString().c_str());
    return 1;
  }
  if (command == "enqueue" && argc == 5) {
    int first = 0, count = 0;
    if (!absl::SimpleAtoi(argv[3], &first) || !absl::SimpleAtoi(argv[4], &count)) return 2;
    for (int i = first; i < first + count; ++i) {
      auto entry = (*outbox)->Enqueue(
          gridline::testing::NumberedReport(i),
          {gridline::testing::NumberedPhoto(i, 0), gridline::testing::NumberedPhoto(i, 1)});
      if (!entry.ok()) {
        std::fprintf(stderr, "report %d: %s\n", i, entry.status().ToString().c_str());
        return 1;
      }
    }
    std::printf("queued=%d\n", count);
    return 0;
  }
  if (command == "flush") {
    const char* token = std::getenv("GRIDLINE_TOKEN");
    auto options =
        gc::Options{}
            .set<gc::EndpointOption>(argv[3])
            .set<gc::AuthTokenOption>(token ? token : "")
            .set<gc::InsecureChannelOption>(true)
            .set<gc::TimeoutOption>(std::chrono::seconds(10))
            .set<gc::RetryPolicyOption>(std::make_shared<gc::LimitedErrorCountRetryPolicy>(2))
            .set<gc::BackoffPolicyOption>(std::make_shared<gc::ExponentialBackoffPolicy>(
                std::chrono::milliseconds(20), std::chrono::milliseconds(100)));
    gc::ReportClient client(gc::MakeReportConnection(options));
    auto result = (*outbox)->Flush(client);
    if (!result.ok()) {
      std::fprintf(stderr, "%s\n", result.status().ToString().c_str());
      return 1;
    }
    std::printf("sent=%d failed=%d pending=%d stopped=%s\n", result->sent, result->failed,
                result->pending, absl::StatusCodeToString(result->stopped_by.code()).c_str());
    return result->pending == 0 ? 0 : 3;
  }
  return 2;
}
