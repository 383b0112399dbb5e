// The runtime on a real SQLite store: the event hub calls its watchers without holding its own
// lock, so a watcher may call back into the hub (and hold its own lock while it registers).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "server/runtime/event_hub.h"
#include "server/runtime/worker_pool.h"
#include "server/store/store.h"
#include "tests/test_support.h"

namespace gridline {
namespace {

// Calls back into the hub from every call it gets, as a stream may.
class ReentrantWatcher : public runtime::EventWatcher {
 public:
  explicit ReentrantWatcher(runtime::EventHub* hub) : hub_(hub) {}
  void OnEventsAvailable() override { Record(); }
  void OnHeartbeatTick() override { Record(); }
  void OnShutdown() override { Record(); }

  bool WaitForCalls(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return calls_ >= n; });
  }

 private:
  void Record() {
    const size_t watchers = hub_->watcher_count();  // takes the hub's lock
    std::lock_guard<std::mutex> lock(mu_);
    if (watchers > 0) ++calls_;
    cv_.notify_all();
  }

  runtime::EventHub* hub_;
  std::mutex mu_;
  std::condition_variable cv_;
  int calls_ = 0;
};

TEST(EventHubTest, WatchersMayCallTheHubFromItsCalls) {
  testing::TempDir dir;
  store::SqliteOptions options;
  options.path = dir.path() + "/hub.db";
  auto store = store::OpenSqliteStore(options);
  ASSERT_TRUE(store.ok()) << store.status();
  runtime::EventHub::Options hub_options;
  hub_options.heartbeat_interval_ms = 16;  // a tick per millisecond, one phase each
  hub_options.poll_interval_ms = 1;
  runtime::EventHub hub(store->get(), hub_options);
  ASSERT_TRUE(hub.Start().ok());
  ReentrantWatcher w(&hub);
  ASSERT_TRUE(hub.Register(&w));
  // Heartbeat ticks reach it, and its call into the hub returns (before, the hub held its lock
  // while calling out, and this deadlocked).
  EXPECT_TRUE(w.WaitForCalls(3));
  hub.Unregister(&w);
  hub.BeginShutdown();
  hub.Stop();
}

TEST(WorkerPoolTest, NewWorkIsRefusedWhileTheQueueIsFullAndAdmittedWorkIsNot) {
  runtime::WorkerPool pool(1, 1);
  std::mutex mu;
  std::condition_variable cv;
  bool started = false, release = false;
  std::atomic<int> ran{0};
  ASSERT_TRUE(pool.TrySubmit([&] {
    std::unique_lock<std::mutex> lock(mu);
    started = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
    ++ran;
  }));
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return started; }));
  }
  EXPECT_TRUE(pool.TrySubmit([&] { ++ran; }));   // waits: the queue holds one
  EXPECT_FALSE(pool.TrySubmit([&] { ++ran; }));  // refused: the queue is full
  pool.Submit([&] { ++ran; });                   // a stream's next turn: always queued
  EXPECT_EQ(pool.queued(), 2u);
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  pool.Shutdown();  // finishes what is queued
  EXPECT_EQ(ran.load(), 3);
}

// Re-authentications of open streams are background work: they run after the calls' work that
// was waiting, one at a time, and never count against the queue bound.
TEST(WorkerPoolTest, BackgroundWorkYieldsToCallsAndRunsOneAtATime) {
  runtime::WorkerPool pool(2, 1);
  std::mutex mu;
  std::condition_variable cv;
  int started = 0;
  bool release = false;
  std::vector<std::string> order;
  int background_now = 0, background_most = 0;
  auto blocker = [&] {
    std::unique_lock<std::mutex> lock(mu);
    ++started;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
  };
  pool.Submit(blocker);
  pool.Submit(blocker);
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return started == 2; }));
  }
  // Both workers are taken: queue background work first, then a call's.
  for (int i = 0; i < 4; ++i) {
    pool.SubmitBackground([&, i] {
      {
        std::lock_guard<std::mutex> lock(mu);
        background_most = std::max(background_most, ++background_now);
        order.push_back("background " + std::to_string(i));
      }
      std::this_thread::yield();
      std::lock_guard<std::mutex> lock(mu);
      --background_now;
    });
  }
  EXPECT_TRUE(pool.TrySubmit([&] {
    std::lock_guard<std::mutex> lock(mu);
    order.push_back("call");
  })) << "background work does not fill the queue";
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  pool.Shutdown();  // finishes what is queued, background work included
  ASSERT_EQ(order.size(), 5u);
  EXPECT_EQ(order.front(), "call");
  for (int i = 0; i < 4; ++i) EXPECT_EQ(order[i + 1], "background " + std::to_string(i));
  EXPECT_EQ(background_most, 1);
}

}  // namespace
}  // namespace gridline
