// The offline outbox, kept in an SQLite file on the device.
#include "gridline/client/outbox.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/rpc/status.pb.h"
#include "status_payload.h"

namespace gridline::client {
namespace {

constexpr int kMaxPhotos = 9;
constexpr int kMaxDescriptionChars = 2000;

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::chrono::system_clock::time_point FromMicros(int64_t micros) {
  return std::chrono::system_clock::time_point(std::chrono::microseconds(micros));
}

size_t Utf8Chars(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

bool ValidRequestId(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-')) {
      return false;
    }
  }
  return true;
}

constexpr int kMaxTrackPoints = 1000;

// INVALID_ARGUMENT naming `bad`, for an entry that cannot be queued.
Status Refuse(const std::string& what, const std::vector<FieldViolation>& bad) {
  std::string message = what + " cannot be queued:";
  for (const auto& v : bad) absl::StrAppend(&message, " ", v.field, " (", v.description, ")");
  return internal::InvalidArgumentWithFields(message, bad);
}

// Stamps the time an entry was made on the device: sent later, it must not take the server's
// time of sending.
void SetNow(google::protobuf::Timestamp* t) {
  const int64_t now = NowMicros();
  t->set_seconds(now / 1000000);
  t->set_nanos(static_cast<int32_t>(now % 1000000) * 1000);
}

enum class Outcome { kSent, kFailed, kStop, kStopCounted };

// What a failed upload or submit means for the report.
Outcome Classify(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk:
      return Outcome::kSent;
    case StatusCode::kUnavailable:
    case StatusCode::kDeadlineExceeded:
    case StatusCode::kCancelled:
    case StatusCode::kUnauthenticated:  // the token is the problem, not the report
      return Outcome::kStop;
    case StatusCode::kAborted:
    case StatusCode::kInternal:
    case StatusCode::kUnknown:
      return Outcome::kStopCounted;
    case StatusCode::kResourceExhausted:
      // A rate limit or a full queue (with retry info): later, not never. Without retry info
      // the entry itself is too big and can never be sent.
      return GetErrorDetails(status).retry_delay.count() > 0 ? Outcome::kStop : Outcome::kFailed;
    default:  // INVALID_ARGUMENT, PERMISSION_DENIED, ALREADY_EXISTS, ...
      return Outcome::kFailed;
  }
}

// A prepared statement that finalizes itself.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Status prepared() const {
    return rc_ == SQLITE_OK ? Status() : absl::InternalError(sqlite3_errmsg(db_));
  }
  Statement& Bind(int i, int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Statement& Bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& BindBlob(int i, const std::string& v) {
    sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return stmt_ ? sqlite3_step(stmt_) : rc_; }
  Status Run() {
    if (auto s = prepared(); !s.ok()) return s;
    int rc = Step();
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return Error();
    return Status();
  }
  Status Error() const {
    return absl::UnavailableError(absl::StrCat("outbox database: ", sqlite3_errmsg(db_)));
  }
  int64_t Int(int col) { return sqlite3_column_int64(stmt_, col); }
  std::string Text(int col) {
    const void* p = sqlite3_column_blob(stmt_, col);
    int n = sqlite3_column_bytes(stmt_, col);
    return p ? std::string(static_cast<const char*>(p), n) : std::string();
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

Status Exec(sqlite3* db, const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    Status s = absl::UnavailableError(absl::StrCat("outbox database: ", error ? error : "?"));
    sqlite3_free(error);
    return s;
  }
  return Status();
}

// Undoes a transaction that already failed; its own error adds nothing to the first one.
void Rollback(sqlite3* db) { sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr); }

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS outbox_report (
  sequence INTEGER PRIMARY KEY AUTOINCREMENT,
  request_id TEXT NOT NULL UNIQUE,
  report BLOB NOT NULL,
  state INTEGER NOT NULL DEFAULT 0,
  case_id TEXT NOT NULL DEFAULT '',
  error_code INTEGER NOT NULL DEFAULT 0,
  error_message TEXT NOT NULL DEFAULT '',
  error_details BLOB,
  attempts INTEGER NOT NULL DEFAULT 0,
  unexpected_failures INTEGER NOT NULL DEFAULT 0,
  enqueue_time INTEGER NOT NULL,
  last_attempt_time INTEGER NOT NULL DEFAULT 0,
  photo_count INTEGER NOT NULL DEFAULT 0,
  kind INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS outbox_photo (
  request_id TEXT NOT NULL,
  ordinal INTEGER NOT NULL,
  file_name TEXT NOT NULL DEFAULT '',
  bytes BLOB NOT NULL,
  PRIMARY KEY (request_id, ordinal)
);
)sql";

