// CheckImage: real JPEG, PNG and WebP images, made here with the same libraries' encoders, are
// accepted with their dimensions; truncated, corrupt, oversized and foreign data is rejected.
#include "server/domain/image_check.h"

#include <gtest/gtest.h>
// clang-format off
#include <cstdio>  // jpeglib.h needs FILE and size_t declared first
#include <jpeglib.h>
// clang-format on
#include <png.h>
#include <webp/encode.h>
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"

namespace gridline::domain {
namespace {

// An RGBA picture with some texture, so that the encoders produce real entropy data.
struct Picture {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> rgba;

  uint8_t At(int x, int y, int channel) const { return rgba[(y * width + x) * 4 + channel]; }
};

Picture Gradient(int width, int height) {
  Picture p;
  p.width = width;
  p.height = height;
  p.rgba.resize(static_cast<size_t>(width) * height * 4);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      uint8_t* px = &p.rgba[(static_cast<size_t>(y) * width + x) * 4];
      px[0] = static_cast<uint8_t>(x * 255 / (width - 1));
      px[1] = static_cast<uint8_t>(y * 255 / (height - 1));
      px[2] = static_cast<uint8_t>(((x * y) & 0x1F) * 8);
      px[3] = static_cast<uint8_t>(255 - (x + y) % 128);
    }
  }
  return p;
}

Picture Opaque(Picture p) {
  for (size_t i = 3; i < p.rgba.size(); i += 4) p.rgba[i] = 255;
  return p;
}

// A string literal that may hold NULs.
template <size_t N>
std::string Bytes(const char (&literal)[N]) {
  return std::string(literal, N - 1);
}

// ---- encoders -------------------------------------------------------------------------------

std::string EncodeJpeg(const Picture& p, bool progressive) {
  jpeg_compress_struct c;
  jpeg_error_mgr err;
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  unsigned char* out = nullptr;
  unsigned long out_size = 0;
  jpeg_mem_dest(&c, &out, &out_size);
  c.image_width = p.width;
  c.image_height = p.height;
  c.input_components = 3;
  c.in_color_space = JCS_RGB;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, 90, TRUE);
  if (progressive) jpeg_simple_progression(&c);
  jpeg_start_compress(&c, TRUE);
  std::vector<JSAMPLE> row(p.width * 3);
  while (c.next_scanline < c.image_height) {
    const int y = static_cast<int>(c.next_scanline);
    for (int x = 0; x < p.width; ++x) {
      for (int ch = 0; ch < 3; ++ch) row[x * 3 + ch] = p.At(x, y, ch);
    }
    JSAMPROW rows[1] = {row.data()};
    jpeg_write_scanlines(&c, rows, 1);
  }
  jpeg_finish_compress(&c);
  std::string result(reinterpret_cast<const char*>(out), out_size);
  jpeg_destroy_compress(&c);
  std::free(out);
  return result;
}

enum class PngKind { kRgb8, kRgb16, kPalette, kInterlaced, kGray1, kGrayAlpha };

void PngAppend(png_structp png, png_bytep data, size_t length) {
  static_cast<std::string*>(png_get_io_ptr(png))->append(reinterpret_cast<char*>(data), length);
}
void PngFlush(png_structp) {}

