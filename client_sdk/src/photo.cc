#include "gridline/client/photo.h"

#include <openssl/evp.h>

#include <fstream>
#include <iterator>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace gridline::client {

StatusOr<Photo> Photo::FromFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read photo ", path));
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat("error reading photo ", path));
  Photo photo;
  photo.bytes = std::move(bytes).str();
  auto slash = path.find_last_of('/');
  photo.file_name = slash == std::string::npos ? path : path.substr(slash + 1);
  return photo;
}

std::string Sha256Hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

}  // namespace gridline::client
