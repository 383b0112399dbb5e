#include "server/domain/image_check.h"

// clang-format off
#include <cstdio>  // jpeglib.h needs FILE and size_t declared first
#include <jpeglib.h>
// clang-format on
#include <png.h>
#include <webp/decode.h>

#include <csetjmp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace gridline::domain {
namespace {

// Error handling in the JPEG and PNG decoders is setjmp/longjmp: the library's error callback
// longjmps back into the function that called setjmp, skipping the C frames in between. So the
// functions that call setjmp (DecodeJpeg, DecodePng) keep their state in a struct owned by their
// caller, have only trivially destructible locals that are never changed after setjmp, and the
// callbacks have no locals with destructors either. The caller frees the decoder on every path.

constexpr absl::string_view kJpegMagic("\xFF\xD8\xFF", 3);
constexpr absl::string_view kPngMagic("\x89PNG\r\n\x1A\n", 8);

// A progressive JPEG may have any number of scans, each a pass over the whole image; real ones
// have about ten. Same limit as libjpeg-turbo's TJFLAG_LIMITSCANS.
constexpr int kMaxJpegScans = 500;
// The largest ancillary PNG chunk (text, ICC profile, ...) libpng will hold in memory.
constexpr png_alloc_size_t kMaxPngChunkBytes = 8 << 20;
// WebP is decoded scaled down to fit in this many pixels per side.
constexpr int kWebpScaledSide = 64;

enum class Outcome { kOk, kCorrupt, kBadSize };

struct Dimensions {
  uint32_t width = 0;
  uint32_t height = 0;
};

bool SaneDimensions(const Dimensions& d) {
  return d.width > 0 && d.height > 0 && d.width <= static_cast<uint32_t>(kMaxImageSide) &&
         d.height <= static_cast<uint32_t>(kMaxImageSide) &&
         static_cast<int64_t>(d.width) * static_cast<int64_t>(d.height) <= kMaxImagePixels;
}

absl::Status BadSize(const Dimensions& d) {
  if (d.width == 0 || d.height == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("the image is ", d.width, "x", d.height, " pixels"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("the image is ", d.width, "x", d.height, " pixels; at most ", kMaxImageSide,
                   " per side and ", kMaxImagePixels / 1'000'000, " megapixels"));
}

absl::Status Corrupt(absl::string_view format) {
  return absl::InvalidArgumentError(absl::StrCat("the ", format, " data is corrupt or truncated"));
}

absl::StatusOr<ImageInfo> Accepted(const char* content_type, const Dimensions& d) {
  ImageInfo info;
  info.content_type = content_type;
  info.width = static_cast<int>(d.width);
  info.height = static_cast<int>(d.height);
  return info;
}

// ---------------------------------------------------------------------------------------------
// JPEG (libjpeg)

struct JpegErrorManager {
  jpeg_error_mgr pub;  // first, so that cinfo->err can be cast back to this
  std::jmp_buf jump;
};

struct JpegState {
  jpeg_decompress_struct cinfo;
  JpegErrorManager err;
  jpeg_progress_mgr progress;
};

[[noreturn]] void JpegErrorExit(j_common_ptr cinfo) {
  std::longjmp(reinterpret_cast<JpegErrorManager*>(cinfo->err)->jump, 1);
}

void JpegOutputMessage(j_common_ptr) {}

void JpegEmitMessage(j_common_ptr cinfo, int msg_level) {
  // -1 is a warning ("Premature end of JPEG file", "Corrupt JPEG data: ..."): libjpeg would go on
  // and make up the missing pixels, but such data is not a well-formed image. Even "extraneous
  // bytes before marker" counts: it is how most damage inside the entropy-coded data shows (a
  // test measured 10% of corruptions caught without it, 67% with it), at the price of refusing
  // the rare camera file that has stray bytes. Higher levels are trace messages.
  if (msg_level < 0) JpegErrorExit(cinfo);
}

void JpegProgressMonitor(j_common_ptr cinfo) {
  if (cinfo->is_decompressor &&
      reinterpret_cast<j_decompress_ptr>(cinfo)->input_scan_number > kMaxJpegScans) {
    JpegErrorExit(cinfo);
  }
}

// Decodes the whole image at 1/8 scale. The caller destroys st->cinfo whatever the outcome.
Outcome DecodeJpeg(JpegState* st, absl::string_view bytes, Dimensions* dims) {
  j_decompress_ptr cinfo = &st->cinfo;
  cinfo->err = jpeg_std_error(&st->err.pub);
  st->err.pub.error_exit = JpegErrorExit;
  st->err.pub.output_message = JpegOutputMessage;
  st->err.pub.emit_message = JpegEmitMessage;
  if (setjmp(st->err.jump)) return Outcome::kCorrupt;
  jpeg_create_decompress(cinfo);  // sets cinfo->mem to null first, so destroying is always safe
  st->progress.progress_monitor = JpegProgressMonitor;
  cinfo->progress = &st->progress;
  jpeg_mem_src(cinfo, reinterpret_cast<const unsigned char*>(bytes.data()),
               static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(cinfo, TRUE);
  dims->width = cinfo->image_width;
  dims->height = cinfo->image_height;
  if (!SaneDimensions(*dims)) return Outcome::kBadSize;

  cinfo->scale_num = 1;
  cinfo->scale_denom = 8;
  cinfo->dct_method = JDCT_IFAST;
  cinfo->do_fancy_upsampling = FALSE;
  jpeg_start_decompress(cinfo);
  const JDIMENSION row_stride =
      cinfo->output_width * static_cast<JDIMENSION>(cinfo->output_components);
  // Freed with the decompressor.
  JSAMPARRAY row = (*cinfo->mem->alloc_sarray)(reinterpret_cast<j_common_ptr>(cinfo), JPOOL_IMAGE,
                                               row_stride, 1);
  while (cinfo->output_scanline < cinfo->output_height) {
    if (jpeg_read_scanlines(cinfo, row, 1) != 1) return Outcome::kCorrupt;
  }
  jpeg_finish_decompress(cinfo);
  return Outcome::kOk;
}

absl::StatusOr<ImageInfo> CheckJpeg(absl::string_view bytes) {
  JpegState st;
  std::memset(&st, 0, sizeof(st));
  Dimensions dims;
  const Outcome outcome = DecodeJpeg(&st, bytes, &dims);
  jpeg_destroy_decompress(&st.cinfo);
  switch (outcome) {
    case Outcome::kOk:
      return Accepted("image/jpeg", dims);
    case Outcome::kBadSize:
      return BadSize(dims);
    case Outcome::kCorrupt:
      break;
  }
  return Corrupt("JPEG");
}

// ---------------------------------------------------------------------------------------------
// PNG (libpng)

struct PngState {
  absl::string_view bytes;
  size_t pos = 0;
  png_structp png = nullptr;
  png_infop info = nullptr;
  std::vector<unsigned char> row;

  PngState() = default;
  PngState(const PngState&) = delete;
  PngState& operator=(const PngState&) = delete;
  ~PngState() {
    if (png != nullptr) png_destroy_read_struct(&png, info != nullptr ? &info : nullptr, nullptr);
  }
};

[[noreturn]] void PngError(png_structp png, png_const_charp) { png_longjmp(png, 1); }

// Warnings concern ancillary data only (a known-bad sRGB profile, a bad CRC in a text chunk,
// which libpng then skips): the image itself is complete, so they do not fail the check. A
// truncated or corrupt image (critical chunks, their CRCs, the compressed rows) is an error.
void PngWarning(png_structp, png_const_charp) {}

void PngRead(png_structp png, png_bytep out, size_t length) {
  auto* st = static_cast<PngState*>(png_get_io_ptr(png));
  if (length > st->bytes.size() - st->pos) png_error(png, "read past the end");
  std::memcpy(out, st->bytes.data() + st->pos, length);
  st->pos += length;
}

uint32_t BigEndian32(absl::string_view s) {
  return (static_cast<uint32_t>(static_cast<unsigned char>(s[0])) << 24) |
         (static_cast<uint32_t>(static_cast<unsigned char>(s[1])) << 16) |
         (static_cast<uint32_t>(static_cast<unsigned char>(s[2])) << 8) |
         static_cast<uint32_t>(static_cast<unsigned char>(s[3]));
}

// Decodes every row of every pass. st->png and st->info are created; the caller destroys them.
Outcome DecodePng(PngState* st, Dimensions* dims) {
  png_structp png = st->png;
  png_infop info = st->info;
  if (setjmp(png_jmpbuf(png))) return Outcome::kCorrupt;
  png_set_read_fn(png, st, PngRead);
  png_set_user_limits(png, kMaxImageSide, kMaxImageSide);
  png_set_chunk_malloc_max(png, kMaxPngChunkBytes);
  png_read_info(png, info);
  dims->width = png_get_image_width(png, info);
  dims->height = png_get_image_height(png, info);
  if (!SaneDimensions(*dims)) return Outcome::kBadSize;

  // At most 4 channels of 8 bits after these.
  png_set_expand(png);    // palette -> RGB, gray < 8 bits -> 8 bits, tRNS -> alpha
  png_set_strip_16(png);  // 16 -> 8 bits
  const int passes = png_set_interlace_handling(png);  // 7 for Adam7, else 1
  png_read_update_info(png, info);
  st->row.resize(png_get_rowbytes(png, info));
  for (int pass = 0; pass < passes; ++pass) {
    for (uint32_t y = 0; y < dims->height; ++y) png_read_row(png, st->row.data(), nullptr);
  }
  png_read_end(png, nullptr);  // the chunks after the image data, up to IEND
  return Outcome::kOk;
}

absl::StatusOr<ImageInfo> CheckPng(absl::string_view bytes) {
  // The IHDR chunk must come first; look at its dimensions before libpng does, for the message
  // (libpng would reject them too, as exceeding the user limits, but without saying so).
  if (bytes.size() >= 24 && bytes.substr(12, 4) == "IHDR") {
    Dimensions declared;
    declared.width = BigEndian32(bytes.substr(16, 4));
    declared.height = BigEndian32(bytes.substr(20, 4));
    if (!SaneDimensions(declared)) return BadSize(declared);
  }
  PngState st;
  st.bytes = bytes;
  st.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, nullptr, PngError, PngWarning);
  if (st.png == nullptr) return absl::ResourceExhaustedError("cannot set up the PNG decoder");
  st.info = png_create_info_struct(st.png);
  if (st.info == nullptr) return absl::ResourceExhaustedError("cannot set up the PNG decoder");
  Dimensions dims;
  switch (DecodePng(&st, &dims)) {
    case Outcome::kOk:
      return Accepted("image/png", dims);
    case Outcome::kBadSize:
      return BadSize(dims);
    case Outcome::kCorrupt:
      break;
  }
  return Corrupt("PNG");
}

// ---------------------------------------------------------------------------------------------
// WebP (libwebp)

absl::StatusOr<ImageInfo> CheckWebp(absl::string_view bytes) {
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  WebPDecoderConfig config;
  if (!WebPInitDecoderConfig(&config)) {
    return absl::InternalError("the WebP decoder library has an unexpected version");
  }
  if (WebPGetFeatures(data, bytes.size(), &config.input) != VP8_STATUS_OK) return Corrupt("WebP");
  if (config.input.has_animation) {
    return absl::InvalidArgumentError("animated WebP is not accepted");
  }
  Dimensions dims;
  dims.width = static_cast<uint32_t>(config.input.width > 0 ? config.input.width : 0);
  dims.height = static_cast<uint32_t>(config.input.height > 0 ? config.input.height : 0);
  if (!SaneDimensions(dims)) return BadSize(dims);

  const int width = config.input.width;
  const int height = config.input.height;
  if (width > kWebpScaledSide || height > kWebpScaledSide) {
    int scaled_width = kWebpScaledSide;
    int scaled_height = kWebpScaledSide;
    if (width >= height) {
      scaled_height = static_cast<int>(static_cast<int64_t>(height) * kWebpScaledSide / width);
    } else {
      scaled_width = static_cast<int>(static_cast<int64_t>(width) * kWebpScaledSide / height);
    }
    config.options.use_scaling = 1;
    config.options.scaled_width = scaled_width > 0 ? scaled_width : 1;
    config.options.scaled_height = scaled_height > 0 ? scaled_height : 1;
  }
  config.options.bypass_filtering = 1;  // post-processing only; every bit is still decoded
  config.options.no_fancy_upsampling = 1;
  config.output.colorspace = MODE_RGBA;
  config.output.is_external_memory = 0;
  const VP8StatusCode status = WebPDecode(data, bytes.size(), &config);
  WebPFreeDecBuffer(&config.output);
  if (status != VP8_STATUS_OK) return Corrupt("WebP");
  return Accepted("image/webp", dims);
}

}  // namespace

absl::StatusOr<ImageInfo> CheckImage(absl::string_view bytes) {
  if (absl::StartsWith(bytes, kJpegMagic)) return CheckJpeg(bytes);
  if (absl::StartsWith(bytes, kPngMagic)) return CheckPng(bytes);
  if (bytes.size() >= 12 && bytes.substr(0, 4) == "RIFF" && bytes.substr(8, 4) == "WEBP") {
    return CheckWebp(bytes);
  }
  return absl::InvalidArgumentError("not a JPEG, PNG or WebP image");
}

}  // namespace gridline::domain
