// What every service call knows about the request it serves, whichever front door it came
// through (gRPC today; an HTTP gateway would build the same): who calls, when, from where, and
// whether anyone still waits for the answer.
#ifndef GRIDLINE_SERVER_SERVICE_REQUEST_CONTEXT_H_
#define GRIDLINE_SERVER_SERVICE_REQUEST_CONTEXT_H_

#include <functional>
#include <string>

#include "server/domain/types.h"

namespace gridline::service {

struct RequestContext {
  // The authenticated caller.
  domain::Caller caller;
  // The time of the request, from the server's clock: every time the call writes is this one.
  domain::Micros now = 0;
  // The client's address as the transport gives it ("ipv4:10.0.0.7:51234"), for the audit log.
  std::string peer;
  // True once nobody waits for the answer any more (the client cancelled, its deadline passed,
  // or the server is shutting down). Long reads check it between store calls. Empty: never.
  std::function<bool()> gone;

  bool Gone() const { return gone && gone(); }
};

}  // namespace gridline::service

#endif  // GRIDLINE_SERVER_SERVICE_REQUEST_CONTEXT_H_
