// RemoteTimelineClient with a real LocalStorage "bucket" (and injected faults): layers before
// their index, layers of earlier generations reused, WAL chunks with a truncation marker, aux
// files and leases once each, fencing by a newer generation, and WAL chunks below an index
// deleted.
#include "storage/remote_timeline_client.h"

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
const absl::Duration kLimit = absl::Seconds(60);

class RemoteTimelineClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(layers_);
    auto bucket = remote::LocalStorage::Open((dir_.path() / "bucket").string());
    ASSERT_TRUE(bucket.ok()) << bucket.status();
    bucket_ = std::move(*bucket);
    for (size_t i = 0; i < wal_.size(); ++i) wal_[i] = static_cast<uint8_t>(i * 13 + 1);
  }
  RemoteTimelineClientOptions Options(remote::RemoteStorage& storage, Generation gen) {
    RemoteTimelineClientOptions o;
    o.storage = &storage;
    o.prefix = "tl";
    o.layers_dir = layers_.string();
    o.generation = gen;
    o.read_wal = [this](Lsn lsn, std::span<uint8_t> out) {
      if (lsn < kWalStart || lsn + out.size() > kWalStart + wal_.size()) {
        return absl::OutOfRangeError("outside the test's log");
      }
      std::copy_n(wal_.begin() + (lsn - kWalStart), out.size(), out.begin());
      return absl::OkStatus();
    };
    o.aux_file = [this](uint64_t seq) {
      return (dir_.path() / absl::StrFormat("%d.aux", seq)).string();
    };
    o.wal_upload_interval = absl::Hours(1);  // WaitUntilUploaded asks for the WAL at once
    o.pause_after_failure = absl::Milliseconds(10);
    return o;
  }
  std::unique_ptr<RemoteTimelineClient> Client(Generation gen,
                                               std::optional<RemoteIndex> start = std::nullopt) {
    EXPECT_TRUE(bucket_->PutIfAbsent(GenerationKey("tl", gen), Bytes{'{', '}'}).ok());
    return std::make_unique<RemoteTimelineClient>(Options(*bucket_, gen), start, kWalStart,
                                                  kWalStart);
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
  static Manifest ManifestAt(Lsn lsn, std::vector<std::string> layers) {
    Manifest m;
    m.base_lsn = Lsn(1000);
    m.disk_consistent_lsn = lsn;
    m.layers = std::move(layers);
    return m;
  }
  // The newest index, which must be of `gen` at `lsn`.
  RemoteIndex IndexOf(Generation gen, Lsn lsn) {
    auto newest = NewestIndex(*bucket_, "tl", 1000);
    EXPECT_TRUE(newest.ok() && newest->has_value());
    if (!newest.ok() || !newest->has_value()) return RemoteIndex{};
    EXPECT_EQ((*newest)->gen, gen);
    EXPECT_EQ((*newest)->lsn, lsn);
    auto index = DownloadRemoteIndex(*bucket_, "tl", **newest);
    EXPECT_TRUE(index.ok()) << index.status();
    return index.ok() ? *index : RemoteIndex{};
  }
  void ExpectLayersInBucket(const RemoteIndex& index) {
    for (const std::string& name : index.manifest.layers) {
      auto stored = bucket_->Get(LayerKey("tl", name, index.layer_generations.at(name)), {});
      ASSERT_TRUE(stored.ok()) << name << ": " << stored.status();
      EXPECT_EQ(*stored, LocalBytes(name)) << name;
    }
  }
  size_t Count(const std::string& dir) { return bucket_->List("tl/" + dir + "/")->size(); }

  static constexpr Lsn kWalStart{1000};
  pageserver::testing::TempDir dir_{"remote_timeline_client_test"};
  const fs::path layers_ = dir_.path() / "layers";
  std::unique_ptr<remote::LocalStorage> bucket_;
  Bytes wal_ = Bytes(100000);
};

TEST_F(RemoteTimelineClientTest, LayersThenTheIndexEachManifestOnce) {
  auto client = Client(1);
  client->ScheduleIndex(ManifestAt(Lsn(2000), {AddLayer(ImageLayerName(Lsn(1000)), 100000)}));
  ASSERT_TRUE(client->WaitUntilUploaded(absl::Now() + kLimit).ok());
  ExpectLayersInBucket(IndexOf(1, Lsn(2000)));
  EXPECT_EQ(client->remote_consistent_lsn(), Lsn(2000));
  const std::string delta = AddLayer(DeltaLayerName(Lsn(1000), Lsn(3000)), 5000);
  client->ScheduleIndex(ManifestAt(Lsn(3000), {ImageLayerName(Lsn(1000)), delta}));
  ASSERT_TRUE(client->WaitUntilUploaded(absl::Now() + kLimit).ok());
  const RemoteIndex index = IndexOf(1, Lsn(3000));
  ExpectLayersInBucket(index);
  EXPECT_EQ(index.generation, 1u);
  EXPECT_EQ(client->remote_consistent_lsn(), Lsn(3000));
  EXPECT_EQ(Count("layers"), 2u);
}

