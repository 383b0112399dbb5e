// The offline outbox: reports and patrols made without signal, kept on the device until the
// server has them. Stable.
//
// A grid leader reports from basements, lifts and villages with one bar of signal (不论分属网格、
// 不限工作时间). The app puts each report and its photos in the outbox, which writes them to an
// SQLite file the app chooses before `Enqueue` returns. `Flush` (or an `OutboxSender` running in
// the background) sends them, oldest first, when the server is reachable:
// - each report gets its request id when queued and keeps it, so it is filed exactly once even
//   if the app is killed in the middle of sending it;
// - a report the server refuses for good (invalid, not allowed, photo too large, ...) is marked
//   failed with the server's reason and never retried; the reports after it go on;
// - a transient failure (no network, server restarting, timeout) stops the flush and leaves the
//   report pending for the next one;
// - UNAUTHENTICATED also stops the flush and leaves everything pending: the app must get a new
//   token, the reports are not the problem.
// Patrols go through the same queue, in the same order: a patrol's start, its track batches, its
// visits (with photos) and its end, each with its id fixed when queued, so that a patrol walked
// in a basement reaches the server exactly once and in order, with the times of the walk (an
// unset start, visit or end time is stamped when queued). Flush them with a PatrolClient too.
// An Outbox object is thread-safe. Two Outbox objects (or processes) must not use one file.
#ifndef GRIDLINE_CLIENT_OUTBOX_H_
#define GRIDLINE_CLIENT_OUTBOX_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gridline/client/patrol_client.h"
#include "gridline/client/photo.h"
#include "gridline/client/report_client.h"
#include "gridline/client/status.h"
#include "gridline/v1/patrol_service.pb.h"
#include "gridline/v1/report_service.pb.h"

namespace gridline::client {

enum class OutboxState {
  kPending,  // not yet accepted by the server
  kSent,     // the server filed it: `case_id` is set
  kFailed,   // the server refused it for good: `error` says why
};

// What an entry sends.
enum class OutboxKind {
  kReport = 0,       // ReportService.SubmitReport: `report`
  kPatrolStart = 1,  // PatrolService.StartPatrol: `patrol_start`
  kTrack = 2,        // PatrolService.AppendTrack: `track`
  kVisit = 3,        // PatrolService.RecordVisit: `visit`
  kPatrolEnd = 4,    // PatrolService.EndPatrol: `patrol_end`
};

struct OutboxEntry {
  // Position in the outbox: entries are sent in this order.
  int64_t sequence = 0;
  // The entry's key, chosen when queued: a report's request id, a patrol start's patrol id, a
  // track batch's batch id, a visit's visit id, "end:" + the patrol id for a patrol's end.
  std::string request_id;
  OutboxKind kind = OutboxKind::kReport;
  OutboxState state = OutboxState::kPending;
  v1::SubmitReportRequest report;
  v1::StartPatrolRequest patrol_start;
  v1::AppendTrackRequest track;
  v1::RecordVisitRequest visit;
  v1::EndPatrolRequest patrol_end;
  // Photos queued with the report. The outbox drops their bytes once the report is sent.
  int photo_count = 0;
  // For a sent report.
  std::string case_id;
  // For kFailed: the server's refusal (code, message and details). For kPending: the last
  // transient failure, if any.
  Status error;
  int attempts = 0;
  std::chrono::system_clock::time_point enqueue_time;
  std::chrono::system_clock::time_point last_attempt_time;  // epoch when never tried
};

struct FlushResult {
  int sent = 0;     // entries the server accepted during this flush
  int failed = 0;   // entries marked failed during this flush
  int pending = 0;  // entries still pending afterwards
  // Why the flush stopped early (OK when nothing pending was left to try).
  Status stopped_by;
};

struct OutboxOptions {
  // A report that keeps failing with an unexpected transient code (INTERNAL, UNKNOWN, ABORTED) is
  // marked failed after this many attempts. UNAVAILABLE and DEADLINE_EXCEEDED never count: a
  // handset may be offline for days.
  int max_unexpected_failures = 10;
};

class Outbox {
 public:
  // Opens (creating if needed) the outbox in the SQLite file at `path`.
  static StatusOr<std::unique_ptr<Outbox>> Open(const std::string& path,
                                                OutboxOptions options = {});
  ~Outbox();

