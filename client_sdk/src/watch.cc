// The resumable watch: reconnect with backoff, resume after the last cursor, drop repeats (and
// what the caller's Skip says), turn CURSOR_EXPIRED into a re-sync notice, keep the cursor in a
// file if asked, and treat a stream that has been silent for too long as broken.
#include "gridline/client/watch.h"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace gridline::client {
namespace {

// The position a cursor names, when it has the server's current format ("g1-<seq>"). Cursors
// are opaque to applications; the SDK reads them only to drop repeats.
std::optional<int64_t> CursorSeq(const std::string& cursor) {
  int64_t seq = 0;
  if (!absl::StartsWith(cursor, "g1-") || !absl::SimpleAtoi(cursor.substr(3), &seq)) {
    return std::nullopt;
  }
  return seq;
}

// Errors that reconnecting cannot fix.
bool EndsWatch(const Status& status) {
  switch (status.code()) {
    case StatusCode::kUnauthenticated:
    case StatusCode::kPermissionDenied:
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kUnimplemented:
    case StatusCode::kFailedPrecondition:
      return true;
    default:
      return false;
  }
}

std::string ReadCursorFile(const std::string& path) {
  std::ifstream in(path);
  std::string cursor;
  if (in) std::getline(in, cursor);
  return cursor;
}

// Write-then-rename, so a crash leaves the old cursor or the new one, never half of one.
void WriteCursorFile(const std::string& path, const std::string& cursor) {
  std::string temp = absl::StrCat(path, ".tmp");
  {
    std::ofstream out(temp, std::ios::trunc);
    out << cursor << "\n";
    out.flush();
    if (!out) return;
  }
  std::rename(temp.c_str(), path.c_str());
}

}  // namespace

class Watch::Impl {
 public:
  Impl(Opener opener, WatchOptions options, const Options& connection_options, Skip skip)
      : opener_(std::move(opener)), options_(std::move(options)), skip_(std::move(skip)) {
    Options defaults = DefaultOptions(connection_options);
    backoff_prototype_ = options_.backoff
                             ? options_.backoff
                             : std::make_shared<ExponentialBackoffPolicy>(
                                   std::chrono::milliseconds(100), std::chrono::milliseconds(2000));
    backoff_ = backoff_prototype_->clone();
    idle_timeout_ = options_.idle_timeout.count() > 0 ? options_.idle_timeout
                                                      : defaults.get<WatchIdleTimeoutOption>();
    cursor_ = options_.after_cursor;
    if (cursor_.empty() && !options_.cursor_file.empty()) {
      cursor_ = ReadCursorFile(options_.cursor_file);
    }
    saved_cursor_ = cursor_;
    threshold_ = CursorSeq(cursor_);
    if (idle_timeout_.count() > 0) watchdog_ = std::thread([this] { Watchdog(); });
  }

  ~Impl() {
    Cancel();
    if (watchdog_.joinable()) watchdog_.join();
  }

  StatusOr<WatchUpdate> Next() {
    std::unique_lock<std::mutex> lock(mu_);
    if (cancelled_) return absl::CancelledError("the watch was cancelled");
    if (!final_.ok()) return final_;
    // The application is back for more, so it has handled everything delivered so far.
    SaveCursor();
    for (;;) {
      if (stream_ == nullptr) {
        if (failed_before_) {
          // Never sooner than the server asked (a rate limit's RetryInfo).
          auto delay = std::max(backoff_->OnCompletion(), retry_delay_);
          retry_delay_ = std::chrono::milliseconds(0);
          if (cv_.wait_for(lock, delay, [this] { return cancelled_; })) {
            return absl::CancelledError("the watch was cancelled");
          }
          reconnects_++;
        }
        std::string from = cursor_;
        lock.unlock();
        auto stream = opener_(from);
        lock.lock();
        stream_ = std::move(stream);
        if (cancelled_) stream_->Cancel();
      }
      EventStream* stream = stream_.get();
      reading_ = true;
      last_activity_ = std::chrono::steady_clock::now();
      lock.unlock();
      std::optional<v1::WatchEvent> message = stream->Read();
      lock.lock();
      reading_ = false;
      if (message) {
        if (failed_before_) {
          failed_before_ = false;
          backoff_ = backoff_prototype_->clone();
        }
        if (message->has_heartbeat()) {
          Advance(message->heartbeat().cursor());
          SaveCursor();
          continue;
        }
        if (!message->has_event()) continue;
        const auto seq = CursorSeq(message->event().cursor());
        if (seq && threshold_ && *seq <= *threshold_) continue;  // a repeat
        Advance(message->event().cursor());
        if (skip_ && skip_(message->event())) {
          SaveCursor();  // nothing for the application to handle: like a heartbeat
          continue;
        }
        WatchUpdate update;
        update.event = std::move(*message->mutable_event());
        return update;
      }
      lock.unlock();
      Status status = stream->Finish();
      lock.lock();
      stream_.reset();
      if (cancelled_) return absl::CancelledError("the watch was cancelled");
      failed_before_ = true;
      retry_delay_ = GetErrorDetails(status).retry_delay;
      if (IsCursorExpired(status)) {
        // Start again from now; the application re-lists while this watch collects changes.
        cursor_.clear();
        threshold_.reset();
        SaveCursor();
        WatchUpdate update;
        update.kind = WatchUpdate::Kind::kResyncRequired;
        update.reason = status;
        failed_before_ = false;
        return update;
      }
      if (EndsWatch(status)) {
        final_ = status;
        return status;
      }
      // UNAVAILABLE (server restarting, slow-consumer cutoff), a broken network, an idle stream
      // the watchdog cancelled, or a stream the server ended: resume after the cursor.
      if (options_.on_reconnect) {
        lock.unlock();
        options_.on_reconnect(status);
        lock.lock();
        if (cancelled_) return absl::CancelledError("the watch was cancelled");
      }
    }
  }

