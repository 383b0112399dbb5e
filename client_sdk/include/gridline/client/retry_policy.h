// Retry and backoff policies, passed in Options. Stable.
//
// The SDK retries a failed call only when that is safe:
// - UNAVAILABLE (the server was not reached, is restarting, or its store is briefly down), for
//   every call;
// - DEADLINE_EXCEEDED, only for idempotent calls: reads, SubmitReport (its request id makes a
//   repeat return the first result), photo uploads (content-addressed) and writes that carry an
//   `expected_version`;
// - RESOURCE_EXHAUSTED with a google.rpc.RetryInfo (a rate limit, a lockout, a full queue: the
//   server did none of the call), for every call, waiting at least the delay the server asked
//   for (ErrorDetails.retry_delay).
// Everything else is returned to the application at once. The retry policy decides how often,
// the backoff policy how long to wait in between.
#ifndef GRIDLINE_CLIENT_RETRY_POLICY_H_
#define GRIDLINE_CLIENT_RETRY_POLICY_H_

#include <chrono>
#include <memory>
#include <random>

#include "gridline/client/status.h"

namespace gridline::client {

enum class Idempotency { kIdempotent, kNonIdempotent };

// Whether `status` may be retried for a call of `idempotency` (the rule above).
bool IsRetryable(const Status& status, Idempotency idempotency);

class RetryPolicy {
 public:
  virtual ~RetryPolicy() = default;
  // A fresh policy with the same limits, for one call.
  virtual std::unique_ptr<RetryPolicy> clone() const = 0;
  // Records a retryable failure; false when no retry is left.
  virtual bool OnFailure(const Status& status) = 0;
  virtual bool IsExhausted() const = 0;
};

// Retries until `maximum_failures` retryable failures have been seen (0: never retry).
class LimitedErrorCountRetryPolicy final : public RetryPolicy {
 public:
  explicit LimitedErrorCountRetryPolicy(int maximum_failures) : maximum_(maximum_failures) {}
  std::unique_ptr<RetryPolicy> clone() const override {
    return std::make_unique<LimitedErrorCountRetryPolicy>(maximum_);
  }
  bool OnFailure(const Status&) override { return ++failures_ <= maximum_; }
  bool IsExhausted() const override { return failures_ > maximum_; }
  int maximum_failures() const { return maximum_; }

 private:
  int maximum_;
  int failures_ = 0;
};

// Retries until `maximum_duration` has passed since the call began.
class LimitedTimeRetryPolicy final : public RetryPolicy {
 public:
  explicit LimitedTimeRetryPolicy(std::chrono::milliseconds maximum_duration)
      : maximum_(maximum_duration), deadline_(std::chrono::steady_clock::now() + maximum_) {}
  std::unique_ptr<RetryPolicy> clone() const override {
    return std::make_unique<LimitedTimeRetryPolicy>(maximum_);
  }
  bool OnFailure(const Status&) override { return !IsExhausted(); }
  bool IsExhausted() const override { return std::chrono::steady_clock::now() >= deadline_; }

 private:
  std::chrono::milliseconds maximum_;
  std::chrono::steady_clock::time_point deadline_;
};

class BackoffPolicy {
 public:
  virtual ~BackoffPolicy() = default;
  virtual std::unique_ptr<BackoffPolicy> clone() const = 0;
  // How long to wait before the next attempt.
  virtual std::chrono::milliseconds OnCompletion() = 0;
};

// Exponential backoff with full jitter: the n-th wait is uniform in [0, min(maximum, initial *
// scaling^n)], so that a street's worth of handsets coming back online do not retry in lockstep.
class ExponentialBackoffPolicy final : public BackoffPolicy {
 public:
  ExponentialBackoffPolicy(std::chrono::milliseconds initial_delay,
                           std::chrono::milliseconds maximum_delay, double scaling = 2.0);
  std::unique_ptr<BackoffPolicy> clone() const override {
    return std::make_unique<ExponentialBackoffPolicy>(initial_, maximum_, scaling_);
  }
  std::chrono::milliseconds OnCompletion() override;

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds maximum_;
  double scaling_;
  double current_;
  std::mt19937_64 random_;
};

}  // namespace gridline::client

#endif  // GRIDLINE_CLIENT_RETRY_POLICY_H_
