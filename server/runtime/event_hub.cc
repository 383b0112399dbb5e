#include "server/runtime/event_hub.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace gridline::runtime {

EventHub::EventHub(store::Store* store, Options options) : store_(store), options_(options) {}

EventHub::~EventHub() {
  BeginShutdown();
  Stop();
}

absl::Status EventHub::Start() {
  auto head = store_->LastEventSeq();
  if (!head.ok()) return head.status();
  auto pruned = store_->PrunedThroughSeq();
  if (!pruned.ok()) return pruned.status();
  {
    std::lock_guard<std::mutex> lock(ring_mu_);
    head_ = ring_base_ = *head;
  }
  pruned_through_ = *pruned;
  poller_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

void EventHub::BeginShutdown() {
  std::lock_guard<std::mutex> lock(watchers_mu_);
  if (shutting_down_) return;
  shutting_down_ = true;
  for (EventWatcher* w : watchers_) w->OnShutdown();
}

void EventHub::Stop() {
  {
    std::lock_guard<std::mutex> lock(wake_mu_);
    stop_ = true;
  }
  wake_cv_.notify_all();
  if (poller_.joinable()) poller_.join();
}

void EventHub::Notify() {
  {
    std::lock_guard<std::mutex> lock(wake_mu_);
    wake_ = true;
  }
  wake_cv_.notify_all();
}

int64_t EventHub::head() const {
  std::lock_guard<std::mutex> lock(ring_mu_);
  return head_;
}

int64_t EventHub::pruned_through() const { return pruned_through_.load(); }

bool EventHub::FetchFromRing(int64_t after, size_t max, std::vector<EventPtr>* out) const {
  std::lock_guard<std::mutex> lock(ring_mu_);
  if (after < ring_base_) return false;
  auto it = std::upper_bound(ring_.begin(), ring_.end(), after,
                             [](int64_t seq, const EventPtr& e) { return seq < e->seq; });
  for (; it != ring_.end() && max > 0; ++it, --max) out->push_back(*it);
  return true;
}

bool EventHub::Register(EventWatcher* w) {
  std::lock_guard<std::mutex> lock(watchers_mu_);
  if (shutting_down_) return false;
  watchers_.insert(w);
  return true;
}

void EventHub::Unregister(EventWatcher* w) {
  std::lock_guard<std::mutex> lock(watchers_mu_);
  watchers_.erase(w);
}

size_t EventHub::watcher_count() const {
  std::lock_guard<std::mutex> lock(watchers_mu_);
  return watchers_.size();
}

bool EventHub::PollOnce() {
  bool any = false;
  while (true) {
    int64_t after = head();
    auto events = store_->ListEventsAfter(after, 500);
    if (!events.ok()) {
      std::fprintf(stderr, "gridline: event poll failed: %s\n",
                   std::string(events.status().message()).c_str());
      return any;
    }
    if (events->empty()) return any;
    {
      std::lock_guard<std::mutex> lock(ring_mu_);
      for (auto& e : *events) {
        if (e.seq <= head_) continue;
        head_ = e.seq;
        ring_.push_back(std::make_shared<const domain::CaseEvent>(std::move(e)));
      }
      while (ring_.size() > options_.ring_capacity) {
        ring_base_ = ring_.front()->seq;
        ring_.pop_front();
      }
    }
    any = true;
    if (events->size() < 500) return any;
  }
}

void EventHub::Run() {
  using Clock = std::chrono::steady_clock;
  auto next_heartbeat = Clock::now() + std::chrono::milliseconds(options_.heartbeat_interval_ms);
  auto next_housekeeping = Clock::now();
  while (true) {
    {
      std::unique_lock<std::mutex> lock(wake_mu_);
      wake_cv_.wait_for(lock, std::chrono::milliseconds(options_.poll_interval_ms),
                        [&] { return wake_ || stop_; });
      if (stop_) return;
      wake_ = false;
    }
    if (PollOnce()) {
      std::lock_guard<std::mutex> lock(watchers_mu_);
      for (EventWatcher* w : watchers_) w->OnEventsAvailable();
    }
    auto now = Clock::now();
    if (now >= next_heartbeat) {
      next_heartbeat = now + std::chrono::milliseconds(options_.heartbeat_interval_ms);
      std::lock_guard<std::mutex> lock(watchers_mu_);
      for (EventWatcher* w : watchers_) w->OnHeartbeatTick();
    }
    if (now >= next_housekeeping) {
      next_housekeeping = now + std::chrono::minutes(5);
      if (options_.retention_days > 0) {
        const domain::Micros cutoff =
            domain::NowMicros() - int64_t{options_.retention_days} * 86400 * 1000000;
        store_->PruneEventsBefore(cutoff).IgnoreError();
      }
      if (auto p = store_->PrunedThroughSeq(); p.ok()) pruned_through_ = *p;
    }
  }
}

}  // namespace gridline::runtime