std::string EncodePng(const Picture& p, PngKind kind, bool with_text = false) {
  std::string out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  png_set_write_fn(png, &out, PngAppend, PngFlush);
  int bit_depth = 8;
  int color_type = PNG_COLOR_TYPE_RGB;
  int interlace = PNG_INTERLACE_NONE;
  int channels = 3;
  switch (kind) {
    case PngKind::kRgb8:
      break;
    case PngKind::kRgb16:
      bit_depth = 16;
      break;
    case PngKind::kPalette:
      color_type = PNG_COLOR_TYPE_PALETTE;
      channels = 1;
      break;
    case PngKind::kInterlaced:
      interlace = PNG_INTERLACE_ADAM7;
      break;
    case PngKind::kGray1:
      bit_depth = 1;
      color_type = PNG_COLOR_TYPE_GRAY;
      channels = 1;
      break;
    case PngKind::kGrayAlpha:
      color_type = PNG_COLOR_TYPE_GRAY_ALPHA;
      channels = 2;
      break;
  }
  png_set_IHDR(png, info, p.width, p.height, bit_depth, color_type, interlace,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (kind == PngKind::kPalette) {
    std::vector<png_color> palette(256);
    std::vector<png_byte> alpha(256);
    for (int i = 0; i < 256; ++i) {
      palette[i] = {static_cast<png_byte>(i), static_cast<png_byte>(255 - i),
                    static_cast<png_byte>(i * 7)};
      alpha[i] = static_cast<png_byte>(i | 0x80);
    }
    png_set_PLTE(png, info, palette.data(), 256);
    png_set_tRNS(png, info, alpha.data(), 256, nullptr);
  }
  char key[] = "Comment";
  char text[] = "a test picture";
  png_text comment = {};
  comment.compression = PNG_TEXT_COMPRESSION_NONE;
  comment.key = key;
  comment.text = text;
  if (with_text) png_set_text(png, info, &comment, 1);

  const size_t row_bytes = (static_cast<size_t>(p.width) * channels * bit_depth + 7) / 8;
  std::vector<std::vector<png_byte>> rows(p.height, std::vector<png_byte>(row_bytes, 0));
  for (int y = 0; y < p.height; ++y) {
    png_byte* row = rows[y].data();
    for (int x = 0; x < p.width; ++x) {
      switch (kind) {
        case PngKind::kRgb8:
        case PngKind::kInterlaced:
          for (int ch = 0; ch < 3; ++ch) row[x * 3 + ch] = p.At(x, y, ch);
          break;
        case PngKind::kRgb16:
          for (int ch = 0; ch < 3; ++ch) {
            const int v = p.At(x, y, ch) * 257 + x;  // use the low byte too
            row[x * 6 + ch * 2] = static_cast<png_byte>(v >> 8);
            row[x * 6 + ch * 2 + 1] = static_cast<png_byte>(v & 0xFF);
          }
          break;
        case PngKind::kPalette:
          row[x] = static_cast<png_byte>(p.At(x, y, 0) ^ p.At(x, y, 2));
          break;
        case PngKind::kGray1:
          if (p.At(x, y, 2) & 0x40) row[x / 8] |= static_cast<png_byte>(0x80 >> (x % 8));
          break;
        case PngKind::kGrayAlpha:
          row[x * 2] = p.At(x, y, 1);
          row[x * 2 + 1] = p.At(x, y, 3);
          break;
      }
    }
  }
  std::vector<png_bytep> row_pointers;
  for (auto& row : rows) row_pointers.push_back(row.data());
  png_write_info(png, info);
  png_write_image(png, row_pointers.data());  // does the Adam7 passes itself
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  return out;
}

std::string EncodeWebp(const Picture& p, bool lossless) {
  uint8_t* out = nullptr;
  const size_t size =
      lossless ? WebPEncodeLosslessRGBA(p.rgba.data(), p.width, p.height, p.width * 4, &out)
               : WebPEncodeRGBA(p.rgba.data(), p.width, p.height, p.width * 4, 80, &out);
  std::string result(reinterpret_cast<const char*>(out), size);
  WebPFree(out);
  return result;
}

// ---- byte surgery ---------------------------------------------------------------------------

void PutBigEndian32(std::string* s, size_t pos, uint32_t v) {
  for (int i = 0; i < 4; ++i) (*s)[pos + i] = static_cast<char>(v >> (24 - 8 * i));
}
void PutLittleEndian(std::string* s, size_t pos, uint32_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) (*s)[pos + i] = static_cast<char>(v >> (8 * i));
}

// A PNG chunk with its length and CRC.
std::string PngChunk(absl::string_view type, absl::string_view data) {
  std::string chunk(4, '\0');
  PutBigEndian32(&chunk, 0, static_cast<uint32_t>(data.size()));
  chunk.append(type.data(), type.size());
  chunk.append(data.data(), data.size());
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(chunk.data() + 4), chunk.size() - 4);
  std::string crc_bytes(4, '\0');
  PutBigEndian32(&crc_bytes, 0, static_cast<uint32_t>(crc));
  return chunk + crc_bytes;
}

