#ifndef GRIDLINE_SERVER_API_CONTEXT_H_
#define GRIDLINE_SERVER_API_CONTEXT_H_

#include "server/domain/attachments.h"
#include "server/domain/case_service.h"
#include "server/domain/statistics.h"
#include "server/runtime/event_hub.h"
#include "server/runtime/worker_pool.h"
#include "server/store/store.h"

namespace gridline::api {

// What every handler needs. Owned by the server; outlives every call.
struct ServiceContext {
  store::Store* store = nullptr;
  runtime::WorkerPool* pool = nullptr;
  runtime::EventHub* hub = nullptr;
  domain::CaseService* cases = nullptr;
  domain::AttachmentService* attachments = nullptr;
  // Demo mode: ImportOrganisation stores the users' demo tokens too, and demo tokens
  // authenticate (outside demo mode they are refused).
  bool demo = false;
  // The 三色旗 thresholds and the months' time zone (ServerConfig.evaluation).
  domain::FlagThresholds flags;
};

}  // namespace gridline::api

#endif  // GRIDLINE_SERVER_API_CONTEXT_H_
