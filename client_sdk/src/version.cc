#include "gridline/client/version.h"

#include "absl/strings/str_cat.h"

namespace gridline::client {

std::string VersionString() {
  return absl::StrCat(GRIDLINE_CLIENT_VERSION_MAJOR, ".", GRIDLINE_CLIENT_VERSION_MINOR, ".",
                      GRIDLINE_CLIENT_VERSION_PATCH);
}

}  // namespace gridline::client
