#include "server/api/attachment_rpcs.h"

#include <algorithm>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/api/convert.h"
#include "server/api/forwarded.h"
#include "server/api/pool_reactor.h"
#include "server/domain/errors.h"
#include "server/domain/organisation.h"
#include "server/service/attachments.h"

namespace gridline::api {
namespace {

grpc::Status Unimplemented() {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "photos are not configured on this server");
}

class UploadReactor final
    : public PoolReactor<grpc::ServerReadReactor<v1::UploadAttachmentRequest>> {
 public:
  UploadReactor(grpc::CallbackServerContext* context, const ServiceContext& deps,
                v1::Attachment* response)
      : PoolReactor(deps.pool),
        context_(context),
        deps_(deps),
        response_(response),
        peer_(PeerOf(context)),
        upload_(deps.attachments != nullptr ? deps.attachments->max_bytes() : 0) {
    std::unique_lock<std::mutex> lock(mu_);
    if (deps_.attachments == nullptr) {
      RequestFinishLocked(Unimplemented());
    } else {
      SubmitLocked([this, call = CredentialsOf(context)] { Authenticate(call); });
    }
    Advance(lock);
  }

 private:
  void OnReadLocked(bool ok) override {
    if (!ok) {  // the client has sent everything (or is gone: then the checks fail)
      if (absl::Status s = upload_.End(); !s.ok()) {
        Fail(s);
      } else {
        SubmitLocked([this] { Store(); });
      }
    } else if (absl::Status s = TakeLocked(); !s.ok()) {
      Fail(s);
    } else {
      ReadLocked(&request_);
    }
  }

  // On the pool.
  void Authenticate(const service::CallCredentials& call) {
    auto caller = deps_.guard->Admit(call, service::CallKind::kTransfer, deps_.clock->NowMicros());
    if (caller.ok()) deps_.NoteCaller(context_, *caller);
    absl::Status status =
        caller.ok() ? service::AttachmentService::CheckMayUpload(*caller) : caller.status();
    std::lock_guard<std::mutex> lock(mu_);
    if (!status.ok()) {
      Fail(status);
    } else if (!FinishingLocked()) {  // not cancelled meanwhile
      caller_ = *std::move(caller);
      ReadLocked(&request_);
    }
  }

  // On the pool, once the client has sent everything.
  void Store() {
    const service::RequestContext rc{caller_, deps_.clock->NowMicros(), peer_, {}};
    auto stored = deps_.attachments->Upload(rc, upload_.sha256(), upload_.declared_size(),
                                            upload_.TakeData());
    if (stored.ok()) api::ToProto(*stored, response_);
    std::lock_guard<std::mutex> lock(mu_);
    RequestFinishLocked(ToGrpcStatus(stored.status()));
  }

  // Takes the message just read.
  absl::Status TakeLocked() {
    switch (request_.part_case()) {
      case v1::UploadAttachmentRequest::kMetadata:
        return upload_.AddMetadata(request_.metadata().sha256(), request_.metadata().size_bytes());
      case v1::UploadAttachmentRequest::kChunk: {
        if (absl::Status s = upload_.AddChunk(request_.chunk()); !s.ok()) return s;
        // The hourly allowance of photo bytes (rate_limits): counted as the bytes arrive.
        return deps_.guard->ChargeUpload(caller_, peer_, request_.chunk().size(),
                                         deps_.clock->NowMicros());
      }
      case v1::UploadAttachmentRequest::PART_NOT_SET:
        break;
    }
    return service::ChunkedUpload::EmptyMessage();
  }

  void Fail(const absl::Status& status) { RequestFinishLocked(ToGrpcStatus(status)); }

  grpc::CallbackServerContext* const context_;  // valid until OnDone
  const ServiceContext deps_;
  v1::Attachment* const response_;
  const std::string peer_;
  domain::Caller caller_;
  v1::UploadAttachmentRequest request_;
  service::ChunkedUpload upload_;
};

class DownloadReactor final
    : public PoolReactor<grpc::ServerWriteReactor<v1::DownloadAttachmentResponse>> {
 public:
  DownloadReactor(grpc::CallbackServerContext* context, const ServiceContext& deps,
                  std::string attachment_id)
      : PoolReactor(deps.pool), context_(context), deps_(deps) {
    std::unique_lock<std::mutex> lock(mu_);
    if (deps_.attachments == nullptr) {
      RequestFinishLocked(Unimplemented());
    } else {
      SubmitLocked(
          [this, call = CredentialsOf(context), id = std::move(attachment_id)] { Load(call, id); });
    }
    Advance(lock);
  }

 private:
  // On the pool.
  void Load(const service::CallCredentials& call, const std::string& attachment_id) {
    const domain::Micros now = deps_.clock->NowMicros();
    const std::string& peer = call.peer;
    auto caller = deps_.guard->Admit(call, service::CallKind::kTransfer, now);
    if (caller.ok()) deps_.NoteCaller(context_, *caller);
    absl::StatusOr<service::AttachmentContent> content =
        caller.ok() ? deps_.attachments->Open(service::RequestContext{*caller, now, peer, {}},
                                              attachment_id)
                    : caller.status();
    std::lock_guard<std::mutex> lock(mu_);
    if (content.ok()) {
      content_ = *std::move(content);
      loaded_ = true;
    } else {
      RequestFinishLocked(ToGrpcStatus(content.status()));
    }
  }

  // The metadata, then the chunks; then the call finishes OK.
  const v1::DownloadAttachmentResponse* NextWriteLocked() override {
    if (!loaded_ || FinishingLocked()) return nullptr;
    if (sent_metadata_ && offset_ >= content_.bytes.size()) {
      RequestFinishLocked(grpc::Status::OK);
      return nullptr;
    }
    message_.Clear();
    if (!sent_metadata_) {
      api::ToProto(content_.attachment, message_.mutable_attachment());
      sent_metadata_ = true;
    } else {
      size_t n = std::min(kMaxChunkBytes, content_.bytes.size() - offset_);
      message_.set_chunk(content_.bytes.substr(offset_, n));
      offset_ += n;
    }
    return &message_;
  }

  grpc::CallbackServerContext* const context_;  // valid until OnDone
  const ServiceContext deps_;
  bool loaded_ = false;
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
