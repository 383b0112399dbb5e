#include "server/util/text.h"

namespace gridline::util {

namespace {
// The longest prefix of `text` of at most `max_bytes` bytes that ends on a character boundary.
size_t CutPoint(absl::string_view text, size_t max_bytes) {
  size_t cut = max_bytes;
  // Back up over continuation bytes (10xxxxxx) to the start of the character that was cut.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return cut;
}
}  // namespace

std::string TruncateUtf8(absl::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  std::string out(text.substr(0, CutPoint(text, max_bytes)));
  out += " …";
  return out;
}

void CutUtf8(std::string* s, size_t max_bytes) {
  if (s->size() > max_bytes) s->resize(CutPoint(*s, max_bytes));
}

}  // namespace gridline::util