// A PNG of only a signature, an IHDR (8-bit RGB) declaring these dimensions, an IDAT holding
// one compressed zero row, and IEND.
std::string PngDeclaring(uint32_t width, uint32_t height) {
  std::string ihdr(13, '\0');
  PutBigEndian32(&ihdr, 0, width);
  PutBigEndian32(&ihdr, 4, height);
  ihdr[8] = 8;  // bit depth
  ihdr[9] = 2;  // RGB
  const std::string zero_row(4, '\0');
  uLongf compressed_size = compressBound(zero_row.size());
  std::string compressed(compressed_size, '\0');
  compress(reinterpret_cast<Bytef*>(compressed.data()), &compressed_size,
           reinterpret_cast<const Bytef*>(zero_row.data()), zero_row.size());
  compressed.resize(compressed_size);
  return std::string("\x89PNG\r\n\x1A\n", 8) + PngChunk("IHDR", ihdr) +
         PngChunk("IDAT", compressed) + PngChunk("IEND", "");
}

// Where the JPEG's entropy-coded data starts (after the first SOS segment) and ends (EOI).
std::pair<size_t, size_t> JpegEntropyData(const std::string& jpeg) {
  const size_t sos = jpeg.find("\xFF\xDA");
  EXPECT_NE(sos, std::string::npos);
  const size_t length =
      (static_cast<uint8_t>(jpeg[sos + 2]) << 8) | static_cast<uint8_t>(jpeg[sos + 3]);
  return {sos + 2 + length, jpeg.size() - 2};
}

// The position of the baseline or progressive SOF segment's marker.
size_t JpegSof(const std::string& jpeg) {
  size_t pos = jpeg.find("\xFF\xC0");
  if (pos == std::string::npos) pos = jpeg.find("\xFF\xC2");
  EXPECT_NE(pos, std::string::npos);
  return pos;
}

// Where the first IDAT chunk's data starts, and its length.
std::pair<size_t, size_t> PngIdat(const std::string& png) {
  const size_t type = png.find("IDAT");
  EXPECT_NE(type, std::string::npos);
  const size_t length = (static_cast<uint32_t>(static_cast<uint8_t>(png[type - 4])) << 24) |
                        (static_cast<uint8_t>(png[type - 3]) << 16) |
                        (static_cast<uint8_t>(png[type - 2]) << 8) |
                        static_cast<uint8_t>(png[type - 1]);
  return {type + 4, length};
}

// ---- expectations ---------------------------------------------------------------------------

void ExpectAccepted(const std::string& bytes, absl::string_view type, int width, int height) {
  const absl::StatusOr<ImageInfo> info = CheckImage(bytes);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->content_type, type);
  EXPECT_EQ(info->width, width);
  EXPECT_EQ(info->height, height);
}

void ExpectRejected(absl::string_view bytes, absl::string_view message_part) {
  const absl::StatusOr<ImageInfo> info = CheckImage(bytes);
  ASSERT_FALSE(info.ok()) << "accepted " << bytes.size() << " bytes";
  EXPECT_TRUE(absl::IsInvalidArgument(info.status())) << info.status();
  EXPECT_TRUE(absl::StrContains(info.status().message(), message_part))
      << info.status() << "; expected to contain: " << message_part;
}

struct Fixture {
  std::string name;
  std::string bytes;
  std::string type;
  std::string format;  // as named in error messages
  size_t header_end;   // a cut point just after the headers
};

