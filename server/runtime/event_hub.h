// Fans the global event log out to open watch streams.
//
// One poller thread per process tails the store's event log (short poll, plus an immediate
// wake-up after a local commit), so events committed by other replicas sharing a MySQL store are
// picked up without extra infrastructure. With peers (ServerConfig.cluster), the other replicas
// also say when they commit (PeerCommitted, from the peer service): that reads the log at once,
// and while every peer is heard from, the regular poll slows down to `peer_poll_interval_ms`.
// A notification is only a hint: every event still comes from reading the log on this one
// thread, after the head, so a lost, repeated or early hint cannot lose, repeat or reorder one.
// Recent events stay in a bounded ring; streams pull from it at their own pace, and a stream that
// is behind the ring reads the store on a worker thread. No per-stream buffer grows: a slow
// consumer just stays behind.
//
// Routing. Each watcher registers interest keys ("g:<grid>", "u:<user>", "d:<department>"); an
// event carries the keys of its grid path, reporter and departments. After each poll only the
// watchers whose keys an event matches are woken. The hub records, per watcher, the newest
// event that matched it (interesting_through), then publishes routed_head(): every event up to
// it has been routed. A watcher whose cursor is at or past its interesting_through may move its
// cursor to routed_head() without reading the events in between: none of them concerned it.
// Heartbeats are spread over the interval, so that 10,000 streams do not all write at once, and
// ticked on a thread of their own, so that a slot's writes do not hold up the routing of events.
#ifndef GRIDLINE_SERVER_RUNTIME_EVENT_HUB_H_
#define GRIDLINE_SERVER_RUNTIME_EVENT_HUB_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "server/domain/types.h"
#include "server/service/publisher.h"
#include "server/store/store.h"
#include "server/util/clock.h"

namespace gridline::runtime {

// A stream's side of the hub. The calls come from the hub's threads, never with the hub's lock
// held (so a watcher may hold its own lock while it registers); they must not block.
class EventWatcher {
 public:
  virtual ~EventWatcher() = default;
  virtual void OnEventsAvailable() = 0;
  virtual void OnHeartbeatTick() = 0;
  virtual void OnShutdown() = 0;

  // The newest event seq that matched this watcher's interest keys (set by the hub).
  std::atomic<int64_t> interesting_through{0};
};

using EventPtr = std::shared_ptr<const domain::CaseEvent>;

class EventHub : public service::EventPublisher {
 public:
  struct Options {
    int poll_interval_ms = 200;
    int heartbeat_interval_ms = 15000;
    int retention_days = 30;
    // The time for the feed horizon (not owned).
    const util::Clock* clock = &util::WallClock();
    size_t ring_capacity = 16384;
    // Read by the streams (see WatchConfig).
    int slow_consumer_timeout_ms = 60000;
    int reauth_interval_ms = 30000;

    // Peers (ServerConfig.cluster). How many other replicas should notify this one; 0: none, the
    // log is read every poll_interval_ms.
    int peers = 0;
    // The poll while as many peers as `peers` have been heard from, each within
    // `peer_silence_ms`.
    int peer_poll_interval_ms = 1000;
    int peer_silence_ms = 2000;
    // Reads caused by notifications (and the follow-ups of early ones): at most one per this.
    int min_notified_poll_interval_ms = 20;
    // An early notification (ahead of what the read then finds) is followed up this long.
    int early_notification_wait_ms = 2000;
    // Called after each local commit with its newest seq (the peer notifier); must not block.
    std::function<void(int64_t)> on_commit;
  };

  // Reads of the log (queries) by what caused them.
  struct PollCounts {
    int64_t interval = 0;  // the regular poll
    int64_t commit = 0;    // a commit through this process
    int64_t peer = 0;      // a peer's notification
    int64_t retry = 0;     // following up an early notification
    int64_t total() const { return interval + commit + peer + retry; }
  };

  EventHub(store::FeedStore* store, Options options);
  ~EventHub();

  // Reads the current head of the log and starts the poller.
  absl::Status Start();
  // Ends every stream (OnShutdown) and refuses new ones. Idempotent.
  void BeginShutdown();
  // Joins the poller. Call after the gRPC server has shut down.
  void Stop();

  // A local transaction committed events: poll now.
  void Notify();
  // A local transaction committed events up to `head_seq`: poll now, and tell the peers
  // (Options::on_commit).
  void EventsCommitted(int64_t head_seq) override;

