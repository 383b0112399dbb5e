// Fuzzes photo type sniffing and validation (domain::CheckImage: libjpeg, libpng and libwebp
// decode the whole image). The input is the uploaded bytes. Beyond "no crash, no leak, no
// sanitizer report" (the image libraries are not instrumented, but every buffer gridline hands
// them is): an accepted image has one of the three types, a type that matches its magic number,
// and dimensions within kMaxImageSide and kMaxImagePixels; a refusal is INVALID_ARGUMENT (or
// RESOURCE_EXHAUSTED when a decoder cannot be allocated) with a short message that does not echo
// the bytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "fuzz/fuzz_status.h"
#include "server/domain/image_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using gridline::fuzz::CheckAnswer;
  namespace domain = ::gridline::domain;
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto image = domain::CheckImage(bytes);
  if (!image.ok()) {
    GRIDLINE_FUZZ_CHECK(
        absl::IsInvalidArgument(image.status()) || absl::IsResourceExhausted(image.status()),
        "CheckImage refused with an unexpected code");
    GRIDLINE_FUZZ_CHECK(image.status().message().size() <= 200, "CheckImage's message is long");
    CheckAnswer(image.status());
    return 0;
  }
  GRIDLINE_FUZZ_CHECK(image->width >= 1 && image->height >= 1, "accepted an empty image");
  GRIDLINE_FUZZ_CHECK(
      image->width <= domain::kMaxImageSide && image->height <= domain::kMaxImageSide,
      "accepted an image too wide or too high");
  GRIDLINE_FUZZ_CHECK(static_cast<int64_t>(image->width) * image->height <= domain::kMaxImagePixels,
                      "accepted an image of too many pixels");
  if (image->content_type == "image/jpeg") {
    GRIDLINE_FUZZ_CHECK(absl::StartsWith(bytes, "\xff\xd8"), "a JPEG without SOI");
  } else if (image->content_type == "image/png") {
    GRIDLINE_FUZZ_CHECK(absl::StartsWith(bytes, "\x89PNG\r\n\x1a\n"), "a PNG without signature");
  } else if (image->content_type == "image/webp") {
    GRIDLINE_FUZZ_CHECK(absl::StartsWith(bytes, "RIFF") && bytes.substr(8, 4) == "WEBP",
                        "a WebP without RIFF/WEBP");
  } else {
    GRIDLINE_FUZZ_CHECK(false, "accepted an unknown content type");
  }
  return 0;
}
