// One server stream of WatchEvents, as a connection opens it. Stable.
//
// Applications normally use `Watch` (watch.h), which reconnects, resumes and drops duplicates on
// top of this. A mock connection returns its own EventStream to feed a test scripted events.
#ifndef GRIDLINE_CLIENT_EVENT_STREAM_H_
#define GRIDLINE_CLIENT_EVENT_STREAM_H_

#include <optional>

#include "gridline/client/status.h"
#include "gridline/v1/common.pb.h"

namespace gridline::client {

class EventStream {
 public:
  virtual ~EventStream() = default;
  // Blocks for the next message; nullopt when the stream has ended (then call Finish).
  virtual std::optional<v1::WatchEvent> Read() = 0;
  // The status the stream ended with. Call once, after Read returned nullopt.
  virtual Status Finish() = 0;
  // Ends the stream from any thread; a blocked Read returns nullopt soon after.
  virtual void Cancel() = 0;
};

}  // namespace gridline::client

#endif  // GRIDLINE_CLIENT_EVENT_STREAM_H_
