#include "auth/tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace pageserver::auth {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Bio = std::unique_ptr<BIO, BioFree>;
using Certificate = std::unique_ptr<X509, X509Free>;
using PrivateKey = std::unique_ptr<EVP_PKEY, PkeyFree>;

// OpenSSL's queued error, as text, emptying the queue (it is per thread and would otherwise
// show up in an unrelated later error).
std::string OpenSslError() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "no PEM block of that kind";
  char text[256];
  ERR_error_string_n(code, text, sizeof(text));
  return text;
}

absl::StatusOr<std::string> ReadPem(const char* flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(flag, " ", path, ": cannot read it"));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Bio BioOf(const std::string& pem) {
  return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// The first certificate of `pem`, checked to be within its validity period.
absl::StatusOr<Certificate> FirstCertificate(const char* flag, const std::string& path,
                                             const std::string& pem) {
  Bio bio = BioOf(pem);
  Certificate cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " ", path, ": not a PEM certificate (", OpenSslError(), ")"));
  }
  if (X509_cmp_current_time(X509_get0_notAfter(cert.get())) < 0) {
    return absl::InvalidArgumentError(absl::StrCat(flag, " ", path, ": the certificate expired"));
  }
  return cert;
}

// Reads cert and key and checks that the key is the certificate's.
absl::Status LoadPair(const TlsFiles& files, TlsPems& out) {
  absl::StatusOr<std::string> cert_pem = ReadPem("--tls-cert", files.cert_path);
  if (!cert_pem.ok()) return cert_pem.status();
  absl::StatusOr<std::string> key_pem = ReadPem("--tls-key", files.key_path);
  if (!key_pem.ok()) return key_pem.status();
  absl::StatusOr<Certificate> cert = FirstCertificate("--tls-cert", files.cert_path, *cert_pem);
  if (!cert.ok()) return cert.status();
  Bio bio = BioOf(*key_pem);
  PrivateKey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    return absl::InvalidArgumentError(absl::StrCat("--tls-key ", files.key_path,
                                                   ": not an unencrypted PEM private key (",
                                                   OpenSslError(), ")"));
  }
  if (X509_check_private_key(cert->get(), key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat(
        "--tls-key ", files.key_path, " is not the key of the certificate ", files.cert_path));
  }
  out.cert = std::move(*cert_pem);
  out.key = std::move(*key_pem);
  return absl::OkStatus();
}

absl::Status LoadCa(const TlsFiles& files, TlsPems& out) {
  absl::StatusOr<std::string> ca_pem = ReadPem("--tls-ca", files.ca_path);
  if (!ca_pem.ok()) return ca_pem.status();
  absl::StatusOr<Certificate> ca = FirstCertificate("--tls-ca", files.ca_path, *ca_pem);
  if (!ca.ok()) return ca.status();
  out.ca = std::move(*ca_pem);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TlsPems> LoadServerTls(const TlsFiles& files) {
  if (files.cert_path.empty() || files.key_path.empty()) {
    return absl::InvalidArgumentError(
        "TLS needs both --tls-cert and --tls-key (--tls-ca alone is for clients' certificates)");
  }
  TlsPems pems;
  if (absl::Status s = LoadPair(files, pems); !s.ok()) return s;
  if (!files.ca_path.empty()) {
    if (absl::Status s = LoadCa(files, pems); !s.ok()) return s;
  }
  return pems;
}

absl::StatusOr<TlsPems> LoadClientTls(const TlsFiles& files) {
  if (files.ca_path.empty()) {
    return absl::InvalidArgumentError(
        "TLS needs --tls-ca, the CA that signed the server's certificate");
  }
  if (files.cert_path.empty() != files.key_path.empty()) {
    return absl::InvalidArgumentError("a client certificate needs both --tls-cert and --tls-key");
  }
  TlsPems pems;
  if (absl::Status s = LoadCa(files, pems); !s.ok()) return s;
  if (!files.cert_path.empty()) {
    if (absl::Status s = LoadPair(files, pems); !s.ok()) return s;
  }
  return pems;
}

}  // namespace pageserver::auth
