// Content-addressed files: the bytes of photos, beside the SQL store that holds their metadata.
// A blob with id "ab12…" lives at <directory>/ab/ab12…; the id is the lowercase hex SHA-256 of the
// content, so writing the same id twice writes the same bytes. Blocking and thread-safe (call it
// from the worker pool, never from a gRPC reaction).
#ifndef GRIDLINE_SERVER_STORE_BLOB_STORE_H_
#define GRIDLINE_SERVER_STORE_BLOB_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/domain/types.h"

namespace gridline::store {

class BlobStore {
 public:
  // Creates `directory` (and its parents) if missing. FAILED_PRECONDITION if it cannot be
  // created or is not a writable directory.
  static absl::StatusOr<std::unique_ptr<BlobStore>> Open(const std::string& directory);

  const std::string& directory() const { return directory_; }
  // Where the blob `id` lives (whether or not it exists).
  std::string PathOf(const std::string& id) const;

  // Stores `bytes` as `id`, durably: a temporary file in the blob's directory is written and
  // fsynced, renamed into place, and the directory is fsynced. Readers never see a partial blob;
  // a crash leaves at most a temporary file, which RemoveStaleTemporaries deletes. If the blob
  // exists already with the same size it is kept (content-addressed). `*created` (if given) tells
  // whether this call wrote the blob. INVALID_ARGUMENT for an id that is not lowercase hex.
  absl::Status Put(const std::string& id, absl::string_view bytes, bool* created = nullptr);
  // NOT_FOUND if there is no such blob.
  absl::StatusOr<std::string> Get(const std::string& id) const;
  // OK also when the blob does not exist.
  absl::Status Delete(const std::string& id);
  absl::StatusOr<bool> Exists(const std::string& id) const;

  // Ids of the blobs last written before `before` (for sweeping blobs without metadata).
  absl::StatusOr<std::vector<std::string>> ListWrittenBefore(domain::Micros before) const;
  // Deletes temporary files last written before `before` (left by a crash during Put); returns
  // how many.
  absl::StatusOr<int> RemoveStaleTemporaries(domain::Micros before);

 private:
  explicit BlobStore(std::string directory) : directory_(std::move(directory)) {}

  std::string directory_;
};

// True for the ids BlobStore accepts: 3 to 128 lowercase hex digits.
bool IsValidBlobId(absl::string_view id);

}  // namespace gridline::store

#endif  // GRIDLINE_SERVER_STORE_BLOB_STORE_H_
