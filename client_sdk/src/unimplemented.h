// What a connection method nobody overrode returns.
#ifndef GRIDLINE_CLIENT_SRC_UNIMPLEMENTED_H_
#define GRIDLINE_CLIENT_SRC_UNIMPLEMENTED_H_

#include "absl/status/status.h"

namespace gridline::client::internal {

inline absl::Status Unimplemented(const char* method) {
  return absl::UnimplementedError(
      std::string(method) + " is not implemented by this connection (override it in your mock)");
}

}  // namespace gridline::client::internal

#endif  // GRIDLINE_CLIENT_SRC_UNIMPLEMENTED_H_
