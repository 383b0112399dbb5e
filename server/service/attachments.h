// Photos (attachments): upload checks, who may download, and cleaning up photos no case uses.
// The bytes live in a BlobStore, the metadata in the Store; knows neither gRPC nor SQL.
#ifndef GRIDLINE_SERVER_SERVICE_ATTACHMENTS_H_
#define GRIDLINE_SERVER_SERVICE_ATTACHMENTS_H_

#include <cstdint>
#include <optional>
#include <shared_mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/domain/types.h"
#include "server/service/request_context.h"
#include "server/service/upload.h"
#include "server/store/blob_store.h"
#include "server/store/store.h"

namespace gridline::service {

// A photo and its bytes, for download.
struct AttachmentContent {
  domain::Attachment attachment;
  std::string bytes;
};

class AttachmentService {
 public:
  // `attachments` holds the photos' metadata, `cases` says who may see a photo (not owned).
  // `max_bytes`: the largest photo accepted. `orphan_grace`: how old a photo no case uses must be
  // before Cleanup deletes it.
  AttachmentService(store::AttachmentStore* attachments, store::CaseStore* cases,
                    store::BlobStore* blobs, int64_t max_bytes, domain::Micros orphan_grace)
      : attachments_(attachments),
        cases_(cases),
        blobs_(blobs),
        max_bytes_(max_bytes),
        orphan_grace_(orphan_grace) {}

  int64_t max_bytes() const { return max_bytes_; }

  // PERMISSION_DENIED unless the caller's role takes photos (grid leader, dispatcher,
  // department staff).
  static absl::Status CheckMayUpload(const domain::Caller& caller);
  // Checks an upload's metadata before any content arrives: INVALID_ARGUMENT for a malformed
  // SHA-256 or a negative size, RESOURCE_EXHAUSTED for a size over the limit.
  absl::Status CheckMetadata(absl::string_view sha256, int64_t declared_size) const {
    return CheckUploadMetadata(sha256, declared_size, max_bytes_);
  }

  // Stores a photo after checking everything: the caller's role, then CheckUploadContent (the
  // metadata, the size against the limit and the declared size, the SHA-256, and the type from
  // the bytes). Nothing is stored
  // unless every check passes; the bytes are durable before the metadata is written. The same
  // bytes again give the same attachment. Blocking (store and disk).
  absl::StatusOr<domain::Attachment> Upload(const RequestContext& rc,
                                            const std::string& claimed_sha256,
                                            int64_t declared_size, std::string bytes);

  // A photo for download, if the caller uploaded it or may see a case whose photos or events
  // use it; NOT_FOUND otherwise (also when it exists), INVALID_ARGUMENT for a malformed id,
  // DATA_LOSS when the metadata exists but the bytes are gone. Blocking.
  absl::StatusOr<AttachmentContent> Open(const RequestContext& rc,
                                         const std::string& attachment_id);

  // Deletes photos no case or event uses that are older than the grace period at `now`: first
  // their metadata (in the store), then their bytes. At most once per grace period it also sweeps
  // the blob directory for bytes without metadata (left when writing the metadata failed) and
  // for temporary files left by a crash. Returns how many photos were deleted. Blocking.
  absl::StatusOr<int> Cleanup(domain::Micros now);

 private:
  absl::StatusOr<int> SweepStrayBlobs(domain::Micros written_before);

  store::AttachmentStore* attachments_;
  store::CaseStore* cases_;
  store::BlobStore* blobs_;
  const int64_t max_bytes_;
  const domain::Micros orphan_grace_;
  // Uploads (shared) against deletions (exclusive): an upload that finds the bytes on disk and
  // then writes the metadata must not interleave with Cleanup deleting those bytes.
  std::shared_mutex delete_mu_;
  domain::Micros last_sweep_ = 0;  // guarded by delete_mu_ (exclusive)
};

}  // namespace gridline::service

#endif  // GRIDLINE_SERVER_SERVICE_ATTACHMENTS_H_
