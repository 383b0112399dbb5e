// How a case change begins: the event it appends and the version-checked write it goes in.
// Shared by the case lifecycle and supervision.
#ifndef GRIDLINE_SERVER_SERVICE_CASE_EVENTS_H_
#define GRIDLINE_SERVER_SERVICE_CASE_EVENTS_H_

#include <string>
#include <vector>

#include "server/service/domain_names.h"
#include "server/store/store.h"

namespace gridline::service {

// The actor of events no user caused (deadline warnings, escalations, filing by rule).
inline constexpr char kSystemActorId[] = "gridline";

// An event of `type` on `before` by `caller` (null: the system) at `now`. Its "case after"
// fields are filled when the write commits (CaseService::Write).
inline CaseEvent MakeEvent(const Caller* caller, const Case& before, EventType type, Micros now,
                           const std::string& note,
                           const std::vector<std::string>& attachments = {}) {
  CaseEvent e;
  e.case_id = before.case_id;
  e.type = type;
  e.from_state = before.state;
  e.to_state = before.state;  // set by Finish
  e.actor_user_id = caller ? caller->user.user_id : kSystemActorId;
  e.actor_role = caller ? caller->user.role : Role::kUnspecified;
  e.event_time = now;
  e.note = note;
  e.attachment_ids = attachments;
  e.previous_lead_department_code = before.lead_department_code;
  return e;
}

// A write of `c` checked against the version it was read at.
inline store::CaseWrite StartWrite(const Case& c) {
  store::CaseWrite w;
  w.expected_version = c.version;
  return w;
}

}  // namespace gridline::service

#endif  // GRIDLINE_SERVER_SERVICE_CASE_EVENTS_H_