constexpr char kSelectEntries[] =
    "SELECT sequence, request_id, report, state, case_id, error_code, error_message, "
    "error_details, attempts, enqueue_time, last_attempt_time, "
    "photo_count, kind "
    "FROM outbox_report r ";

OutboxEntry ReadEntry(Statement& s) {
  OutboxEntry e;
  e.sequence = s.Int(0);
  e.request_id = s.Text(1);
  e.kind = static_cast<OutboxKind>(s.Int(12));
  const std::string request = s.Text(2);
  switch (e.kind) {
    case OutboxKind::kReport:
      e.report.ParseFromString(request);
      break;
    case OutboxKind::kPatrolStart:
      e.patrol_start.ParseFromString(request);
      break;
    case OutboxKind::kTrack:
      e.track.ParseFromString(request);
      break;
    case OutboxKind::kVisit:
      e.visit.ParseFromString(request);
      break;
    case OutboxKind::kPatrolEnd:
      e.patrol_end.ParseFromString(request);
      break;
  }
  e.state = static_cast<OutboxState>(s.Int(3));
  e.case_id = s.Text(4);
  if (s.Int(5) != 0) {
    e.error = Status(static_cast<StatusCode>(s.Int(5)), s.Text(6));
    std::string details = s.Text(7);
    if (!details.empty()) e.error.SetPayload(internal::kRpcStatusPayloadUrl, absl::Cord(details));
  }
  e.attempts = static_cast<int>(s.Int(8));
  e.enqueue_time = FromMicros(s.Int(9));
  e.last_attempt_time = FromMicros(s.Int(10));
  e.photo_count = static_cast<int>(s.Int(11));
  return e;
}

}  // namespace

class Outbox::Impl {
 public:
  Impl(sqlite3* db, OutboxOptions options) : db_(db), options_(options) {}
  ~Impl() { sqlite3_close_v2(db_); }

  // Stores one entry under `key` (unique in the outbox) with its photos, durably.
  StatusOr<OutboxEntry> Add(OutboxKind kind, const std::string& key, const std::string& request,
                            const std::vector<Photo>& photos);

  sqlite3* db_;
  OutboxOptions options_;
  mutable std::mutex mu_;  // one statement sequence at a time on the connection
  std::mutex flush_mu_;    // one flush at a time
};

Outbox::Outbox(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Outbox::~Outbox() = default;

StatusOr<std::unique_ptr<Outbox>> Outbox::Open(const std::string& path, OutboxOptions options) {
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status s = absl::FailedPreconditionError(
        absl::StrCat("cannot open outbox ", path, ": ", db ? sqlite3_errmsg(db) : "out of memory"));
    sqlite3_close_v2(db);
    return s;
  }
  auto impl = std::make_unique<Impl>(db, options);
  sqlite3_busy_timeout(db, 5000);
  // WAL with full sync: a report is on disk when Enqueue returns, even if the phone dies.
  for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", kSchema}) {
    if (auto s = Exec(db, sql); !s.ok()) return s;
  }
  // An outbox from before patrols held reports only.
  {
    Statement has_kind(db, "SELECT 1 FROM pragma_table_info('outbox_report') WHERE name = 'kind'");
    if (has_kind.Step() != SQLITE_ROW) {
      if (auto s = Exec(db, "ALTER TABLE outbox_report ADD COLUMN kind INTEGER NOT NULL DEFAULT 0");
          !s.ok()) {
        return s;
      }
    }
  }
  return std::unique_ptr<Outbox>(new Outbox(std::move(impl)));
}