std::vector<Fixture> AllFixtures() {
  const Picture p = Gradient(64, 48);
  std::vector<Fixture> all;
  auto jpeg = [&](const std::string& name, std::string bytes) {
    const size_t header_end = JpegEntropyData(bytes).first;
    all.push_back({name, std::move(bytes), "image/jpeg", "JPEG", header_end});
  };
  jpeg("baseline JPEG", EncodeJpeg(p, false));
  jpeg("progressive JPEG", EncodeJpeg(p, true));
  auto png = [&](const std::string& name, std::string bytes) {
    all.push_back({name, std::move(bytes), "image/png", "PNG", 8 + 25});  // signature + IHDR
  };
  png("8-bit RGB PNG", EncodePng(p, PngKind::kRgb8));
  png("16-bit RGB PNG", EncodePng(p, PngKind::kRgb16));
  png("palette PNG", EncodePng(p, PngKind::kPalette));
  png("interlaced PNG", EncodePng(p, PngKind::kInterlaced));
  png("1-bit gray PNG", EncodePng(p, PngKind::kGray1));
  png("gray+alpha PNG", EncodePng(p, PngKind::kGrayAlpha));
  auto webp = [&](const std::string& name, std::string bytes) {
    // RIFF header, chunk header, and for lossy the 10-byte VP8 frame header (5 for lossless).
    const size_t header_end = absl::StrContains(name, "lossless") ? 12 + 8 + 5 : 12 + 8 + 10;
    all.push_back({name, std::move(bytes), "image/webp", "WebP", header_end});
  };
  webp("lossy WebP", EncodeWebp(Opaque(p), false));
  webp("lossy WebP with alpha", EncodeWebp(p, false));
  webp("lossless WebP", EncodeWebp(p, true));
  return all;
}

// ---- tests ----------------------------------------------------------------------------------

TEST(ImageCheckTest, AcceptsValidImages) {
  for (const Fixture& f : AllFixtures()) {
    SCOPED_TRACE(f.name);
    ExpectAccepted(f.bytes, f.type, 64, 48);
  }
}

TEST(ImageCheckTest, AcceptsLargerImagesDecodedAtReducedScale) {
  const Picture p = Gradient(641, 417);
  ExpectAccepted(EncodeJpeg(p, false), "image/jpeg", 641, 417);
  ExpectAccepted(EncodeJpeg(p, true), "image/jpeg", 641, 417);
  ExpectAccepted(EncodePng(p, PngKind::kInterlaced), "image/png", 641, 417);
  ExpectAccepted(EncodeWebp(p, false), "image/webp", 641, 417);
  ExpectAccepted(EncodeWebp(p, true), "image/webp", 641, 417);
  const Picture tall = Gradient(3, 700);
  ExpectAccepted(EncodeWebp(tall, false), "image/webp", 3, 700);
  ExpectAccepted(EncodeWebp(tall, true), "image/webp", 3, 700);
  ExpectAccepted(EncodeJpeg(tall, true), "image/jpeg", 3, 700);
}

TEST(ImageCheckTest, RejectsTruncatedImages) {
  for (const Fixture& f : AllFixtures()) {
    const size_t size = f.bytes.size();
    for (size_t cut :
         {size / 2, size - 10, size - 2, size - 1, f.header_end, size / 4, size_t{16}}) {
      SCOPED_TRACE(f.name + " cut to " + std::to_string(cut) + " of " + std::to_string(size));
      ExpectRejected(absl::string_view(f.bytes).substr(0, cut), f.format);
    }
  }
}

TEST(ImageCheckTest, RejectsJpegWithCorruptEntropyData) {
  for (bool progressive : {false, true}) {
    SCOPED_TRACE(progressive ? "progressive" : "baseline");
    const std::string jpeg = EncodeJpeg(Gradient(64, 48), progressive);
    const auto [begin, end] = JpegEntropyData(jpeg);
    const size_t middle = begin + (end - begin) / 2;
    // A marker in the middle of the entropy data: the scan ends early.
    std::string marker = jpeg;
    marker[middle] = '\xFF';
    marker[middle + 1] = '\xD9';
    ExpectRejected(marker, "JPEG data is corrupt");
    // Entropy data cut short and the rest dropped, EOI kept.
    ExpectRejected(jpeg.substr(0, middle) + "\xFF\xD9", "JPEG data is corrupt");
    // Runs of inverted bytes: JPEG has no checksum, and Huffman decoding often resynchronises,
    // so not every such corruption can be seen; most are (bad codes, too many coefficients,
    // bytes left over before the next marker).
    int tried = 0;
    int rejected = 0;
    for (size_t pos = begin; pos + 8 < end; pos += 5) {
      std::string flipped = jpeg;
      for (size_t i = pos; i < pos + 8; ++i) flipped[i] = static_cast<char>(~flipped[i]);
      const absl::StatusOr<ImageInfo> info = CheckImage(flipped);
      ++tried;
      if (!info.ok()) {
        ++rejected;
        EXPECT_TRUE(absl::IsInvalidArgument(info.status()));
        EXPECT_EQ(info.status().message(), "the JPEG data is corrupt or truncated");
      }
    }
    EXPECT_GE(rejected * 2, tried) << rejected << " of " << tried << " rejected";
  }
}

