// Rate limits as token buckets, and the lockout after failed authentications: pure arithmetic
// over times the caller passes in (no clock, no locks). The service layer keeps the buckets
// (service/guard.h).
#ifndef GRIDLINE_SERVER_DOMAIN_RATE_LIMIT_H_
#define GRIDLINE_SERVER_DOMAIN_RATE_LIMIT_H_

#include <cstdint>

#include "server/domain/types.h"

namespace gridline::domain {

// `burst` units at once, refilled at `per_second`.
struct BucketRule {
  double per_second = 1;
  double burst = 1;
};

struct Bucket {
  bool started = false;  // false: never used, so full
  double level = 0;      // units available; negative: in debt
  Micros updated = 0;
};

// Takes `cost` units from `bucket` at `now` if it holds them, and returns 0; otherwise takes
// nothing and returns how long until it will hold them (at least 1 µs; a cost above the burst
// waits for a full bucket and then goes through, since it could never succeed otherwise).
Micros TakeFromBucket(const BucketRule& rule, double cost, Micros now, Bucket* bucket);

// Takes `cost` units even if that leaves the bucket in debt (bytes already received cannot be
// refused afterwards); returns how long until the bucket is out of debt (0 if it is not).
Micros ChargeBucket(const BucketRule& rule, double cost, Micros now, Bucket* bucket);

struct LockoutRule {
  int failures_before_lockout = 20;
  Micros window = 600LL * 1000000;  // failures older than this are forgotten
  Micros first_lockout = 2LL * 1000000;
  Micros max_lockout = 900LL * 1000000;
};

// Failed authentications from one peer.
struct LockoutState {
  int failures = 0;
  Micros first_failure = 0;
  Micros last_failure = 0;
  int lockouts = 0;  // lockouts in a row without a quiet window
  Micros locked_until = 0;
};

// How long the peer is still locked out at `now` (0: not locked).
Micros LockedFor(const LockoutState& state, Micros now);

// Records a failed authentication at `now`; returns the lockout it starts (0: none yet). The
// first lockout comes after `failures_before_lockout` failures within the window; until the
// peer has been quiet for a window, every further failure starts a lockout twice as long as the
// one before (up to `max_lockout`).
Micros RecordAuthFailure(const LockoutRule& rule, Micros now, LockoutState* state);

}  // namespace gridline::domain

#endif  // GRIDLINE_SERVER_DOMAIN_RATE_LIMIT_H_
