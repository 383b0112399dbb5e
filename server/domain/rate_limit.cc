#include "server/domain/rate_limit.h"

#include <algorithm>
#include <cmath>

namespace gridline::domain {
namespace {

constexpr double kMicrosPerSecond = 1e6;

void Refill(const BucketRule& rule, Micros now, Bucket* b) {
  if (!b->started) {
    b->started = true;
    b->level = rule.burst;
  } else if (now > b->updated) {
    b->level =
        std::min(rule.burst, b->level + (now - b->updated) / kMicrosPerSecond * rule.per_second);
  }
  b->updated = std::max(b->updated, now);
}

Micros TimeToReach(const BucketRule& rule, double level, double target) {
  if (level >= target) return 0;
  return std::max<Micros>(
      1, static_cast<Micros>(std::ceil((target - level) / rule.per_second * kMicrosPerSecond)));
}

}  // namespace

Micros TakeFromBucket(const BucketRule& rule, double cost, Micros now, Bucket* bucket) {
  Refill(rule, now, bucket);
  const double need = std::min(cost, rule.burst);
  if (bucket->level >= need) {
    bucket->level -= cost;  // a cost above the burst leaves the bucket in debt
    return 0;
  }
  return TimeToReach(rule, bucket->level, need);
}

Micros ChargeBucket(const BucketRule& rule, double cost, Micros now, Bucket* bucket) {
  Refill(rule, now, bucket);
  bucket->level -= cost;
  return TimeToReach(rule, bucket->level, 0);
}

Micros LockedFor(const LockoutState& state, Micros now) {
  return state.locked_until > now ? state.locked_until - now : 0;
}

Micros RecordAuthFailure(const LockoutRule& rule, Micros now, LockoutState* s) {
  if (s->failures > 0 && now - s->last_failure > rule.window) {
    // A quiet window: the peer starts afresh, its lockout history forgotten.
    *s = LockoutState{};
  }
  if (s->failures == 0 || now - s->first_failure > rule.window) {
    s->failures = 0;
    s->first_failure = now;
  }
  ++s->failures;
  s->last_failure = now;
  // The first lockout comes after `failures_before_lockout` failures; after that, until a quiet
  // window, every failure starts the next lockout, twice as long as the one before.
  if (s->lockouts == 0 && s->failures < rule.failures_before_lockout) return 0;
  Micros length = rule.first_lockout;
  for (int i = 0; i < s->lockouts && length < rule.max_lockout; ++i) length *= 2;
  length = std::min(length, rule.max_lockout);
  ++s->lockouts;
  s->locked_until = now + length;
  return length;
}

}  // namespace gridline::domain
