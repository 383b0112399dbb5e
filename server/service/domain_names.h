// The domain's vocabulary, named in the services' namespace: the services speak in cases,
// events, grids and callers on every line, so they use these names unqualified. (Only the
// services' .cc files include this; headers write domain:: in full.)
#ifndef GRIDLINE_SERVER_SERVICE_DOMAIN_NAMES_H_
#define GRIDLINE_SERVER_SERVICE_DOMAIN_NAMES_H_

#include "server/domain/errors.h"
#include "server/domain/figures.h"
#include "server/domain/image_check.h"
#include "server/domain/organisation.h"
#include "server/domain/report_checks.h"
#include "server/domain/routing.h"
#include "server/domain/types.h"
#include "server/domain/visibility.h"
#include "server/domain/workflow.h"

namespace gridline::service {

using ::gridline::domain::ActionRecord;
using ::gridline::domain::ActionRule;
using ::gridline::domain::Attachment;
using ::gridline::domain::AuditEntry;
using ::gridline::domain::Caller;
using ::gridline::domain::CancelsExtension;
using ::gridline::domain::CanSee;
using ::gridline::domain::Case;
using ::gridline::domain::CaseAction;
using ::gridline::domain::CaseEvent;
using ::gridline::domain::CaseSource;
using ::gridline::domain::CaseState;
using ::gridline::domain::CaseStateName;
using ::gridline::domain::Category;
using ::gridline::domain::CategoryKind;
using ::gridline::domain::CheckAllowed;
using ::gridline::domain::CheckClientId;
using ::gridline::domain::CheckImage;
using ::gridline::domain::CheckOrganisation;
using ::gridline::domain::CheckText;
using ::gridline::domain::Department;
using ::gridline::domain::DistanceMetres;
using ::gridline::domain::EventType;
using ::gridline::domain::ExtensionRequest;
using ::gridline::domain::ExtensionState;
using ::gridline::domain::ExtensionStateName;
using ::gridline::domain::FieldViolations;
using ::gridline::domain::FigureDay;
using ::gridline::domain::FigureDayStart;
using ::gridline::domain::FigureFacts;
using ::gridline::domain::FigureNodes;
using ::gridline::domain::FigureSums;
using ::gridline::domain::FigureTerm;
using ::gridline::domain::FigureTerms;
using ::gridline::domain::GetFieldViolations;
using ::gridline::domain::Grid;
using ::gridline::domain::GridLevel;
using ::gridline::domain::HashToken;
using ::gridline::domain::InvalidField;
using ::gridline::domain::IsOpen;
using ::gridline::domain::IsValidUtf8;
using ::gridline::domain::kFigClosed;
using ::gridline::domain::kFigDue;
using ::gridline::domain::kFigFound;
using ::gridline::domain::kFigHandled;
using ::gridline::domain::kFigHandlingSum;
using ::gridline::domain::kFigLateClosed;
using ::gridline::domain::kFigOnTime;
using ::gridline::domain::kFigPostponed;
using ::gridline::domain::kFigResolved;
using ::gridline::domain::kFigReworked;
using ::gridline::domain::kFigSolved;
using ::gridline::domain::kFigureColumns;
using ::gridline::domain::kMaxAddressChars;
using ::gridline::domain::kMaxAttachments;
using ::gridline::domain::kMaxDescriptionChars;
using ::gridline::domain::kMaxRequestIdChars;
using ::gridline::domain::Micros;
using ::gridline::domain::OpenOverdueCounts;
using ::gridline::domain::OpenOverdueOf;
using ::gridline::domain::Organisation;
using ::gridline::domain::OrgCheckOptions;
using ::gridline::domain::OrgCheckResult;
using ::gridline::domain::OrgKind;
using ::gridline::domain::OrgKindPlural;
using ::gridline::domain::OrgViolation;
using ::gridline::domain::PathCodes;
using ::gridline::domain::Precondition;
using ::gridline::domain::PreconditionFailed;
using ::gridline::domain::PreconditionViolation;
using ::gridline::domain::Role;
using ::gridline::domain::RoleName;
using ::gridline::domain::RouteDecision;
using ::gridline::domain::RoutingRule;
using ::gridline::domain::RuleFor;
using ::gridline::domain::SumTerms;
using ::gridline::domain::TokenInfo;
using ::gridline::domain::Urgency;
using ::gridline::domain::User;

}  // namespace gridline::service

#endif  // GRIDLINE_SERVER_SERVICE_DOMAIN_NAMES_H_
