#include "server/api/stream_rechecks.h"

#include <utility>

namespace gridline::api {
namespace {
// Streams per pass: a pass's results go out before the next pass reads.
constexpr size_t kPass = 512;
}  // namespace

StreamRechecks::StreamRechecks(service::Guard* guard, runtime::WorkerPool* pool,
                               const util::Clock* clock)
    : guard_(guard), pool_(pool), clock_(clock) {}

void StreamRechecks::Add(Recheckable* stream) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queued_.push_back(stream);
    if (draining_) return;
    draining_ = true;
  }
  pool_->SubmitBackground([this] { Drain(); });
}

void StreamRechecks::Drain() {
  while (true) {
    std::vector<Recheckable*> batch;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (queued_.empty()) {
        draining_ = false;
        return;
      }
      if (queued_.size() <= kPass) {
        batch.swap(queued_);
      } else {
        batch.assign(queued_.begin(), queued_.begin() + kPass);
        queued_.erase(queued_.begin(), queued_.begin() + kPass);
      }
    }
    std::vector<const service::CallCredentials*> calls;
    calls.reserve(batch.size());
    for (Recheckable* s : batch) calls.push_back(&s->credentials());
    auto results = guard_->RecheckAll(calls, clock_->NowMicros());
    for (size_t i = 0; i < batch.size(); ++i) batch[i]->Rechecked(std::move(results[i]));
  }
}

}  // namespace gridline::api