StatusOr<OutboxEntry> Outbox::Enqueue(v1::SubmitReportRequest report, std::vector<Photo> photos) {
  if (report.request_id().empty()) report.set_request_id(NewRequestId());
  std::vector<FieldViolation> bad;
  if (!ValidRequestId(report.request_id())) {
    bad.push_back({"request_id", "1..64 characters of [A-Za-z0-9_-]"});
  }
  if (report.category_code().empty()) bad.push_back({"category_code", "required"});
  // Without a grid code the server places the report by its coordinates (both zero: no fix).
  const v1::Location& where = report.location();
  const bool fix = where.has_coordinates() &&
                   (where.coordinates().latitude() != 0 || where.coordinates().longitude() != 0);
  if (where.grid_code().empty() && !fix) {
    bad.push_back({"location.grid_code", "required without location.coordinates"});
  }
  size_t chars = Utf8Chars(report.description());
  if (chars == 0 || chars > kMaxDescriptionChars) {
    bad.push_back({"description", "1..2000 characters"});
  }
  if (photos.size() + report.attachment_ids_size() > kMaxPhotos) {
    bad.push_back({"photos", "at most 9 photos"});
  }
  for (size_t i = 0; i < photos.size(); ++i) {
    if (photos[i].bytes.empty()) bad.push_back({absl::StrCat("photos[", i, "]"), "empty"});
  }
  if (!bad.empty()) return Refuse("the report", bad);

  return impl_->Add(OutboxKind::kReport, report.request_id(), report.SerializeAsString(), photos);
}

StatusOr<OutboxEntry> Outbox::EnqueuePatrolStart(v1::StartPatrolRequest request) {
  if (request.patrol_id().empty()) request.set_patrol_id(NewRequestId());
  std::vector<FieldViolation> bad;
  if (!ValidRequestId(request.patrol_id())) {
    bad.push_back({"patrol_id", "1..64 characters of [A-Za-z0-9_-]"});
  }
  if (request.grid_code().empty()) bad.push_back({"grid_code", "required"});
  if (!bad.empty()) return Refuse("the patrol start", bad);
  if (!request.has_start_time()) SetNow(request.mutable_start_time());
  return impl_->Add(OutboxKind::kPatrolStart, request.patrol_id(), request.SerializeAsString(), {});
}

StatusOr<OutboxEntry> Outbox::EnqueueTrack(v1::AppendTrackRequest request) {
  if (request.batch_id().empty()) request.set_batch_id(NewRequestId());
  std::vector<FieldViolation> bad;
  if (request.patrol_id().empty()) bad.push_back({"patrol_id", "required"});
  if (!ValidRequestId(request.batch_id())) {
    bad.push_back({"batch_id", "1..64 characters of [A-Za-z0-9_-]"});
  }
  if (request.points().empty() || request.points_size() > kMaxTrackPoints) {
    bad.push_back({"points", "1..1000 points"});
  }
  if (!bad.empty()) return Refuse("the track batch", bad);
  return impl_->Add(OutboxKind::kTrack, request.batch_id(), request.SerializeAsString(), {});
}

StatusOr<OutboxEntry> Outbox::EnqueueVisit(v1::RecordVisitRequest request,
                                           std::vector<Photo> photos) {
  if (request.visit_id().empty()) request.set_visit_id(NewRequestId());
  std::vector<FieldViolation> bad;
  if (request.patrol_id().empty()) bad.push_back({"patrol_id", "required"});
  if (!ValidRequestId(request.visit_id())) {
    bad.push_back({"visit_id", "1..64 characters of [A-Za-z0-9_-]"});
  }
  if (request.subject().empty()) bad.push_back({"subject", "required"});
  if (photos.size() + request.attachment_ids_size() > kMaxPhotos) {
    bad.push_back({"photos", "at most 9 photos"});
  }
  if (!bad.empty()) return Refuse("the visit", bad);
  if (!request.has_visit_time()) SetNow(request.mutable_visit_time());
  return impl_->Add(OutboxKind::kVisit, request.visit_id(), request.SerializeAsString(), photos);
}

StatusOr<OutboxEntry> Outbox::EnqueuePatrolEnd(v1::EndPatrolRequest request) {
  if (request.patrol_id().empty()) {
    return Refuse("the patrol end", {{"patrol_id", "required"}});
  }
  if (!request.has_end_time()) SetNow(request.mutable_end_time());
  // The entry's key: a patrol ends once.
  return impl_->Add(OutboxKind::kPatrolEnd, "end:" + request.patrol_id(),
                    request.SerializeAsString(), {});
}

