// Publishing after commit: the services tell the live streams, right after a transaction that
// appended events has committed, so that watchers see them at once. (The event hub also polls the
// log, and hears from the other replicas when they commit: that is how their events arrive.)
#ifndef GRIDLINE_SERVER_SERVICE_PUBLISHER_H_
#define GRIDLINE_SERVER_SERVICE_PUBLISHER_H_

#include <cstdint>

namespace gridline::service {

class EventPublisher {
 public:
  virtual ~EventPublisher() = default;
  // Events up to `head_seq` (the newest the transaction wrote) were committed; cheap and
  // non-blocking.
  virtual void EventsCommitted(int64_t head_seq) = 0;
};

}  // namespace gridline::service

#endif  // GRIDLINE_SERVER_SERVICE_PUBLISHER_H_
