#include "server/api/watch_stream.h"

#include "absl/strings/str_cat.h"
#include "server/api/convert.h"
#include "server/domain/organisation.h"
#include "server/service/org_import.h"
#include "server/util/text.h"

namespace gridline::api {
namespace {
constexpr size_t kRingBatch = 64;
constexpr int kStoreBatch = 256;
}  // namespace

WatchStream::WatchStream(grpc::CallbackServerContext* context, const ServiceContext& deps,
                         std::string after_cursor, Authorize authorize)
    : PoolReactor(deps.pool), deps_(deps), context_(context), call_(CredentialsOf(context)) {
  SubmitTask(
      [this, after_cursor = std::move(after_cursor), authorize = std::move(authorize)]() mutable {
        Init(std::move(after_cursor), std::move(authorize));
      });
}

void WatchStream::Init(std::string after_cursor, Authorize authorize) {
  grpc::Status error;
  auto caller = deps_.guard->Admit(call_, service::CallKind::kStream, deps_.clock->NowMicros());
  if (caller.ok()) deps_.NoteCaller(context_, *caller);
  Visibility visible;
  int64_t start = 0;
  absl::StatusOr<service::StreamSlot> slot = service::StreamSlot();
  if (!caller.ok()) {
    error = ToGrpcStatus(caller.status());
  } else if (auto v = authorize(*caller); !v.ok()) {
    error = ToGrpcStatus(v.status());
  } else if (slot = deps_.guard->OpenStream(*caller); !slot.ok()) {
    error = ToGrpcStatus(slot.status());
  } else {
    visible = *std::move(v);
    if (after_cursor.empty()) {
      auto last = deps_.store->LastEventSeq();  // "now": the newest committed event
      if (!last.ok())
        error = ToGrpcStatus(last.status());
      else
        start = *last;
    } else if (auto seq = DecodeCursor(after_cursor); !seq.has_value()) {
      error = ToGrpcStatus(absl::InvalidArgumentError(absl::StrCat(
          "after_cursor '", util::TruncateUtf8(after_cursor, 40), "' is not a gridline cursor")));
    } else {
      auto last = deps_.store->LastEventSeq();
      auto pruned = deps_.store->FeedHorizonSeq();
      if (!last.ok() || !pruned.ok()) {
        error = ToGrpcStatus(!last.ok() ? last.status() : pruned.status());
      } else if (*seq > *last) {
        error = ToGrpcStatus(absl::InvalidArgumentError(
            "after_cursor is ahead of this server's event log (from another installation?)"));
      } else if (*seq < *pruned) {
        error = ToGrpcStatus(
            absl::OutOfRangeError("the cursor has expired: it is older than the feed's window "
                                  "(watch.retention_days); list again and watch from the "
                                  "list's feed_cursor (the history itself is kept)"),
            "CURSOR_EXPIRED");
      } else {
        start = *seq;
      }
    }
  }
  std::unique_lock<std::mutex> lock(mu_);
  if (!error.ok()) {
    RequestFinishLocked(error);
    return;
  }
  slot_ = *std::move(slot);
  visible_ = std::move(visible.shows);
  user_ = caller->user;
  authenticated_ = std::chrono::steady_clock::now();
  cursor_ = start;
  greeting_due_ = true;
  // Registered without our lock held (the hub calls us with its own lock released, and takes
  // it to register). This task keeps the stream alive meanwhile; calls from the hub until then
  // find cursor_task_ set and write nothing.
  lock.unlock();
  const bool registered = deps_.hub->Register(this, std::move(visible.keys));
  lock.lock();
  registered_ = registered;
  cursor_task_ = false;
  if (!registered_) {
    RequestFinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "server shutting down"));
  }
}

void WatchStream::ReadFromStore() {
  int64_t after;
  {
    std::unique_lock<std::mutex> lock(mu_);
    after = cursor_;
  }
  auto events = deps_.store->ListEventsAfter(after, kStoreBatch);
  std::lock_guard<std::mutex> lock(mu_);
  cursor_task_ = false;
  if (!events.ok()) {
    RequestFinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                     "cannot read events; resume from your last cursor"));
  } else if (!events->empty() && events->front().seq != after + 1) {
    // Sequence numbers are dense and events are no longer deleted, so a hole right after the
    // cursor can only be events that a version before issue 11 deleted by retention.
    RequestFinishLocked(ToGrpcStatus(
        absl::OutOfRangeError("events after the cursor were deleted by an older version's "
                              "retention; list again and watch from the list's feed_cursor"),
        "CURSOR_EXPIRED"));
  } else {
    for (auto& e : *events) {
      cursor_ = e.seq;
      if (visible_(e)) pending_.push_back(std::make_shared<const domain::CaseEvent>(std::move(e)));
    }
  }
}

