#include "auth/token.h"

#include <errno.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"

namespace pageserver::auth {
namespace {

struct JwtDeleter {
  void operator()(jwt_t* j) const { jwt_free(j); }
};
using Jwt = std::unique_ptr<jwt_t, JwtDeleter>;

// Whether `pem` holds an RSA key: a public one, or (`private_key`) a private one.
bool IsRsaKey(std::string_view pem, bool private_key) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return false;
  EVP_PKEY* key = private_key ? PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr)
                              : PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  const bool rsa = key != nullptr && EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA;
  EVP_PKEY_free(key);
  return rsa;
}

absl::Status Unauthenticated(const std::string& why) {
  return absl::UnauthenticatedError("token refused: " + why);
}

}  // namespace

std::string_view ScopeName(Scope scope) {
  switch (scope) {
    case Scope::kAdmin:
      return "admin";
    case Scope::kCompute:
      return "compute";
    case Scope::kRead:
      return "read";
  }
  return "?";
}

absl::StatusOr<Scope> ParseScope(std::string_view name) {
  for (Scope s : {Scope::kAdmin, Scope::kCompute, Scope::kRead}) {
    if (ScopeName(s) == name) return s;
  }
  return absl::InvalidArgumentError(
      absl::StrFormat("\"%s\" is no scope: admin, compute or read", name));
}

absl::StatusOr<std::unique_ptr<TokenVerifier>> TokenVerifier::Create(
    std::vector<std::string> public_keys_pem) {
  if (public_keys_pem.empty()) return absl::InvalidArgumentError("no public key to verify tokens");
  for (size_t i = 0; i < public_keys_pem.size(); ++i) {
    if (!IsRsaKey(public_keys_pem[i], /*private_key=*/false)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("public key %d is no PEM RSA public key", i + 1));
    }
  }
  return std::unique_ptr<TokenVerifier>(new TokenVerifier(std::move(public_keys_pem)));
}

