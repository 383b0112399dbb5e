#include "server/app/transport_args.h"

namespace gridline::app {

void SetTransportArgs(grpc::ServerBuilder* builder) {
  // TCP reads start at 1 KiB (gRPC's default: 8 KiB) and grow with what arrives, up to 64 KiB
  // (default 4 MiB). A handset's connection carries a WatchCases stream and small calls; what
  // HPACK and the call's metadata keep from a read (the 8 KiB slice it landed in) lives as long
  // as the stream. Photo uploads still reach 64 KiB reads. Measured with 8,000 streams
  // (BENCHMARKS.md, issue 16): about 1.3 KiB less per open stream; the other transport knobs
  // (BDP probing, lookahead, HPACK tables, write buffer) moved it by less than the noise, so
  // they keep gRPC's defaults. Not an operator setting: nothing to trade against.
  builder->AddChannelArgument(GRPC_ARG_TCP_READ_CHUNK_SIZE, 1024);
  builder->AddChannelArgument(GRPC_ARG_TCP_MIN_READ_CHUNK_SIZE, 256);
  builder->AddChannelArgument(GRPC_ARG_TCP_MAX_READ_CHUNK_SIZE, 64 * 1024);
}

}  // namespace gridline::app
