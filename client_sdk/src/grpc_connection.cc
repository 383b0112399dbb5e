// The gRPC plumbing behind every connection: channel, credentials, per-call token and deadline,
// status translation, watch streams and chunked photo transfer.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <algorithm>
#include <atomic>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "gridline/client/internal/grpc_stubs.h"
#include "gridline/client/report_connection.h"
#include "gridline/client/version.h"
#include "status_payload.h"

namespace gridline::client::internal {
namespace {

// Well under the server's 1 MiB limit per chunk.
constexpr size_t kChunkBytes = 512 * 1024;

class GrpcEventStream final : public EventStream {
 public:
  GrpcEventStream(std::unique_ptr<grpc::ClientContext> context,
                  std::unique_ptr<grpc::ClientReader<v1::WatchEvent>> reader)
      : context_(std::move(context)), reader_(std::move(reader)) {}
  ~GrpcEventStream() override {
    if (!finished_) {
      context_->TryCancel();
      v1::WatchEvent drain;
      while (reader_->Read(&drain)) {
      }
      reader_->Finish();
    }
  }
  std::optional<v1::WatchEvent> Read() override {
    v1::WatchEvent event;
    if (!reader_->Read(&event)) return std::nullopt;
    return event;
  }
  Status Finish() override {
    finished_ = true;
    return FromGrpcStatus(reader_->Finish());
  }
  void Cancel() override { context_->TryCancel(); }

 private:
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientReader<v1::WatchEvent>> reader_;
  bool finished_ = false;
};

class FailedEventStream final : public EventStream {
 public:
  explicit FailedEventStream(Status status) : status_(std::move(status)) {}
  std::optional<v1::WatchEvent> Read() override { return std::nullopt; }
  Status Finish() override { return status_; }
  void Cancel() override {}

 private:
  Status status_;
};

}  // namespace

Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return Status();
  Status out(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  if (!status.error_details().empty()) {
    out.SetPayload(kRpcStatusPayloadUrl, absl::Cord(status.error_details()));
  }
  return out;
}

Idempotency WriteIdempotency(const google::protobuf::Message& request) {
  const auto* field = request.GetDescriptor()->FindFieldByName("expected_version");
  if (field != nullptr && field->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_INT64 &&
      request.GetReflection()->GetInt64(request, field) != 0) {
    return Idempotency::kIdempotent;
  }
  return Idempotency::kNonIdempotent;
}

GrpcStubs::GrpcStubs(Options options) : options_(DefaultOptions(std::move(options))) {
  const std::string& endpoint = options_.get<EndpointOption>();
  if (endpoint.empty()) {
    config_status_ = absl::InvalidArgumentError("no endpoint: set EndpointOption (host:port)");
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (options_.get<InsecureChannelOption>()) {
    credentials = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = options_.get<TlsRootCertificatesOption>();
    ssl.pem_cert_chain = options_.get<TlsClientCertificateOption>();
    ssl.pem_private_key = options_.get<TlsClientKeyOption>();
    if (ssl.pem_cert_chain.empty() != ssl.pem_private_key.empty()) {
      config_status_ = absl::InvalidArgumentError(
          "TlsClientCertificateOption and TlsClientKeyOption go together: set both or neither");
    }
    credentials = grpc::SslCredentials(ssl);
  }
  grpc::ChannelArguments args;
  std::string agent = absl::StrCat("gridline-cpp-sdk/", VersionString());
  if (!options_.get<UserAgentPrefixOption>().empty()) {
    agent = absl::StrCat(options_.get<UserAgentPrefixOption>(), " ", agent);
  }
  args.SetUserAgentPrefix(agent);
  // Notice a dead network under a long watch; only while a call is open (the server refuses
  // pings more often than every 10 s, and idle pings would drain a handset's battery).
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
  // Come back quickly once the server is reachable again; the SDK's own backoff paces retries.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
  channel_ =
      grpc::CreateCustomChannel(endpoint.empty() ? "invalid:0" : endpoint, credentials, args);
  report_ = v1::ReportService::NewStub(channel_);
  dispatch_ = v1::DispatchService::NewStub(channel_);
  department_ = v1::DepartmentService::NewStub(channel_);
  admin_ = v1::AdminService::NewStub(channel_);
  patrol_ = v1::PatrolService::NewStub(channel_);
}

void GrpcStubs::WaitBeforeRetry(std::chrono::milliseconds delay) {
  if (channel_->GetState(/*try_to_connect=*/true) == GRPC_CHANNEL_READY) {
    // The server is reachable but answered UNAVAILABLE (e.g. its store is down): back off.
    std::this_thread::sleep_for(delay);
    return;
  }
  // Returns early once connected: then retry at once.
  channel_->WaitForConnected(std::chrono::system_clock::now() + delay);
}

void GrpcStubs::Prepare(grpc::ClientContext& context, std::chrono::milliseconds timeout) const {
  const std::string& token = options_.get<AuthTokenOption>();
  if (!token.empty()) context.AddMetadata("authorization", absl::StrCat("Bearer ", token));
  if (timeout.count() > 0) context.set_deadline(std::chrono::system_clock::now() + timeout);
}

std::unique_ptr<EventStream> GrpcStubs::MakeEventStream(
    std::unique_ptr<grpc::ClientContext> context,
    std::unique_ptr<grpc::ClientReader<v1::WatchEvent>> reader) {
  return std::make_unique<GrpcEventStream>(std::move(context), std::move(reader));
}

std::unique_ptr<EventStream> MakeFailedEventStream(Status status) {
  return std::make_unique<FailedEventStream>(std::move(status));
}

StatusOr<v1::Attachment> UploadAttachment(GrpcStubs& stubs, const PhotoUpload& photo) {
  // Content-addressed on the server: repeating an upload is harmless, so it is idempotent.
  return stubs.Retry<v1::Attachment>(
      Idempotency::kIdempotent, stubs.transfer_timeout(),
      [&](grpc::ClientContext& context, v1::Attachment& response) {
        auto writer = stubs.report().UploadAttachment(&context, &response);
        v1::UploadAttachmentRequest message;
        auto* metadata = message.mutable_metadata();
        metadata->set_sha256(photo.sha256);
        metadata->set_size_bytes(static_cast<int64_t>(photo.bytes.size()));
        metadata->set_file_name(photo.file_name);
        bool open = writer->Write(message);
        for (size_t offset = 0; open && offset < photo.bytes.size(); offset += kChunkBytes) {
          message.set_chunk(photo.bytes.substr(offset, kChunkBytes));
          open = writer->Write(message);
        }
        if (open) writer->WritesDone();
        // After a failed write the server has ended the call; Finish tells why.
        return FromGrpcStatus(writer->Finish());
      });
}

StatusOr<DownloadedPhoto> DownloadAttachment(GrpcStubs& stubs,
                                             const v1::DownloadAttachmentRequest& request) {
  return stubs.Retry<DownloadedPhoto>(Idempotency::kIdempotent, stubs.transfer_timeout(),
                                      [&](grpc::ClientContext& context, DownloadedPhoto& out) {
                                        out = DownloadedPhoto{};
                                        auto reader =
                                            stubs.report().DownloadAttachment(&context, request);
                                        v1::DownloadAttachmentResponse message;
                                        while (reader->Read(&message)) {
                                          if (message.has_attachment()) {
                                            out.attachment = message.attachment();
                                          } else {
                                            out.bytes += message.chunk();
                                          }
                                        }
                                        return FromGrpcStatus(reader->Finish());
                                      });
}

}  // namespace gridline::client::internal
