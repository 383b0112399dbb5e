#include "server/api/call_log.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <chrono>

#include "absl/strings/match.h"
#include "server/api/forwarded.h"
#include "server/util/log.h"
#include "server/util/metrics.h"

namespace gridline::api {
namespace {

namespace pb = ::google::protobuf;

// The case a message names: its own `case_id`, or that of its `case` (SubmitReportResponse).
std::string CaseIdOf(const pb::Message& m) {
  const pb::Descriptor* d = m.GetDescriptor();
  const pb::Reflection* r = m.GetReflection();
  if (const pb::FieldDescriptor* f = d->FindFieldByName("case_id");
      f != nullptr && f->type() == pb::FieldDescriptor::TYPE_STRING && !f->is_repeated()) {
    return r->GetString(m, f);
  }
  if (const pb::FieldDescriptor* f = d->FindFieldByName("case");
      f != nullptr && f->type() == pb::FieldDescriptor::TYPE_MESSAGE && !f->is_repeated() &&
      r->HasField(m, f)) {
    return CaseIdOf(r->GetMessage(m, f));
  }
  return "";
}

const char* CodeName(grpc::StatusCode code) {
  static const char* const kNames[] = {"OK",
                                       "CANCELLED",
                                       "UNKNOWN",
                                       "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED",
                                       "NOT_FOUND",
                                       "ALREADY_EXISTS",
                                       "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION",
                                       "ABORTED",
                                       "OUT_OF_RANGE",
                                       "UNIMPLEMENTED",
                                       "INTERNAL",
                                       "UNAVAILABLE",
                                       "DATA_LOSS",
                                       "UNAUTHENTICATED"};
  const int i = static_cast<int>(code);
  return i >= 0 && i <= 16 ? kNames[i] : "UNKNOWN";
}

// "/gridline.v1.ReportService/SubmitReport" -> "gridline.v1.ReportService".
std::string ServiceOf(const std::string& method) {
  const size_t slash = method.find('/', 1);
  return slash == std::string::npos ? method : method.substr(1, slash - 1);
}

}  // namespace

class CallLogInterceptor final : public grpc::experimental::Interceptor {
 public:
  CallLogInterceptor(CallLog* log, grpc::experimental::ServerRpcInfo* info)
      : log_(log),
        info_(info),
        start_(std::chrono::steady_clock::now()),
        // Only gridline's own services are known to pass protobuf messages: grpc.health.v1's
        // default service, for one, passes raw byte buffers.
        ours_(absl::StartsWith(info->method(), "/gridline.v1.")),
        streaming_(info->type() != grpc::experimental::ServerRpcInfo::Type::UNARY) {
    if (streaming_) log_->StreamOpened(ServiceOf(info_->method()), 1);
  }
  ~CallLogInterceptor() override {
    log_->Take(info_->server_context());
    if (streaming_) log_->StreamOpened(ServiceOf(info_->method()), -1);
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using grpc::experimental::InterceptionHookPoints;
    // The generated code of gridline's services passes its request or response object here.
    if (ours_ && case_id_.empty() &&
        methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE)) {
      if (void* m = methods->GetRecvMessage(); m != nullptr) {
        case_id_ = CaseIdOf(*static_cast<const pb::Message*>(m));
      }
    }
    if (ours_ && case_id_.empty() &&
        methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_MESSAGE)) {
      if (const void* m = methods->GetSendMessage(); m != nullptr) {
        case_id_ = CaseIdOf(*static_cast<const pb::Message*>(m));
      }
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_)
              .count();
      const CallLog::Who who = log_->Take(info_->server_context());
      util::Metrics& metrics = util::DefaultMetrics();
      metrics.Add("gridline_rpc_requests_total",
                  {{"method", info_->method()}, {"code", CodeName(status.error_code())}});
      metrics.Observe("gridline_rpc_duration_seconds", {{"method", info_->method()}}, ms / 1000);
      const grpc::StatusCode code = status.error_code();
      if (log_->guard_ != nullptr && (code == grpc::StatusCode::UNAUTHENTICATED ||
                                      code == grpc::StatusCode::PERMISSION_DENIED)) {
        log_->guard_->NoteDenied(info_->method(), who.user_id, PeerOf(info_->server_context()),
                                 static_cast<int>(code), status.error_message(),
                                 log_->clock_->NowMicros());
      }
      if (log_->log_lines_) {
        util::Log(util::LogLevel::kInfo, "call",
                  {{"method", info_->method()},
                   {"user_id", who.user_id},
                   {"role", who.role},
                   {"peer", PeerOf(info_->server_context())},
                   {"code", static_cast<int>(status.error_code())},
                   {"latency_ms", ms},
                   {"case_id", case_id_}});
      }
    }
    methods->Proceed();
  }

 private:
  CallLog* const log_;
  grpc::experimental::ServerRpcInfo* const info_;
  const std::chrono::steady_clock::time_point start_;
  const bool ours_;
  const bool streaming_;
  std::string case_id_;
};

CallLog::CallLog(bool log_lines, service::Guard* guard, const util::Clock* clock)
    : log_lines_(log_lines), guard_(guard), clock_(clock) {}

void CallLog::StreamOpened(const std::string& service, int delta) {
  std::lock_guard<std::mutex> lock(mu_);
  open_streams_[service] += delta;
}

std::map<std::string, int64_t> CallLog::OpenStreams() {
  std::lock_guard<std::mutex> lock(mu_);
  return open_streams_;
}

grpc::experimental::Interceptor* CallLog::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new CallLogInterceptor(this, info);
}

void CallLog::NoteCaller(const grpc::ServerContextBase* context, const domain::Caller& caller) {
  std::lock_guard<std::mutex> lock(mu_);
  callers_[context] = {caller.user.user_id, domain::RoleName(caller.user.role)};
}

CallLog::Who CallLog::Take(const grpc::ServerContextBase* context) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = callers_.find(context);
  if (it == callers_.end()) return {};
  Who who = std::move(it->second);
  callers_.erase(it);
  return who;
}

}  // namespace gridline::api
