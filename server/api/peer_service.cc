#include "server/api/peer_service.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/string_view.h"
#include "server/util/log.h"
#include "server/util/metrics.h"
#include "server/util/sha256.h"

namespace gridline::api {
namespace {

// Equal digests, compared in constant time (the digests also hide the secret's length).
bool SameDigest(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

constexpr size_t kMaxSenderId = 64;

}  // namespace

PeerServiceImpl::PeerServiceImpl(runtime::EventHub* hub, const std::string& secret)
    : hub_(hub), secret_sha256_(util::Sha256Hex(secret)) {}

grpc::ServerUnaryReactor* PeerServiceImpl::EventsCommitted(
    grpc::CallbackServerContext* context,
    const ::gridline::internal::v1::EventsCommittedRequest* request,
    ::gridline::internal::v1::EventsCommittedResponse* /*response*/) {
  auto* reactor = context->DefaultReactor();
  util::Metrics& metrics = util::DefaultMetrics();
  const auto& metadata = context->client_metadata();
  auto it = metadata.find(kPeerSecretMetadata);
  const bool authentic =
      it != metadata.end() &&
      SameDigest(util::Sha256Hex(absl::string_view(it->second.data(), it->second.size())),
                 secret_sha256_);
  if (!authentic) {
    metrics.Add("gridline_peer_notifications_received_total", {{"outcome", "refused"}});
    const int64_t now = SteadyMs();
    int64_t last = last_refusal_log_ms_.load();
    const int64_t left_out = refusals_since_log_.fetch_add(1);
    if (now - last >= 60000 && last_refusal_log_ms_.compare_exchange_strong(last, now)) {
      refusals_since_log_.store(0);
      util::Log(util::LogLevel::kWarning, "peer_refused",
                {{"peer", context->peer()},
                 {"detail", it == metadata.end() ? "no secret" : "wrong secret"},
                 {"left_out", left_out}});
    }
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                 "a peer notification needs the cluster's secret"));
    return reactor;
  }
  if (request->head_seq() < 0 || request->sender_id().size() > kMaxSenderId) {
    metrics.Add("gridline_peer_notifications_received_total", {{"outcome", "invalid"}});
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                 "head_seq must not be negative, sender_id at most 64 bytes"));
    return reactor;
  }
  const bool news = hub_->PeerCommitted(request->head_seq(), request->sender_id());
  metrics.Add("gridline_peer_notifications_received_total", {{"outcome", news ? "new" : "known"}});
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

struct GrpcPeerTransport::Call {
  grpc::ClientContext context;
  ::gridline::internal::v1::EventsCommittedRequest request;
  ::gridline::internal::v1::EventsCommittedResponse response;
};

GrpcPeerTransport::GrpcPeerTransport(const std::vector<std::string>& peers, std::string secret,
                                     std::string sender_id, int deadline_ms)
    : secret_(std::move(secret)), sender_id_(std::move(sender_id)), deadline_ms_(deadline_ms) {
  for (const auto& peer : peers) {
    grpc::ChannelArguments args;
    // A restarted peer is found again within a second, not after gRPC's default backoff of up
    // to two minutes. (GRPC_ARG_MIN_RECONNECT_BACKOFF_MS is the connect timeout: left at 20 s;
    // a notification meanwhile fails at its own deadline.)
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    stubs_.push_back(::gridline::internal::v1::PeerService::NewStub(
        grpc::CreateCustomChannel(peer, grpc::InsecureChannelCredentials(), args)));
  }
}

GrpcPeerTransport::~GrpcPeerTransport() {
  // The notifier waited for every call (Stop); nothing is left in flight.
}

void GrpcPeerTransport::Send(size_t peer, int64_t head, std::function<void(bool ok)> done) {
  auto* call = new Call;
  call->context.AddMetadata(kPeerSecretMetadata, secret_);
  call->context.set_deadline(std::chrono::system_clock::now() +
                             std::chrono::milliseconds(deadline_ms_));
  call->request.set_head_seq(head);
  call->request.set_sender_id(sender_id_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    in_flight_.push_back(call);
  }
  stubs_[peer]->async()->EventsCommitted(
      &call->context, &call->request, &call->response,
      [this, call, done = std::move(done)](grpc::Status status) {
        {
          std::lock_guard<std::mutex> lock(mu_);
          in_flight_.erase(std::find(in_flight_.begin(), in_flight_.end(), call));
        }
        delete call;
        done(status.ok());
      });
}

void GrpcPeerTransport::CancelAll() {
  std::lock_guard<std::mutex> lock(mu_);
  for (Call* call : in_flight_) call->context.TryCancel();
}

}  // namespace gridline::api
