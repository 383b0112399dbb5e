#include "server/api/forwarded.h"

namespace gridline::api {
namespace {

// What gRPC's in-process transport gives as the peer of its calls (a network transport always
// gives "ipv4:", "ipv6:" or "unix:" addresses).
constexpr char kInProcessPeer[] = "inproc";

std::string Metadata(const grpc::ServerContextBase* context, const char* key) {
  const auto& md = context->client_metadata();
  auto it = md.find(key);
  return it == md.end() ? "" : std::string(it->second.data(), it->second.size());
}

}  // namespace

bool InProcess(const grpc::ServerContextBase* context) { return context->peer() == kInProcessPeer; }

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
