#include "server/api/pool_reactor.h"

#include "server/api/convert.h"

namespace gridline::api {

grpc::ServerUnaryReactor* RunUnary(
    grpc::CallbackServerContext* context, const ServiceContext& deps, const std::string& method,
    std::function<absl::Status(const service::RequestContext&)> work) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const bool queued = deps.pool->TrySubmit([reactor, context, deps, call = CredentialsOf(context),
                                            kind = service::UnaryKind(method),
                                            gone = CallGone(context), work = std::move(work)] {
    // Queued behind other work while the client gave up (or the server began to shut
    // down): nobody waits for the answer, so none of the work is done.
    if (gone()) {
      reactor->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the call ended while queued"));
      return;
    }
    const domain::Micros now = deps.clock->NowMicros();
    auto caller = deps.guard->Admit(call, kind, now);
    if (caller.ok()) deps.NoteCaller(context, *caller);
    absl::Status status = caller.ok() ? work(service::RequestContext{*caller, now, call.peer, gone})
                                      : caller.status();
    reactor->Finish(ToGrpcStatus(status));
  });
  if (!queued) reactor->Finish(ToGrpcStatus(Overloaded()));
  return reactor;
}

}  // namespace gridline::api
