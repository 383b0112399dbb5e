// The pure part of a photo upload (ReportService.UploadAttachment): the checks of the metadata,
// the assembly of the chunks as they arrive, and the checks of the whole content. Knows neither
// gRPC nor the store; the upload reactor (server/api/attachment_rpcs.cc) feeds it the client's
// messages and AttachmentService::Upload runs CheckUploadContent before storing anything.
#ifndef GRIDLINE_SERVER_SERVICE_UPLOAD_H_
#define GRIDLINE_SERVER_SERVICE_UPLOAD_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/domain/image_check.h"

namespace gridline::service {

// Chunks are at most this big, both ways.
inline constexpr size_t kMaxChunkBytes = 1 << 20;

// True for a lowercase hex SHA-256 (64 characters of [0-9a-f]).
bool IsSha256Hex(absl::string_view s);

// Checks an upload's metadata before any content arrives: INVALID_ARGUMENT for a malformed
// SHA-256 or a negative size, RESOURCE_EXHAUSTED for a size over `max_bytes`.
absl::Status CheckUploadMetadata(absl::string_view sha256, int64_t declared_size,
                                 int64_t max_bytes);

// The checks of a complete upload before it is stored: the metadata (as CheckUploadMetadata), the
// size against `max_bytes` and the declared size, the SHA-256 of `bytes` against the claimed one,
// and the type from the bytes (a complete JPEG, PNG or WebP: domain::CheckImage). On success the
// attachment id is `claimed_sha256`.
absl::StatusOr<domain::ImageInfo> CheckUploadContent(absl::string_view claimed_sha256,
                                                     int64_t declared_size, absl::string_view bytes,
                                                     int64_t max_bytes);

// One upload's messages, in the order they arrive: the metadata first and once, then chunks of at
// most kMaxChunkBytes, never more bytes in all than the metadata declared or `max_bytes`. A call
// that returns an error ends the upload (the reactor finishes the call with it).
class ChunkedUpload {
 public:
  explicit ChunkedUpload(int64_t max_bytes) : max_bytes_(max_bytes) {}

  // The metadata message.
  absl::Status AddMetadata(absl::string_view sha256, int64_t declared_size);
  // A chunk message.
  absl::Status AddChunk(absl::string_view chunk);
  // A message with neither metadata nor a chunk.
  static absl::Status EmptyMessage();
  // The client has sent everything: INVALID_ARGUMENT when no metadata came.
  absl::Status End() const;

  const std::string& sha256() const { return sha256_; }
  int64_t declared_size() const { return declared_size_; }
  const std::string& data() const { return data_; }
  std::string TakeData() { return std::move(data_); }

 private:
  const int64_t max_bytes_;
  bool have_metadata_ = false;
  std::string sha256_;
  int64_t declared_size_ = 0;
  std::string data_;
};

}  // namespace gridline::service

#endif  // GRIDLINE_SERVER_SERVICE_UPLOAD_H_