TEST_F(RemoteTimelineClientTest, ANewGenerationReusesTheLayersOfTheIndexItStartedFrom) {
  const std::string image = AddLayer(ImageLayerName(Lsn(1000)), 4000);
  {
    auto first = Client(1);
    first->ScheduleIndex(ManifestAt(Lsn(2000), {image}));
    ASSERT_TRUE(first->WaitUntilUploaded(absl::Now() + kLimit).ok());
  }
  auto second = Client(2, IndexOf(1, Lsn(2000)));
  const std::string delta = AddLayer(DeltaLayerName(Lsn(1000), Lsn(2500)), 300);
  second->ScheduleIndex(ManifestAt(Lsn(2500), {image, delta}));
  ASSERT_TRUE(second->WaitUntilUploaded(absl::Now() + kLimit).ok());
  const RemoteIndex index = IndexOf(2, Lsn(2500));
  EXPECT_EQ(index.layer_generations.at(image), 1u) << "copied again instead of reused";
  EXPECT_EQ(index.layer_generations.at(delta), 2u);
  ExpectLayersInBucket(index);
  EXPECT_EQ(Count("layers"), 2u);
}

TEST_F(RemoteTimelineClientTest, AReusedLayerOfAnotherSizeStopsTheUploads) {
  const std::string image = ImageLayerName(Lsn(1000));
  ASSERT_TRUE(bucket_->PutIfAbsent(LayerKey("tl", image, 1), Bytes{1, 2, 3}).ok());
  RemoteIndex start;
  start.manifest = ManifestAt(Lsn(2000), {image});
  start.generation = 1;
  start.layer_generations[image] = 1;
  AddLayer(image, 4000);
  auto client = Client(2, start);
  client->ScheduleIndex(ManifestAt(Lsn(2000), {image}));
  const absl::Status s = client->WaitUntilUploaded(absl::Now() + kLimit);
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_NE(s.message().find(image), std::string::npos) << s;
  EXPECT_EQ(Count("index"), 0u) << "an index was stored over a layer that is not the local one";
}

TEST_F(RemoteTimelineClientTest, DurableWalGoesUpInChunksAndATruncationAsAMarker) {
  auto client = Client(1);
  client->WalDurable(kWalStart + 500);
  ASSERT_TRUE(client->WaitUntilUploaded(absl::Now() + kLimit).ok());
  EXPECT_EQ(client->wal_uploaded_lsn(), kWalStart + 500);
  EXPECT_EQ(client->remote_consistent_lsn(), Lsn(0)) << "WAL without an index restores nothing";
  client->ScheduleIndex(ManifestAt(kWalStart, {AddLayer(ImageLayerName(kWalStart), 10)}));
  ASSERT_TRUE(client->WaitUntilUploaded(absl::Now() + kLimit).ok());
  EXPECT_EQ(client->remote_consistent_lsn(), kWalStart + 500) << "the index and the WAL after it";
  client->WalDurable(kWalStart + 900);
  ASSERT_TRUE(client->WaitUntilUploaded(absl::Now() + kLimit).ok());
  client->WalTruncated(kWalStart + 700);
  EXPECT_EQ(client->remote_consistent_lsn(), kWalStart + 700);
  client->WalDurable(kWalStart + 800);
  ASSERT_TRUE(client->WaitUntilUploaded(absl::Now() + kLimit).ok());
  auto chunks = ListWalChunks(*bucket_, "tl");
  ASSERT_TRUE(chunks.ok()) << chunks.status();
  ASSERT_EQ(chunks->size(), 4u);
  const std::vector<std::pair<uint64_t, uint64_t>> expected = {
      {1000, 1500}, {1500, 1900}, {1700, 1700}, {1700, 1800}};
  for (size_t i = 0; i < expected.size(); ++i) {
    const WalChunkName& c = (*chunks)[i];
    EXPECT_EQ(c.seq, i + 1);
    EXPECT_EQ(c.start, Lsn(expected[i].first));
    EXPECT_EQ(c.end, Lsn(expected[i].second));
    auto bytes = bucket_->Get(c.key, {});
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    EXPECT_EQ(*bytes,
              Bytes(wal_.begin() + (c.start - kWalStart), wal_.begin() + (c.end - kWalStart)));
  }
}

