#ifndef GRIDLINE_SERVER_API_CONTEXT_H_
#define GRIDLINE_SERVER_API_CONTEXT_H_

#include "server/api/call_log.h"
#include "server/api/stream_rechecks.h"
#include "server/runtime/event_hub.h"
#include "server/runtime/worker_pool.h"
#include "server/service/accountability.h"
#include "server/service/admin_service.h"
#include "server/service/attachments.h"
#include "server/service/case_service.h"
#include "server/service/evaluations.h"
#include "server/service/guard.h"
#include "server/service/patrols.h"
#include "server/service/statistics.h"
#include "server/store/store.h"
#include "server/util/clock.h"

namespace gridline::api {

// What every handler needs. Owned by the server; outlives every call.
struct ServiceContext {
  store::Store* store = nullptr;
  runtime::WorkerPool* pool = nullptr;
  runtime::EventHub* hub = nullptr;
  service::CaseService* cases = nullptr;
  service::AttachmentService* attachments = nullptr;
  service::EvaluationService* evaluations = nullptr;
  service::PatrolService* patrols = nullptr;
  service::AccountabilityService* accountability = nullptr;
  // Demo mode: ImportOrganisation stores the users' demo tokens too, and demo tokens
  // authenticate (outside demo mode they are refused).
  bool demo = false;
  // Token lifetimes (ServerConfig.tokens).
  service::TokenPolicy token_policy;
  // Admits every call: lockout, token, certificate binding, rate limits (see guard.h).
  service::Guard* guard = nullptr;
  // Open watch streams re-check their tokens through this, in batches.
  StreamRechecks* rechecks = nullptr;
  // The 三色旗 thresholds and the months' time zone (ServerConfig.evaluation).
  service::FlagThresholds flags;
  // The time of every call (not owned).
  const util::Clock* clock = &util::WallClock();
  // Who made each call, for its log line (null: calls are not logged).
  CallLog* call_log = nullptr;

  // Notes the authenticated caller of the call on `context` for its log line.
  void NoteCaller(const grpc::ServerContextBase* context, const domain::Caller& caller) const {
    if (call_log != nullptr) call_log->NoteCaller(context, caller);
  }
};

}  // namespace gridline::api

#endif  // GRIDLINE_SERVER_API_CONTEXT_H_
