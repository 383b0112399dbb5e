#include "server/api/forwarded.h"

namespace gridline::api {
namespace {

// The in-process transport has no address: gRPC 1.51 gives its calls the peer "unknown" (the
// test of issue 18 checks it), other versions "inproc". A call over the network always has an
// "ipv4:", "ipv6:" or "unix:" address.
bool InProcessPeer(const std::string& peer) { return peer == "unknown" || peer == "inproc"; }

std::string Metadata(const grpc::ServerContextBase* context, const char* key) {
  const auto& md = context->client_metadata();
  auto it = md.find(key);
  return it == md.end() ? "" : std::string(it->second.data(), it->second.size());
}

}  // namespace

bool InProcess(const grpc::ServerContextBase* context) { return InProcessPeer(context->peer()); }

std::string PeerOf(const grpc::ServerContextBase* context) {
  if (InProcess(context)) {
    std::string forwarded = Metadata(context, kForwardedPeerMetadata);
    if (!forwarded.empty()) return forwarded;
  }
  return context->peer();
}

std::string ForwardedCertificateSha256(const grpc::ServerContextBase* context) {
  return InProcess(context) ? Metadata(context, kForwardedCertificateMetadata) : "";
}

}  // namespace gridline::api
