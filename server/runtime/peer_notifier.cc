#include "server/runtime/peer_notifier.h"

#include <algorithm>

#include "server/util/metrics.h"

namespace gridline::runtime {

PeerNotifier::PeerNotifier(PeerTransport* transport, Options options, std::function<int64_t()> head)
    : transport_(transport),
      options_(std::move(options)),
      head_(std::move(head)),
      peers_(options_.peers.size()) {}

PeerNotifier::~PeerNotifier() { Stop(); }

void PeerNotifier::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable() || stop_) return;
  thread_ = std::thread([this] { Run(); });
}

void PeerNotifier::Committed(int64_t head) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (head <= committed_) return;
    committed_ = head;
    wake_ = true;
  }
  cv_.notify_all();
}

void PeerNotifier::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  transport_->CancelAll();
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] {
    return std::all_of(peers_.begin(), peers_.end(),
                       [](const Peer& p) { return p.in_flight == 0; });
  });
}

std::vector<PeerNotifier::Counts> PeerNotifier::counts() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Counts> out;
  for (const Peer& p : peers_) out.push_back(p.counts);
  return out;
}

void PeerNotifier::Run() {
  const auto keepalive = std::chrono::milliseconds(options_.keepalive_interval_ms);
  const int copies = options_.test_duplicate ? 2 : 1;
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    wake_ = false;
    lock.unlock();
    const int64_t known = head_();  // the hub's lock: never under ours
    lock.lock();
    if (stop_) break;
    const auto now = Clock::now();
    // A keepalive says the newest head this process knows; a commit's notification at least
    // that commit. Heads this process only read (other peers' commits) are not relayed at once:
    // their writers notify every peer themselves.
    const int64_t head = std::max(committed_, known);
    auto next = now + keepalive;
    std::vector<std::pair<size_t, int64_t>> out;
    for (size_t i = 0; i < peers_.size(); ++i) {
      Peer& p = peers_[i];
      if (p.in_flight > 0) continue;  // its answer wakes us; the newest head goes next
      const bool news = committed_ > p.sent;
      if (!news && now < p.last_attempt + keepalive) {
        next = std::min(next, p.last_attempt + keepalive);
        continue;
      }
      if (now < p.not_before) {
        next = std::min(next, p.not_before);
        continue;
      }
      if (options_.test_delay_ms > 0) {
        if (!p.delaying) {
          p.delaying = true;
          p.delayed_until = now + std::chrono::milliseconds(options_.test_delay_ms);
        }
        if (now < p.delayed_until) {
          next = std::min(next, p.delayed_until);
          continue;
        }
        p.delaying = false;
      }
      p.sent = head;
      p.last_attempt = now;
      if (options_.test_drop) {
        p.counts.dropped += copies;
        util::DefaultMetrics().Add("gridline_peer_notifications_sent_total",
                                   {{"peer", options_.peers[i]}, {"result", "dropped"}}, copies);
        continue;
      }
      p.in_flight = copies;
      out.emplace_back(i, head);
    }
    if (out.empty()) {
      cv_.wait_until(lock, next, [&] { return wake_ || stop_; });
      continue;
    }
    // The transport without our lock: its `done` takes it.
    lock.unlock();
    for (const auto& [peer, h] : out) {
      for (int c = 0; c < copies; ++c) {
        transport_->Send(peer, h, [this, peer = peer, h = h](bool ok) { Done(peer, h, ok); });
      }
    }
    lock.lock();
  }
}

void PeerNotifier::Done(size_t peer, int64_t head, bool ok) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    Peer& p = peers_[peer];
    --p.in_flight;
    if (ok) {
      p.acked = std::max(p.acked, head);
      p.failures = 0;
      ++p.counts.ok;
    } else {
      ++p.counts.failed;
      p.sent = p.acked;  // what it did not get goes again
      const int shift = std::min(p.failures++, 16);
      p.not_before =
          Clock::now() +
          std::min(std::chrono::milliseconds(int64_t{options_.retry_after_failure_ms} << shift),
                   std::chrono::milliseconds(options_.keepalive_interval_ms));
    }
    wake_ = true;
    util::DefaultMetrics().Add("gridline_peer_notifications_sent_total",
                               {{"peer", options_.peers[peer]}, {"result", ok ? "ok" : "failed"}});
    // Under the lock: once in_flight is 0, Stop() may return and the notifier go away.
    cv_.notify_all();
  }
}

}  // namespace gridline::runtime
