#include "server/api/parse_errors.h"

#include <google/protobuf/descriptor.h>

#include "absl/strings/str_cat.h"

namespace gridline::api {
namespace {

class ParseErrorInterceptor : public grpc::experimental::Interceptor {
 public:
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      grpc::Status status = methods->GetSendStatus();
      if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED &&
          status.error_message().empty()) {
        methods->ModifySendStatus(grpc::Status(
            grpc::StatusCode::INVALID_ARGUMENT,
            "the request could not be parsed: a text field is not valid UTF-8, or the message "
            "is not a valid encoding of the request type"));
      }
    }
    methods->Proceed();
  }
};

class Factory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit Factory(std::set<std::string> methods) : methods_(std::move(methods)) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    if (info->method() == nullptr || !methods_.count(info->method())) return nullptr;
    return new ParseErrorInterceptor();
  }

 private:
  const std::set<std::string> methods_;
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> MakeParseErrorInterceptor(
    const std::vector<std::string>& services) {
  std::set<std::string> methods;
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  for (const auto& name : services) {
    const auto* service = pool->FindServiceByName(name);
    if (service == nullptr) continue;
    for (int i = 0; i < service->method_count(); ++i) {
      methods.insert(absl::StrCat("/", name, "/", service->method(i)->name()));
    }
  }
  return std::make_unique<Factory>(std::move(methods));
}

}  // namespace gridline::api
