// The one base for callback-API handlers whose work runs on the server's worker pool.
//
// gRPC's reactions (OnReadDone, OnWriteDone, OnCancel) must never block, so authentication and
// every store or disk access run as pool tasks. Every such handler needs the same small state
// machine: at most one read and one write in flight, the pool tasks counted, and the call
// finished exactly once, when nothing is in flight any more. `RunUnary` is that for unary calls;
// `PoolReactor` is that for the streaming ones (uploads, downloads, the organisation import and
// the watches), so each handler only says what to read, what to write next and what to do on
// the pool.
#ifndef GRIDLINE_SERVER_API_POOL_REACTOR_H_
#define GRIDLINE_SERVER_API_POOL_REACTOR_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "server/api/context.h"
#include "server/service/request_context.h"

namespace gridline::api {

// A unary call: admits the caller (deps.guard: token, binding, the limits of `method`'s kind,
// see service::UnaryKind) and runs `work` on the pool, then finishes with its status. A call the
// pool cannot queue is refused at once with RESOURCE_EXHAUSTED and retry info; a call whose
// client gave up while it was queued is finished CANCELLED without work.
grpc::ServerUnaryReactor* RunUnary(
    grpc::CallbackServerContext* context, const ServiceContext& deps, const std::string& method,
    std::function<absl::Status(const service::RequestContext&)> work);

namespace internal {
// What a streaming reactor reads and writes.
template <typename Reactor>
struct StreamShape;
template <typename Request>
struct StreamShape<grpc::ServerReadReactor<Request>> {
  using In = Request;
  using Out = void;
  static constexpr bool kWrites = false;
};
template <typename Response>
struct StreamShape<grpc::ServerWriteReactor<Response>> {
  using In = void;
  using Out = Response;
  static constexpr bool kWrites = true;
};
template <typename Request, typename Response>
struct StreamShape<grpc::ServerBidiReactor<Request, Response>> {
  using In = Request;
  using Out = Response;
  static constexpr bool kWrites = true;
};
}  // namespace internal

// A streaming reactor (`Reactor` is grpc::ServerReadReactor, ServerWriteReactor or
// ServerBidiReactor) whose work runs on the pool. A subclass
//   - starts pool tasks with SubmitLocked and reads with ReadLocked;
//   - says what to write next in NextWriteLocked (writing reactors);
//   - handles what was read in OnReadLocked (reading reactors);
//   - asks to end the call with RequestFinishLocked.
// The base writes, counts, and finishes once the finish is requested and no read, write or task
// is in flight. Everything named ...Locked runs with `mu_` held. After Finish, gRPC may delete
// the reactor at once (OnDone) on another thread, so Advance releases the lock first and every
// caller of Advance returns right after it.
template <typename Reactor>
class PoolReactor : public Reactor {
  using Shape = internal::StreamShape<Reactor>;

 public:
  using In = typename Shape::In;
  using Out = typename Shape::Out;

  // Reading reactors: hands what was read (`ok` false: the client half-closed or went away) to
  // OnReadLocked, unless the call is already finishing. Not virtual in writing-only reactors,
  // where gRPC never calls it.
  void OnReadDone(bool ok) {
    std::unique_lock<std::mutex> lock(mu_);
    reading_ = false;
    if (!finish_) OnReadLocked(ok);
    Advance(lock);
  }

  // Writing reactors: a failed write means the client is gone.
  void OnWriteDone(bool ok) {
    std::unique_lock<std::mutex> lock(mu_);
    writing_ = false;
    if (!ok) {
      gone_ = true;
      RequestFinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "write failed"));
    }
    Advance(lock);
  }

  void OnCancel() override {
    // Set under the lock: gRPC may call this on another thread right after the handler made the
    // reactor, and only our lock orders that for ThreadSanitizer (gRPC's own is invisible to it).
    std::unique_lock<std::mutex> lock(mu_);
    gone_ = true;
    RequestFinishLocked(grpc::Status::CANCELLED);
    Advance(lock);
  }

  // Runs once Finish is done, after every task (Finish waits for them): nothing else uses the
  // reactor any more.
  void OnDone() override { delete this; }

 protected:
  explicit PoolReactor(runtime::WorkerPool* pool) : pool_(pool) {}
  virtual ~PoolReactor() = default;

  // Runs `task` on the pool; the call does not finish before it returns. False, and nothing run,
  // once the call has finished. `background`: upkeep that yields to calls' work
  // (WorkerPool::SubmitBackground).
  bool SubmitLocked(std::function<void()> task, bool background = false) {
    if (finished_) return false;
    ++tasks_;
    auto run = [this, task = std::move(task)] {
      task();
      std::unique_lock<std::mutex> lock(mu_);
      --tasks_;
      Advance(lock);  // may finish: the task must touch nothing of the reactor after this
    };
    if (background) {
      pool_->SubmitBackground(std::move(run));
    } else {
      pool_->Submit(std::move(run));
    }
    return true;
  }
  // Work done elsewhere that the call waits for like a task (a batched re-check, see
  // StreamRechecks): false once the call has finished. EndHeldLocked when it is done, then
  // Advance.
  bool HoldLocked() {
    if (finished_) return false;
    ++tasks_;
    return true;
  }
  void EndHeldLocked() { --tasks_; }
  void SubmitTask(std::function<void()> task) {
    std::lock_guard<std::mutex> lock(mu_);
    SubmitLocked(std::move(task));
  }

  void ReadLocked(In* message) {
    reading_ = true;
    this->StartRead(message);
  }

  // The first status asked for wins.
  void RequestFinishLocked(grpc::Status status) {
    if (!finish_) finish_ = std::move(status);
  }
  bool FinishingLocked() const { return finish_.has_value(); }
  bool TasksRunningLocked() const { return tasks_ > 0; }
  bool WritingLocked() const { return writing_; }
  // Cancelled, or a write failed: readable from tasks without the lock.
  bool ClientGone() const { return gone_; }

  // Starts the next write (NextWriteLocked), or finishes once nothing is in flight. The caller
  // must return right after it and touch nothing of the reactor (it may have finished).
  void Advance(std::unique_lock<std::mutex>& lock) {
    if (finished_) return;
    if constexpr (Shape::kWrites) {
      if (!writing_) {
        if (const Out* next = NextWriteLocked(); next != nullptr) {
          writing_ = true;
          this->StartWrite(next);
          return;
        }
      }
    }
    if (!finish_ || writing_ || reading_ || tasks_ > 0) return;
    if (BeforeFinishLocked()) return;
    finished_ = true;
    grpc::Status status = *std::move(finish_);
    lock.unlock();
    this->Finish(std::move(status));
  }

  // The message to write next, or nullptr for none now. It must stay untouched until the write
  // is done (Advance asks again only then). Called while the call is finishing too: return
  // nullptr to drop what is left, or go on to write it out before the status.
  virtual const Out* NextWriteLocked() { return nullptr; }
  // A message has been read (`ok`), or the reads have ended (!ok).
  virtual void OnReadLocked(bool /*ok*/) {}
  // Everything is idle and the finish is due: a last chance to submit one more task (to record
  // the call, say). Returns whether it did; the finish then waits for it.
  virtual bool BeforeFinishLocked() { return false; }

  std::mutex mu_;

 private:
  runtime::WorkerPool* const pool_;
  std::atomic<bool> gone_{false};
  int tasks_ = 0;
  bool reading_ = false;
  bool writing_ = false;
  bool finished_ = false;
  std::optional<grpc::Status> finish_;
};

}  // namespace gridline::api

#endif  // GRIDLINE_SERVER_API_POOL_REACTOR_H_
