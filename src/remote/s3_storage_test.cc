// S3Storage against a real S3 server (radosgw, started by test/remote/s3_test.sh): the rules of
// remote_storage.h over HTTP. PAGESERVER_TEST_S3_URL names the bucket and endpoint, and the AWS_*
// variables the credentials; without them every test fails (this binary is only run by the
// script, which sets them).
#include "remote/s3_storage.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <thread>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "remote/retrying_storage.h"
#include "remote/testing/conformance.h"

namespace pageserver::remote {
namespace {

using Bytes = std::vector<uint8_t>;

using testing::Text;

class S3StorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* url = std::getenv("PAGESERVER_TEST_S3_URL");
    ASSERT_NE(url, nullptr) << "PAGESERVER_TEST_S3_URL is not set: run test/remote/s3_test.sh";
    auto location = ParseS3Url(url);
    ASSERT_TRUE(location.ok()) << location.status();
    // A prefix of its own per test: the bucket is shared by the whole run.
    location->prefix = absl::StrFormat(
        "%s%s%s-%d", location->prefix, location->prefix.empty() ? "" : "/",
        ::testing::UnitTest::GetInstance()->current_test_info()->name(),
        absl::ToUnixMicros(absl::Now()));
    location_ = *location;
    auto credentials = S3CredentialsFromEnvironment();
    ASSERT_TRUE(credentials.ok()) << credentials.status();
    credentials_ = *credentials;
    s3_ = std::make_unique<S3Storage>(location_, credentials_);
    const absl::Status bucket = s3_->CreateBucket();
    ASSERT_TRUE(bucket.ok()) << bucket;
  }
  S3Location location_;
  S3Credentials credentials_;
  std::unique_ptr<S3Storage> s3_;
};

TEST_F(S3StorageTest, AnObjectIsReadBackWholeOrByRange) {
  testing::ExpectObjectsReadBackWholeOrByRange(*s3_);
  const auto missing = s3_->Get("layers/b.delta", {});
  EXPECT_NE(missing.status().message().find("NoSuchKey"), std::string::npos) << missing.status();
}

TEST_F(S3StorageTest, NothingIsEverOverwritten) { testing::ExpectNothingOverwritten(*s3_); }

TEST_F(S3StorageTest, RacingWritersOfOneKeyMakeOneWholeObject) {
  testing::ExpectRacingWritersMakeOneWholeObject(
      [&] { return std::make_unique<S3Storage>(location_, credentials_); }, *s3_);
}

// Over the threshold, an object goes up in parts; it reads back whole and by range across a
// part boundary, and is no more overwritable than any other.
TEST_F(S3StorageTest, ALargeObjectGoesUpInPartsAndReadsBackExact) {
  s3_->SetMultipart(6 << 20, 5 << 20);
  std::vector<uint8_t> big(13 << 20);  // parts of 5, 5 and 3 MiB
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<uint8_t>(i * 2654435761u >> 13);
  ASSERT_TRUE(s3_->PutIfAbsent("layers/big", big).ok());
  auto whole = s3_->Get("layers/big", {});
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_TRUE(*whole == big) << "the object differs from what was put";
  auto across = s3_->Get("layers/big", {(5 << 20) - 10, 20});
  ASSERT_TRUE(across.ok()) << across.status();
  EXPECT_TRUE(std::equal(across->begin(), across->end(), big.begin() + (5 << 20) - 10));
  std::vector<uint8_t> other(big.size(), 7);
  EXPECT_TRUE(absl::IsAlreadyExists(s3_->PutIfAbsent("layers/big", other)));
  whole = s3_->Get("layers/big", {});
  ASSERT_TRUE(whole.ok());
  EXPECT_TRUE(*whole == big) << "a second multipart put overwrote the object";
}

TEST_F(S3StorageTest, ListPagesThroughEveryKeyUnderAPrefix) {
  // More keys than one ListObjectsV2 page (1000).
  constexpr int kKeys = 1100;
  std::vector<std::thread> writers;
  std::atomic<int> failed{0};
  for (int w = 0; w < 8; ++w) {
    writers.emplace_back([&, w] {
      S3Storage mine(location_, credentials_);
      for (int i = w; i < kKeys; i += 8) {
        if (!mine.PutIfAbsent(absl::StrFormat("many/%05d", i), Text("x")).ok()) ++failed;
      }
    });
  }
  for (std::thread& t : writers) t.join();
  ASSERT_EQ(failed.load(), 0);
  ASSERT_TRUE(s3_->PutIfAbsent("other", Text("yy")).ok());
  auto listed = s3_->List("many/");
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), static_cast<size_t>(kKeys));
  for (int i = 0; i < kKeys; ++i) {
    EXPECT_EQ((*listed)[i], (ObjectInfo{absl::StrFormat("many/%05d", i), 1}));
  }
  EXPECT_EQ(s3_->List("")->size(), static_cast<size_t>(kKeys + 1));
}

TEST_F(S3StorageTest, DeleteIsIdempotent) { testing::ExpectDeleteIdempotent(*s3_); }

TEST_F(S3StorageTest, WrongCredentialsAreRefusedNotRetried) {
  S3Storage forged(location_, {credentials_.access_key_id, "not-the-secret"});
  const absl::Status s = forged.PutIfAbsent("x", Text("x"));
  EXPECT_TRUE(absl::IsPermissionDenied(s)) << s;
  EXPECT_NE(s.message().find("SignatureDoesNotMatch"), std::string::npos) << s;
  EXPECT_FALSE(IsRetryable(s));
}

TEST_F(S3StorageTest, AnUnreachableEndpointIsRetryable) {
  S3Location nowhere = location_;
  nowhere.endpoint = "http://127.0.0.1:1";  // nothing listens on port 1
  S3Storage storage(nowhere, credentials_, absl::Seconds(5));
  const absl::Status s = storage.PutIfAbsent("x", Text("x"));
  EXPECT_TRUE(IsRetryable(s)) << s;
}

}  // namespace
}  // namespace pageserver::remote
