// Tokens: what is minted verifies with its scope and timeline, under key rotation; and every kind
// of bad token is refused as Unauthenticated (expired, forged, signed by a key rotated out,
// HS256 with the public key as secret, "none", no expiry, malformed, a header of another kind),
// every wrong scope or timeline as PermissionDenied. Keys are made by OpenSSL in the test.
#include "auth/token.h"

#include <gtest/gtest.h>
#include <jwt.h>

#include <cstdlib>

#include "auth/testing/test_keys.h"

namespace pageserver::auth {
namespace {

using testing::KeyPair;
using testing::NewRsaKey;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

class TokenTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    key1_ = new KeyPair(NewRsaKey());
    key2_ = new KeyPair(NewRsaKey());
  }
  static std::unique_ptr<TokenVerifier> Verifier(std::vector<std::string> keys) {
    auto v = TokenVerifier::Create(std::move(keys));
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? std::move(*v) : nullptr;
  }
  static std::string Mint(const KeyPair& key, Scope scope, std::string_view timeline = "",
                          absl::Duration ttl = absl::Hours(1)) {
    auto t = MintToken(key.private_pem, scope, timeline, ttl, kNow);
    EXPECT_TRUE(t.ok()) << t.status();
    return t.ok() ? *t : "";
  }
  // A token libjwt signs as told, with the claims given, for the attacks below.
  static std::string Crafted(jwt_alg_t alg, const std::string& key, bool with_exp) {
    jwt_t* j = nullptr;
    EXPECT_EQ(jwt_new(&j), 0);
    jwt_add_grant(j, "scope", "admin");
    if (with_exp) jwt_add_grant_int(j, "exp", absl::ToUnixSeconds(kNow + absl::Hours(1)));
    EXPECT_EQ(
        jwt_set_alg(j, alg,
                    key.empty() ? nullptr : reinterpret_cast<const unsigned char*>(key.data()),
                    static_cast<int>(key.size())),
        0);
    char* s = jwt_encode_str(j);
    std::string out = s != nullptr ? s : "";
    std::free(s);
    jwt_free(j);
    return out;
  }
  static void ExpectUnauthenticated(const TokenVerifier& v, const std::string& token,
                                    const std::string& says) {
    auto claims = v.Verify(token, kNow);
    EXPECT_TRUE(absl::IsUnauthenticated(claims.status())) << token << ": " << claims.status();
    EXPECT_NE(claims.status().message().find(says), std::string_view::npos) << claims.status();
  }

  static KeyPair* key1_;
  static KeyPair* key2_;
};
KeyPair* TokenTest::key1_ = nullptr;
KeyPair* TokenTest::key2_ = nullptr;

TEST_F(TokenTest, MintedTokensVerifyWithTheirScopeAndTimeline) {
  auto v = Verifier({key1_->public_pem});
  auto admin = v->Verify(Mint(*key1_, Scope::kAdmin), kNow);
  ASSERT_TRUE(admin.ok()) << admin.status();
  EXPECT_EQ(admin->scope, Scope::kAdmin);
  EXPECT_EQ(admin->timeline, "");
  EXPECT_EQ(admin->expires, kNow + absl::Hours(1));
  auto compute = v->VerifyHeader("Bearer " + Mint(*key1_, Scope::kCompute), kNow);
  ASSERT_TRUE(compute.ok()) << compute.status();
  EXPECT_EQ(compute->scope, Scope::kCompute);
  EXPECT_EQ(compute->timeline, "main");
  auto read = v->Verify(Mint(*key1_, Scope::kRead, "dev"), kNow);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->scope, Scope::kRead);
  EXPECT_EQ(read->timeline, "dev");
}

TEST_F(TokenTest, BothKeysVerifyDuringARotationAndTheOldOneNotAfter) {
  const std::string old_token = Mint(*key1_, Scope::kAdmin);
  const std::string new_token = Mint(*key2_, Scope::kAdmin);
  auto during = Verifier({key1_->public_pem, key2_->public_pem});
  EXPECT_TRUE(during->Verify(old_token, kNow).ok());
  EXPECT_TRUE(during->Verify(new_token, kNow).ok());
  auto after = Verifier({key2_->public_pem});
  EXPECT_TRUE(after->Verify(new_token, kNow).ok());
  ExpectUnauthenticated(*after, old_token, "rotated out");
}

