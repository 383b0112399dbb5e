// Publishing after commit: the services tell the live streams, right after a transaction that
// appended events has committed, so that watchers see them at once. (The event hub also polls the
// log, which is how events committed by other replicas arrive.)
#ifndef GRIDLINE_SERVER_SERVICE_PUBLISHER_H_
#define GRIDLINE_SERVER_SERVICE_PUBLISHER_H_

namespace gridline::service {

class EventPublisher {
 public:
  virtual ~EventPublisher() = default;
  // Events were committed; cheap and non-blocking.
  virtual void EventsCommitted() = 0;
};

}  // namespace gridline::service

#endif  // GRIDLINE_SERVER_SERVICE_PUBLISHER_H_
