// Photos as the SDK handles them. Stable.
#ifndef GRIDLINE_CLIENT_PHOTO_H_
#define GRIDLINE_CLIENT_PHOTO_H_

#include <string>
#include <string_view>

#include "gridline/client/status.h"

namespace gridline::client {

struct Photo {
  // The encoded image (JPEG, PNG or WebP; the server checks the bytes).
  std::string bytes;
  // Optional, for the server's audit trail.
  std::string file_name;

  // Reads a photo file. NOT_FOUND when it cannot be read.
  static StatusOr<Photo> FromFile(const std::string& path);
};

// Lowercase hex SHA-256 of `bytes`: a photo's attachment id.
std::string Sha256Hex(std::string_view bytes);

}  // namespace gridline::client

#endif  // GRIDLINE_CLIENT_PHOTO_H_
