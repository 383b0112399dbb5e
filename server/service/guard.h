// The front gate of every call: the lockout of peers that fail to authenticate, the bearer
// token and its device-certificate binding, and the rate limits per token, per role and per peer
// address (ServerConfig.rate_limits). Every front door (gRPC handlers today) admits a call here
// before any work, and reports denied calls here, so that failed authentications and permission
// denials are counted, logged and audited in one place, each at a bounded rate.
//
// The counts live in this process's memory: behind a balancer with N replicas a client can reach
// up to N times the limits. That is stated in the config's documentation and in SECURITY.md.
#ifndef GRIDLINE_SERVER_SERVICE_GUARD_H_
#define GRIDLINE_SERVER_SERVICE_GUARD_H_

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "server/domain/rate_limit.h"
#include "server/domain/types.h"
#include "server/store/store.h"

namespace gridline::service {

// What a call is, for the limits: reads are free of write limits; a stream open (a watch, an
// import) counts against stream_opens (and a watch against its user's open streams); a photo
// transfer is limited by its bytes (ChargeUpload), not by its count, since a handset flushing its
// outbox uploads a photo or more per report.
enum class CallKind { kRead, kWrite, kStream, kTransfer };

// The kind of a unary method by its name ("ListCases" or "/gridline.v1.DispatchService/ListCases"):
// Get*, List*, Resolve* and Suggest* read; the rest write.
CallKind UnaryKind(const std::string& method);

// What the transport knows of a call before it is authenticated.
struct CallCredentials {
  std::string token;
  // As the transport gives it: "ipv4:10.0.0.7:51234", "ipv6:[::1]:51234".
  std::string peer;
  // The certificate the client presented on the connection (lowercase hex SHA-256 of its DER
  // form); empty: none.
  std::string client_cert_sha256;
};

// The address part of a transport peer: "ipv4:10.0.0.7:51234" -> "10.0.0.7".
std::string PeerAddress(const std::string& peer);

struct CallLimitRules {
  domain::BucketRule writes{10, 300};
  domain::BucketRule upload_bytes{2.0 * 1024 * 1024 * 1024 / 3600, 2.0 * 1024 * 1024 * 1024};
  domain::BucketRule stream_opens{1, 60};
};

struct GuardConfig {
  bool enabled = true;
  CallLimitRules per_token;
  std::map<domain::Role, CallLimitRules> per_role;  // replaces per_token for that role
  CallLimitRules per_peer{
      {200, 3000}, {20.0 * 1024 * 1024 * 1024 / 3600, 20.0 * 1024 * 1024 * 1024}, {20, 1200}};
  int max_streams_per_user = 32;
  domain::LockoutRule lockout;
  // Demo tokens authenticate only in demo mode.
  bool demo = false;
};

class Guard;

// A watch stream's place in its user's count of open streams; released when destroyed.
class StreamSlot {
 public:
  StreamSlot() = default;
  StreamSlot(StreamSlot&& other) noexcept;
  StreamSlot& operator=(StreamSlot&& other) noexcept;
  StreamSlot(const StreamSlot&) = delete;
  StreamSlot& operator=(const StreamSlot&) = delete;
  ~StreamSlot();

 private:
  friend class Guard;
  Guard* guard_ = nullptr;
  std::string user_id_;
};

class Guard {
 public:
  // `audit` may be null (then denials are logged and counted, not audited).
  Guard(store::TokenStore* tokens, store::AuditStore* audit, GuardConfig config);

  // A peer in lockout: RESOURCE_EXHAUSTED with the time left. Then the token: UNAUTHENTICATED
  // for a missing, unknown, revoked, expired or (outside demo mode) demo token, or a token bound
  // to a certificate the connection did not present (each counts towards the lockout). Then
  // the limits of `kind`: RESOURCE_EXHAUSTED with the time until the call would pass.
  absl::StatusOr<domain::Caller> Admit(const CallCredentials& call, CallKind kind,
                                       domain::Micros now);
  // The token and its binding only, for many calls at once (open streams checking that their
  // tokens still work, a heartbeat slot's at a time): one store read per 64 tokens, one result
  // per call, in order.
  std::vector<absl::StatusOr<domain::Caller>> RecheckAll(
      const std::vector<const CallCredentials*>& calls, domain::Micros now);
  // Photo bytes as they arrive: RESOURCE_EXHAUSTED once the caller's or the peer's hourly
  // allowance is spent (the bytes are counted either way).
  absl::Status ChargeUpload(const domain::Caller& caller, const std::string& peer, int64_t bytes,
                            domain::Micros now);
  // A place among the user's open watch streams; RESOURCE_EXHAUSTED when they hold
  // max_streams_per_user.
  absl::StatusOr<StreamSlot> OpenStream(const domain::Caller& caller);

  // A call that ended UNAUTHENTICATED or PERMISSION_DENIED (whoever refused it): counted in
  // gridline_denied_calls_total, logged ("denied", at WARNING) and audited, each at most once a
  // minute per peer and code (with the number of similar ones left out) and 60 times a minute
  // in all. Never blocks: the audit entries are written by the next Admit.
  void NoteDenied(const std::string& method, const std::string& user_id, const std::string& peer,
                  int code, const std::string& message, domain::Micros now);

  const GuardConfig& config() const { return config_; }

 private:
  friend class StreamSlot;
  struct Buckets {
    domain::Bucket writes, upload_bytes, stream_opens;
    domain::Micros last_use = 0;
  };
  struct Quiet {  // the rate limit of the denial log
    domain::Micros last = 0;
    int64_t left_out = 0;
  };

  absl::StatusOr<domain::Caller> Authenticate(const CallCredentials& call, domain::Micros now);
  // The token's device-certificate binding against the connection's.
  static absl::StatusOr<domain::Caller> CheckBinding(absl::StatusOr<domain::Caller> caller,
                                                     const CallCredentials& call);
  absl::Status Limit(const domain::Caller& caller, const std::string& address, CallKind kind,
                     domain::Micros now);
  const CallLimitRules& RulesFor(domain::Role role) const;
  Buckets& BucketsOf(std::unordered_map<std::string, Buckets>& map, const std::string& key,
                     domain::Micros now);
  void ReleaseStream(const std::string& user_id);
  void WriteAudit();

  store::TokenStore* const tokens_;
  store::AuditStore* const audit_;
  const GuardConfig config_;

  std::mutex mu_;
  std::unordered_map<std::string, Buckets> by_token_;
  std::unordered_map<std::string, Buckets> by_peer_;
  std::unordered_map<std::string, domain::LockoutState> lockouts_;
  std::unordered_map<std::string, int> open_streams_;
  std::map<std::string, Quiet> quiet_;
  domain::Micros minute_start_ = 0;
  int lines_this_minute_ = 0;
  std::deque<domain::AuditEntry> pending_audit_;
  int64_t inserts_since_sweep_ = 0;
};

}  // namespace gridline::service

#endif  // GRIDLINE_SERVER_SERVICE_GUARD_H_