TEST_F(TokenTest, BadTokensAreUnauthenticated) {
  auto v = Verifier({key1_->public_pem});
  ExpectUnauthenticated(*v, Mint(*key1_, Scope::kAdmin, "", absl::Seconds(-1)), "expired at");
  // Forged: another token's claims under this one's signature, and a changed signature byte.
  const std::string read = Mint(*key1_, Scope::kRead);
  const std::string admin = Mint(*key1_, Scope::kAdmin);
  const auto parts = [](const std::string& t) {
    const size_t a = t.find('.'), b = t.rfind('.');
    return std::make_tuple(t.substr(0, a), t.substr(a + 1, b - a - 1), t.substr(b + 1));
  };
  const auto [rh, rp, rs] = parts(read);
  const auto [ah, ap, as] = parts(admin);
  ExpectUnauthenticated(*v, rh + "." + ap + "." + rs, "signature");
  std::string flipped = read;
  flipped[flipped.size() - 5] = flipped[flipped.size() - 5] == 'A' ? 'B' : 'A';
  ExpectUnauthenticated(*v, flipped, "signature");
  // Algorithm confusion: HS256 with the public key as the secret, and no signature at all.
  ExpectUnauthenticated(*v, Crafted(JWT_ALG_HS256, key1_->public_pem, true), "signature");
  ExpectUnauthenticated(*v, Crafted(JWT_ALG_NONE, "", true), "signature");
  ExpectUnauthenticated(*v, Crafted(JWT_ALG_RS256, key1_->private_pem, false), "no \"exp\"");
  ExpectUnauthenticated(*v, "", "empty");
  ExpectUnauthenticated(*v, "abc", "not a JWT");
  ExpectUnauthenticated(*v, "a.b.c", "signature");
  for (const char* header : {"", "Basic dXNlcjpwdw==", "Bearer", "Bearer "}) {
    auto claims = v->VerifyHeader(header, kNow);
    EXPECT_TRUE(absl::IsUnauthenticated(claims.status())) << header << ": " << claims.status();
  }
}

// Verifications are kept (a client sends the same token with every call): a kept token still
// expires, and a token that differs from a kept one by a byte is checked afresh.
TEST_F(TokenTest, AKeptVerificationStillExpiresAndCoversOnlyItsText) {
  auto verifier = Verifier({key1_->public_pem});
  const std::string token = Mint(*key1_, Scope::kCompute, "main", absl::Minutes(5));
  ASSERT_TRUE(verifier->Verify(token, kNow).ok());
  ASSERT_TRUE(verifier->Verify(token, kNow + absl::Minutes(4)).ok());
  absl::StatusOr<Claims> late = verifier->Verify(token, kNow + absl::Minutes(6));
  EXPECT_TRUE(absl::IsUnauthenticated(late.status())) << late.status();
  EXPECT_NE(late.status().message().find("expired"), std::string::npos) << late.status();
  std::string altered = token;
  altered[altered.size() - 3] = altered[altered.size() - 3] == 'A' ? 'B' : 'A';
  EXPECT_TRUE(absl::IsUnauthenticated(verifier->Verify(altered, kNow).status()));
}

TEST_F(TokenTest, ScopesAndTimelinesAreAuthorized) {
  const Claims admin{Scope::kAdmin, "", kNow};
  const Claims compute_main{Scope::kCompute, "main", kNow};
  const Claims read_dev{Scope::kRead, "dev", kNow};
  EXPECT_TRUE(Authorize(admin, Scope::kAdmin, "").ok());
  EXPECT_TRUE(Authorize(admin, Scope::kCompute, "dev").ok());
  EXPECT_TRUE(Authorize(compute_main, Scope::kCompute, "").ok());
  EXPECT_TRUE(Authorize(compute_main, Scope::kRead, "main").ok());
  EXPECT_TRUE(absl::IsPermissionDenied(Authorize(compute_main, Scope::kCompute, "dev")));
  EXPECT_TRUE(absl::IsPermissionDenied(Authorize(compute_main, Scope::kAdmin, "")));
  EXPECT_TRUE(Authorize(read_dev, Scope::kRead, "dev").ok());
  EXPECT_TRUE(absl::IsPermissionDenied(Authorize(read_dev, Scope::kCompute, "dev")));
  EXPECT_TRUE(absl::IsPermissionDenied(Authorize(read_dev, Scope::kRead, "main")));
}

TEST_F(TokenTest, UnusableKeysAndScopesAreRefused) {
  EXPECT_TRUE(absl::IsInvalidArgument(TokenVerifier::Create({}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(TokenVerifier::Create({"not a key"}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(TokenVerifier::Create({key1_->private_pem + "x"}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      MintToken(key1_->public_pem, Scope::kAdmin, "", absl::Hours(1), kNow).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ParseScope("root").status()));
}

}  // namespace
}  // namespace pageserver::auth
