// The --remote URL and key rules of remote_storage.h.
#include "remote/remote_storage.h"

#include <gtest/gtest.h>

#include "common/testing/temp_dir.h"
#include "remote/s3_location.h"

namespace pageserver::remote {
namespace {

TEST(RemoteUrlTest, S3UrlsArePathStyleLocations) {
  auto l = ParseS3Url("s3://my-bucket/ps/tenant1/?endpoint=http://127.0.0.1:7480/&region=r1");
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(l->bucket, "my-bucket");
  EXPECT_EQ(l->prefix, "ps/tenant1");
  EXPECT_EQ(l->endpoint, "http://127.0.0.1:7480");
  EXPECT_EQ(l->region, "r1");
  auto bare = ParseS3Url("s3://bucket");
  ASSERT_TRUE(bare.ok()) << bare.status();
  EXPECT_EQ(bare->prefix, "");
  EXPECT_EQ(bare->endpoint, "https://s3.us-east-1.amazonaws.com");
}

TEST(RemoteUrlTest, BadUrlsAreRefusedNamingThePart) {
  const std::pair<const char*, const char*> cases[] = {
      {"s3://B/x", "bucket \"B\""},
      {"s3://ab", "bucket \"ab\""},
      {"s3://bucket/a//b", "prefix"},
      {"s3://bucket/../b", "prefix"},
      {"s3://bucket?endpoint=ftp://x", "endpoint \"ftp://x\""},
      {"s3://bucket?colour=red", "unknown parameter \"colour\""},
  };
  for (const auto& [url, says] : cases) {
    auto l = ParseS3Url(url);
    ASSERT_TRUE(absl::IsInvalidArgument(l.status())) << url << ": " << l.status();
    EXPECT_NE(l.status().message().find(says), std::string::npos) << l.status();
  }
  EXPECT_TRUE(absl::IsInvalidArgument(OpenRemoteStorage("ftp://x").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(OpenRemoteStorage("file://relative/path").status()));
}

TEST(RemoteUrlTest, AFileUrlOpensALocalDirectory) {
  pageserver::testing::TempDir dir("remote_url_test");
  const std::string root = (dir.path() / "b").string();
  auto storage = OpenRemoteStorage("file://" + root);
  ASSERT_TRUE(storage.ok()) << storage.status();
  EXPECT_EQ((*storage)->Describe(), "file://" + root);
  ASSERT_TRUE((*storage)->PutIfAbsent("x", std::vector<uint8_t>{1}).ok());
  EXPECT_TRUE(std::filesystem::exists(root + "/x"));
}

TEST(RemoteKeyTest, KeysAreSlashJoinedPlainSegments) {
  EXPECT_TRUE(ValidateKey("tenants/t1/timelines/main/layers/000-001.delta").ok());
  EXPECT_TRUE(ValidateKey("a").ok());
  for (const char* bad : {"", "/a", "a/", "a//b", ".", "..", "a/./b", "a b", "a\\b", "a?b"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(ValidateKey(bad))) << "\"" << bad << "\"";
  }
}

}  // namespace
}  // namespace pageserver::remote
