#include "server/api/attachment_rpcs.h"

#include <algorithm>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/api/convert.h"
#include "server/domain/errors.h"
#include "server/domain/organisation.h"
#include "server/service/attachments.h"
#include "server/service/org_import.h"

namespace gridline::api {
namespace {

grpc::Status Unimplemented() {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "photos are not configured on this server");
}

class UploadReactor final : public grpc::ServerReadReactor<v1::UploadAttachmentRequest> {
 public:
  UploadReactor(grpc::CallbackServerContext* context, const ServiceContext& deps,
                v1::Attachment* response)
      : deps_(deps), response_(response), peer_(context->peer()) {
    std::unique_lock<std::mutex> lock(mu_);
    if (deps_.attachments == nullptr) {
      RequestFinishLocked(Unimplemented());
      FinishIfIdle(lock);
      return;
    }
    busy_ = true;
    deps_.pool->Submit([this, token = BearerToken(context)] { Authenticate(token); });
  }

  void OnReadDone(bool ok) override {
    std::unique_lock<std::mutex> lock(mu_);
    reading_ = false;
    if (finish_) {
      FinishIfIdle(lock);
      return;
    }
    if (!ok) {  // the client has sent everything (or is gone: then the checks fail)
      if (!have_metadata_) {
        Fail(lock, domain::InvalidField("metadata", "the upload ended without metadata"));
        return;
      }
      busy_ = true;
      deps_.pool->Submit([this] { Store(); });
      return;
    }
    if (absl::Status s = TakeLocked(); !s.ok()) {
      Fail(lock, s);
      return;
    }
    reading_ = true;
    StartRead(&request_);
  }

  void OnCancel() override {
    std::unique_lock<std::mutex> lock(mu_);
    RequestFinishLocked(grpc::Status::CANCELLED);
    FinishIfIdle(lock);
  }

  void OnDone() override { delete this; }

 private:
  // On the pool.
  void Authenticate(const std::string& token) {
    auto caller = service::Authenticate(deps_.store, token, deps_.demo, deps_.clock->NowMicros());
    absl::Status status =
        caller.ok() ? service::AttachmentService::CheckMayUpload(*caller) : caller.status();
    std::unique_lock<std::mutex> lock(mu_);
    busy_ = false;
    if (!status.ok()) {
      Fail(lock, status);
      return;
    }
    if (finish_) {  // cancelled meanwhile
      FinishIfIdle(lock);
      return;
    }
    caller_ = *std::move(caller);
    reading_ = true;
    StartRead(&request_);
  }

  // On the pool, once the client has sent everything.
  void Store() {
    const service::RequestContext rc{caller_, deps_.clock->NowMicros(), peer_, {}};
    auto stored = deps_.attachments->Upload(rc, sha256_, declared_size_, std::move(data_));
    if (stored.ok()) ToProto(*stored, response_);
    std::unique_lock<std::mutex> lock(mu_);
    busy_ = false;
    RequestFinishLocked(ToGrpcStatus(stored.status()));
    FinishIfIdle(lock);
  }

  // Takes the message just read.
  absl::Status TakeLocked() {
    switch (request_.part_case()) {
      case v1::UploadAttachmentRequest::kMetadata: {
        if (have_metadata_) return domain::InvalidField("metadata", "was sent twice");
        const auto& m = request_.metadata();
        if (absl::Status s = deps_.attachments->CheckMetadata(m.sha256(), m.size_bytes());
            !s.ok()) {
          return s;
        }
        have_metadata_ = true;
        sha256_ = m.sha256();
        declared_size_ = m.size_bytes();
        data_.reserve(static_cast<size_t>(declared_size_));
        return absl::OkStatus();
      }
      case v1::UploadAttachmentRequest::kChunk: {
        if (!have_metadata_) {
          return domain::InvalidField("metadata", "must be the first message, before any chunk");
        }
        const std::string& chunk = request_.chunk();
        if (chunk.size() > kMaxChunkBytes) {
          return domain::InvalidField(
              "chunk", absl::StrCat("is ", chunk.size(), " bytes; at most 1 MiB per chunk"));
        }
        const int64_t total = static_cast<int64_t>(data_.size() + chunk.size());
        if (total > deps_.attachments->max_bytes()) {
          return absl::ResourceExhaustedError(absl::StrCat(
              "the photo is over the limit of ", deps_.attachments->max_bytes(), " bytes"));
        }
        if (total > declared_size_) {
          return absl::ResourceExhaustedError(
              absl::StrCat("more bytes than metadata.size_bytes (", declared_size_, ") arrived"));
        }
        data_.append(chunk);
        return absl::OkStatus();
      }
      case v1::UploadAttachmentRequest::PART_NOT_SET:
        break;
    }
    return domain::InvalidField("part", "a message must carry metadata or a chunk");
  }

  // Ends the call with `status` (see FinishIfIdle: the caller must return right after).
  void Fail(std::unique_lock<std::mutex>& lock, const absl::Status& status) {
    RequestFinishLocked(ToGrpcStatus(status));
    FinishIfIdle(lock);
  }

