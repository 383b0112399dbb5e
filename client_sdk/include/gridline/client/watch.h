// Resumable watches. Stable.
//
// A `Watch` turns the server's watch streams into one endless sequence of case events:
// - when the stream breaks (network, server restart, slow-consumer cutoff), it reconnects with
//   backoff and resumes after the last cursor it saw (event or heartbeat), so nothing is lost;
// - it drops any event at or before the last one it delivered, so nothing is repeated;
// - when the server no longer holds the cursor (CURSOR_EXPIRED), it starts again from now and
//   delivers a `kResyncRequired` update: the application re-lists what it shows (ListMyCases,
//   ListAssignedCases, ListTriageQueue) and keeps consuming the watch, which carries every change
//   made since it restarted (or, with a ListAndWatch… method, simply calls it again);
// - with `cursor_file` set it saves the cursor there and resumes from it after an app restart.
//   The cursor of an event is saved when the application asks for the next update (with Run:
//   when the callback returns), so an event the application was handling when it died is
//   delivered again, never skipped.
// A Watch ends only when cancelled (CANCELLED) or on an error that reconnecting cannot fix:
// UNAUTHENTICATED, PERMISSION_DENIED, INVALID_ARGUMENT (a malformed cursor).
//
// To show a list and keep it current, use the clients' ListAndWatch… methods
// (ListAndWatchResult, below): the list and a watch that starts exactly where the list was read.
#ifndef GRIDLINE_CLIENT_WATCH_H_
#define GRIDLINE_CLIENT_WATCH_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gridline/client/event_stream.h"
#include "gridline/client/options.h"
#include "gridline/client/status.h"
#include "gridline/v1/common.pb.h"

namespace gridline::client {

struct WatchOptions {
  // Start after this cursor (e.g. SubmitReportResponse.event_cursor). Empty: from now, or from
  // the cursor saved in `cursor_file` when there is one.
  std::string after_cursor;
  // Optional file in which to keep the cursor across app restarts.
  std::string cursor_file;
  // How long to wait between reconnect attempts. Default: ExponentialBackoffPolicy(100 ms, 2 s),
  // whatever the connection's BackoffPolicyOption: an attempt while the server is away costs no
  // network traffic (gRPC paces its own connection attempts), and a watching handset wants its
  // events back within seconds of the server's return.
  std::shared_ptr<const BackoffPolicy> backoff;
  // Optional: overrides the connection's WatchIdleTimeoutOption.
  std::chrono::milliseconds idle_timeout{0};
  // Optional: called (on the thread in Next(), before the backoff wait) each time a stream broke
  // and the watch is about to reconnect, with why it broke; e.g. to show "reconnecting…".
  std::function<void(const Status& why)> on_reconnect;
};

struct WatchUpdate {
  enum class Kind {
    kEvent,           // `event` is the next case event
    kResyncRequired,  // the cursor expired: re-list, then keep consuming
  };
  Kind kind = Kind::kEvent;
  v1::CaseEvent event;
  // For kResyncRequired: the server's status (OUT_OF_RANGE, reason CURSOR_EXPIRED).
  Status reason;
};

class Watch {
 public:
  // Opens one stream that resumes after `after_cursor` (empty: from now).
  using Opener = std::function<std::unique_ptr<EventStream>(const std::string& after_cursor)>;

  // Says whether to drop an event instead of delivering it.
  using Skip = std::function<bool(const v1::CaseEvent& event)>;

  // Usually made by a client's Watch… method. Nothing is opened before the first Next().
  Watch(Opener opener, WatchOptions options, const Options& connection_options);
  // Also drops the events for which `skip` returns true: the watch moves past them (cursor(),
  // `cursor_file`) as past a heartbeat, without delivering them. `skip` sees each event once, in
  // order (repeats are dropped before it), on the thread in Next() and while the watch holds its
  // lock: it must not call this Watch. The ListAndWatch… methods use it to drop events that their
  // list already reflects.
  Watch(Opener opener, WatchOptions options, const Options& connection_options, Skip skip);
  ~Watch();
  Watch(const Watch&) = delete;
  Watch& operator=(const Watch&) = delete;

  // Blocks until the next update. CANCELLED after Cancel(); a permanent error ends the watch and
  // every later call returns it again.
  StatusOr<WatchUpdate> Next();

  // Calls `on_update` for every update until it returns false (then OK), the watch is cancelled
  // or a permanent error ends it (that status).
  Status Run(const std::function<bool(const WatchUpdate&)>& on_update);

  // Ends the watch from any thread; a blocked Next() returns CANCELLED promptly.
  void Cancel();

  // The position after the last update delivered (or heartbeat seen).
  std::string cursor() const;
  // How many times the watch reconnected (for diagnostics and tests).
  int reconnects() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// What the clients' ListAndWatch… methods return (like a Kubernetes list, then a watch from its
// resourceVersion): the whole list, read page by page, and a Watch of every change after it.
//
// - `watch` starts after `feed_cursor`, the feed_cursor of the list's FIRST page, so no change
//   made after the list began is missed, and none comes twice.
// - A change made while the pages were read can be both in `items` and among the first events.
//   The watch drops an event whose case_version is at or below the version of that case in
//   `items` (the list already shows it); an event without a case_version (0) is never dropped.
//   Events of cases that are not in `items` always come: the watch is not narrowed by the list
//   request's filters (states, categories), so cases entering the list's scope arrive as events.
// - Nothing is opened before the first Next() or Run(); the position is kept meanwhile (as long
//   as the server's feed retains it: days).
// - On kResyncRequired (the cursor expired) drop both and call ListAndWatch… again: the new list
//   and the new watch fit together again.
// - `WatchOptions::after_cursor` is replaced by `feed_cursor`; a `cursor_file` is written as
//   usual but not read (the fresh list is the better starting point). A server that leaves
//   feed_cursor empty (it predates it) gets a watch that starts from now, or from the
//   `cursor_file`, when first read: changes made in between may then be missed.
template <typename Item>
struct ListAndWatchResult {
  std::vector<Item> items;  // every page, in the server's order; each case once
  std::string feed_cursor;  // where `watch` starts
  std::unique_ptr<Watch> watch;
};

}  // namespace gridline::client

#endif  // GRIDLINE_CLIENT_WATCH_H_
