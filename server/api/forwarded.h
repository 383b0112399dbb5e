// Calls that another front door of this process forwards to the gRPC handlers (the Connect
// endpoint, server/http/, through grpc::Server::InProcessChannel) carry their HTTP client's
// address and certificate in metadata, so that rate limits, the lockout, certificate-bound tokens
// and the call log see the real client. The metadata is believed only on an in-process call: a
// client on the network that sends it is not in-process, and its metadata is ignored.
#ifndef GRIDLINE_SERVER_API_FORWARDED_H_
#define GRIDLINE_SERVER_API_FORWARDED_H_

#include <grpcpp/grpcpp.h>

#include <string>

namespace gridline::api {

// The HTTP client's address as gRPC spells peers ("ipv4:10.0.0.7:51234", "ipv6:[::1]:51234").
inline constexpr char kForwardedPeerMetadata[] = "x-gridline-forwarded-peer";
// The SHA-256 (hex) of the certificate the HTTP client presented over TLS, if any.
inline constexpr char kForwardedCertificateMetadata[] = "x-gridline-forwarded-cert-sha256";

// Whether the call came through grpc::Server::InProcessChannel, i.e. from this process (known by
// its peer, which has no network address).
bool InProcess(const grpc::ServerContextBase* context);

// The client's address: the forwarded one on an in-process call, the transport's otherwise.
std::string PeerOf(const grpc::ServerContextBase* context);

// The forwarded certificate digest of an in-process call; empty otherwise.
std::string ForwardedCertificateSha256(const grpc::ServerContextBase* context);

}  // namespace gridline::api

#endif  // GRIDLINE_SERVER_API_FORWARDED_H_
