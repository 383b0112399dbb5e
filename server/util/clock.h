// The time, injected: services, the event hub and the handlers take a Clock, so that tests can
// move time instead of sleeping or rewriting rows. The domain core takes no clock at all: its
// functions are given `now`.
#ifndef GRIDLINE_SERVER_UTIL_CLOCK_H_
#define GRIDLINE_SERVER_UTIL_CLOCK_H_

#include <atomic>
#include <cstdint>

namespace gridline::util {

class Clock {
 public:
  virtual ~Clock() = default;
  // Microseconds since the Unix epoch, UTC.
  virtual int64_t NowMicros() const = 0;
};

// The machine's clock, shifted by a fixed offset (ServerConfig.test_clock_offset_seconds, which
// black-box tests use to run a server in the future; 0 in production).
class SystemClock final : public Clock {
 public:
  explicit SystemClock(int64_t offset_micros = 0) : offset_micros_(offset_micros) {}
  int64_t NowMicros() const override;

 private:
  int64_t offset_micros_;
};

// A clock that stands still until it is set or advanced: for tests in one process.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t now_micros) : now_(now_micros) {}
  int64_t NowMicros() const override { return now_.load(std::memory_order_relaxed); }
  void Set(int64_t now_micros) { now_.store(now_micros, std::memory_order_relaxed); }
  void Advance(int64_t micros) { now_.fetch_add(micros, std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> now_;
};

// A process-wide unshifted SystemClock: the default of constructors that take a clock, and the
// time of the store's own bookkeeping (migration and token stamps).
const Clock& WallClock();

}  // namespace gridline::util

#endif  // GRIDLINE_SERVER_UTIL_CLOCK_H_
