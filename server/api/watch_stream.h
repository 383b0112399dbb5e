// One server-streaming watch (WatchCases, WatchQueue, WatchAssignments): a callback-API reactor,
// so an open stream costs no thread. It pulls events from the EventHub at its own pace, one
// write in flight at a time; store reads (authentication, catching up from an old cursor) run
// on the worker pool, never in a reaction.
#ifndef GRIDLINE_SERVER_API_WATCH_STREAM_H_
#define GRIDLINE_SERVER_API_WATCH_STREAM_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>

#include "gridline/v1/common.pb.h"
#include "server/api/context.h"
#include "server/api/pool_reactor.h"
#include "server/api/stream_rechecks.h"
#include "server/service/streams.h"

namespace gridline::api {

class WatchStream final : public PoolReactor<grpc::ServerWriteReactor<v1::WatchEvent>>,
                          public runtime::EventWatcher,
                          public Recheckable {
 public:
  // Which events the caller may see, built once the caller is authenticated (service/streams.h).
  using Visibility = service::StreamFilter;
  // Decides the authenticated caller's visibility (called on a worker thread).
  using Authorize = std::function<absl::StatusOr<Visibility>(const domain::Caller&)>;

  WatchStream(grpc::CallbackServerContext* context, const ServiceContext& deps,
              std::string after_cursor, Authorize authorize);

  void OnDone() override;

  void OnEventsAvailable() override;
  void OnHeartbeatTick() override;
  void OnShutdown() override;

  const service::CallCredentials& credentials() const override { return call_; }
  void Rechecked(absl::StatusOr<domain::Caller> caller) override;

 private:
  void Init(std::string after_cursor, Authorize authorize);
  void ReadFromStore();
  // The greeting, the next visible event or a due heartbeat; nothing while a task runs (it may
  // move the cursor) or the stream is finishing. Catching up from the store starts a task.
  const v1::WatchEvent* NextWriteLocked() override;

  ServiceContext deps_;
  grpc::CallbackServerContext* const context_;
  const service::CallCredentials call_;
  // This stream's place among its user's open streams (rate_limits.max_streams_per_user).
  service::StreamSlot slot_;
  domain::User user_;  // as authenticated when the stream opened
  std::function<bool(const domain::CaseEvent&)> visible_;
  int64_t cursor_ = 0;  // every event up to here is either queued, written, or not visible
  std::deque<runtime::EventPtr> pending_;
  bool registered_ = false;
  // Init or a store read is running: it sets the cursor, so nothing is written meanwhile. (A
  // re-authentication does not hold up writes.)
  bool cursor_task_ = true;
  bool heartbeat_due_ = false;
  bool greeting_due_ = false;  // the first message (a heartbeat with the start cursor) is owed
  std::chrono::steady_clock::time_point write_started_;
  std::chrono::steady_clock::time_point authenticated_;
  v1::WatchEvent message_;
};

}  // namespace gridline::api

#endif  // GRIDLINE_SERVER_API_WATCH_STREAM_H_