StatusOr<OutboxEntry> Outbox::Impl::Add(OutboxKind kind, const std::string& key,
                                        const std::string& request,
                                        const std::vector<Photo>& photos) {
  std::lock_guard<std::mutex> lock(mu_);
  sqlite3* db = db_;
  if (auto s = Exec(db, "BEGIN IMMEDIATE"); !s.ok()) return s;
  auto fail = [&](Status s) {
    Rollback(db);
    return s;
  };
  {
    Statement exists(db, "SELECT 1 FROM outbox_report WHERE request_id = ?");
    exists.Bind(1, key);
    if (exists.Step() == SQLITE_ROW) {
      return fail(absl::AlreadyExistsError(absl::StrCat("id ", key, " is already in the outbox")));
    }
  }
  Statement insert(db,
                   "INSERT INTO outbox_report (request_id, report, enqueue_time, photo_count, "
                   "kind) VALUES (?, ?, ?, ?, ?)");
  insert.Bind(1, key)
      .BindBlob(2, request)
      .Bind(3, NowMicros())
      .Bind(4, static_cast<int64_t>(photos.size()))
      .Bind(5, static_cast<int64_t>(kind));
  if (auto s = insert.Run(); !s.ok()) return fail(s);
  for (size_t i = 0; i < photos.size(); ++i) {
    Statement photo(db,
                    "INSERT INTO outbox_photo (request_id, ordinal, file_name, bytes) "
                    "VALUES (?, ?, ?, ?)");
    photo.Bind(1, key)
        .Bind(2, static_cast<int64_t>(i))
        .Bind(3, photos[i].file_name)
        .BindBlob(4, photos[i].bytes);
    if (auto s = photo.Run(); !s.ok()) return fail(s);
  }
  if (auto s = Exec(db, "COMMIT"); !s.ok()) return fail(s);
  Statement read(db, (std::string(kSelectEntries) + "WHERE request_id = ?").c_str());
  read.Bind(1, key);
  if (read.Step() != SQLITE_ROW) return read.Error();
  return ReadEntry(read);
}

StatusOr<std::vector<OutboxEntry>> Outbox::List() const {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  Statement s(impl_->db_, (std::string(kSelectEntries) + "ORDER BY sequence").c_str());
  if (auto p = s.prepared(); !p.ok()) return p;
  std::vector<OutboxEntry> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) out.push_back(ReadEntry(s));
  if (rc != SQLITE_DONE) return s.Error();
  return out;
}

StatusOr<OutboxEntry> Outbox::Get(const std::string& request_id) const {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  Statement s(impl_->db_, (std::string(kSelectEntries) + "WHERE request_id = ?").c_str());
  s.Bind(1, request_id);
  int rc = s.Step();
  if (rc == SQLITE_ROW) return ReadEntry(s);
  if (rc == SQLITE_DONE) return absl::NotFoundError(absl::StrCat("no outbox entry ", request_id));
  return s.Error();
}

StatusOr<int> Outbox::PendingCount() const {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  Statement s(impl_->db_, "SELECT COUNT(*) FROM outbox_report WHERE state = 0");
  if (s.Step() != SQLITE_ROW) return s.Error();
  return static_cast<int>(s.Int(0));
}

Status Outbox::Remove(const std::string& request_id) {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  sqlite3* db = impl_->db_;
  if (auto s = Exec(db, "BEGIN IMMEDIATE"); !s.ok()) return s;
  Statement del(db, "DELETE FROM outbox_report WHERE request_id = ?");
  del.Bind(1, request_id);
  if (auto s = del.Run(); !s.ok()) {
    Rollback(db);
    return s;
  }
  if (sqlite3_changes(db) == 0) {
    Rollback(db);
    return absl::NotFoundError(absl::StrCat("no outbox entry ", request_id));
  }
  Statement photos(db, "DELETE FROM outbox_photo WHERE request_id = ?");
  photos.Bind(1, request_id);
  if (auto s = photos.Run(); !s.ok()) {
    Rollback(db);
    return s;
  }
  return Exec(db, "COMMIT");
}

StatusOr<FlushResult> Outbox::Flush(ReportClient& client) { return Flush(client, nullptr); }

