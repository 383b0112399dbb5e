// The calls an HTTP endpoint (Connect, Open311) has handed to the gRPC server and not yet
// answered, so that shutdown can wait until each has given its answer to its exchange.
#ifndef GRIDLINE_SERVER_HTTP_CALL_COUNTER_H_
#define GRIDLINE_SERVER_HTTP_CALL_COUNTER_H_

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace gridline::http {

class CallCounter {
 public:
  void Started() {
    std::lock_guard<std::mutex> lock(mu_);
    ++calls_;
  }
  void Ended() {
    std::lock_guard<std::mutex> lock(mu_);
    if (--calls_ == 0) idle_.notify_all();
  }
  // False if calls are still open after `timeout`.
  bool WaitIdle(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return idle_.wait_for(lock, timeout, [this] { return calls_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable idle_;
  int calls_ = 0;
};

}  // namespace gridline::http

#endif  // GRIDLINE_SERVER_HTTP_CALL_COUNTER_H_