  // The application has handled everything delivered so far (Run's callback returned).
  void Handled() {
    std::lock_guard<std::mutex> lock(mu_);
    SaveCursor();
  }

  void Cancel() {
    std::lock_guard<std::mutex> lock(mu_);
    if (cancelled_) return;
    cancelled_ = true;
    if (stream_) stream_->Cancel();
    cv_.notify_all();
  }

  std::string cursor() const {
    std::lock_guard<std::mutex> lock(mu_);
    return cursor_;
  }
  int reconnects() const {
    std::lock_guard<std::mutex> lock(mu_);
    return reconnects_;
  }

 private:
  void Advance(const std::string& cursor) {
    cursor_ = cursor;
    auto seq = CursorSeq(cursor);
    if (seq && (!threshold_ || *seq > *threshold_)) threshold_ = seq;
  }

  void SaveCursor() {
    if (options_.cursor_file.empty() || cursor_ == saved_cursor_) return;
    if (cursor_.empty()) {
      std::remove(options_.cursor_file.c_str());
    } else {
      WriteCursorFile(options_.cursor_file, cursor_);
    }
    saved_cursor_ = cursor_;
  }

  // Cancels a stream that has said nothing, not even a heartbeat, for `idle_timeout_`; Next()
  // then reconnects.
  void Watchdog() {
    std::unique_lock<std::mutex> lock(mu_);
    auto tick =
        std::min<std::chrono::milliseconds>(idle_timeout_ / 4, std::chrono::milliseconds(1000));
    while (!cancelled_) {
      cv_.wait_for(lock, tick, [this] { return cancelled_; });
      if (cancelled_) break;
      if (reading_ && stream_ &&
          std::chrono::steady_clock::now() - last_activity_ > idle_timeout_) {
        stream_->Cancel();
        reading_ = false;
      }
    }
  }

  Opener opener_;
  WatchOptions options_;
  Skip skip_;
  std::shared_ptr<const BackoffPolicy> backoff_prototype_;
  std::unique_ptr<BackoffPolicy> backoff_;
  std::chrono::milliseconds idle_timeout_{0};

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool cancelled_ = false;
  Status final_;
  std::unique_ptr<EventStream> stream_;
  bool failed_before_ = false;
  std::chrono::milliseconds retry_delay_{0};  // asked for by the server's last refusal
  bool reading_ = false;
  std::chrono::steady_clock::time_point last_activity_;
  std::string cursor_;
  std::string saved_cursor_;
  // Events at or before this position were delivered (or skipped by a heartbeat): drop them.
  std::optional<int64_t> threshold_;
  int reconnects_ = 0;
  std::thread watchdog_;
};

Watch::Watch(Opener opener, WatchOptions options, const Options& connection_options)
    : Watch(std::move(opener), std::move(options), connection_options, Skip()) {}
Watch::Watch(Opener opener, WatchOptions options, const Options& connection_options, Skip skip)
    : impl_(std::make_unique<Impl>(std::move(opener), std::move(options), connection_options,
                                   std::move(skip))) {}
Watch::~Watch() = default;

StatusOr<WatchUpdate> Watch::Next() { return impl_->Next(); }

Status Watch::Run(const std::function<bool(const WatchUpdate&)>& on_update) {
  for (;;) {
    auto update = impl_->Next();
    if (!update.ok()) return update.status();
    const bool more = on_update(*update);
    impl_->Handled();  // so that a Cancel() right after the callback does not redeliver it
    if (!more) return Status();
  }
}

void Watch::Cancel() { impl_->Cancel(); }
std::string Watch::cursor() const { return impl_->cursor(); }
int Watch::reconnects() const { return impl_->reconnects(); }

}  // namespace gridline::client
