#include "server/app/transport_args.h"

namespace gridline::app {

void SetTransportArgs(grpc::ServerBuilder* builder) {
  // An idle connection keeps one TCP read buffer allocated while it waits for data, sized by
  // gRPC's estimate of the reads to come: 8 KiB for a handset's connection with the defaults
  // (massif, BENCHMARKS.md issue 16). Capped at 2 KiB, an open WatchCases stream holds about
  // 6 KiB less. Reports (1-2 KiB) still arrive in one read; a photo upload takes more, smaller
  // reads (a few ms of system calls for a 2 MiB photo). The other transport knobs (BDP probing,
  // lookahead, HPACK tables, write buffer) moved the memory by less than the noise, so they keep
  // gRPC's defaults. Not an operator setting: nothing to trade against.
  builder->AddChannelArgument(GRPC_ARG_TCP_READ_CHUNK_SIZE, 1024);
  builder->AddChannelArgument(GRPC_ARG_TCP_MIN_READ_CHUNK_SIZE, 256);
  builder->AddChannelArgument(GRPC_ARG_TCP_MAX_READ_CHUNK_SIZE, 2048);
}

}  // namespace gridline::app
