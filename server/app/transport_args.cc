#include "server/app/transport_args.h"

#include <cstdlib>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace gridline::app {

void SetTransportArgs(grpc::ServerBuilder* builder) {
  // EXPERIMENT (not for commit): "name=int,name=int" from the environment.
  if (const char* env = std::getenv("GRIDLINE_GRPC_ARGS_EXPERIMENT")) {
    for (absl::string_view kv : absl::StrSplit(env, ',', absl::SkipEmpty())) {
      std::pair<std::string, std::string> p = absl::StrSplit(kv, '=');
      int v = 0;
      if (absl::SimpleAtoi(p.second, &v)) builder->AddChannelArgument(p.first, v);
    }
  }
}

}  // namespace gridline::app
