// gRPC 1.51's callback API answers a request it cannot parse (e.g. a proto3 string field that is
// not valid UTF-8) with UNIMPLEMENTED and no message, before any handler runs. This interceptor
// turns exactly that answer, on methods gridline implements, into INVALID_ARGUMENT saying what is
// wrong. gridline's own UNIMPLEMENTED answers always carry a message, so they pass unchanged.
#ifndef GRIDLINE_SERVER_API_PARSE_ERRORS_H_
#define GRIDLINE_SERVER_API_PARSE_ERRORS_H_

#include <grpcpp/support/server_interceptor.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

namespace gridline::api {

// Interceptor factory for the methods of the given fully-qualified services
// (e.g. "gridline.v1.ReportService").
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> MakeParseErrorInterceptor(
    const std::vector<std::string>& services);

}  // namespace gridline::api

#endif  // GRIDLINE_SERVER_API_PARSE_ERRORS_H_
