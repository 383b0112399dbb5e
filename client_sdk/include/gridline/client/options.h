// Options: how a connection reaches the server and behaves. Stable.
//
// A type-safe bag of values keyed by option types, after google-cloud-cpp:
//
//   auto options = gridline::client::Options{}
//                      .set<gridline::client::EndpointOption>("grid.example.cn:443")
//                      .set<gridline::client::AuthTokenOption>(token)
//                      .set<gridline::client::TimeoutOption>(std::chrono::seconds(10));
//
// Options not set take the defaults documented on each option.
#ifndef GRIDLINE_CLIENT_OPTIONS_H_
#define GRIDLINE_CLIENT_OPTIONS_H_

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <typeindex>
#include <utility>

#include "gridline/client/retry_policy.h"

namespace gridline::client {

class Options {
 public:
  Options() = default;

  template <typename T>
  Options& set(typename T::Type value) & {
    values_[typeid(T)] = std::make_shared<Holder<typename T::Type>>(std::move(value));
    return *this;
  }
  template <typename T>
  Options&& set(typename T::Type value) && {
    return std::move(set<T>(std::move(value)));
  }
  template <typename T>
  bool has() const {
    return values_.count(typeid(T)) != 0;
  }
  // The value set, or the type's default value when unset.
  template <typename T>
  const typename T::Type& get() const {
    static const typename T::Type kEmpty{};
    auto it = values_.find(typeid(T));
    if (it == values_.end()) return kEmpty;
    return static_cast<const Holder<typename T::Type>*>(it->second.get())->value;
  }
  template <typename T>
  void unset() {
    values_.erase(typeid(T));
  }

 private:
  struct HolderBase {
    virtual ~HolderBase() = default;
  };
  template <typename V>
  struct Holder final : HolderBase {
    explicit Holder(V v) : value(std::move(v)) {}
    V value;
  };
  std::map<std::type_index, std::shared_ptr<const HolderBase>> values_;
};

// "host:port" of a gridline server. Required.
struct EndpointOption {
  using Type = std::string;
};
// The caller's bearer token, sent as "authorization: Bearer <token>" on every call. Required for
// every RPC of the gridline API.
struct AuthTokenOption {
  using Type = std::string;
};
// Plain-text connection, for local development and tests only. Default: TLS.
struct InsecureChannelOption {
  using Type = bool;
};
// PEM root certificates that sign the server's certificate. Default: the system's roots.
struct TlsRootCertificatesOption {
  using Type = std::string;
};
// A device certificate (mutual TLS): the PEM certificate chain the client presents, its own
// certificate first, issued by the CA the server trusts (ServerConfig.tls.client_ca_file). Tokens
// bound to this certificate work only with it. Needs TlsClientKeyOption. Default: none.
struct TlsClientCertificateOption {
  using Type = std::string;
};
// The unencrypted PEM private key of TlsClientCertificateOption's certificate.
struct TlsClientKeyOption {
  using Type = std::string;
};
// The deadline of each attempt of a unary call. Default: 30 s.
struct TimeoutOption {
  using Type = std::chrono::milliseconds;
};
// The deadline of each attempt of a photo upload or download or an organisation import.
// Default: 5 min.
struct TransferTimeoutOption {
  using Type = std::chrono::milliseconds;
};
// How often a failed call is retried (only retryable failures, see retry_policy.h).
// Default: LimitedTimeRetryPolicy(60 s).
struct RetryPolicyOption {
  using Type = std::shared_ptr<const RetryPolicy>;
};
// How long to wait between attempts. Default: ExponentialBackoffPolicy(200 ms, 10 s, 2.0).
struct BackoffPolicyOption {
  using Type = std::shared_ptr<const BackoffPolicy>;
};
// A watch that has received nothing (not even a heartbeat) for this long is treated as broken and
// reconnected. Default: 60 s. The server sends a heartbeat on an idle stream every
// ServerConfig.watch.heartbeat_interval_ms (15 s by default): keep this well above it.
struct WatchIdleTimeoutOption {
  using Type = std::chrono::milliseconds;
};
// Prefix of the user-agent the SDK sends, e.g. "acme-handset/2.3".
struct UserAgentPrefixOption {
  using Type = std::string;
};

// `options` with every unset option given its default.
Options DefaultOptions(Options options);

}  // namespace gridline::client

#endif  // GRIDLINE_CLIENT_OPTIONS_H_