  // Queues a report and its photos. Durable when this returns. An empty `request_id` is filled
  // with NewRequestId(). The report is checked for what the SDK can check offline (category,
  // a grid code or coordinates, description, at most 9 photos); INVALID_ARGUMENT names the
  // fields.
  StatusOr<OutboxEntry> Enqueue(v1::SubmitReportRequest report, std::vector<Photo> photos = {});

  // Queue a patrol's start, a batch of its track, a visit (with photos) or its end. Empty ids
  // are filled with NewRequestId(), and an unset start, visit or end time with the present. What
  // can be checked offline is (ids, grid, points, subject, photos): INVALID_ARGUMENT names it.
  StatusOr<OutboxEntry> EnqueuePatrolStart(v1::StartPatrolRequest request);
  StatusOr<OutboxEntry> EnqueueTrack(v1::AppendTrackRequest request);
  StatusOr<OutboxEntry> EnqueueVisit(v1::RecordVisitRequest request,
                                     std::vector<Photo> photos = {});
  StatusOr<OutboxEntry> EnqueuePatrolEnd(v1::EndPatrolRequest request);

  // Every entry, oldest first.
  StatusOr<std::vector<OutboxEntry>> List() const;
  StatusOr<OutboxEntry> Get(const std::string& request_id) const;
  StatusOr<int> PendingCount() const;

  // Sends pending entries in order until none is left or a transient failure stops it. Patrol
  // entries need `patrols`: without one, the flush stops at the first with FAILED_PRECONDITION.
  StatusOr<FlushResult> Flush(ReportClient& client);
  StatusOr<FlushResult> Flush(ReportClient& client, PatrolClient* patrols);

  // Removes an entry (e.g. a failed report the user gave up on, or sent ones to save space).
  // Removing a pending entry means it will never be sent. NOT_FOUND when unknown.
  Status Remove(const std::string& request_id);

  class Impl;

 private:
  explicit Outbox(std::unique_ptr<Impl> impl);
  // Sends one entry; a sent report's case id goes to `case_id`. `patrols` may be null for a
  // report (a patrol entry needs it).
  static Status Send(OutboxKind kind, const std::string& request, const std::vector<Photo>& photos,
                     ReportClient& client, PatrolClient* patrols, std::string* case_id);
  std::unique_ptr<Impl> impl_;
};

// Flushes an outbox in the background: right away, after every Wake() (call it after Enqueue and
// when the network comes back), and after a transient failure with backoff.
class OutboxSender {
 public:
  OutboxSender(Outbox& outbox, ReportClient client,
               std::shared_ptr<const BackoffPolicy> backoff = nullptr);
  // Also sends patrol entries.
  OutboxSender(Outbox& outbox, ReportClient client, std::optional<PatrolClient> patrols,
               std::shared_ptr<const BackoffPolicy> backoff = nullptr);
  ~OutboxSender();  // stops and joins
  OutboxSender(const OutboxSender&) = delete;
  OutboxSender& operator=(const OutboxSender&) = delete;

  void Wake();
  // The result of the last flush (OK and empty before the first).
  FlushResult last_result() const;

 private:
  void Loop();
  Outbox& outbox_;
  ReportClient client_;
  std::optional<PatrolClient> patrols_;
  std::shared_ptr<const BackoffPolicy> backoff_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool wake_ = true;
  bool stop_ = false;
  FlushResult last_;
  std::thread thread_;
};

}  // namespace gridline::client

#endif  // GRIDLINE_CLIENT_OUTBOX_H_
