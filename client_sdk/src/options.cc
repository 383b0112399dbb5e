#include "gridline/client/options.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "gridline/client/retry_policy.h"

namespace gridline::client {

bool IsRetryable(const Status& status, Idempotency idempotency) {
  switch (status.code()) {
    case StatusCode::kUnavailable:
      return true;
    case StatusCode::kDeadlineExceeded:
      return idempotency == Idempotency::kIdempotent;
    case StatusCode::kResourceExhausted:
      // With retry info the server refused the call before doing any of it (a rate limit, a
      // lockout, a full queue): safe to repeat once the delay has passed. Without, the request
      // itself is too big (a photo over the limit): repeating cannot help.
      return GetErrorDetails(status).retry_delay.count() > 0;
    default:
      return false;
  }
}

ExponentialBackoffPolicy::ExponentialBackoffPolicy(std::chrono::milliseconds initial_delay,
                                                   std::chrono::milliseconds maximum_delay,
                                                   double scaling)
    : initial_(std::max(initial_delay, std::chrono::milliseconds(1))),
      maximum_(std::max(maximum_delay, initial_)),
      scaling_(std::max(scaling, 1.0)),
      current_(static_cast<double>(initial_.count())),
      random_(std::random_device{}()) {}

std::chrono::milliseconds ExponentialBackoffPolicy::OnCompletion() {
  double upper = std::min(current_, static_cast<double>(maximum_.count()));
  current_ = std::min(current_ * scaling_, static_cast<double>(maximum_.count()));
  std::uniform_real_distribution<double> jitter(0.0, upper);
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(jitter(random_))));
}

Options DefaultOptions(Options options) {
  using std::chrono::milliseconds;
  if (!options.has<TimeoutOption>()) options.set<TimeoutOption>(milliseconds(30000));
  if (!options.has<TransferTimeoutOption>()) {
    options.set<TransferTimeoutOption>(milliseconds(300000));
  }
  if (!options.has<RetryPolicyOption>() || !options.get<RetryPolicyOption>()) {
    options.set<RetryPolicyOption>(std::make_shared<LimitedTimeRetryPolicy>(milliseconds(60000)));
  }
  if (!options.has<BackoffPolicyOption>() || !options.get<BackoffPolicyOption>()) {
    options.set<BackoffPolicyOption>(
        std::make_shared<ExponentialBackoffPolicy>(milliseconds(200), milliseconds(10000), 2.0));
  }
  if (!options.has<WatchIdleTimeoutOption>()) {
    options.set<WatchIdleTimeoutOption>(milliseconds(60000));
  }
  return options;
}

}  // namespace gridline::client
