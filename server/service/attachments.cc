#include "server/service/attachments.h"

#include <mutex>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/domain/errors.h"
#include "server/domain/image_check.h"
#include "server/service/case_service.h"
#include "server/service/domain_names.h"
#include "server/util/sha256.h"

namespace gridline::service {

namespace {

// Download checks at most this many cases using a photo (a photo is normally used by one).
constexpr int kMaxCasesChecked = 100;
// The stray-blob sweep asks the store about this many ids at a time.
constexpr size_t kSweepBatch = 200;

}  // namespace

absl::Status AttachmentService::CheckMayUpload(const Caller& caller) {
  switch (caller.user.role) {
    case Role::kGridLeader:
    case Role::kDispatcher:
    case Role::kDepartmentStaff:
      return absl::OkStatus();
    default:
      return absl::PermissionDeniedError(
          absl::StrCat("only grid leaders, dispatchers and department staff upload photos, not ",
                       RoleName(caller.user.role)));
  }
}

absl::StatusOr<Attachment> AttachmentService::Upload(const RequestContext& rc,
                                                     const std::string& claimed_sha256,
                                                     int64_t declared_size, std::string bytes) {
  if (absl::Status s = CheckMayUpload(rc.caller); !s.ok()) return s;
  auto image = CheckUploadContent(claimed_sha256, declared_size, bytes, max_bytes_);
  if (!image.ok()) return image.status();

  Attachment a;
  a.attachment_id = claimed_sha256;  // CheckUploadContent: the SHA-256 of the bytes
  a.content_type = image->content_type;
  a.size_bytes = static_cast<int64_t>(bytes.size());
  a.create_time = rc.now;
  a.uploaded_by_user_id = rc.caller.user.user_id;

  std::shared_lock<std::shared_mutex> lock(delete_mu_);
  // The bytes first: metadata must never name bytes that are not on disk. If writing the
  // metadata fails, the bytes stay for a retry (or for Cleanup's sweep).
  if (absl::Status s = blobs_->Put(a.attachment_id, bytes); !s.ok()) return s;
  bool created = false;
  if (absl::Status s = attachments_->PutAttachment(a, &created); !s.ok()) return s;
  if (created) return a;
  // Put is idempotent on the id: answer with what is stored, which for a repeat is the first
  // upload's metadata.
  auto stored = attachments_->FindAttachments({a.attachment_id});
  if (!stored.ok()) return stored.status();
  for (auto& found : *stored) {
    if (found.attachment_id == a.attachment_id) return std::move(found);
  }
  return absl::InternalError("the photo's metadata was not found right after it was written");
}

absl::StatusOr<AttachmentContent> AttachmentService::Open(const RequestContext& rc,
                                                          const std::string& attachment_id) {
  if (!IsSha256Hex(attachment_id)) {
    return InvalidField("attachment_id", "must be 64 lowercase hex digits (a SHA-256)");
  }
  const absl::Status not_found =
      absl::NotFoundError(absl::StrCat("attachment ", attachment_id, " not found"));
  auto found = attachments_->FindAttachments({attachment_id});
  if (!found.ok()) return found.status();
  AttachmentContent out;
  bool known = false;
  for (auto& a : *found) {
    if (a.attachment_id == attachment_id) {
      out.attachment = std::move(a);
      known = true;
    }
  }
  if (!known || rc.caller.user.disabled) return not_found;

  bool allowed = out.attachment.uploaded_by_user_id == rc.caller.user.user_id;
  if (!allowed) {
    auto cases = attachments_->CasesUsingAttachment(attachment_id, kMaxCasesChecked);
    if (!cases.ok()) return cases.status();
    for (const auto& case_id : *cases) {
      auto c = cases_->GetCase(case_id);
      if (!c.ok()) return c.status();
      if (c->has_value() && CanSee(rc.caller.user, **c)) {
        allowed = true;
        break;
      }
    }
  }
  if (!allowed) return not_found;

  auto bytes = blobs_->Get(attachment_id);
  if (absl::IsNotFound(bytes.status()) ||
      (bytes.ok() && static_cast<int64_t>(bytes->size()) != out.attachment.size_bytes)) {
    return absl::DataLossError(
        absl::StrCat("the bytes of attachment ", attachment_id, " are missing or damaged"));
  }
  if (!bytes.ok()) return bytes.status();
  out.bytes = *std::move(bytes);
  return out;
}

absl::StatusOr<int> AttachmentService::Cleanup(Micros now) {
  const Micros cutoff = now - orphan_grace_;
  int deleted = 0;
  bool sweep = false;
  {
    std::unique_lock<std::shared_mutex> lock(delete_mu_);
    auto ids = attachments_->PruneUnreferencedAttachments(cutoff);
    if (!ids.ok()) return ids.status();
    absl::Status first_error;
    for (const auto& id : *ids) {
      // The metadata is gone already; bytes that cannot be deleted now are swept later.
      absl::Status s = blobs_->Delete(id);
      if (s.ok()) {
        ++deleted;
      } else if (first_error.ok()) {
        first_error = s;
      }
    }
    if (!first_error.ok()) return first_error;
    if (last_sweep_ == 0 || now - last_sweep_ >= orphan_grace_) {
      sweep = true;
      last_sweep_ = now;
    }
  }
  if (sweep) {
    auto strays = SweepStrayBlobs(cutoff);
    if (!strays.ok()) return strays.status();
    deleted += *strays;
  }
  return deleted;
}

absl::StatusOr<int> AttachmentService::SweepStrayBlobs(Micros written_before) {
  if (auto s = blobs_->RemoveStaleTemporaries(written_before); !s.ok()) return s.status();
  auto ids = blobs_->ListWrittenBefore(written_before);
  if (!ids.ok()) return ids.status();
  int deleted = 0;
  for (size_t start = 0; start < ids->size(); start += kSweepBatch) {
    std::vector<std::string> batch(ids->begin() + start,
                                   ids->begin() + std::min(ids->size(), start + kSweepBatch));
    // Under the lock, so that an upload cannot write the metadata of bytes being deleted.
    std::unique_lock<std::shared_mutex> lock(delete_mu_);
    auto known = attachments_->FindAttachments(batch);
    if (!known.ok()) return known.status();
    std::set<std::string> with_metadata;
    for (const auto& a : *known) with_metadata.insert(a.attachment_id);
    for (const auto& id : batch) {
      if (with_metadata.count(id) != 0) continue;
      if (absl::Status s = blobs_->Delete(id); !s.ok()) return s;
      ++deleted;
    }
  }
  return deleted;
}

}  // namespace gridline::service
