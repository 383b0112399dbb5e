// Issue 16 in one process: two event hubs over one SQLite store, as two replicas over one
// database, with the peer notifications carried by a fake transport that can lose, repeat, hold
// back and reorder them. The event log stays the source of truth: whatever happens to the
// notifications, every watcher gets every event once and in order; the notifications only make
// it sooner, and a flood of them costs a bounded number of reads. No test sleeps: each waits for
// the event it needs, with a deadline.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/runtime/event_hub.h"
#include "server/runtime/peer_notifier.h"
#include "server/store/store.h"
#include "server/util/clock.h"
#include "tests/test_support.h"

namespace gridline {
namespace {

using std::chrono::milliseconds;
constexpr auto kDeadline = std::chrono::seconds(20);
// Longer than any test: a read that only this timer could cause never happens in one.
constexpr int kNever = 600000;

// One hub's view of the shared store: counts its reads, and can hide the newest events from it,
// as if their commits were not visible to this reader yet.
class ReaderFeed : public store::FeedStore {
 public:
  explicit ReaderFeed(store::FeedStore* store) : store_(store) {}

  absl::StatusOr<std::vector<domain::CaseEvent>> ListEventsAfter(int64_t after_seq,
                                                                 int limit) override {
    auto events = store_->ListEventsAfter(after_seq, limit);
    std::lock_guard<std::mutex> lock(mu_);
    if (events.ok() && hide_above_ >= 0) {
      events->erase(std::remove_if(events->begin(), events->end(),
                                   [&](const domain::CaseEvent& e) { return e.seq > hide_above_; }),
                    events->end());
    }
    ++reads_;
    cv_.notify_all();
    return events;
  }
  absl::StatusOr<int64_t> LastEventSeq() override { return store_->LastEventSeq(); }
  absl::StatusOr<int64_t> AdvanceFeedHorizon(domain::Micros before) override {
    return store_->AdvanceFeedHorizon(before);
  }
  absl::StatusOr<int64_t> FeedHorizonSeq() override { return store_->FeedHorizonSeq(); }

  void HideAbove(int64_t seq) {
    std::lock_guard<std::mutex> lock(mu_);
    hide_above_ = seq;
  }
  int64_t reads() {
    std::lock_guard<std::mutex> lock(mu_);
    return reads_;
  }
  bool WaitForReads(int64_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kDeadline, [&] { return reads_ >= n; });
  }

 private:
  store::FeedStore* const store_;
  std::mutex mu_;
  std::condition_variable cv_;
  int64_t hide_above_ = -1;
  int64_t reads_ = 0;
};

// A watcher that takes every event from the hub's ring, as a stream does.
class Recorder : public runtime::EventWatcher {
 public:
  explicit Recorder(runtime::EventHub* hub) : hub_(hub), cursor_(hub->routed_head()) {}

  void OnEventsAvailable() override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<runtime::EventPtr> batch;
    if (!hub_->FetchFromRing(cursor_, 100000, &batch)) {
      fell_behind_ = true;
    }
    for (const auto& e : batch) {
      seqs_.push_back(e->seq);
      cursor_ = e->seq;
    }
    cv_.notify_all();
  }
  void OnHeartbeatTick() override {}
  void OnShutdown() override {}

  // Waits until every event up to `seq` has arrived; returns the seqs received.
  std::vector<int64_t> Through(int64_t seq) {
    std::unique_lock<std::mutex> lock(mu_);
    EXPECT_TRUE(cv_.wait_for(lock, kDeadline, [&] { return cursor_ >= seq; }))
        << "got through " << cursor_ << ", wanted " << seq;
    EXPECT_FALSE(fell_behind_);
    return seqs_;
  }

 private:
  runtime::EventHub* const hub_;
  std::mutex mu_;
  std::condition_variable cv_;
  int64_t cursor_;
  std::vector<int64_t> seqs_;
  bool fell_behind_ = false;
};

// Carries one notifier's notifications to one hub, and can lose, repeat or hold them.
class Wire : public runtime::PeerTransport {
 public:
  explicit Wire(runtime::EventHub* to, std::string sender = "replica-a")
      : to_(to), sender_(std::move(sender)) {}

