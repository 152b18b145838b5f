// Test-only: RSA key pairs made by OpenSSL, as PEM texts, for tests that mint and verify tokens.
// Header-only; link OpenSSL::Crypto.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <stdexcept>
#include <string>

namespace pageserver::auth::testing {

struct KeyPair {
  std::string private_pem, public_pem;
};

inline std::string DrainBio(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

// A new 2048-bit RSA key pair.
inline KeyPair NewRsaKey() {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  if (key == nullptr) throw std::runtime_error("EVP_RSA_gen failed");
  BIO* priv = BIO_new(BIO_s_mem());
  BIO* pub = BIO_new(BIO_s_mem());
  const bool ok = PEM_write_bio_PrivateKey(priv, key, nullptr, nullptr, 0, nullptr, nullptr) == 1 &&
                  PEM_write_bio_PUBKEY(pub, key) == 1;
  EVP_PKEY_free(key);
  KeyPair pair{DrainBio(priv), DrainBio(pub)};
  if (!ok) throw std::runtime_error("writing the key pair as PEM failed");
  return pair;
}

}  // namespace pageserver::auth::testing
