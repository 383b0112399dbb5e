// The one storage interface of gridline. Two implementations sit behind it (SQLite, embedded
// default; MySQL/MariaDB through Connector/C++, production); callers never see which. Every
// method is blocking and thread-safe: call it from the server's worker pool, never from a gRPC
// reaction.
#ifndef GRIDLINE_SERVER_STORE_STORE_H_
#define GRIDLINE_SERVER_STORE_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/domain/types.h"

namespace gridline::store {

struct CreateCaseResult {
  domain::Case stored;
  domain::CaseEvent first_event;  // with its seq
  bool created = false;           // false: the (reporter, request_id) pair existed already
};

class Store {
 public:
  virtual ~Store() = default;

  // Cheap round trip to the database; the health service reports SERVING only while it is OK.
  virtual absl::Status Ping() = 0;

  // Upserts every grid, department, category, rule and user of `org` in one transaction.
  // Demo tokens are stored hashed. Validation is the caller's job (domain::ValidateOrganisation).
  virtual absl::Status ApplyOrganisation(const domain::Organisation& org) = 0;

  virtual absl::StatusOr<std::optional<domain::Grid>> FindGrid(const std::string& code) = 0;
  virtual absl::StatusOr<std::vector<domain::Grid>> ListGrids() = 0;
  virtual absl::StatusOr<std::optional<domain::Category>> FindCategory(const std::string& code) = 0;
  virtual absl::StatusOr<std::optional<domain::User>> FindUser(const std::string& user_id) = 0;

  // Tokens are stored as SHA-256 hex digests only.
  virtual absl::Status PutToken(const std::string& token_hash, const std::string& user_id,
                                const std::string& label) = 0;
  // The enabled user owning a non-revoked token, or nullopt.
  virtual absl::StatusOr<std::optional<domain::User>> FindUserByTokenHash(
      const std::string& token_hash) = 0;

  // Stores a new case and its first event in one transaction, idempotently on
  // (reporter_user_id, request_id): if that pair exists, nothing is written and the stored case
  // and its first event are returned with created=false.
  virtual absl::StatusOr<CreateCaseResult> CreateCase(const domain::Case& c,
                                                      const domain::CaseEvent& first_event) = 0;

  virtual absl::StatusOr<std::optional<domain::Case>> GetCase(const std::string& case_id) = 0;

  // Writes `c` (with version expected_version + 1) and appends `event`, in one transaction.
  // ABORTED if the stored version is not `expected_version`; NOT_FOUND if the case is missing.
  virtual absl::StatusOr<domain::CaseEvent> UpdateCase(const domain::Case& c,
                                                       int64_t expected_version,
                                                       const domain::CaseEvent& event) = 0;

  // The global event log, in seq order. Sequence numbers are dense and become visible in order:
  // once a reader has seen seq N, no event with seq < N can appear later. That makes
  // "everything after my cursor" exact across replicas.
  virtual absl::StatusOr<std::vector<domain::CaseEvent>> ListEventsAfter(int64_t after_seq,
                                                                         int limit) = 0;
  virtual absl::StatusOr<std::vector<domain::CaseEvent>> ListCaseEvents(
      const std::string& case_id) = 0;
  virtual absl::StatusOr<int64_t> LastEventSeq() = 0;

  // Retention: deletes events older than `before` (never the newest one). Events with
  // seq <= PrunedThroughSeq() are gone; a cursor before that has expired.
  virtual absl::StatusOr<int64_t> PruneEventsBefore(domain::Micros before) = 0;
  virtual absl::StatusOr<int64_t> PrunedThroughSeq() = 0;

  // The schema version this store is at, after migrations.
  virtual absl::StatusOr<int> SchemaVersion() = 0;
};

struct SqliteOptions {
  std::string path;
  int pool_size = 8;
};

struct MysqlOptions {
  std::string host = "127.0.0.1";
  int port = 3306;
  std::string user;
  std::string password;
  std::string database = "gridline";
  int pool_size = 8;
  bool create_database = false;
  int connect_timeout_seconds = 5;
};

// Open a store and bring its schema up to date. FAILED_PRECONDITION when the database schema is
// newer than this build knows; UNAVAILABLE when the database cannot be reached.
absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const SqliteOptions& options);
absl::StatusOr<std::unique_ptr<Store>> OpenMysqlStore(const MysqlOptions& options);

// The newest schema version this build knows.
int LatestSchemaVersion();

}  // namespace gridline::store

#endif  // GRIDLINE_SERVER_STORE_STORE_H_
