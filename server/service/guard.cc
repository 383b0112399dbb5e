#include "server/service/guard.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/domain/errors.h"
#include "server/domain/organisation.h"
#include "server/service/org_import.h"
#include "server/util/log.h"
#include "server/util/metrics.h"
#include "server/util/sha256.h"
#include "server/util/text.h"

namespace gridline::service {
namespace {

using domain::Caller;
using domain::Micros;

constexpr Micros kSecond = 1000000;
constexpr Micros kMinute = 60 * kSecond;
// Buckets untouched this long are full again and can be forgotten.
constexpr Micros kForgetAfter = 3600 * kSecond;
constexpr int64_t kSweepEvery = 4096;
constexpr int kLinesPerMinute = 60;
constexpr size_t kMaxPendingAudit = 256;

// "in 1.5 s" / "in 3 min" for messages.
std::string In(Micros delay) {
  if (delay < 120 * kSecond) {
    return absl::StrCat("in ", std::ceil(delay / 1e5) / 10, " s");
  }
  return absl::StrCat("in ", (delay + kMinute - 1) / kMinute, " min");
}

absl::Status Exhausted(const std::string& what, Micros delay) {
  util::DefaultMetrics().Add("gridline_rate_limited_total", {{"limit", what}});
  return domain::WithRetryDelay(
      absl::ResourceExhaustedError(absl::StrCat("rate limit: ", what, "; retry ", In(delay))),
      delay);
}

}  // namespace

CallKind UnaryKind(const std::string& method) {
  absl::string_view name = method;
  if (size_t slash = name.rfind('/'); slash != absl::string_view::npos) {
    name.remove_prefix(slash + 1);
  }
  for (const char* read : {"Get", "List", "Resolve", "Suggest"}) {
    if (absl::StartsWith(name, read)) return CallKind::kRead;
  }
  return CallKind::kWrite;
}

std::string PeerAddress(const std::string& peer) {
  absl::string_view p = peer;
  for (const char* scheme : {"ipv4:", "ipv6:"}) {
    if (absl::StartsWith(p, scheme)) {
      p.remove_prefix(5);
      if (absl::StartsWith(p, "[")) {
        const size_t close = p.find(']');
        return std::string(close == absl::string_view::npos ? p.substr(1) : p.substr(1, close - 1));
      }
      const size_t colon = p.rfind(':');
      return std::string(colon == absl::string_view::npos ? p : p.substr(0, colon));
    }
  }
  return std::string(p);  // "unix:..." and the like: the whole of it
}

// ---- StreamSlot -------------------------------------------------------------------------------

StreamSlot::StreamSlot(StreamSlot&& other) noexcept
    : guard_(std::exchange(other.guard_, nullptr)), user_id_(std::move(other.user_id_)) {}

StreamSlot& StreamSlot::operator=(StreamSlot&& other) noexcept {
  if (this != &other) {
    if (guard_ != nullptr) guard_->ReleaseStream(user_id_);
    guard_ = std::exchange(other.guard_, nullptr);
    user_id_ = std::move(other.user_id_);
  }
  return *this;
}

StreamSlot::~StreamSlot() {
  if (guard_ != nullptr) guard_->ReleaseStream(user_id_);
}

// ---- Guard ------------------------------------------------------------------------------------

Guard::Guard(store::TokenStore* tokens, store::AuditStore* audit, GuardConfig config)
    : tokens_(tokens), audit_(audit), config_(std::move(config)) {}

absl::StatusOr<Caller> Guard::Authenticate(const CallCredentials& call, Micros now) {
  return CheckBinding(service::Authenticate(tokens_, call.token, config_.demo, now), call);
}

absl::StatusOr<Caller> Guard::CheckBinding(absl::StatusOr<Caller> caller,
                                           const CallCredentials& call) {
  if (caller.ok() && !caller->client_cert_sha256.empty() &&
      caller->client_cert_sha256 != call.client_cert_sha256) {
    return absl::UnauthenticatedError(
        call.client_cert_sha256.empty()
            ? "this token is bound to a device certificate and works only on a TLS connection "
              "that presents it"
            : "this token is bound to another device certificate than the one presented");
  }
  return caller;
}

absl::StatusOr<Caller> Guard::Admit(const CallCredentials& call, CallKind kind, Micros now) {
  WriteAudit();
  const std::string address = PeerAddress(call.peer);
  if (config_.enabled) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = lockouts_.find(address);
    if (it != lockouts_.end()) {
      if (Micros left = domain::LockedFor(it->second, now); left > 0) {
        return Exhausted("too many failed authentications from this address", left);
      }
    }
  }
  auto caller = Authenticate(call, now);
  if (!caller.ok()) {
    if (absl::IsUnauthenticated(caller.status())) {
      util::DefaultMetrics().Add("gridline_auth_failures_total", {});
      if (config_.enabled) {
        std::lock_guard<std::mutex> lock(mu_);
        Micros locked = domain::RecordAuthFailure(config_.lockout, now, &lockouts_[address]);
        if (locked > 0) {
          util::Log(util::LogLevel::kWarning, "lockout",
                    {{"peer", address}, {"seconds", static_cast<double>(locked) / kSecond}});
        }
      }
    }
    return caller.status();
  }
  if (absl::Status s = Limit(*caller, address, kind, now); !s.ok()) return s;
  return caller;
}