  void Send(size_t /*peer*/, int64_t head, std::function<void(bool)> done) override {
    std::unique_lock<std::mutex> lock(mu_);
    heads_.push_back(head);
    cv_.notify_all();
    if (hold_) {
      held_.push_back({head, std::move(done)});
      return;
    }
    bool deliver = !drop_all_;
    if (drop_first_at_or_above_ >= 0 && head >= drop_first_at_or_above_) {
      drop_first_at_or_above_ = -1;
      deliver = false;
      ++dropped_;
    }
    lock.unlock();
    if (deliver) {
      for (int i = 0; i < copies_; ++i) to_->PeerCommitted(head, sender_);
    }
    done(true);
  }
  void CancelAll() override { Release(false); }

  void DropAll() {
    Set([&] { drop_all_ = true; });
  }
  void DropFirstAtOrAbove(int64_t head) {
    Set([&] { drop_first_at_or_above_ = head; });
  }
  void Duplicate() {
    Set([&] { copies_ = 2; });
  }
  void Hold() {
    Set([&] { hold_ = true; });
  }
  // Answers the held notifications (delivering them if `ok`) and stops holding.
  void Release(bool ok = true) {
    std::deque<std::pair<int64_t, std::function<void(bool)>>> held;
    {
      std::lock_guard<std::mutex> lock(mu_);
      hold_ = false;
      held.swap(held_);
    }
    for (auto& [head, done] : held) {
      if (ok) to_->PeerCommitted(head, sender_);
      done(ok);
    }
  }
  std::vector<int64_t> heads() {
    std::lock_guard<std::mutex> lock(mu_);
    return heads_;
  }
  int dropped() {
    std::lock_guard<std::mutex> lock(mu_);
    return dropped_;
  }
  // Waits until Send has been called `n` times in all.
  bool WaitForSends(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kDeadline, [&] { return heads_.size() >= n; });
  }

 private:
  void Set(const std::function<void()>& f) {
    std::lock_guard<std::mutex> lock(mu_);
    f();
  }
  runtime::EventHub* const to_;
  const std::string sender_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool drop_all_ = false;
  int64_t drop_first_at_or_above_ = -1;
  int dropped_ = 0;
  int copies_ = 1;
  bool hold_ = false;
  std::deque<std::pair<int64_t, std::function<void(bool)>>> held_;
  std::vector<int64_t> heads_;
};

class PeerHubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::SqliteOptions options;
    options.path = dir_.path() + "/shared.db";
    auto opened = store::OpenSqliteStore(options);
    ASSERT_TRUE(opened.ok()) << opened.status();
    store_ = *std::move(opened);
    domain::Organisation org;
    org.grids = {{"410184", "新郑市", domain::GridLevel::kDistrict, "", ""},
                 {"410184001", "新建路街道", domain::GridLevel::kStreet, "410184", ""},
                 {"410184001001", "郑韩路社区", domain::GridLevel::kCommunity, "410184001", ""},
                 {"410184001001001", "第一网格", domain::GridLevel::kCell, "410184001001", ""}};
    domain::Category k;
    k.code = "C01";
    k.name = "路面破损";
    k.kind = domain::CategoryKind::kComponent;
    k.normal_deadline_hours = 72;
    org.categories = {k};
    org.users = {{"u1", "张三", domain::Role::kGridLeader, "410184001001001", "", false}};
    ASSERT_TRUE(store_->ApplyOrganisation(org).ok());
    feed_a_ = std::make_unique<ReaderFeed>(store_.get());
    feed_b_ = std::make_unique<ReaderFeed>(store_.get());
  }

  void TearDown() override {
    if (notifier_) notifier_->Stop();
    for (auto* hub : {a_.get(), b_.get()}) {
      if (hub == nullptr) continue;
      hub->BeginShutdown();
      hub->Stop();
    }
  }

  // Options where nothing but a commit or a notification makes a hub read within a test.
  static runtime::EventHub::Options Quiet() {
    runtime::EventHub::Options o;
    o.poll_interval_ms = kNever;
    o.heartbeat_interval_ms = kNever;
    o.peers = 1;
    o.peer_poll_interval_ms = kNever;
    o.peer_silence_ms = kNever;
    o.min_notified_poll_interval_ms = 1;
    o.early_notification_wait_ms = kNever;
    return o;
  }

  // Replica A, which tells B through `wire_` (set up by `configure` before the first
  // notification), and replica B, watched by `recorder_`.
  void StartHubs(runtime::EventHub::Options a, runtime::EventHub::Options b,
                 runtime::PeerNotifier::Options n = {},
                 const std::function<void(Wire&)>& configure = nullptr) {
    b_ = std::make_unique<runtime::EventHub>(feed_b_.get(), b);
    ASSERT_TRUE(b_->Start().ok());
    recorder_ = std::make_unique<Recorder>(b_.get());
    ASSERT_TRUE(b_->Register(recorder_.get()));
    wire_ = std::make_unique<Wire>(b_.get());
    if (configure) configure(*wire_);
    if (n.peers.empty()) n.peers = {"b"};
    notifier_ =
        std::make_unique<runtime::PeerNotifier>(wire_.get(), n, [this] { return a_->head(); });
    runtime::PeerNotifier* notifier = notifier_.get();
    a.on_commit = [notifier](int64_t head) { notifier->Committed(head); };
    a_ = std::make_unique<runtime::EventHub>(feed_a_.get(), a);
    ASSERT_TRUE(a_->Start().ok());
    notifier_->Start();  // after a_ is set: its thread reads a_->head()
  }

  static runtime::PeerNotifier::Options NoKeepalive() {
    runtime::PeerNotifier::Options n;
    n.keepalive_interval_ms = kNever;
    return n;
  }

  // A report committed to the store; nobody is told.
  int64_t Write() {
    ++written_;
    domain::Case c;
    c.case_id = absl::StrCat("c", written_);
    c.state = domain::CaseState::kPendingTriage;
    c.category_code = "C01";
    c.description = "路面塌陷";
    c.grid_code = "410184001001001";
    c.grid_path = "/410184/410184001/410184001001/410184001001001/";
    c.urgency = domain::Urgency::kNormal;
    c.reporter_user_id = "u1";
    c.create_time = c.update_time = c.observe_time = util::WallClock().NowMicros();
    c.version = 1;
    c.request_id = absl::StrCat("r", written_);
    c.request_digest = std::string(64, 'a');
    domain::CaseEvent e;
    e.case_id = c.case_id;
    e.type = domain::EventType::kReported;
    e.to_state = c.state;
    e.actor_user_id = "u1";
    e.actor_role = domain::Role::kGridLeader;
    e.event_time = c.create_time;
    e.category_code = c.category_code;
    e.grid_code = c.grid_code;
    e.grid_path = c.grid_path;
    e.reporter_user_id = "u1";
    e.case_version = 1;
    auto r = store_->CreateCase(c, e);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->first_event.seq : -1;
  }

  // A report committed through replica A: A's hub is told, and tells its peers.
  int64_t CommitThroughA() {
    const int64_t seq = Write();
    a_->EventsCommitted(seq);
    return seq;
  }

  static std::vector<int64_t> Range(int64_t from, int64_t to) {
    std::vector<int64_t> out;
    for (int64_t s = from; s <= to; ++s) out.push_back(s);
    return out;
  }

  testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<ReaderFeed> feed_a_, feed_b_;
  std::unique_ptr<Wire> wire_;
  std::unique_ptr<runtime::PeerNotifier> notifier_;
  std::unique_ptr<runtime::EventHub> a_, b_;
  std::unique_ptr<Recorder> recorder_;
  int written_ = 0;
};

TEST_F(PeerHubTest, CommitsThroughOneReplicaReachTheOtherByNotificationAlone) {
  // B would not read the log on its own before the deadline.
  StartHubs(Quiet(), Quiet(), NoKeepalive());
  std::vector<int64_t> committed;
  for (int i = 0; i < 30; ++i) committed.push_back(CommitThroughA());
  EXPECT_EQ(recorder_->Through(committed.back()), committed) << "once each, in order";
  EXPECT_GE(b_->polls().peer, 1);
  EXPECT_EQ(b_->polls().interval, 0);
  b_->Unregister(recorder_.get());
}

TEST_F(PeerHubTest, WithEveryNotificationLostThePollStillDeliversOnceInOrder) {
  auto b = Quiet();
  b.poll_interval_ms = 20;  // no peer heard from: the regular poll
  StartHubs(Quiet(), b, NoKeepalive(), [](Wire& w) { w.DropAll(); });
  std::vector<int64_t> committed;
  for (int i = 0; i < 30; ++i) committed.push_back(CommitThroughA());
  EXPECT_EQ(recorder_->Through(committed.back()), committed);
  EXPECT_EQ(b_->peers_heard(), 0);
  EXPECT_EQ(b_->polls().peer, 0);
  EXPECT_GE(b_->polls().interval, 1);
  b_->Unregister(recorder_.get());
}

