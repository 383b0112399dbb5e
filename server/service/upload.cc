#include "server/service/upload.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "server/domain/errors.h"
#include "server/util/sha256.h"

namespace gridline::service {

bool IsSha256Hex(absl::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

absl::Status CheckUploadMetadata(absl::string_view sha256, int64_t declared_size,
                                 int64_t max_bytes) {
  domain::FieldViolations v;
  if (!IsSha256Hex(sha256)) v.Add("metadata.sha256", "must be 64 lowercase hex digits");
  if (declared_size < 0) v.Add("metadata.size_bytes", "must not be negative");
  if (!v.empty()) return v.ToStatus("invalid upload metadata");
  if (declared_size > max_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the photo is ", declared_size, " bytes; the limit is ", max_bytes));
  }
  return absl::OkStatus();
}

absl::StatusOr<domain::ImageInfo> CheckUploadContent(absl::string_view claimed_sha256,
                                                     int64_t declared_size, absl::string_view bytes,
                                                     int64_t max_bytes) {
  if (absl::Status s = CheckUploadMetadata(claimed_sha256, declared_size, max_bytes); !s.ok()) {
    return s;
  }
  const int64_t size = static_cast<int64_t>(bytes.size());
  if (size > max_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the photo is over the limit of ", max_bytes, " bytes"));
  }
  if (size != declared_size) {
    return domain::InvalidField(
        "metadata.size_bytes",
        absl::StrCat("says ", declared_size, " bytes but ", size, " bytes arrived"));
  }
  std::string actual = util::Sha256Hex(bytes);
  if (actual != claimed_sha256) {
    return domain::InvalidField(
        "metadata.sha256",
        absl::StrCat("SHA-256 mismatch: the content arrived hashes to ", actual));
  }
  // The whole image is decoded, so that only complete JPEG, PNG and WebP images of sane
  // dimensions are stored (a magic number followed by anything is not a photo).
  auto image = domain::CheckImage(bytes);
  if (!image.ok()) {
    if (!absl::IsInvalidArgument(image.status())) return image.status();
    return domain::InvalidField("chunk", absl::StrCat(image.status().message(),
                                                      " (the type is detected from the content)"));
  }
  return image;
}

absl::Status ChunkedUpload::AddMetadata(absl::string_view sha256, int64_t declared_size) {
  if (have_metadata_) return domain::InvalidField("metadata", "was sent twice");
  if (absl::Status s = CheckUploadMetadata(sha256, declared_size, max_bytes_); !s.ok()) return s;
  have_metadata_ = true;
  sha256_ = std::string(sha256);
  declared_size_ = declared_size;
  data_.reserve(static_cast<size_t>(declared_size_));
  return absl::OkStatus();
}

absl::Status ChunkedUpload::AddChunk(absl::string_view chunk) {
  if (!have_metadata_) {
    return domain::InvalidField("metadata", "must be the first message, before any chunk");
  }
  if (chunk.size() > kMaxChunkBytes) {
    return domain::InvalidField(
        "chunk", absl::StrCat("is ", chunk.size(), " bytes; at most 1 MiB per chunk"));
  }
  const int64_t total = static_cast<int64_t>(data_.size() + chunk.size());
  if (total > max_bytes_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the photo is over the limit of ", max_bytes_, " bytes"));
  }
  if (total > declared_size_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("more bytes than metadata.size_bytes (", declared_size_, ") arrived"));
  }
  data_.append(chunk.data(), chunk.size());
  return absl::OkStatus();
}

absl::Status ChunkedUpload::EmptyMessage() {
  return domain::InvalidField("part", "a message must carry metadata or a chunk");
}

absl::Status ChunkedUpload::End() const {
  if (!have_metadata_) {
    return domain::InvalidField("metadata", "the upload ended without metadata");
  }
  return absl::OkStatus();
}

}  // namespace gridline::service