std::vector<absl::StatusOr<Caller>> Guard::RecheckAll(
    const std::vector<const CallCredentials*>& calls, Micros now) {
  std::vector<std::string> hashes;
  hashes.reserve(calls.size());
  for (const CallCredentials* call : calls) hashes.push_back(domain::HashToken(call->token));
  auto found = tokens_->FindCallersByTokenHashes(hashes, now);
  std::vector<absl::StatusOr<Caller>> out;
  out.reserve(calls.size());
  for (size_t i = 0; i < calls.size(); ++i) {
    if (!found.ok()) {
      out.push_back(found.status());
    } else if (calls[i]->token.empty()) {
      out.push_back(absl::UnauthenticatedError("missing bearer token in 'authorization' metadata"));
    } else {
      out.push_back(CheckBinding(AcceptFound(std::move((*found)[i]), config_.demo), *calls[i]));
    }
  }
  return out;
}

const CallLimitRules& Guard::RulesFor(domain::Role role) const {
  auto it = config_.per_role.find(role);
  return it == config_.per_role.end() ? config_.per_token : it->second;
}

Guard::Buckets& Guard::BucketsOf(std::unordered_map<std::string, Buckets>& map,
                                 const std::string& key, Micros now) {
  if (++inserts_since_sweep_ >= kSweepEvery) {
    // Bounded memory: forget callers and peers that have been quiet long enough to be full.
    inserts_since_sweep_ = 0;
    for (auto* m : {&by_token_, &by_peer_}) {
      for (auto it = m->begin(); it != m->end();) {
        it = now - it->second.last_use > kForgetAfter ? m->erase(it) : std::next(it);
      }
    }
    for (auto it = lockouts_.begin(); it != lockouts_.end();) {
      const bool quiet = now - it->second.last_failure > config_.lockout.window &&
                         domain::LockedFor(it->second, now) == 0;
      it = quiet ? lockouts_.erase(it) : std::next(it);
    }
  }
  Buckets& b = map[key];
  b.last_use = now;
  return b;
}

absl::Status Guard::Limit(const Caller& caller, const std::string& address, CallKind kind,
                          Micros now) {
  if (!config_.enabled || kind == CallKind::kRead || kind == CallKind::kTransfer) {
    return absl::OkStatus();
  }
  const CallLimitRules& mine = RulesFor(caller.user.role);
  std::lock_guard<std::mutex> lock(mu_);
  Buckets& token = BucketsOf(by_token_, caller.token_id, now);
  Buckets& peer = BucketsOf(by_peer_, address, now);
  const bool write = kind == CallKind::kWrite;
  const auto& token_rule = write ? mine.writes : mine.stream_opens;
  const auto& peer_rule = write ? config_.per_peer.writes : config_.per_peer.stream_opens;
  domain::Bucket& tb = write ? token.writes : token.stream_opens;
  domain::Bucket& pb = write ? peer.writes : peer.stream_opens;
  // Both or neither: a call refused by one limit must not use up the other.
  domain::Bucket tb_before = tb;
  if (Micros wait = domain::TakeFromBucket(token_rule, 1, now, &tb); wait > 0) {
    return Exhausted(write ? "writes per token" : "stream opens per token", wait);
  }
  if (Micros wait = domain::TakeFromBucket(peer_rule, 1, now, &pb); wait > 0) {
    tb = tb_before;
    return Exhausted(write ? "writes per address" : "stream opens per address", wait);
  }
  return absl::OkStatus();
}

