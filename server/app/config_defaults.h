// The defaults and bounds of the server's configuration, read from the schema itself: the
// (default_value), (min_value) and (max_value) options of proto/gridline/config/v1/
// server_config.proto are the one place they are written.
#ifndef GRIDLINE_SERVER_APP_CONFIG_DEFAULTS_H_
#define GRIDLINE_SERVER_APP_CONFIG_DEFAULTS_H_

#include <string>

#include "absl/status/status.h"
#include "google/protobuf/message.h"

namespace gridline::app {

// Sets every unset field of `message` that has a (default_value) to it, recursing into present
// sub-messages and into absent ones whose default is "{}". Then checks every set number against
// its (min_value) and (max_value): INVALID_ARGUMENT naming the field ("watch.poll_interval_ms")
// otherwise. A field without presence counts as unset when it is zero or empty.
absl::Status ApplyConfigDefaults(google::protobuf::Message* message);

}  // namespace gridline::app

#endif  // GRIDLINE_SERVER_APP_CONFIG_DEFAULTS_H_