TEST(ImageCheckTest, RejectsPngWithCorruptImageData) {
  for (PngKind kind : {PngKind::kRgb8, PngKind::kInterlaced, PngKind::kPalette}) {
    const std::string png = EncodePng(Gradient(64, 48), kind);
    const auto [data, length] = PngIdat(png);
    // A flipped byte in IDAT: the chunk's CRC no longer matches.
    std::string flipped = png;
    flipped[data + length / 2] ^= 0x55;
    ExpectRejected(flipped, "PNG data is corrupt");
    // The same with the CRC fixed: zlib finds the stream broken (or its checksum wrong).
    std::string recrc = flipped;
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(recrc.data() + data - 4), length + 4);
    PutBigEndian32(&recrc, data + length, static_cast<uint32_t>(crc));
    ExpectRejected(recrc, "PNG data is corrupt");
    // A broken CRC on IEND.
    std::string iend = png;
    iend[iend.size() - 1] ^= 1;
    ExpectRejected(iend, "PNG data is corrupt");
  }
  // A broken CRC on an ancillary chunk: libpng warns and skips the chunk. The image itself is
  // complete, so it is accepted (real files carry such chunks, e.g. a known-bad sRGB profile).
  const std::string with_text = EncodePng(Gradient(64, 48), PngKind::kRgb8, true);
  ExpectAccepted(with_text, "image/png", 64, 48);
  std::string bad_text = with_text;
  bad_text[with_text.find("tEXt") + 6] ^= 0x20;
  ExpectAccepted(bad_text, "image/png", 64, 48);
}

TEST(ImageCheckTest, RejectsWebpWithCorruptData) {
  // Lossy VP8 data has no checksum and little redundancy: bytes changed in the middle of it
  // mostly decode to other pixels. What can be seen is damage to its structure.
  const Picture p = Opaque(Gradient(64, 48));
  const std::string lossy = EncodeWebp(p, false);
  ASSERT_EQ(lossy.substr(12, 4), "VP8 ");
  // The VP8 start code after the frame tag.
  std::string start_code = lossy;
  start_code[20 + 3] ^= 0x10;
  ExpectRejected(start_code, "WebP data is corrupt");
  // The first partition's size (in the frame tag) larger than the data.
  std::string partition = lossy;
  partition[20 + 2] = '\x7F';
  ExpectRejected(partition, "WebP data is corrupt");
  // The VP8 chunk's size larger than the RIFF holds.
  std::string chunk_size = lossy;
  PutLittleEndian(&chunk_size, 16, static_cast<uint32_t>(lossy.size()), 4);
  ExpectRejected(chunk_size, "WebP data is corrupt");

  // Inverted bytes in the (losslessly compressed) alpha plane of a lossy image.
  const std::string with_alpha = EncodeWebp(Gradient(64, 48), false);
  const size_t alph = with_alpha.find("ALPH");
  ASSERT_NE(alph, std::string::npos);
  std::string bad_alpha = with_alpha;
  for (size_t i = alph + 8 + 4; i < alph + 8 + 12; ++i)
    bad_alpha[i] = static_cast<char>(~bad_alpha[i]);
  ExpectRejected(bad_alpha, "WebP data is corrupt");

  const std::string lossless = EncodeWebp(p, true);
  ASSERT_EQ(lossless.substr(12, 4), "VP8L");
  // The lossless signature byte.
  std::string signature = lossless;
  signature[20] = '\x2E';
  ExpectRejected(signature, "WebP data is corrupt");
  // Inverted bytes in the middle of the entropy-coded data: codes that do not exist or a
  // stream that does not come out at the right length.
  std::string flipped = lossless;
  const size_t middle = 20 + (lossless.size() - 20) / 2;
  for (size_t i = middle; i < middle + 8; ++i) flipped[i] = static_cast<char>(~flipped[i]);
  ExpectRejected(flipped, "WebP data is corrupt");
}

