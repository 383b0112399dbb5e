// Tells the other replicas (ServerConfig.cluster.peers) that this one has committed events, so
// that their hubs read the event log at once instead of at their next poll.
//
// Nothing here ever blocks a commit or a gRPC reaction: Committed() records the newest seq and
// wakes the notifier's own thread, which hands notifications to the transport (gRPC's async
// stubs in server/api/peer_client.h; a fake in tests). There is at most one notification in
// flight per peer, and the commits made meanwhile coalesce into the next one: the newest head
// wins. An idle replica still sends every peer its head every keepalive interval, so that the
// peer knows it is alive (and keeps polling slowly) and a lost notification is made good. A peer
// that fails is tried again after a short, doubling wait (at most the keepalive interval).
#ifndef GRIDLINE_SERVER_RUNTIME_PEER_NOTIFIER_H_
#define GRIDLINE_SERVER_RUNTIME_PEER_NOTIFIER_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace gridline::runtime {

// How notifications travel.
class PeerTransport {
 public:
  virtual ~PeerTransport() = default;
  // Starts telling peer number `peer` that the log holds every event up to `head`. Must not
  // block; calls `done(ok)` exactly once, on any thread, possibly before Send returns (the
  // notifier calls Send with no lock of its own held).
  virtual void Send(size_t peer, int64_t head, std::function<void(bool ok)> done) = 0;
  // Ends the notifications in flight early (their `done` follows).
  virtual void CancelAll() {}
};

class PeerNotifier {
 public:
  struct Options {
    // The peers' names (host:port), for the metrics; the transport knows how to reach them.
    std::vector<std::string> peers;
    int keepalive_interval_ms = 500;
    // The first wait after a failed notification; it doubles up to the keepalive interval.
    int retry_after_failure_ms = 50;
    // Fault injection, for tests only (ClusterConfig.test_*): drop every notification silently
    // (as if lost on the way), send each twice, or hold each back this long.
    bool test_drop = false;
    bool test_duplicate = false;
    int test_delay_ms = 0;
  };

  // `transport` must outlive the notifier. `head` is the newest seq this process knows (the
  // hub's head), sent in keepalives; it must be cheap and must not block.
  PeerNotifier(PeerTransport* transport, Options options, std::function<int64_t()> head);
  ~PeerNotifier();

  void Start();
  // Events up to `head` were committed here. Never blocks (a lock and a wake-up).
  void Committed(int64_t head);
  // Stops sending, cancels what is in flight and waits for it. Idempotent.
  void Stop();

  // Per peer, for tests: notifications answered OK, failed, and dropped by test_drop.
  struct Counts {
    int64_t ok = 0, failed = 0, dropped = 0;
  };
  std::vector<Counts> counts() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Peer {
    int in_flight = 0;
    int64_t sent = -1;   // the newest head handed to the transport, not failed since
    int64_t acked = -1;  // the newest head a peer answered
    Clock::time_point last_attempt;
    Clock::time_point not_before;     // after a failure
    Clock::time_point delayed_until;  // test_delay_ms: when the held-back notification goes
    bool delaying = false;
    int failures = 0;
    Counts counts;
  };

  void Run();
  void Done(size_t peer, int64_t head, bool ok);

  PeerTransport* const transport_;
  const Options options_;
  const std::function<int64_t()> head_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Peer> peers_;
  int64_t committed_ = 0;  // the newest head of a local commit
  bool wake_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace gridline::runtime

#endif  // GRIDLINE_SERVER_RUNTIME_PEER_NOTIFIER_H_
