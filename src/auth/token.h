// Tokens (issue 12): JWTs signed with RS256 by an operator's private key and verified with the
// public keys the server is configured with (several at once, so that keys can be rotated),
// through libjwt. Scopes, after Neon's:
//   "admin"    the management API (timelines, checkpoint, status) and everything else;
//   "compute"  one timeline's pages, redo and aux files (a compute, pagectl follow, push);
//   "read"     one timeline's pages only.
// Claims: {"scope": ..., "timeline": NAME (compute and read; "main" when absent), "exp": seconds
// since the epoch (required), "iat": ...}. A token is carried as "authorization: Bearer <jwt>",
// in gRPC metadata and HTTP headers alike.
//
// Only RS256 is accepted, whatever a token's header says: a token that names HS256 would be
// checked with a public key as its HMAC secret (the algorithm confusion attack), one that names
// "none" with nothing.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace pageserver::auth {

enum class Scope { kAdmin, kCompute, kRead };

std::string_view ScopeName(Scope scope);
// InvalidArgument naming the scopes there are.
absl::StatusOr<Scope> ParseScope(std::string_view name);

inline constexpr char kMainTimeline[] = "main";

struct Claims {
  Scope scope = Scope::kRead;
  std::string timeline;  // for compute and read; empty for admin
  absl::Time expires;
};

class TokenVerifier {
 public:
  // `public_keys_pem`: PEM texts of RSA public keys; InvalidArgument for none, or one that is no
  // RSA public key (naming which).
  static absl::StatusOr<std::unique_ptr<TokenVerifier>> Create(
      std::vector<std::string> public_keys_pem);

  // The claims of `token`; Unauthenticated saying why not: malformed, not RS256, signed by no
  // configured key, expired at `now`, without "exp" or a known "scope". Thread-safe.
  absl::StatusOr<Claims> Verify(std::string_view token, absl::Time now) const;
  // The same for an "authorization" header's value, "Bearer <jwt>"; Unauthenticated when it is
  // empty or of another kind.
  absl::StatusOr<Claims> VerifyHeader(std::string_view header, absl::Time now) const;

 private:
  explicit TokenVerifier(std::vector<std::string> keys) : keys_(std::move(keys)) {}
  // Verify() without the cache and the expiry.
  absl::StatusOr<Claims> CheckSignatureAndClaims(std::string_view token) const;

  static constexpr size_t kMaxCachedTokens = 4096;
  const std::vector<std::string> keys_;
  // Tokens whose signature and claims were verified, by their text. A client sends the same
  // token with every call, and checking its signature through libjwt (which reads the PEM key
  // each time) costs about 400 us, four times a GetPage. A token's claims cannot change and the
  // keys are fixed for the verifier's life, so a verification stays true; only the expiry is
  // checked again, on every use. Refused tokens are not kept.
  mutable absl::Mutex cache_mu_;
  mutable absl::flat_hash_map<std::string, Claims> verified_ ABSL_GUARDED_BY(cache_mu_);
};

// OK when `claims` allow `need` on `timeline` (empty: main); PermissionDenied naming what they
// allow otherwise. admin allows everything; compute allows compute and read on its timeline;
// read allows read on its timeline.
absl::Status Authorize(const Claims& claims, Scope need, std::string_view timeline);

// A token of `scope` (for `timeline`, which admin tokens do not carry) valid for `ttl` from
// `now`, signed RS256 with the PEM RSA private key; InvalidArgument for an unusable key.
absl::StatusOr<std::string> MintToken(std::string_view private_key_pem, Scope scope,
                                      std::string_view timeline, absl::Duration ttl,
                                      absl::Time now);

}  // namespace pageserver::auth