StatusOr<FlushResult> Outbox::Flush(ReportClient& client, PatrolClient* patrols) {
  std::lock_guard<std::mutex> flush_lock(impl_->flush_mu_);
  FlushResult result;
  sqlite3* db = impl_->db_;
  for (;;) {
    // The oldest pending report and its photos.
    std::string request_id;
    std::string request;
    OutboxKind kind = OutboxKind::kReport;
    std::vector<Photo> photos;
    int unexpected = 0;
    {
      std::lock_guard<std::mutex> lock(impl_->mu_);
      Statement next(db,
                     "SELECT request_id, report, unexpected_failures, kind FROM outbox_report "
                     "WHERE state = 0 ORDER BY sequence LIMIT 1");
      int rc = next.Step();
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return next.Error();
      request_id = next.Text(0);
      request = next.Text(1);
      unexpected = static_cast<int>(next.Int(2));
      kind = static_cast<OutboxKind>(next.Int(3));
      Statement p(db,
                  "SELECT file_name, bytes FROM outbox_photo WHERE request_id = ? "
                  "ORDER BY ordinal");
      p.Bind(1, request_id);
      while ((rc = p.Step()) == SQLITE_ROW) photos.push_back(Photo{p.Text(1), p.Text(0)});
      if (rc != SQLITE_DONE) return p.Error();
    }

    // Photos are uploaded on every attempt: an upload is idempotent, and the server forgets
    // photos that no case names after a grace period, so an id from an old attempt may be gone.
    if (kind != OutboxKind::kReport && patrols == nullptr) {
      // Not the entry's fault: it stays pending, untried, for a flush that can send it.
      result.stopped_by = absl::FailedPreconditionError(
          "the outbox holds patrol entries: flush it with a PatrolClient too");
      break;
    }
    std::string case_id;
    Status status = Send(kind, request, photos, client, patrols, &case_id);
    Outcome outcome = Classify(status);
    if (outcome == Outcome::kStopCounted &&
        unexpected + 1 >= impl_->options_.max_unexpected_failures) {
      outcome = Outcome::kFailed;
    }

    std::lock_guard<std::mutex> lock(impl_->mu_);
    const char* sql = nullptr;
    switch (outcome) {
      case Outcome::kSent:
        sql =
            "UPDATE outbox_report SET state = 1, case_id = ?, error_code = 0, error_message = '', "
            "error_details = NULL, attempts = attempts + 1, last_attempt_time = ? "
            "WHERE request_id = ?";
        break;
      case Outcome::kFailed:
        sql =
            "UPDATE outbox_report SET state = 2, error_code = ?, error_message = ?, "
            "error_details = ?, attempts = attempts + 1, last_attempt_time = ? "
            "WHERE request_id = ?";
        break;
      case Outcome::kStop:
      case Outcome::kStopCounted:
        sql =
            "UPDATE outbox_report SET error_code = ?, error_message = ?, error_details = ?, "
            "attempts = attempts + 1, last_attempt_time = ?, "
            "unexpected_failures = unexpected_failures + ? WHERE request_id = ?";
        break;
    }
    Statement update(db, sql);
    if (outcome == Outcome::kSent) {
      update.Bind(1, case_id).Bind(2, NowMicros()).Bind(3, request_id);
    } else {
      auto details = status.GetPayload(internal::kRpcStatusPayloadUrl);
      update.Bind(1, static_cast<int64_t>(status.code()))
          .Bind(2, std::string(status.message()))
          .BindBlob(3, details ? std::string(*details) : std::string())
          .Bind(4, NowMicros());
      if (outcome == Outcome::kFailed) {
        update.Bind(5, request_id);
      } else {
        update.Bind(5, outcome == Outcome::kStopCounted ? 1 : 0).Bind(6, request_id);
      }
    }
    if (outcome == Outcome::kSent) {
      // The server has the photos now: drop the device's copies in the same transaction, so an
      // outbox that is never pruned grows only by a few hundred bytes per sent report.
      if (auto s = Exec(db, "BEGIN IMMEDIATE"); !s.ok()) return s;
      Statement photos(db, "DELETE FROM outbox_photo WHERE request_id = ?");
      photos.Bind(1, request_id);
      Status done = update.Run();
      if (done.ok()) done = photos.Run();
      if (done.ok()) done = Exec(db, "COMMIT");
      if (!done.ok()) {
        Rollback(db);
        return done;
      }
    } else if (auto s = update.Run(); !s.ok()) {
      return s;
    }
    if (outcome == Outcome::kSent) ++result.sent;
    if (outcome == Outcome::kFailed) ++result.failed;
    if (outcome == Outcome::kStop || outcome == Outcome::kStopCounted) {
      result.stopped_by = status;
      break;
    }
  }
  auto pending = PendingCount();
  if (!pending.ok()) return pending.status();
  result.pending = *pending;
  return result;
}

