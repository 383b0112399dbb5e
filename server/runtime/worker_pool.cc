#include "server/runtime/worker_pool.h"

namespace gridline::runtime {

WorkerPool::WorkerPool(int threads, size_t max_queued) : max_queued_(max_queued) {
  if (threads < 1) threads = 1;
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
}

WorkerPool::~WorkerPool() { Shutdown(); }

void WorkerPool::Submit(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      tasks_.push_back(std::move(task));
      cv_.notify_one();
      return;
    }
  }
  task();  // after shutdown, run inline so that no reactor waits forever for its answer
}

bool WorkerPool::TrySubmit(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      if (max_queued_ > 0 && tasks_.size() >= max_queued_) return false;
      tasks_.push_back(std::move(task));
      cv_.notify_one();
      return true;
    }
  }
  task();  // after shutdown, as Submit
  return true;
}

void WorkerPool::SubmitBackground(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      background_.emplace_back(std::chrono::steady_clock::now(), std::move(task));
      cv_.notify_one();
      return;
    }
  }
  task();  // after shutdown, as Submit
}

void WorkerPool::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

size_t WorkerPool::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return tasks_.size() + background_.size();
}

void WorkerPool::Run() {
  while (true) {
    std::function<void()> task;
    bool background = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      auto background_ready = [&] { return !background_running_ && !background_.empty(); };
      cv_.wait(lock, [&] {
        return !tasks_.empty() || background_ready() || (stopping_ && background_.empty());
      });
      const bool overdue =
          background_ready() &&
          std::chrono::steady_clock::now() - background_.front().first >= kBackgroundMaxWait;
      if (!tasks_.empty() && !overdue) {
        task = std::move(tasks_.front());
        tasks_.pop_front();
      } else if (background_ready()) {
        task = std::move(background_.front().second);
        background_.pop_front();
        background = background_running_ = true;
      } else {
        return;  // stopping, and nothing left
      }
    }
    task();
    if (background) {
      std::lock_guard<std::mutex> lock(mu_);
      background_running_ = false;
      if (stopping_) {
        cv_.notify_all();
      } else if (!background_.empty()) {
        cv_.notify_one();
      }
    }
  }
}

}  // namespace gridline::runtime