  // A peer says the log holds every event up to `head_seq` (a hint; see the class comment).
  // `sender` names the peer process (random per start) for peers_heard(). Returns true when this
  // is news (ahead of the head): a read follows, at most one per min_notified_poll_interval_ms
  // however many hints arrive; if that read falls short of `head_seq`, further reads follow with
  // doubling delays for early_notification_wait_ms. Cheap and never blocks: called from a gRPC
  // reaction.
  bool PeerCommitted(int64_t head_seq, const std::string& sender);
  // The peers heard from within peer_silence_ms.
  int peers_heard() const;
  PollCounts polls() const;

  int64_t head() const;
  int64_t pruned_through() const;

  // Appends the events after `after` (at most `max`) to `out`. False when `after` is older than
  // the ring holds: read the store instead.
  bool FetchFromRing(int64_t after, size_t max, std::vector<EventPtr>* out) const;

  // Every event up to this seq has been routed to the watchers it concerns.
  int64_t routed_head() const { return routed_head_.load(std::memory_order_acquire); }

  // Returns false (and calls nothing) when the hub is shutting down. Empty `keys`: the watcher
  // is woken for every event.
  bool Register(EventWatcher* w, std::vector<std::string> keys = {});
  void Unregister(EventWatcher* w);
  size_t watcher_count() const;

 private:
  void Run();
  // Appends new events to the ring and returns them; counts each query under `reason`.
  std::vector<EventPtr> PollOnce(const char* reason);
  // wake_mu_ held: drops the peers not heard from within peer_silence_ms, returns how many are
  // left.
  int PeersHeardLocked(std::chrono::steady_clock::time_point now) const;
  // The watchers `events` concern (watchers_mu_ held); the caller wakes them with CallOut.
  std::vector<EventWatcher*> RouteLocked(const std::vector<EventPtr>& events);
  // Calls `fn` on each of `targets` that is still registered, without holding watchers_mu_
  // (a watcher takes its own lock there, and holds it when it registers: calling out under
  // ours would invert that order). Unregister waits for a call in progress to return.
  void CallOut(const std::vector<EventWatcher*>& targets, void (EventWatcher::*fn)());
  // Moves the feed's horizon every 5 minutes, on its own thread.
  void Housekeep();
  // Ticks the heartbeat slots, on its own thread: a slot's ticks start a few hundred writes,
  // which on the poller held up the routing of events committed meanwhile.
  void Heartbeats();

  store::FeedStore* store_;
  const Options options_;

 public:
  const Options& options() const { return options_; }

 private:
  mutable std::mutex ring_mu_;
  std::deque<EventPtr> ring_;
  int64_t ring_base_ = 0;  // the ring holds every event with seq in (ring_base_, head_]
  int64_t head_ = 0;
  std::atomic<int64_t> pruned_through_{0};

  mutable std::mutex watchers_mu_;
  struct Entry {
    std::vector<std::string> keys;
    int heartbeat_phase = 0;  // which of the interval's slots ticks this watcher
  };
  std::map<EventWatcher*, Entry> entries_;
  // The watchers of each heartbeat slot: a tick visits its own (a walk over entries_ on every
  // tick was 7 % of an idle server's CPU at 19,500 streams).
  std::vector<std::set<EventWatcher*>> by_phase_;
  int next_phase_ = 0;
  std::unordered_map<std::string, std::set<EventWatcher*>> by_key_;
  std::set<EventWatcher*> wildcard_;
  std::atomic<int64_t> routed_head_{0};
  int heartbeat_phase_ = 0;
  bool shutting_down_ = false;
  // Calls into watchers in progress, and the thread making each.
  std::vector<std::pair<EventWatcher*, std::thread::id>> calling_;
  std::condition_variable callout_done_;

  mutable std::mutex wake_mu_;
  std::condition_variable wake_cv_;  // the poller's alone
  std::condition_variable stop_cv_;  // the heartbeat and housekeeping threads' (commits do not
                                     // wake them)
  bool wake_ = false;
  bool stop_ = false;
  // Peers' hints (wake_mu_): a hint with news not yet followed by a read; the newest head a hint
  // named and until when to follow it up; when each peer process was last heard from.
  bool notified_ = false;
  int64_t wanted_head_ = 0;
  std::chrono::steady_clock::time_point wanted_until_;
  mutable std::map<std::string, std::chrono::steady_clock::time_point> heard_;
  std::atomic<int64_t> known_head_{0};  // head_, readable without ring_mu_
  std::atomic<int64_t> polls_interval_{0}, polls_commit_{0}, polls_peer_{0}, polls_retry_{0};
  std::thread poller_;
  std::thread housekeeper_;
  std::thread heartbeater_;
};

}  // namespace gridline::runtime

#endif  // GRIDLINE_SERVER_RUNTIME_EVENT_HUB_H_
