#include "server/util/clock.h"

#include <chrono>

namespace gridline::util {

int64_t SystemClock::NowMicros() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
             .count() +
         offset_micros_;
}

const Clock& WallClock() {
  static const SystemClock* clock = new SystemClock();
  return *clock;
}

}  // namespace gridline::util