TEST_F(PeerHubTest, ALostNotificationIsMadeGoodByTheNextKeepalive) {
  runtime::PeerNotifier::Options n;
  n.keepalive_interval_ms = 20;
  StartHubs(Quiet(), Quiet(), n);
  auto last = store_->LastEventSeq();
  ASSERT_TRUE(last.ok());
  wire_->DropFirstAtOrAbove(*last + 1);  // the commit's own notification is lost
  const int64_t seq = CommitThroughA();
  EXPECT_EQ(recorder_->Through(seq), std::vector<int64_t>{seq});
  EXPECT_EQ(wire_->dropped(), 1);
  EXPECT_EQ(b_->polls().interval, 0) << "a keepalive carried it, not the poll";
  b_->Unregister(recorder_.get());
}

TEST_F(PeerHubTest, RepeatedAndReorderedNotificationsDeliverEachEventOnce) {
  StartHubs(Quiet(), Quiet(), NoKeepalive(), [](Wire& w) { w.Duplicate(); });
  std::vector<int64_t> committed;
  for (int i = 0; i < 10; ++i) committed.push_back(CommitThroughA());
  EXPECT_EQ(recorder_->Through(committed.back()), committed);
  // Ten more, announced to B late, repeated and newest first.
  std::vector<int64_t> more;
  for (int i = 0; i < 10; ++i) more.push_back(Write());
  for (auto it = more.rbegin(); it != more.rend(); ++it) {
    b_->PeerCommitted(*it, "replica-a");
    b_->PeerCommitted(*it, "replica-a");
  }
  committed.insert(committed.end(), more.begin(), more.end());
  EXPECT_EQ(recorder_->Through(committed.back()), committed);
  // Old news is no news: it causes no read.
  EXPECT_FALSE(b_->PeerCommitted(committed.front(), "replica-a"));
  EXPECT_FALSE(b_->PeerCommitted(committed.back(), "replica-a"));
  EXPECT_EQ(b_->polls().interval, 0);
  b_->Unregister(recorder_.get());
}

// The notification arrives before the commit is visible to B's reader: B reads, finds nothing,
// and follows the notification up until the event shows.
TEST_F(PeerHubTest, AnEarlyNotificationIsFollowedUpUntilItsEventIsVisible) {
  // Only the early notification below reaches B.
  StartHubs(Quiet(), Quiet(), NoKeepalive(), [](Wire& w) { w.DropAll(); });
  auto last = store_->LastEventSeq();
  ASSERT_TRUE(last.ok());
  feed_b_->HideAbove(*last);
  const int64_t reads = feed_b_->reads();
  const int64_t seq = CommitThroughA();
  EXPECT_TRUE(b_->PeerCommitted(seq, "replica-a"));
  ASSERT_TRUE(feed_b_->WaitForReads(reads + 1)) << "B read at once";
  // The read found nothing (the commit is hidden); B keeps the head it was promised.
  feed_b_->HideAbove(-1);
  EXPECT_EQ(recorder_->Through(seq), std::vector<int64_t>{seq});
  EXPECT_GE(b_->polls().retry, 1) << "a follow-up read found it";
  EXPECT_EQ(b_->polls().interval, 0);
  b_->Unregister(recorder_.get());
}

// Anyone with the secret could send notifications without end, with heads far ahead (so that
// each would be followed up) and from ever new sender ids. They cost one read per
// min_notified_poll_interval_ms, and the record of senders stays bounded.
TEST_F(PeerHubTest, AFloodOfNotificationsCostsOneReadPerInterval) {
  auto b = Quiet();
  b.min_notified_poll_interval_ms = kNever;
  StartHubs(Quiet(), b, NoKeepalive(), [](Wire& w) { w.DropAll(); });
  const int64_t reads = feed_b_->reads();
  auto last = store_->LastEventSeq();
  ASSERT_TRUE(last.ok());
  for (int i = 0; i < 10000; ++i) b_->PeerCommitted(*last + 1 + i, absl::StrCat("flood-", i));
  ASSERT_TRUE(feed_b_->WaitForReads(reads + 1));
  for (int i = 0; i < 10000; ++i) b_->PeerCommitted(*last + 1000000, absl::StrCat("more-", i));
  // A commit through B itself is read at once, whatever the flood.
  const int64_t seq = Write();
  b_->EventsCommitted(seq);
  EXPECT_EQ(recorder_->Through(seq), std::vector<int64_t>{seq});
  const auto polls = b_->polls();
  EXPECT_EQ(polls.peer, 1);
  EXPECT_EQ(polls.retry, 0);
  EXPECT_EQ(polls.interval, 0);
  EXPECT_LE(b_->peers_heard(), 256);
  b_->Unregister(recorder_.get());
}

