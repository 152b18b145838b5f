// LayerUploader with a real LocalStorage "bucket" (and injected faults): every layer a manifest
// names is in the bucket with its exact bytes before the manifest's index is, an upload that
// meets its own earlier object goes on, and one that meets other bytes under a name stops.
#include "storage/layer_uploader.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_format.h"
#include "common/testing/temp_dir.h"
#include "remote/local_storage.h"
#include "remote/retrying_storage.h"
#include "remote/testing/fault_injecting_storage.h"
#include "remote/testing/forwarding_storage.h"

namespace pageserver::storage {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

class LayerUploaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(layers_);
    auto bucket = remote::LocalStorage::Open((dir_.path() / "bucket").string());
    ASSERT_TRUE(bucket.ok()) << bucket.status();
    bucket_ = std::move(*bucket);
  }
  // A layer file of `size` bytes that say which file they are.
  std::string AddLayer(const std::string& name, size_t size) {
    std::ofstream out(layers_ / name, std::ios::binary);
    for (size_t i = 0; i < size; ++i) out.put(static_cast<char>(name.size() * 31 + i));
    return name;
  }
  Bytes LocalBytes(const std::string& name) {
    std::ifstream in(layers_ / name, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  Manifest ManifestAt(Lsn lsn, std::vector<std::string> layers) {
    Manifest m;
    m.base_lsn = Lsn(1000);
    m.disk_consistent_lsn = lsn;
    m.layers = std::move(layers);
    return m;
  }
  void ExpectInBucket(const Manifest& m) {
    for (const std::string& name : m.layers) {
      auto stored = bucket_->Get("tl/layers/" + name, {});
      ASSERT_TRUE(stored.ok()) << name << ": " << stored.status();
      EXPECT_EQ(*stored, LocalBytes(name)) << name;
    }
    auto index = bucket_->Get("tl/" + LayerUploader::IndexKey(m.disk_consistent_lsn), {});
    ASSERT_TRUE(index.ok()) << index.status();
    const std::string json = ManifestJson(m);
    EXPECT_EQ(*index, Bytes(json.begin(), json.end()));
  }

  pageserver::testing::TempDir dir_{"layer_uploader_test"};
  const fs::path layers_ = dir_.path() / "layers";
  std::unique_ptr<remote::LocalStorage> bucket_;
};

TEST_F(LayerUploaderTest, LayersThenTheIndexEachManifestOnce) {
  LayerUploader uploader(*bucket_, layers_.string(), "tl");
  const Manifest first = ManifestAt(Lsn(2000), {AddLayer("image_1.layer", 100000)});
  uploader.Schedule(first);
  ASSERT_TRUE(uploader.WaitUntilUploaded(absl::Now() + absl::Seconds(60)).ok());
  ExpectInBucket(first);
  EXPECT_EQ(uploader.remote_consistent_lsn(), Lsn(2000));
  const Manifest second =
      ManifestAt(Lsn(3000), {"image_1.layer", AddLayer("delta_1_2.layer", 5000)});
  uploader.Schedule(second);
  ASSERT_TRUE(uploader.WaitUntilUploaded(absl::Now() + absl::Seconds(60)).ok());
  ExpectInBucket(second);
  EXPECT_EQ(uploader.remote_consistent_lsn(), Lsn(3000));
  EXPECT_EQ(bucket_->List("tl/layers/")->size(), 2u);
}

TEST_F(LayerUploaderTest, ARestartFindsItsOwnObjectsAndGoesOn) {
  const Manifest m = ManifestAt(Lsn(2000), {AddLayer("image_1.layer", 4000)});
  // An earlier run stored the layer (and crashed before the index).
  ASSERT_TRUE(bucket_->PutIfAbsent("tl/layers/image_1.layer", LocalBytes("image_1.layer")).ok());
  LayerUploader uploader(*bucket_, layers_.string(), "tl");
  uploader.Schedule(m);
  ASSERT_TRUE(uploader.WaitUntilUploaded(absl::Now() + absl::Seconds(60)).ok());
  ExpectInBucket(m);
  // The same manifest again (a restart with nothing new): nothing changes, nothing fails.
  uploader.Schedule(m);
  EXPECT_TRUE(uploader.WaitUntilUploaded(absl::Now() + absl::Seconds(60)).ok());
}

TEST_F(LayerUploaderTest, OtherBytesUnderALayersNameStopTheUploads) {
  const Manifest m = ManifestAt(Lsn(2000), {AddLayer("image_1.layer", 4000)});
  ASSERT_TRUE(bucket_->PutIfAbsent("tl/layers/image_1.layer", Bytes{1, 2, 3}).ok());
  LayerUploader uploader(*bucket_, layers_.string(), "tl");
  uploader.Schedule(m);
  const absl::Status s = uploader.WaitUntilUploaded(absl::Now() + absl::Seconds(60));
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_TRUE(absl::IsDataLoss(uploader.last_error())) << uploader.last_error();
  EXPECT_NE(uploader.last_error().message().find("image_1.layer"), std::string::npos);
  EXPECT_EQ(uploader.remote_consistent_lsn(), Lsn(0));
  EXPECT_TRUE(absl::IsNotFound(bucket_->Get("tl/" + LayerUploader::IndexKey(Lsn(2000)), {}).status()))
      << "an index was stored over a layer that is not the local one";
}

TEST_F(LayerUploaderTest, InjectedFaultsAreRetriedAndLoseNothing) {
  remote::testing::FaultInjectingStorage faults(*bucket_);
  faults.FailRandomly(0.3, 7);
  remote::RetryOptions options;
  options.max_attempts = 50;
  options.sleep = [](absl::Duration) {};
  remote::RetryingStorage retrying(std::make_unique<remote::testing::ForwardingStorage>(faults), options);
  LayerUploader uploader(retrying, layers_.string(), "tl");
  std::vector<std::string> layers;
  for (int i = 0; i < 20; ++i) {
    layers.push_back(AddLayer(absl::StrFormat("delta_%d.layer", i), 3000 + i));
  }
  const Manifest m = ManifestAt(Lsn(9000), layers);
  uploader.Schedule(m);
  ASSERT_TRUE(uploader.WaitUntilUploaded(absl::Now() + absl::Seconds(60)).ok());
  ExpectInBucket(m);
  EXPECT_GT(retrying.retries(), 0u);
}

}  // namespace
}  // namespace pageserver::storage