  void RequestFinishLocked(grpc::Status status) {
    if (!finish_) finish_ = std::move(status);
  }

  // Finishes exactly once, and only when no read and no pool task is in flight: both use this
  // reactor and `response_`. Finish is called after `lock` is released, because gRPC may run
  // OnDone (which deletes this reactor) on another thread as soon as Finish is called: the
  // caller must return right after this and touch nothing of the reactor, not even `mu_`.
  void FinishIfIdle(std::unique_lock<std::mutex>& lock) {
    if (!finish_ || finished_ || busy_ || reading_) return;
    finished_ = true;
    grpc::Status status = *std::move(finish_);
    lock.unlock();
    Finish(std::move(status));
  }

  const ServiceContext deps_;
  v1::Attachment* const response_;
  const std::string peer_;
  std::mutex mu_;
  bool busy_ = false;  // a pool task (authentication or storing) is running
  bool reading_ = false;
  bool finished_ = false;
  std::optional<grpc::Status> finish_;
  domain::Caller caller_;
  v1::UploadAttachmentRequest request_;
  bool have_metadata_ = false;
  std::string sha256_;
  int64_t declared_size_ = 0;
  std::string data_;
};

class DownloadReactor final : public grpc::ServerWriteReactor<v1::DownloadAttachmentResponse> {
 public:
  DownloadReactor(grpc::CallbackServerContext* context, const ServiceContext& deps,
                  std::string attachment_id)
      : deps_(deps) {
    std::unique_lock<std::mutex> lock(mu_);
    if (deps_.attachments == nullptr) {
      RequestFinishLocked(Unimplemented());
      Pump(lock);
      return;
    }
    busy_ = true;
    deps_.pool->Submit([this, token = BearerToken(context), peer = context->peer(),
                        id = std::move(attachment_id)] { Load(token, peer, id); });
  }

  void OnWriteDone(bool ok) override {
    std::unique_lock<std::mutex> lock(mu_);
    writing_ = false;
    if (!ok) RequestFinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "write failed"));
    Pump(lock);
  }

  void OnCancel() override {
    std::unique_lock<std::mutex> lock(mu_);
    RequestFinishLocked(grpc::Status::CANCELLED);
    Pump(lock);
  }

  void OnDone() override { delete this; }

 private:
  // On the pool.
  void Load(const std::string& token, const std::string& peer, const std::string& attachment_id) {
    const domain::Micros now = deps_.clock->NowMicros();
    auto caller = service::Authenticate(deps_.store, token, deps_.demo, now);
    absl::StatusOr<service::AttachmentContent> content =
        caller.ok() ? deps_.attachments->Open(service::RequestContext{*caller, now, peer, {}},
                                              attachment_id)
                    : caller.status();
    std::unique_lock<std::mutex> lock(mu_);
    busy_ = false;
    if (content.ok()) {
      content_ = *std::move(content);
    } else {
      RequestFinishLocked(ToGrpcStatus(content.status()));
    }
    Pump(lock);
  }

  void RequestFinishLocked(grpc::Status status) {
    if (!finish_) finish_ = std::move(status);
  }

  // Starts the next write, or finishes; one write in flight at a time. Finish is called after
  // `lock` is released (OnDone may delete this reactor at once): the caller must return right
  // after this and touch nothing of the reactor.
  void Pump(std::unique_lock<std::mutex>& lock) {
    if (finished_ || writing_ || busy_) return;
    if (!finish_ && sent_metadata_ && offset_ >= content_.bytes.size()) {
      finish_ = grpc::Status::OK;
    }
    if (finish_) {
      finished_ = true;
      grpc::Status status = *std::move(finish_);
      lock.unlock();
      Finish(std::move(status));
      return;
    }
    message_.Clear();
    if (!sent_metadata_) {
      ToProto(content_.attachment, message_.mutable_attachment());
      sent_metadata_ = true;
    } else {
      size_t n = std::min(kMaxChunkBytes, content_.bytes.size() - offset_);
      message_.set_chunk(content_.bytes.substr(offset_, n));
      offset_ += n;
    }
    writing_ = true;
    StartWrite(&message_);
  }

  const ServiceContext deps_;
  std::mutex mu_;
  bool busy_ = false;  // the pool task loading the photo is running
  bool writing_ = false;
  bool finished_ = false;
  std::optional<grpc::Status> finish_;
  service::AttachmentContent content_;
  bool sent_metadata_ = false;
  size_t offset_ = 0;
  v1::DownloadAttachmentResponse message_;
};

}  // namespace

grpc::ServerReadReactor<v1::UploadAttachmentRequest>* StartUpload(
    grpc::CallbackServerContext* context, const ServiceContext& deps, v1::Attachment* response) {
  return new UploadReactor(context, deps, response);
}

grpc::ServerWriteReactor<v1::DownloadAttachmentResponse>* StartDownload(
    grpc::CallbackServerContext* context, const ServiceContext& deps,
    const v1::DownloadAttachmentRequest* request) {
  return new DownloadReactor(context, deps, request->attachment_id());
}

}  // namespace gridline::api
