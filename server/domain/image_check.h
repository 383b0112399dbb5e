// Validates an uploaded photo by decoding it completely with libjpeg, libpng or libwebp, so that
// only complete, well-formed JPEG, PNG and WebP images of sane dimensions are accepted.
#ifndef GRIDLINE_SERVER_DOMAIN_IMAGE_CHECK_H_
#define GRIDLINE_SERVER_DOMAIN_IMAGE_CHECK_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gridline::domain {

// The largest accepted width or height, in pixels.
inline constexpr int kMaxImageSide = 20000;
// The largest accepted width * height.
inline constexpr int64_t kMaxImagePixels = 100'000'000;

struct ImageInfo {
  std::string content_type;  // "image/jpeg", "image/png" or "image/webp"
  int width = 0;
  int height = 0;
};

// Decodes `bytes` fully (every scanline / the whole bitstream, at a reduced scale where the
// library allows, to keep memory and time low) and returns its type and dimensions, or
// INVALID_ARGUMENT with a short human message (no echo of the bytes) when the data is not a
// complete, well-formed JPEG, PNG or WebP: unknown type, corrupt or truncated data (libjpeg's
// warnings count as corruption; libpng's concern ancillary chunks only and do not), animated
// WebP, zero or insane dimensions (each side at most kMaxImageSide, at most kMaxImagePixels).
// Dimensions are checked before any pixel memory is allocated. RESOURCE_EXHAUSTED only if a
// decoder cannot be allocated. Thread-safe.
absl::StatusOr<ImageInfo> CheckImage(absl::string_view bytes);

}  // namespace gridline::domain

#endif  // GRIDLINE_SERVER_DOMAIN_IMAGE_CHECK_H_
