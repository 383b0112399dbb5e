#include "server/util/sha256.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdexcept>

#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"

namespace gridline::util {

std::string Sha256Hex(absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), len));
}

std::string CertificateSha256(absl::string_view pem) {
  constexpr absl::string_view kBegin = "-----BEGIN CERTIFICATE-----";
  constexpr absl::string_view kEnd = "-----END CERTIFICATE-----";
  const size_t begin = pem.find(kBegin);
  if (begin == absl::string_view::npos) return "";
  const size_t body = begin + kBegin.size();
  const size_t end = pem.find(kEnd, body);
  if (end == absl::string_view::npos) return "";
  std::string base64;
  for (char c : pem.substr(body, end - body)) {
    if (c != '\n' && c != '\r' && c != ' ' && c != '\t') base64.push_back(c);
  }
  std::string der;
  // DER of a certificate starts with a SEQUENCE (0x30).
  if (!absl::Base64Unescape(base64, &der) || der.empty() || der[0] != 0x30) return "";
  return Sha256Hex(der);
}

std::string RandomHex(int bytes) {
  std::string buf(static_cast<size_t>(bytes), '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(buf.data()), bytes) != 1) {
    std::abort();  // no entropy: nothing sensible to do
  }
  return absl::BytesToHexString(buf);
}

}  // namespace gridline::util
