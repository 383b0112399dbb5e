// The gRPC transport settings of the server's listening port that are not operator settings:
// what one open connection (one handset's watch stream) holds in memory.
#ifndef GRIDLINE_SERVER_APP_TRANSPORT_ARGS_H_
#define GRIDLINE_SERVER_APP_TRANSPORT_ARGS_H_

#include <grpcpp/server_builder.h>

namespace gridline::app {

void SetTransportArgs(grpc::ServerBuilder* builder);

}  // namespace gridline::app

#endif  // GRIDLINE_SERVER_APP_TRANSPORT_ARGS_H_
