#include "server/domain/report_checks.h"

#include <cmath>

namespace gridline::domain {

void CheckText(FieldViolations& v, const std::string& field, const std::string& text, bool required,
               int max_chars) {
  int chars = 0;
  if (!IsValidUtf8(text, &chars)) {
    v.Add(field, "must be valid UTF-8");
  } else if (required && chars == 0) {
    v.Add(field, "is required");
  } else if (chars > max_chars) {
    v.Add(field, absl::StrCat("must be at most ", max_chars, " characters, got ", chars));
  }
}

void CheckClientId(FieldViolations& v, const std::string& field, const std::string& id,
                   const std::string& when_missing) {
  if (id.empty()) {
    v.Add(field, when_missing);
    return;
  }
  if (id.size() > static_cast<size_t>(kMaxRequestIdChars)) {
    v.Add(field, absl::StrCat("must be at most ", kMaxRequestIdChars, " characters"));
    return;
  }
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) {
      v.Add(field, "may only contain A-Z a-z 0-9 _ -");
      return;
    }
  }
}

bool IsValidUtf8(absl::string_view s, int* chars) {
  int n = 0;
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    int len;
    uint32_t cp;
    if (c < 0x80) {
      len = 1;
      cp = c;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (int k = 1; k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are invalid.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
      return false;
    }
    if (cp == 0) return false;  // NUL has no place in text fields
    i += len;
    ++n;
  }
  if (chars) *chars = n;
  return true;
}

double DistanceMetres(double lat1, double lng1, double lat2, double lng2) {
  constexpr double kEarthRadius = 6371008.8;
  constexpr double kRad = M_PI / 180.0;
  const double dlat = (lat2 - lat1) * kRad;
  const double dlng = (lng2 - lng1) * kRad;
  const double a =
      std::sin(dlat / 2) * std::sin(dlat / 2) +
      std::cos(lat1 * kRad) * std::cos(lat2 * kRad) * std::sin(dlng / 2) * std::sin(dlng / 2);
  return 2 * kEarthRadius * std::asin(std::min(1.0, std::sqrt(a)));
}

}  // namespace gridline::domain