absl::StatusOr<Claims> TokenVerifier::Verify(std::string_view token, absl::Time now) const {
  std::optional<Claims> claims;
  {
    absl::ReaderMutexLock lock(&cache_mu_);
    if (auto it = verified_.find(absl::string_view(token.data(), token.size()));
        it != verified_.end()) {
      claims = it->second;
    }
  }
  if (!claims) {
    absl::StatusOr<Claims> checked = CheckSignatureAndClaims(token);
    if (!checked.ok()) return checked.status();
    claims = *checked;
    absl::MutexLock lock(&cache_mu_);
    // Bounded: a verifier that has seen this many distinct valid tokens starts over.
    if (verified_.size() >= kMaxCachedTokens) verified_.clear();
    verified_.emplace(std::string(token), *claims);
  }
  if (claims->expires <= now) {
    return Unauthenticated(absl::StrFormat(
        "expired at %s",
        absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", claims->expires, absl::UTCTimeZone())));
  }
  return *claims;
}

absl::StatusOr<Claims> TokenVerifier::CheckSignatureAndClaims(std::string_view token) const {
  if (token.empty()) return Unauthenticated("empty");
  if (std::count(token.begin(), token.end(), '.') != 2) {
    return Unauthenticated("not a JWT (header.payload.signature)");
  }
  const std::string text(token);
  Jwt verified;
  for (const std::string& key : keys_) {
    jwt_t* decoded = nullptr;
    const int rc =
        jwt_decode(&decoded, text.c_str(), reinterpret_cast<const unsigned char*>(key.data()),
                   static_cast<int>(key.size()));
    Jwt owned(decoded);
    // libjwt checks with the algorithm the token names: only an RS256 check counts.
    if (rc == 0 && owned && jwt_get_alg(owned.get()) == JWT_ALG_RS256) {
      verified = std::move(owned);
      break;
    }
  }
  if (!verified) {
    return Unauthenticated(
        "its signature is not RS256 by any configured public key (forged, "
        "signed with a key rotated out, or malformed)");
  }
  errno = 0;
  const long exp = jwt_get_grant_int(verified.get(), "exp");
  if (errno != 0 || exp <= 0) return Unauthenticated("no \"exp\" claim");
  Claims claims;
  claims.expires = absl::FromUnixSeconds(exp);
  const char* scope = jwt_get_grant(verified.get(), "scope");
  if (scope == nullptr) return Unauthenticated("no \"scope\" claim");
  absl::StatusOr<Scope> parsed = ParseScope(scope);
  if (!parsed.ok()) return Unauthenticated(std::string(parsed.status().message()));
  claims.scope = *parsed;
  if (claims.scope != Scope::kAdmin) {
    const char* timeline = jwt_get_grant(verified.get(), "timeline");
    claims.timeline = timeline != nullptr ? timeline : kMainTimeline;
  }
  return claims;
}

absl::StatusOr<Claims> TokenVerifier::VerifyHeader(std::string_view header, absl::Time now) const {
  if (header.empty()) return Unauthenticated("no \"authorization: Bearer <token>\" header");
  constexpr std::string_view kBearer = "Bearer ";
  const absl::string_view text(header.data(), header.size());
  if (!absl::StartsWithIgnoreCase(text, absl::string_view(kBearer.data(), kBearer.size()))) {
    return Unauthenticated("the authorization header is not \"Bearer <token>\"");
  }
  const absl::string_view token = absl::StripAsciiWhitespace(text.substr(kBearer.size()));
  return Verify(std::string_view(token.data(), token.size()), now);
}

absl::Status Authorize(const Claims& claims, Scope need, std::string_view timeline) {
  if (claims.scope == Scope::kAdmin) return absl::OkStatus();
  const std::string_view on = timeline.empty() ? std::string_view(kMainTimeline) : timeline;
  if (need == Scope::kAdmin) {
    return absl::PermissionDeniedError(
        absl::StrFormat("a %s token for timeline %s: this needs an admin token",
                        ScopeName(claims.scope), claims.timeline));
  }
  if (claims.timeline != on) {
    return absl::PermissionDeniedError(
        absl::StrFormat("a %s token for timeline %s: not for timeline %s", ScopeName(claims.scope),
                        claims.timeline, on));
  }
  if (need == Scope::kCompute && claims.scope == Scope::kRead) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "a read token for timeline %s: writing needs a compute token", claims.timeline));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> MintToken(std::string_view private_key_pem, Scope scope,
                                      std::string_view timeline, absl::Duration ttl,
                                      absl::Time now) {
  if (!IsRsaKey(private_key_pem, /*private_key=*/true)) {
    return absl::InvalidArgumentError("the private key is no PEM RSA private key");
  }
  jwt_t* made = nullptr;
  if (jwt_new(&made) != 0) return absl::InternalError("jwt_new failed");
  Jwt token(made);
  const std::string key(private_key_pem);
  const std::string scope_name(ScopeName(scope));
  if (jwt_add_grant(token.get(), "scope", scope_name.c_str()) != 0 ||
      jwt_add_grant_int(token.get(), "iat", absl::ToUnixSeconds(now)) != 0 ||
      jwt_add_grant_int(token.get(), "exp", absl::ToUnixSeconds(now + ttl)) != 0) {
    return absl::InternalError("adding the token's claims failed");
  }
  if (scope != Scope::kAdmin) {
    const std::string name = timeline.empty() ? kMainTimeline : std::string(timeline);
    if (jwt_add_grant(token.get(), "timeline", name.c_str()) != 0) {
      return absl::InternalError("adding the token's timeline failed");
    }
  }
  if (jwt_set_alg(token.get(), JWT_ALG_RS256, reinterpret_cast<const unsigned char*>(key.data()),
                  static_cast<int>(key.size())) != 0) {
    return absl::InvalidArgumentError("the private key cannot sign RS256");
  }
  char* encoded = jwt_encode_str(token.get());
  if (encoded == nullptr) return absl::InternalError("signing the token failed");
  std::string out(encoded);
  std::free(encoded);
  return out;
}

}  // namespace pageserver::auth
