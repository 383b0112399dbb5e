// The SDK's version. Stable.
#ifndef GRIDLINE_CLIENT_VERSION_H_
#define GRIDLINE_CLIENT_VERSION_H_

#include <string>

#define GRIDLINE_CLIENT_VERSION_MAJOR 0
#define GRIDLINE_CLIENT_VERSION_MINOR 1
#define GRIDLINE_CLIENT_VERSION_PATCH 0

namespace gridline::client {

// "0.1.0": the version of the library the application runs with (which may differ from the
// headers it was compiled with, see GRIDLINE_CLIENT_VERSION_*).
std::string VersionString();

}  // namespace gridline::client

#endif  // GRIDLINE_CLIENT_VERSION_H_
