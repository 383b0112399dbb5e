#include "server/app/tls.h"

#include <grpcpp/security/server_credentials.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace gridline::app {
namespace {

using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;
using Certificate = std::unique_ptr<X509, decltype(&X509_free)>;
using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

// "field path: problem", the form every error of this file takes.
absl::Status Bad(const std::string& field, const std::string& path, const std::string& problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, " ", path, ": ", problem));
}

absl::StatusOr<std::string> ReadPem(const std::string& field, const std::string& path) {
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) return Bad(field, path, "is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) return Bad(field, path, "cannot read it");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The reason of OpenSSL's most recent error, and an empty error queue.
std::string TakeOpensslError() {
  const char* reason = ERR_reason_error_string(ERR_peek_last_error());
  std::string out = reason != nullptr ? reason : "unknown error";
  ERR_clear_error();
  return out;
}

Bio MemoryBio(const std::string& pem) {
  return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
}

// OpenSSL's default asks for a passphrase on the terminal; a server must not wait for one.
int NoPassphrase(char*, int, int, void*) { return -1; }

// The first certificate of `pem`, after checking that every PEM certificate in it parses.
absl::StatusOr<Certificate> FirstCertificate(const std::string& path, const std::string& pem,
                                             const std::string& field) {
  ERR_clear_error();
  Bio bio = MemoryBio(pem);
  Certificate first(nullptr, &X509_free);
  for (int n = 1;; ++n) {
    Certificate cert(PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr), &X509_free);
    if (!cert) {
      unsigned long code = ERR_peek_last_error();
      if (ERR_GET_LIB(code) == ERR_LIB_PEM && ERR_GET_REASON(code) == PEM_R_NO_START_LINE) {
        ERR_clear_error();  // the end of the file
        break;
      }
      return Bad(field, path,
                 absl::StrCat("certificate ", n, " is malformed (", TakeOpensslError(), ")"));
    }
    if (!first) first = std::move(cert);
  }
  if (!first) return Bad(field, path, "holds no PEM certificate");
  if (X509_cmp_current_time(X509_get0_notAfter(first.get())) < 0) {
    Bio out(BIO_new(BIO_s_mem()), &BIO_free);
    ASN1_TIME_print(out.get(), X509_get0_notAfter(first.get()));
    char* text = nullptr;
    long length = BIO_get_mem_data(out.get(), &text);
    return Bad(field, path, absl::StrCat("the certificate expired on ", std::string(text, length)));
  }
  return first;
}

absl::StatusOr<Key> PrivateKey(const std::string& path, const std::string& pem,
                               const std::string& field) {
  ERR_clear_error();
  Bio bio = MemoryBio(pem);
  Key key(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr), &EVP_PKEY_free);
  if (!key) {
    std::string reason = TakeOpensslError();
    if (pem.find("PRIVATE KEY-----") == std::string::npos) {
      return Bad(field, path, "holds no PEM private key");
    }
    if (pem.find("ENCRYPTED") != std::string::npos) {
      return Bad(field, path, "the key is encrypted; the server needs it without a passphrase");
    }
    return Bad(field, path, absl::StrCat("the private key is malformed (", reason, ")"));
  }
  return key;
}

}  // namespace

absl::StatusOr<TlsFiles> LoadTlsFiles(const config::v1::TlsConfig& tls, const std::string& where) {
  const std::string chain_field = where + ".cert_chain_file";
  const std::string key_field = where + ".private_key_file";
  const std::string ca_field = where + ".client_ca_file";
  TlsFiles out;
  auto chain = ReadPem(chain_field, tls.cert_chain_file());
  if (!chain.ok()) return chain.status();
  auto key_pem = ReadPem(key_field, tls.private_key_file());
  if (!key_pem.ok()) return key_pem.status();

  // Checked here so that a bad file is reported by field and reason, not only in a TLS library's
  // log.
  auto certificate = FirstCertificate(tls.cert_chain_file(), *chain, chain_field);
  if (!certificate.ok()) return certificate.status();
  auto key = PrivateKey(tls.private_key_file(), *key_pem, key_field);
  if (!key.ok()) return key.status();
  if (X509_check_private_key(certificate->get(), key->get()) != 1) {
    ERR_clear_error();
    return Bad(key_field, tls.private_key_file(),
               absl::StrCat("is not the key of the first certificate of ", chain_field, " ",
                            tls.cert_chain_file()));
  }
  out.cert_chain_pem = *std::move(chain);
  out.private_key_pem = *std::move(key_pem);
  using Mode = config::v1::TlsConfig;
  out.client_certificates = tls.client_certificates() == Mode::REQUIRED   ? TlsFiles::kRequired
                            : tls.client_certificates() == Mode::OPTIONAL ? TlsFiles::kOptional
                                                                          : TlsFiles::kOff;
  if (out.client_certificates != TlsFiles::kOff) {
    auto ca = ReadPem(ca_field, tls.client_ca_file());
    if (!ca.ok()) return ca.status();
    auto first = FirstCertificate(tls.client_ca_file(), *ca, ca_field);
    if (!first.ok()) return first.status();
    out.client_ca_pem = *std::move(ca);
  }
  return out;
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const config::v1::ServerConfig& config) {
  if (!config.has_tls()) return grpc::InsecureServerCredentials();
  auto files = LoadTlsFiles(config.tls(), "tls");
  if (!files.ok()) return files.status();
  grpc::SslServerCredentialsOptions options(
      files->client_certificates == TlsFiles::kRequired
          ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
      : files->client_certificates == TlsFiles::kOptional
          ? GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY
          : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  options.pem_key_cert_pairs.push_back({files->private_key_pem, files->cert_chain_pem});
  if (files->client_certificates != TlsFiles::kOff) options.pem_root_certs = files->client_ca_pem;
  return grpc::SslServerCredentials(options);
}

}  // namespace gridline::app