// ---- the notifier alone ----------------------------------------------------------------------

// Holds every notification until released; counts them per peer.
class HeldTransport : public runtime::PeerTransport {
 public:
  void Send(size_t peer, int64_t head, std::function<void(bool)> done) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      sent_.push_back({peer, head});
      cv_.notify_all();
      if (answer_peer_ < 0 || peer != static_cast<size_t>(answer_peer_)) {
        held_.push_back(std::move(done));
        return;
      }
    }
    done(true);  // answered before Send returns, as gRPC may
  }
  void CancelAll() override {
    std::vector<std::function<void(bool)>> held;
    {
      std::lock_guard<std::mutex> lock(mu_);
      held.swap(held_);
    }
    for (auto& done : held) done(false);
  }
  // Peer `p`'s notifications are answered OK at once, the others held.
  void AnswerPeer(int p) { answer_peer_ = p; }
  void ReleaseHeld() {
    std::vector<std::function<void(bool)>> held;
    {
      std::lock_guard<std::mutex> lock(mu_);
      held.swap(held_);
    }
    for (auto& done : held) done(true);
  }
  std::vector<std::pair<size_t, int64_t>> sent() {
    std::lock_guard<std::mutex> lock(mu_);
    return sent_;
  }
  bool WaitFor(const std::function<bool(const std::vector<std::pair<size_t, int64_t>>&)>& done) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kDeadline, [&] { return done(sent_); });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int answer_peer_ = -1;
  std::vector<std::pair<size_t, int64_t>> sent_;
  std::vector<std::function<void(bool)>> held_;
};

TEST(PeerNotifierTest, OneNotificationInFlightPerPeerAndTheNewestHeadGoesNext) {
  HeldTransport transport;
  runtime::PeerNotifier::Options o;
  o.peers = {"b"};
  o.keepalive_interval_ms = kNever;
  runtime::PeerNotifier notifier(&transport, o, [] { return int64_t{0}; });
  notifier.Start();
  // The first notification (a hello with head 0) goes at once, and is never answered for now.
  ASSERT_TRUE(transport.WaitFor([](const auto& s) { return s.size() == 1; }));
  // A thousand commits meanwhile: none waits for the peer, none is sent while one is in flight.
  for (int64_t head = 1; head <= 1000; ++head) notifier.Committed(head);
  EXPECT_EQ(transport.sent().size(), 1u);
  transport.ReleaseHeld();
  ASSERT_TRUE(transport.WaitFor([](const auto& s) { return s.size() == 2; }));
  EXPECT_EQ(transport.sent()[1].second, 1000) << "the newest head wins";
  notifier.Stop();
  EXPECT_EQ(transport.sent().size(), 2u);
}

TEST(PeerNotifierTest, APeerThatNeverAnswersDoesNotHoldUpTheOthers) {
  HeldTransport transport;
  transport.AnswerPeer(1);  // peer 0 is a black hole
  runtime::PeerNotifier::Options o;
  o.peers = {"dead", "alive"};
  o.keepalive_interval_ms = kNever;
  runtime::PeerNotifier notifier(&transport, o, [] { return int64_t{0}; });
  notifier.Start();
  for (int64_t head = 1; head <= 5; ++head) {
    notifier.Committed(head);
    ASSERT_TRUE(transport.WaitFor([head](const auto& s) {
      return std::any_of(s.begin(), s.end(),
                         [&](const auto& p) { return p.first == 1 && p.second == head; });
    })) << "the live peer hears of commit "
        << head;
  }
  int to_dead = 0;
  for (const auto& [peer, head] : transport.sent()) to_dead += peer == 0;
  EXPECT_EQ(to_dead, 1) << "one notification in flight to the dead peer, and no more";
  notifier.Stop();  // cancels the one in flight
  EXPECT_EQ(notifier.counts()[0].failed, 1);
  EXPECT_EQ(notifier.counts()[1].failed, 0);
}

}  // namespace
}  // namespace gridline
