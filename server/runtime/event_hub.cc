#include "server/runtime/event_hub.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string_view>

#include "server/service/case_service.h"
#include "server/util/metrics.h"

namespace gridline::runtime {
namespace {
// 64 slots: at 19,500 streams and a 15 s interval a slot ticks about 300 streams every 234 ms
// (16 slots ticked 1,200 at once, and the writes they start run on this thread).
constexpr int kHeartbeatPhases = 64;
// Peer processes remembered for peers_heard(): a bound on what senders can make us keep.
constexpr size_t kMaxHeard = 256;

std::chrono::milliseconds Ms(int ms) { return std::chrono::milliseconds(ms); }
}  // namespace

EventHub::EventHub(store::FeedStore* store, Options options)
    : store_(store), options_(options), by_phase_(kHeartbeatPhases) {}

EventHub::~EventHub() {
  BeginShutdown();
  Stop();
}

absl::Status EventHub::Start() {
  auto head = store_->LastEventSeq();
  if (!head.ok()) return head.status();
  // The feed's window as of now, before any stream opens (housekeeping moves it later on).
  if (options_.retention_days > 0) {
    const domain::Micros cutoff =
        options_.clock->NowMicros() - int64_t{options_.retention_days} * 86400 * 1000000;
    if (auto moved = store_->AdvanceFeedHorizon(cutoff); !moved.ok()) return moved.status();
  }
  auto pruned = store_->FeedHorizonSeq();
  if (!pruned.ok()) return pruned.status();
  {
    std::lock_guard<std::mutex> lock(ring_mu_);
    head_ = ring_base_ = *head;
  }
  known_head_.store(*head, std::memory_order_release);
  routed_head_.store(*head, std::memory_order_release);
  pruned_through_ = *pruned;
  poller_ = std::thread([this] { Run(); });
  housekeeper_ = std::thread([this] { Housekeep(); });  // Start() did the first round
  heartbeater_ = std::thread([this] { Heartbeats(); });
  return absl::OkStatus();
}

void EventHub::BeginShutdown() {
  std::vector<EventWatcher*> all;
  {
    std::lock_guard<std::mutex> lock(watchers_mu_);
    if (shutting_down_) return;
    shutting_down_ = true;
    for (const auto& entry : entries_) all.push_back(entry.first);
  }
  CallOut(all, &EventWatcher::OnShutdown);
}

void EventHub::CallOut(const std::vector<EventWatcher*>& targets, void (EventWatcher::*fn)()) {
  const std::thread::id self = std::this_thread::get_id();
  for (EventWatcher* w : targets) {
    {
      std::lock_guard<std::mutex> lock(watchers_mu_);
      if (!entries_.count(w)) continue;  // unregistered since it was chosen
      calling_.emplace_back(w, self);
    }
    (w->*fn)();
    {
      std::lock_guard<std::mutex> lock(watchers_mu_);
      calling_.erase(std::find(calling_.begin(), calling_.end(), std::make_pair(w, self)));
    }
    callout_done_.notify_all();
  }
}

void EventHub::Stop() {
  {
    std::lock_guard<std::mutex> lock(wake_mu_);
    stop_ = true;
  }
  wake_cv_.notify_all();
  stop_cv_.notify_all();
  if (poller_.joinable()) poller_.join();
  if (housekeeper_.joinable()) housekeeper_.join();
  if (heartbeater_.joinable()) heartbeater_.join();
}

void EventHub::Notify() {
  // Only the poller waits on wake_cv_. A wake-up already due is not repeated: under load the
  // commits come faster than the reads, and each futex wake costs a system call.
  bool due;
  {
    std::lock_guard<std::mutex> lock(wake_mu_);
    due = wake_;
    wake_ = true;
  }
  if (!due) wake_cv_.notify_one();
}

void EventHub::EventsCommitted(int64_t head_seq) {
  Notify();
  if (options_.on_commit) options_.on_commit(head_seq);
}

bool EventHub::PeerCommitted(int64_t head_seq, const std::string& sender) {
  const auto now = std::chrono::steady_clock::now();
  bool news;
  {
    std::lock_guard<std::mutex> lock(wake_mu_);
    if (!sender.empty()) {
      auto it = heard_.find(sender);
      if (it != heard_.end()) {
        it->second = now;
      } else {
        if (heard_.size() >= kMaxHeard) PeersHeardLocked(now);  // drops the silent ones
        if (heard_.size() < kMaxHeard) heard_.emplace(sender, now);
      }
    }
    // Nothing to read for a hint at or behind the head (a keepalive, a repeat, a late one).
    news = head_seq > known_head_.load(std::memory_order_acquire);
    if (news) {
      notified_ = true;
      if (now >= wanted_until_) wanted_head_ = 0;  // an older promise has lapsed
      wanted_head_ = std::max(wanted_head_, head_seq);
      wanted_until_ = now + Ms(options_.early_notification_wait_ms);
    }
  }
  if (news) wake_cv_.notify_one();
  return news;
}

int EventHub::PeersHeardLocked(std::chrono::steady_clock::time_point now) const {
  for (auto it = heard_.begin(); it != heard_.end();) {
    it = now - it->second > Ms(options_.peer_silence_ms) ? heard_.erase(it) : std::next(it);
  }
  return static_cast<int>(heard_.size());
}

int EventHub::peers_heard() const {
  std::lock_guard<std::mutex> lock(wake_mu_);
  return PeersHeardLocked(std::chrono::steady_clock::now());
}

EventHub::PollCounts EventHub::polls() const {
  PollCounts c;
  c.interval = polls_interval_.load();
  c.commit = polls_commit_.load();
  c.peer = polls_peer_.load();
  c.retry = polls_retry_.load();
  return c;
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

bool EventHub::Register(EventWatcher* w, std::vector<std::string> keys) {
  std::lock_guard<std::mutex> lock(watchers_mu_);
  if (shutting_down_) return false;
  // Everything up to now counts as possibly interesting: the watcher reads it itself.
  w->interesting_through.store(routed_head_.load(), std::memory_order_relaxed);
  if (keys.empty()) {
    wildcard_.insert(w);
  } else {
    for (const auto& k : keys) by_key_[k].insert(w);
  }
  entries_[w] = Entry{std::move(keys), next_phase_};
  by_phase_[next_phase_].insert(w);
  next_phase_ = (next_phase_ + 1) % kHeartbeatPhases;
  return true;
}

void EventHub::Unregister(EventWatcher* w) {
  std::unique_lock<std::mutex> lock(watchers_mu_);
  // A call into `w` on another thread finishes before `w` may go away (a stream deletes itself
  // right after this). One on this thread is the caller's own stack: do not wait for it.
  const std::thread::id self = std::this_thread::get_id();
  callout_done_.wait(lock, [&] {
    return std::none_of(calling_.begin(), calling_.end(),
                        [&](const auto& c) { return c.first == w && c.second != self; });
  });
  wildcard_.erase(w);
  auto it = entries_.find(w);
  if (it != entries_.end()) {
    for (const auto& k : it->second.keys) {
      auto b = by_key_.find(k);
      if (b == by_key_.end()) continue;
      b->second.erase(w);
      if (b->second.empty()) by_key_.erase(b);
    }
    by_phase_[it->second.heartbeat_phase].erase(w);
    entries_.erase(it);
  }
}

std::vector<EventWatcher*> EventHub::RouteLocked(const std::vector<EventPtr>& events) {
  std::set<EventWatcher*> wake;
  auto touch = [&](EventWatcher* w, int64_t seq) {
    int64_t cur = w->interesting_through.load(std::memory_order_relaxed);
    while (cur < seq && !w->interesting_through.compare_exchange_weak(cur, seq)) {
    }
    wake.insert(w);
  };
  for (const auto& e : events) {
    for (const auto& k : domain::EventInterestKeys(*e)) {
      auto it = by_key_.find(k);
      if (it == by_key_.end()) continue;
      for (EventWatcher* w : it->second) touch(w, e->seq);
    }
    for (EventWatcher* w : wildcard_) touch(w, e->seq);
  }
  if (!events.empty()) routed_head_.store(events.back()->seq, std::memory_order_release);
  return {wake.begin(), wake.end()};
}

size_t EventHub::watcher_count() const {
  std::lock_guard<std::mutex> lock(watchers_mu_);
  return entries_.size();
}

std::vector<EventPtr> EventHub::PollOnce(const char* reason) {
  std::atomic<int64_t>& count = reason == std::string_view("commit")  ? polls_commit_
                                : reason == std::string_view("peer")  ? polls_peer_
                                : reason == std::string_view("retry") ? polls_retry_
                                                                      : polls_interval_;
  std::vector<EventPtr> added;
  while (true) {
    int64_t after = head();
    count.fetch_add(1);
    util::DefaultMetrics().Add("gridline_feed_polls_total", {{"reason", reason}});
    auto events = store_->ListEventsAfter(after, 500);
    if (!events.ok()) {
      std::fprintf(stderr, "gridline: event poll failed: %s\n",
                   std::string(events.status().message()).c_str());
      return added;
    }
    if (events->empty()) return added;
    const size_t n = events->size();
    {
      std::lock_guard<std::mutex> lock(ring_mu_);
      for (auto& e : *events) {
        if (e.seq <= head_) continue;
        head_ = e.seq;
        ring_.push_back(std::make_shared<const domain::CaseEvent>(std::move(e)));
        added.push_back(ring_.back());
      }
      known_head_.store(head_, std::memory_order_release);
      while (ring_.size() > options_.ring_capacity) {
        ring_base_ = ring_.front()->seq;
        ring_.pop_front();
      }
    }
    if (n < 500) return added;
  }
}

void EventHub::Run() {
  using Clock = std::chrono::steady_clock;
  auto last_poll = Clock::now();                  // the end of the last read
  auto last_notified = Clock::time_point::min();  // the start of the last read a hint caused
  auto retry_delay = Ms(options_.min_notified_poll_interval_ms);
  while (true) {
    // What comes first: a local commit (read now), a hint with news (read now, but at most one
    // such read per min_notified_poll_interval_ms), the follow-up of an early hint, the regular
    // poll (slower while every peer is heard from).
    const char* reason = nullptr;
    {
      std::unique_lock<std::mutex> lock(wake_mu_);
      while (true) {
        if (stop_) return;
        const auto now = Clock::now();
        if (wake_) {
          reason = "commit";
          break;
        }
        const bool peers_ok = options_.peers > 0 && PeersHeardLocked(now) >= options_.peers;
        auto due =
            last_poll + Ms(peers_ok ? options_.peer_poll_interval_ms : options_.poll_interval_ms);
        const char* why = "interval";
        const auto notified_ok = last_notified + Ms(options_.min_notified_poll_interval_ms);
        if (notified_) {
          const auto at = std::max(now, notified_ok);
          if (at < due) {
            due = at;
            why = "peer";
          }
        } else if (wanted_head_ > known_head_.load(std::memory_order_acquire) &&
                   now < wanted_until_) {
          const auto at = std::max(last_poll + retry_delay, notified_ok);
          if (at < due) {
            due = at;
            why = "retry";
          }
        }
        if (now >= due) {
          reason = why;
          break;
        }
        wake_cv_.wait_until(lock, due);
      }
      wake_ = false;
      // This read sees every commit a hint so far announced, unless the hint was early.
      if (notified_) retry_delay = Ms(options_.min_notified_poll_interval_ms);
      if (reason == std::string_view("retry")) {
        retry_delay = std::min(2 * retry_delay, Ms(options_.poll_interval_ms));
      }
      if (notified_ || reason == std::string_view("retry")) last_notified = Clock::now();
      notified_ = false;
    }
    // The watchers are called without watchers_mu_ held (they take their own locks, and take
    // ours to register): CallOut.
    auto added = PollOnce(reason);
    last_poll = Clock::now();
    if (!added.empty()) {
      std::vector<EventWatcher*> wake;
      {
        std::lock_guard<std::mutex> lock(watchers_mu_);
        wake = RouteLocked(added);
      }
      CallOut(wake, &EventWatcher::OnEventsAvailable);
    }
  }
}

void EventHub::Heartbeats() {
  using Clock = std::chrono::steady_clock;
  auto next_heartbeat = Clock::now();
  while (true) {
    {
      std::unique_lock<std::mutex> lock(wake_mu_);
      if (stop_cv_.wait_until(lock, next_heartbeat, [&] { return stop_; })) return;
    }
    // One phase of kHeartbeatPhases per step: each watcher still gets one tick per interval.
    // The phases due since the last pass all tick now (a pass may be longer than a step).
    const auto now = Clock::now();
    const auto step =
        std::chrono::milliseconds(std::max(1, options_.heartbeat_interval_ms / kHeartbeatPhases));
    std::vector<EventWatcher*> tick;
    {
      std::lock_guard<std::mutex> lock(watchers_mu_);
      for (int n = 0; n < kHeartbeatPhases && now >= next_heartbeat; ++n) {
        next_heartbeat += step;
        const int phase = heartbeat_phase_;
        heartbeat_phase_ = (heartbeat_phase_ + 1) % kHeartbeatPhases;
        tick.insert(tick.end(), by_phase_[phase].begin(), by_phase_[phase].end());
      }
      if (now >= next_heartbeat) next_heartbeat = now + step;  // far behind: start afresh
    }
    CallOut(tick, &EventWatcher::OnHeartbeatTick);
  }
}

void EventHub::Housekeep() {
  // Off the poller: a slow store write here must not hold up the streams.
  while (true) {
    {
      std::unique_lock<std::mutex> lock(wake_mu_);
      // On stop_cv_, not wake_cv_: every commit notifies the poller, and woke this thread too.
      if (stop_cv_.wait_for(lock, std::chrono::minutes(5), [&] { return stop_; })) return;
    }
    if (options_.retention_days > 0) {
      // The feed's window moves; the history stays (nothing is deleted).
      const domain::Micros cutoff =
          options_.clock->NowMicros() - int64_t{options_.retention_days} * 86400 * 1000000;
      store_->AdvanceFeedHorizon(cutoff).IgnoreError();
    }
    if (auto p = store_->FeedHorizonSeq(); p.ok()) pruned_through_ = *p;
  }
}

}  // namespace gridline::runtime