absl::Status Guard::ChargeUpload(const Caller& caller, const std::string& peer, int64_t bytes,
                                 Micros now) {
  if (!config_.enabled) return absl::OkStatus();
  const CallLimitRules& mine = RulesFor(caller.user.role);
  std::lock_guard<std::mutex> lock(mu_);
  Buckets& token = BucketsOf(by_token_, caller.token_id, now);
  Buckets& by_peer = BucketsOf(by_peer_, PeerAddress(peer), now);
  const double cost = static_cast<double>(bytes);
  Micros wait_token = domain::ChargeBucket(mine.upload_bytes, cost, now, &token.upload_bytes);
  Micros wait_peer =
      domain::ChargeBucket(config_.per_peer.upload_bytes, cost, now, &by_peer.upload_bytes);
  if (wait_token > 0) return Exhausted("photo bytes per hour per token", wait_token);
  if (wait_peer > 0) return Exhausted("photo bytes per hour per address", wait_peer);
  return absl::OkStatus();
}

absl::StatusOr<StreamSlot> Guard::OpenStream(const Caller& caller) {
  StreamSlot slot;
  if (!config_.enabled) return slot;
  std::lock_guard<std::mutex> lock(mu_);
  int& open = open_streams_[caller.user.user_id];
  if (open >= config_.max_streams_per_user) {
    util::DefaultMetrics().Add("gridline_rate_limited_total", {{"limit", "streams per user"}});
    return domain::WithRetryDelay(
        absl::ResourceExhaustedError(
            absl::StrCat("you hold ", open, " open watch streams, the most one user may (",
                         "rate_limits.max_streams_per_user); close one first")),
        10 * kSecond);
  }
  ++open;
  slot.guard_ = this;
  slot.user_id_ = caller.user.user_id;
  return slot;
}

void Guard::ReleaseStream(const std::string& user_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = open_streams_.find(user_id);
  if (it != open_streams_.end() && --it->second <= 0) open_streams_.erase(it);
}

void Guard::NoteDenied(const std::string& method, const std::string& user_id,
                       const std::string& peer, int code, const std::string& message, Micros now) {
  const char* code_name = code == 16 ? "UNAUTHENTICATED" : "PERMISSION_DENIED";
  util::DefaultMetrics().Add("gridline_denied_calls_total", {{"code", code_name}});
  const std::string address = PeerAddress(peer);
  int64_t left_out = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (now - minute_start_ >= kMinute) {
      minute_start_ = now;
      lines_this_minute_ = 0;
    }
    Quiet& q = quiet_[absl::StrCat(address, "|", code)];
    if ((q.last != 0 && now - q.last < kMinute) || lines_this_minute_ >= kLinesPerMinute) {
      ++q.left_out;
      return;
    }
    if (quiet_.size() > 10000) quiet_.clear();  // bounded: forgetting only allows a line more
    left_out = std::exchange(q.left_out, 0);
    q.last = now;
    ++lines_this_minute_;
    if (audit_ != nullptr && pending_audit_.size() < kMaxPendingAudit) {
      domain::AuditEntry e;
      e.actor_user_id = user_id;
      e.method = method;
      e.resource_kind = "call";
      e.event_time = now;
      e.status_code = code;
      e.status_message = util::TruncateUtf8(message, 200);
      e.request_summary =
          left_out > 0 ? absl::StrCat(left_out, " similar denials from this address left out") : "";
      e.peer = peer;
      pending_audit_.push_back(std::move(e));
    }
  }
  util::Log(util::LogLevel::kWarning, "denied",
            {{"method", method},
             {"user_id", user_id},
             {"peer", peer},
             {"code", code},
             {"message", util::TruncateUtf8(message, 200)},
             {"left_out", static_cast<double>(left_out)}});
}

void Guard::WriteAudit() {
  std::deque<domain::AuditEntry> entries;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (pending_audit_.empty()) return;
    entries.swap(pending_audit_);
  }
  for (auto& e : entries) {
    e.audit_entry_id = absl::StrCat("a-", util::RandomHex(8));
    audit_->AppendAudit(e).IgnoreError();  // best effort: a store outage must not fail the call
  }
}

}  // namespace gridline::service