TEST(ImageCheckTest, RejectsMagicNumberFollowedByGarbage) {
  std::mt19937 random(42);
  std::string garbage(200, '\0');
  for (char& c : garbage) c = static_cast<char>(random());
  ExpectRejected(std::string("\xFF\xD8\xFF", 3) + garbage, "JPEG data is corrupt");
  ExpectRejected(std::string("\x89PNG\r\n\x1A\n", 8) + garbage, "PNG data is corrupt");
  std::string riff = "RIFF????WEBP" + garbage;
  PutLittleEndian(&riff, 4, static_cast<uint32_t>(riff.size() - 8), 4);
  ExpectRejected(riff, "WebP data is corrupt");
  ExpectRejected(std::string("\xFF\xD8\xFF", 3), "JPEG data is corrupt");
  ExpectRejected(std::string("\x89PNG\r\n\x1A\n", 8), "PNG data is corrupt");
  ExpectRejected(Bytes("RIFF\x04\0\0\0WEBP"), "WebP data is corrupt");
}

TEST(ImageCheckTest, RejectsOtherData) {
  ExpectRejected("", "not a JPEG, PNG or WebP image");
  ExpectRejected("\xFF\xD8", "not a JPEG, PNG or WebP image");
  ExpectRejected(Bytes("GIF89a\x01\0\x01\0"), "not a JPEG, PNG or WebP image");
  ExpectRejected("hello, world", "not a JPEG, PNG or WebP image");
  ExpectRejected(Bytes("RIFF\x04\0\0\0WAVEfmt "), "not a JPEG, PNG or WebP image");
  ExpectRejected(std::string(1000, '\0'), "not a JPEG, PNG or WebP image");
}

TEST(ImageCheckTest, RejectsPngOfZeroOrHugeDimensions) {
  ExpectAccepted(PngDeclaring(1, 1), "image/png", 1, 1);  // the hand-made PNG is valid
  ExpectRejected(PngDeclaring(0, 48), "the image is 0x48 pixels");
  ExpectRejected(PngDeclaring(0, 0), "the image is 0x0 pixels");
  ExpectRejected(PngDeclaring(30000, 30000),
                 "the image is 30000x30000 pixels; at most 20000 per side and 100 megapixels");
  ExpectRejected(PngDeclaring(30000, 10), "the image is 30000x10 pixels");
  ExpectRejected(PngDeclaring(20000, 20000), "the image is 20000x20000 pixels");  // 400 MP
  ExpectRejected(PngDeclaring(0xFFFFFFFFu, 1), "the image is 4294967295x1 pixels");
  // Within the limits, but the image data is one row: rejected as truncated.
  ExpectRejected(PngDeclaring(20000, 5000), "PNG data is corrupt");
}

TEST(ImageCheckTest, RejectsJpegOfHugeDimensions) {
  const std::string jpeg = EncodeJpeg(Gradient(64, 48), false);
  const size_t sof = JpegSof(jpeg);
  auto declaring = [&](uint16_t width, uint16_t height) {
    std::string s = jpeg;
    s[sof + 5] = static_cast<char>(height >> 8);
    s[sof + 6] = static_cast<char>(height & 0xFF);
    s[sof + 7] = static_cast<char>(width >> 8);
    s[sof + 8] = static_cast<char>(width & 0xFF);
    return s;
  };
  ExpectRejected(declaring(65000, 65000),
                 "the image is 65000x65000 pixels; at most 20000 per side and 100 megapixels");
  ExpectRejected(declaring(30000, 10),
                 "the image is 30000x10 pixels; at most 20000 per side and 100 megapixels");
  ExpectRejected(declaring(15000, 15000), "the image is 15000x15000 pixels");  // 225 MP
  ExpectRejected(declaring(64, 0), "JPEG data is corrupt");  // libjpeg refuses an empty image
  // Within the limits, but the data is for 64x48: rejected as truncated.
  ExpectRejected(declaring(8000, 8000), "JPEG data is corrupt");
}

