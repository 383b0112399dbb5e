// Reads one watch stream (WatchCases, WatchQueue, WatchAssignments) on a thread of its own, so
// that an end-to-end test can wait for its events with a deadline.
#ifndef GRIDLINE_TESTS_STREAM_READER_H_
#define GRIDLINE_TESTS_STREAM_READER_H_

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "gridline/v1/common.pb.h"

namespace gridline::testing {

namespace v1 = ::gridline::v1;

// The event number of a cursor ("g1-<n>"), -1 if it is not one.
inline int64_t SeqOf(const std::string& cursor) {
  int64_t n = -1;
  if (cursor.rfind("g1-", 0) != 0 || !absl::SimpleAtoi(cursor.substr(3), &n)) return -1;
  return n;
}

// Reads one watch stream on its own thread, so a test can wait for events with a deadline.
class StreamReader {
 public:
  using Open =
      std::function<std::unique_ptr<grpc::ClientReader<v1::WatchEvent>>(grpc::ClientContext*)>;
  StreamReader(const std::string& token, const Open& open) {
    ctx_.AddMetadata("authorization", "Bearer " + token);
    ctx_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
    reader_ = open(&ctx_);
    thread_ = std::thread([this] {
      v1::WatchEvent ev;
      while (reader_->Read(&ev)) {
        std::lock_guard<std::mutex> lock(mu_);
        if (ev.has_event()) {
          events_.push_back(ev.event());
          position_ = std::max(position_, SeqOf(ev.event().cursor()));
        }
        if (ev.has_heartbeat()) {
          ++heartbeats_;
          position_ = std::max(position_, SeqOf(ev.heartbeat().cursor()));
        }
        cv_.notify_all();
      }
      grpc::Status s = reader_->Finish();
      std::lock_guard<std::mutex> lock(mu_);
      status_ = s;
      cv_.notify_all();
    });
  }
  ~StreamReader() {
    ctx_.TryCancel();
    thread_.join();
  }
  bool WaitForHeartbeat(int timeout_ms = 10000) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
      return heartbeats_ > 0 || status_.has_value();
    }) && heartbeats_ > 0;
  }
  // Waits until the stream has passed `seq` (an event or heartbeat at or after it), so that
  // every event up to `seq` it was going to send has arrived. Returns the events so far.
  std::vector<v1::CaseEvent> EventsThrough(int64_t seq, int timeout_ms = 15000) {
    std::unique_lock<std::mutex> lock(mu_);
    bool reached = cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                                [&] { return position_ >= seq || status_.has_value(); });
    EXPECT_TRUE(reached && position_ >= seq)
        << "stream stopped at " << position_ << ", wanted " << seq
        << (status_ ? " (ended: " + status_->error_message() + ")" : "");
    return events_;
  }
  // Waits until `done(events)` holds; returns the events.
  std::vector<v1::CaseEvent> WaitUntil(
      const std::function<bool(const std::vector<v1::CaseEvent>&)>& done, int timeout_ms = 15000) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                 [&] { return done(events_) || status_.has_value(); });
    return events_;
  }
  std::vector<v1::CaseEvent> Events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  std::optional<grpc::Status> WaitForEnd(int timeout_ms = 15000) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return status_.has_value(); });
    return status_;
  }

 private:
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReader<v1::WatchEvent>> reader_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<v1::CaseEvent> events_;
  int heartbeats_ = 0;
  int64_t position_ = -1;
  std::optional<grpc::Status> status_;
};

}  // namespace gridline::testing

#endif  // GRIDLINE_TESTS_STREAM_READER_H_