TEST_F(RemoteTimelineClientTest, WalChunksBelowAnUploadedIndexAreDeleted) {
  auto client = Client(1);
  client->WalDurable(kWalStart + 500);
  ASSERT_TRUE(client->WaitUntilUploaded(absl::Now() + kLimit).ok());
  client->WalDurable(kWalStart + 900);
  ASSERT_TRUE(client->WaitUntilUploaded(absl::Now() + kLimit).ok());
  ASSERT_EQ(Count("wal"), 2u);
  client->ScheduleIndex(ManifestAt(kWalStart + 600, {AddLayer(ImageLayerName(Lsn(1000)), 10)}));
  ASSERT_TRUE(client->WaitUntilUploaded(absl::Now() + kLimit).ok());
  auto chunks = ListWalChunks(*bucket_, "tl");
  ASSERT_EQ(chunks->size(), 1u) << "the chunk that ends below the index stays";
  EXPECT_EQ(chunks->front().start, kWalStart + 500);
}

TEST_F(RemoteTimelineClientTest, ANewerGenerationFencesTheOlderNode) {
  auto stale = Client(1);
  const std::string image = AddLayer(ImageLayerName(Lsn(1000)), 100);
  stale->ScheduleIndex(ManifestAt(Lsn(2000), {image}));
  ASSERT_TRUE(stale->WaitUntilUploaded(absl::Now() + kLimit).ok());
  ASSERT_TRUE(ClaimGeneration(*bucket_, "tl", "a newer node").ok());
  stale->ScheduleIndex(ManifestAt(Lsn(3000), {image}));
  const absl::Status s = stale->WaitUntilUploaded(absl::Now() + kLimit);
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_NE(s.message().find("generation 1 is fenced"), std::string::npos) << s;
  EXPECT_EQ(Count("index"), 1u) << "a fenced node stored an index";
  EXPECT_EQ(stale->remote_consistent_lsn(), Lsn(2000));
}

TEST_F(RemoteTimelineClientTest, AuxFilesAndLeasesGoUpOnceEach) {
  std::ofstream(dir_.path() / "1.aux") << "first version";
  std::ofstream(dir_.path() / "2.aux") << "second version";
  auto client = Client(1);
  client->ScheduleAux(1);
  client->ScheduleAux(2);
  client->ScheduleLease(WriterLease{3, "compute", Lsn(1500)});
  ASSERT_TRUE(client->WaitUntilUploaded(absl::Now() + kLimit).ok());
  EXPECT_EQ(Count("aux"), 2u);
  auto aux = bucket_->Get(AuxKey("tl", 2, 1), {});
  ASSERT_TRUE(aux.ok()) << aux.status();
  EXPECT_EQ(std::string(aux->begin(), aux->end()), "second version");
  auto lease = bucket_->Get(LeaseKey("tl", 3, 1), {});
  ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_EQ(ParseWriterLease(std::string(lease->begin(), lease->end()), "lease")->holder,
            "compute");
  // A later generation schedules them again at open: what the bucket has is not stored twice.
  client.reset();
  auto next = Client(2);
  next->ScheduleAux(1);
  next->ScheduleAux(2);
  ASSERT_TRUE(next->WaitUntilUploaded(absl::Now() + kLimit).ok());
  EXPECT_EQ(Count("aux"), 2u);
}

TEST_F(RemoteTimelineClientTest, InjectedFaultsAreRetriedAndLoseNothing) {
  remote::testing::FaultInjectingStorage faults(*bucket_);
  faults.FailRandomly(0.3, 7);
  remote::RetryOptions options;
  options.max_attempts = 50;
  options.sleep = [](absl::Duration) {};
  remote::RetryingStorage retrying(std::make_unique<remote::testing::ForwardingStorage>(faults),
                                   options);
  ASSERT_TRUE(bucket_->PutIfAbsent(GenerationKey("tl", 1), Bytes{'{', '}'}).ok());
  RemoteTimelineClient client(Options(retrying, 1), std::nullopt, kWalStart, kWalStart);
  std::vector<std::string> layers;
  for (int i = 0; i < 20; ++i) {
    layers.push_back(AddLayer(DeltaLayerName(Lsn(1000 + i), Lsn(1001 + i)), 3000 + i));
  }
  client.ScheduleIndex(ManifestAt(Lsn(9000), layers));
  for (int i = 1; i <= 20; ++i) client.WalDurable(kWalStart + 1000 * i);
  ASSERT_TRUE(client.WaitUntilUploaded(absl::Now() + kLimit).ok());
  ExpectLayersInBucket(IndexOf(1, Lsn(9000)));
  EXPECT_EQ(client.wal_uploaded_lsn(), kWalStart + 20000);
  EXPECT_GT(retrying.retries(), 0u);
}

}  // namespace
}  // namespace pageserver::storage
