// Who may see which case and which stream shows which event: one rule everywhere.
#ifndef GRIDLINE_SERVER_DOMAIN_VISIBILITY_H_
#define GRIDLINE_SERVER_DOMAIN_VISIBILITY_H_

#include <string>
#include <vector>

#include "server/domain/types.h"

namespace gridline::domain {

// May `user` read this case (GetCase, lists, streams)? One rule everywhere. A PUBLIC_APP sees the
// PUBLIC cases of its subtree (the Case overload; the others, which know no source, say no).
bool CanSee(const User& user, const std::string& reporter_user_id, const std::string& grid_path,
            const std::string& lead_department_code,
            const std::vector<std::string>& assisting_department_codes);
bool CanSee(const User& user, const Case& c);
bool CanSee(const User& user, const CaseEvent& e);

// The interest keys of an event, for routing it to the streams it may concern: "g:<code>" for
// each grid on its path, "u:<reporter>", and "d:<department>" for its lead, previous lead and
// assisting departments. Each stream registers keys that cover what it may show.
std::vector<std::string> EventInterestKeys(const CaseEvent& e);

// What the acceptance center's stream (DispatchService.WatchQueue) sends a dispatcher: events
// that put a case in or take it out of the queue, or concern an extension, for cases in
// `grid_code`'s subtree (the dispatcher's own grid, or one inside it), and the supervision
// events. A supervisor watching it gets the supervision events and the deadline warnings.
bool QueueStreamShows(const User& dispatcher, const std::string& grid_code, const CaseEvent& e);
// What a department's stream (DepartmentService.WatchAssignments) sends its staff: every event of
// the cases it leads (with `include_assisting`, also assists), and the event by which a case it
// led was returned or re-routed away (so that its console drops it).
bool AssignmentStreamShows(const User& staff, bool include_assisting, const CaseEvent& e);

}  // namespace gridline::domain

#endif  // GRIDLINE_SERVER_DOMAIN_VISIBILITY_H_
