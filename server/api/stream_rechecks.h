// Open watch streams re-check their tokens (WatchConfig.reauth_interval_ms) in batches: the
// streams due in one heartbeat slot queue here, and one background task on the worker pool
// checks them all, in one store read per 64 tokens (Guard::RecheckAll), instead of a pool task
// and a read per stream. At 19,500 open streams that is 650 re-checks a second.
#ifndef GRIDLINE_SERVER_API_STREAM_RECHECKS_H_
#define GRIDLINE_SERVER_API_STREAM_RECHECKS_H_

#include <mutex>
#include <vector>

#include "absl/status/statusor.h"
#include "server/domain/types.h"
#include "server/runtime/worker_pool.h"
#include "server/service/guard.h"
#include "server/util/clock.h"

namespace gridline::api {

// A stream's side of the re-checks.
class Recheckable {
 public:
  virtual ~Recheckable() = default;
  // What the stream was opened with; unchanged while it is open.
  virtual const service::CallCredentials& credentials() const = 0;
  // The re-check's result (on a worker thread). Called exactly once per Add.
  virtual void Rechecked(absl::StatusOr<domain::Caller> caller) = 0;
};

class StreamRechecks {
 public:
  // Not owned; `pool` runs the checks as background work (WorkerPool::SubmitBackground).
  StreamRechecks(service::Guard* guard, runtime::WorkerPool* pool, const util::Clock* clock);

  // Queues a re-check of `stream`, which stays alive until its Rechecked has returned. Never
  // blocks; may be called with the stream's own lock held.
  void Add(Recheckable* stream);

 private:
  void Drain();

  service::Guard* const guard_;
  runtime::WorkerPool* const pool_;
  const util::Clock* const clock_;
  std::mutex mu_;
  std::vector<Recheckable*> queued_;
  bool draining_ = false;  // a Drain task is queued or running: it takes what is added meanwhile
};

}  // namespace gridline::api

#endif  // GRIDLINE_SERVER_API_STREAM_RECHECKS_H_