TEST(ImageCheckTest, RejectsWebpOfHugeDimensions) {
  // The lossy frame header holds 14-bit dimensions: 16000x16000 is 256 megapixels.
  std::string lossy = EncodeWebp(Opaque(Gradient(64, 48)), false);
  ASSERT_EQ(lossy.substr(12, 4), "VP8 ");
  PutLittleEndian(&lossy, 20 + 6, 16000, 2);
  PutLittleEndian(&lossy, 20 + 8, 16000, 2);
  ExpectRejected(lossy, "the image is 16000x16000 pixels");
}

TEST(ImageCheckTest, RejectsAnimatedWebp) {
  // RIFF, VP8X (animation flag), ANIM, and two ANMF frames each holding the lossy VP8 chunk.
  const std::string still = EncodeWebp(Opaque(Gradient(64, 48)), false);
  const std::string vp8_chunk = still.substr(12);
  auto chunk = [](absl::string_view type, const std::string& data) {
    std::string c(type);
    c += std::string(4, '\0');
    PutLittleEndian(&c, 4, static_cast<uint32_t>(data.size()), 4);
    c += data;
    if (data.size() % 2 == 1) c += '\0';
    return c;
  };
  std::string vp8x(10, '\0');
  vp8x[0] = 0x02;  // animation
  PutLittleEndian(&vp8x, 4, 64 - 1, 3);
  PutLittleEndian(&vp8x, 7, 48 - 1, 3);
  std::string anim(6, '\0');  // background colour, loop count 0
  std::string anmf(16, '\0');
  PutLittleEndian(&anmf, 6, 64 - 1, 3);
  PutLittleEndian(&anmf, 9, 48 - 1, 3);
  PutLittleEndian(&anmf, 12, 100, 3);  // duration
  anmf += vp8_chunk;
  std::string body = "WEBP" + chunk("VP8X", vp8x) + chunk("ANIM", anim) + chunk("ANMF", anmf) +
                     chunk("ANMF", anmf);
  std::string riff = "RIFF" + std::string(4, '\0') + body;
  PutLittleEndian(&riff, 4, static_cast<uint32_t>(body.size()), 4);
  ExpectRejected(riff, "animated WebP is not accepted");
}

// Random damage to every fixture never crashes, hangs or leaks (run under ASan/UBSan and
// valgrind), and never yields anything but acceptance or INVALID_ARGUMENT.
TEST(ImageCheckTest, SurvivesRandomDamage) {
  std::mt19937 random(1234);
  for (const Fixture& f : AllFixtures()) {
    SCOPED_TRACE(f.name);
    int rejected = 0;
    for (int round = 0; round < 150; ++round) {
      std::string damaged = f.bytes;
      const int flips = 1 + static_cast<int>(random() % 4);
      for (int i = 0; i < flips; ++i) {
        const size_t pos = random() % damaged.size();
        damaged[pos] = static_cast<char>(random());
      }
      if (round % 3 == 0) damaged.resize(random() % damaged.size());
      const absl::StatusOr<ImageInfo> info = CheckImage(damaged);
      if (!info.ok()) {
        ++rejected;
        EXPECT_TRUE(absl::IsInvalidArgument(info.status())) << info.status();
        EXPECT_FALSE(info.status().message().empty());
      } else {
        EXPECT_GT(info->width, 0);
        EXPECT_GT(info->height, 0);
      }
    }
    EXPECT_GE(rejected, 50);  // at least every truncated one
  }
}

}  // namespace
}  // namespace gridline::domain