Status Outbox::Send(OutboxKind kind, const std::string& request, const std::vector<Photo>& photos,
                    ReportClient& client, PatrolClient* patrols, std::string* case_id) {
  if (kind != OutboxKind::kReport && patrols == nullptr) {
    return absl::FailedPreconditionError("a patrol entry needs a PatrolClient");
  }
  switch (kind) {
    case OutboxKind::kReport: {
      v1::SubmitReportRequest report;
      report.ParseFromString(request);
      auto sent = client.SubmitReport(report, photos);
      if (!sent.ok()) return sent.status();
      *case_id = sent->case_().case_id();
      return Status();
    }
    case OutboxKind::kPatrolStart: {
      v1::StartPatrolRequest r;
      r.ParseFromString(request);
      auto sent = patrols->StartPatrol(r);
      return sent.ok() ? Status() : sent.status();
    }
    case OutboxKind::kTrack: {
      v1::AppendTrackRequest r;
      r.ParseFromString(request);
      auto sent = patrols->AppendTrack(r);
      return sent.ok() ? Status() : sent.status();
    }
    case OutboxKind::kVisit: {
      v1::RecordVisitRequest r;
      r.ParseFromString(request);
      // As for reports, photos are uploaded on every attempt.
      for (const Photo& photo : photos) {
        auto uploaded = client.UploadPhoto(photo);
        if (!uploaded.ok()) return uploaded.status();
        r.add_attachment_ids(uploaded->attachment_id());
      }
      auto sent = patrols->RecordVisit(r);
      return sent.ok() ? Status() : sent.status();
    }
    case OutboxKind::kPatrolEnd: {
      v1::EndPatrolRequest r;
      r.ParseFromString(request);
      auto sent = patrols->EndPatrol(r);
      return sent.ok() ? Status() : sent.status();
    }
  }
  return absl::InternalError("unknown outbox entry kind");
}

// ---- OutboxSender --------------------------------------------------------------------------

OutboxSender::OutboxSender(Outbox& outbox, ReportClient client,
                           std::shared_ptr<const BackoffPolicy> backoff)
    : OutboxSender(outbox, std::move(client), std::nullopt, std::move(backoff)) {}

OutboxSender::OutboxSender(Outbox& outbox, ReportClient client, std::optional<PatrolClient> patrols,
                           std::shared_ptr<const BackoffPolicy> backoff)
    : outbox_(outbox),
      client_(std::move(client)),
      patrols_(std::move(patrols)),
      backoff_(std::move(backoff)) {
  if (!backoff_) {
    backoff_ = DefaultOptions(client_.connection()->options()).get<BackoffPolicyOption>();
  }
  thread_ = std::thread([this] { Loop(); });
}

OutboxSender::~OutboxSender() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void OutboxSender::Wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    wake_ = true;
  }
  cv_.notify_all();
}

FlushResult OutboxSender::last_result() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_;
}

void OutboxSender::Loop() {
  auto backoff = backoff_->clone();
  std::unique_lock<std::mutex> lock(mu_);
  std::chrono::milliseconds retry_in{0};
  for (;;) {
    if (retry_in.count() > 0) {
      cv_.wait_for(lock, retry_in, [this] { return stop_ || wake_; });
    } else {
      cv_.wait(lock, [this] { return stop_ || wake_; });
    }
    if (stop_) return;
    wake_ = false;
    lock.unlock();
    auto result = outbox_.Flush(client_, patrols_ ? &*patrols_ : nullptr);
    lock.lock();
    if (result.ok()) last_ = *result;
    if (!result.ok() || (!result->stopped_by.ok() && result->pending > 0)) {
      retry_in = backoff->OnCompletion();
      // Never sooner than the server asked (a rate limit's RetryInfo).
      if (result.ok())
        retry_in = std::max(retry_in, GetErrorDetails(result->stopped_by).retry_delay);
      if (retry_in.count() == 0) retry_in = std::chrono::milliseconds(1);
    } else {
      backoff = backoff_->clone();
      retry_in = std::chrono::milliseconds(0);
    }
  }
}

}  // namespace gridline::client
