// Threads the server owns for blocking work (SQL). gRPC's callback threads only hand work here.
#ifndef GRIDLINE_SERVER_RUNTIME_WORKER_POOL_H_
#define GRIDLINE_SERVER_RUNTIME_WORKER_POOL_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace gridline::runtime {

class WorkerPool {
 public:
  explicit WorkerPool(int threads);
  ~WorkerPool();  // runs what is queued, then joins
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void Submit(std::function<void()> task);
  // Stop taking new work, finish what is queued, join the threads. Idempotent.
  void Shutdown();
  size_t queued() const;

 private:
  void Run();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace gridline::runtime

#endif  // GRIDLINE_SERVER_RUNTIME_WORKER_POOL_H_
