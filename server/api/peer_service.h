// The replicas' side door (gridline.internal.v1.PeerService, ServerConfig.cluster): a peer says
// it has committed events, and this replica's hub reads the event log at once. Served on a port
// of its own (cluster.listen_address), apart from the API: no tokens, no call guard, no call log.
// What protects it is the cluster's shared secret, checked first, and the hub itself: a hint
// carries no data, and however many arrive, they cost at most one read of the log per
// cluster.min_notified_poll_interval_ms (SECURITY.md).
#ifndef GRIDLINE_SERVER_API_PEER_SERVICE_H_
#define GRIDLINE_SERVER_API_PEER_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "gridline/internal/v1/peer_service.grpc.pb.h"
#include "server/runtime/event_hub.h"
#include "server/runtime/peer_notifier.h"

namespace gridline::api {

// The metadata key that carries the cluster's secret.
inline constexpr char kPeerSecretMetadata[] = "x-gridline-peer-secret";

class PeerServiceImpl final : public ::gridline::internal::v1::PeerService::CallbackService {
 public:
  PeerServiceImpl(runtime::EventHub* hub, const std::string& secret);

  // Answers at once on gRPC's thread: the hub only notes the hint (PeerCommitted).
  grpc::ServerUnaryReactor* EventsCommitted(
      grpc::CallbackServerContext* context,
      const ::gridline::internal::v1::EventsCommittedRequest* request,
      ::gridline::internal::v1::EventsCommittedResponse* response) override;

 private:
  runtime::EventHub* const hub_;
  const std::string secret_sha256_;
  // When a refusal was last logged (steady clock, ms): at most one line a minute.
  std::atomic<int64_t> last_refusal_log_ms_{-60000};
  std::atomic<int64_t> refusals_since_log_{0};
};

// Notifications over gRPC's async stubs: one channel per peer (plain text, to its
// cluster.listen_address), the secret in the metadata, a short deadline.
class GrpcPeerTransport final : public runtime::PeerTransport {
 public:
  GrpcPeerTransport(const std::vector<std::string>& peers, std::string secret,
                    std::string sender_id, int deadline_ms);
  ~GrpcPeerTransport() override;

  void Send(size_t peer, int64_t head, std::function<void(bool ok)> done) override;
  void CancelAll() override;

 private:
  struct Call;
  std::vector<std::unique_ptr<::gridline::internal::v1::PeerService::Stub>> stubs_;
  const std::string secret_;
  const std::string sender_id_;
  const int deadline_ms_;
  std::mutex mu_;
  std::vector<Call*> in_flight_;
};

}  // namespace gridline::api

#endif  // GRIDLINE_SERVER_API_PEER_SERVICE_H_
