// Threads the server owns for blocking work (SQL). gRPC's callback threads only hand work here.
#ifndef GRIDLINE_SERVER_RUNTIME_WORKER_POOL_H_
#define GRIDLINE_SERVER_RUNTIME_WORKER_POOL_H_

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace gridline::runtime {

class WorkerPool {
 public:
  // `max_queued`: TrySubmit refuses work while this many tasks wait (0: no bound).
  explicit WorkerPool(int threads, size_t max_queued = 0);
  ~WorkerPool();  // runs what is queued, then joins
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Work of a call already admitted (a stream's next message): always queued.
  void Submit(std::function<void()> task);
  // A new call's work: false, and nothing queued, while max_queued tasks wait. The caller
  // answers RESOURCE_EXHAUSTED (shedding load instead of building an unbounded queue).
  bool TrySubmit(std::function<void()> task);
  // Periodic upkeep of open calls (a stream re-checking its token): runs when no call's work
  // waits, or once it has waited kBackgroundMaxWait (so that steady load cannot starve it), on
  // at most one thread at a time: a burst of it never queues ahead of calls. Not counted against
  // max_queued.
  void SubmitBackground(std::function<void()> task);
  // Stop taking new work, finish what is queued, join the threads. Idempotent.
  void Shutdown();
  size_t queued() const;

 private:
  void Run();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  static constexpr std::chrono::milliseconds kBackgroundMaxWait{100};
  std::deque<std::pair<std::chrono::steady_clock::time_point, std::function<void()>>> background_;
  bool background_running_ = false;
  bool stopping_ = false;
  const size_t max_queued_;
  std::vector<std::thread> threads_;
};

}  // namespace gridline::runtime

#endif  // GRIDLINE_SERVER_RUNTIME_WORKER_POOL_H_