// The token and the user, re-checked (see WatchConfig.reauth_interval_ms and StreamRechecks).
void WatchStream::Rechecked(absl::StatusOr<domain::Caller> caller) {
  std::unique_lock<std::mutex> lock(mu_);
  EndHeldLocked();
  authenticated_ = std::chrono::steady_clock::now();
  if (!caller.ok()) {
    if (absl::IsUnauthenticated(caller.status())) {
      RequestFinishLocked(grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                       "the token was revoked or the user disabled"));
    }  // a store outage is not the caller's fault: keep streaming, check again later
  } else if (caller->user.role != user_.role || caller->user.grid_code != user_.grid_code ||
             caller->user.department_code != user_.department_code) {
    RequestFinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                     "your role or scope changed; reconnect to watch under it"));
  }
  Advance(lock);
}

const v1::WatchEvent* WatchStream::NextWriteLocked() {
  if (cursor_task_ || FinishingLocked()) return nullptr;
  if (greeting_due_) {
    // The first message, at once: a heartbeat with the cursor the stream starts from, so the
    // client knows it is live (and from where) without waiting for an event or a tick.
    greeting_due_ = false;
    message_.Clear();
    message_.mutable_heartbeat()->set_cursor(EncodeCursor(cursor_));
    SetTimestamp(deps_.clock->NowMicros(), message_.mutable_heartbeat()->mutable_server_time());
    write_started_ = std::chrono::steady_clock::now();
    return &message_;
  }
  while (pending_.empty()) {
    // Nothing routed since the cursor concerned this stream: skip to the routed head unread.
    const int64_t routed = deps_.hub->routed_head();
    if (cursor_ >= interesting_through.load(std::memory_order_relaxed)) {
      cursor_ = std::max(cursor_, routed);
      break;
    }
    std::vector<runtime::EventPtr> batch;
    if (!deps_.hub->FetchFromRing(cursor_, kRingBatch, &batch)) {
      // Behind the ring: catch up from the store on a worker thread.
      cursor_task_ = SubmitLocked([this] { ReadFromStore(); });
      return nullptr;
    }
    for (auto& e : batch) {
      cursor_ = e->seq;
      if (visible_(*e)) pending_.push_back(std::move(e));
    }
    if (batch.size() < kRingBatch) break;
  }
  message_.Clear();
  if (!pending_.empty()) {
    ToProto(*pending_.front(), message_.mutable_event());
    pending_.pop_front();
  } else if (heartbeat_due_) {
    message_.mutable_heartbeat()->set_cursor(EncodeCursor(cursor_));
    SetTimestamp(deps_.clock->NowMicros(), message_.mutable_heartbeat()->mutable_server_time());
  } else {
    return nullptr;
  }
  heartbeat_due_ = false;
  write_started_ = std::chrono::steady_clock::now();
  return &message_;
}

void WatchStream::OnDone() {
  bool registered;
  {
    std::unique_lock<std::mutex> lock(mu_);
    registered = registered_;
  }
  if (registered) deps_.hub->Unregister(this);
  PoolReactor::OnDone();  // deletes this stream
}

void WatchStream::OnEventsAvailable() {
  std::unique_lock<std::mutex> lock(mu_);
  Advance(lock);
}

void WatchStream::OnHeartbeatTick() {
  std::unique_lock<std::mutex> lock(mu_);
  heartbeat_due_ = true;
  const auto now = std::chrono::steady_clock::now();
  const auto& options = deps_.hub->options();
  if (WritingLocked()) {
    // A client that takes nothing leaves one message in flight and its buffers full: end the
    // stream, and cancel it if even the status cannot get through.
    const auto stuck = now - write_started_;
    const auto limit = std::chrono::milliseconds(options.slow_consumer_timeout_ms);
    if (stuck > limit) {
      RequestFinishLocked(grpc::Status(
          grpc::StatusCode::UNAVAILABLE,
          absl::StrCat("the client did not read for ", options.slow_consumer_timeout_ms / 1000,
                       " s; reconnect and resume from your last cursor")));
    }
    if (stuck > 2 * limit && !TasksRunningLocked()) {
      // The task keeps the stream (and context_) alive until it is done.
      SubmitLocked([this] { context_->TryCancel(); });
      return;
    }
  }
  if (!TasksRunningLocked() && !FinishingLocked() && registered_ &&
      now - authenticated_ > std::chrono::milliseconds(options.reauth_interval_ms)) {
    // Batched with the slot's other streams, in the background: a tick's worth of re-checks
    // must not queue ahead of reports. The heartbeat goes out meanwhile: a re-check holds up no
    // write.
    if (HoldLocked()) deps_.rechecks->Add(this);
  }
  Advance(lock);
}

void WatchStream::OnShutdown() {
  std::unique_lock<std::mutex> lock(mu_);
  RequestFinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                   "server shutting down; reconnect and resume from your last "
                                   "cursor"));
  Advance(lock);
}

}  // namespace gridline::api
