// RetryingStorage over a real LocalStorage with injected faults: what may pass is retried with
// backoff and jitter, what cannot is returned at once, and a put whose answer was lost is not
// mistaken for someone else's object.
#include "remote/retrying_storage.h"

#include <gtest/gtest.h>

#include "common/testing/temp_dir.h"
#include "remote/local_storage.h"
#include "remote/testing/fault_injecting_storage.h"
#include "remote/testing/forwarding_storage.h"

namespace pageserver::remote {
namespace {

using Bytes = std::vector<uint8_t>;
using testing::Fault;
using testing::FaultInjectingStorage;

using Forward = testing::ForwardingStorage;

class RetryingStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto local = LocalStorage::Open((dir_.path() / "bucket").string());
    ASSERT_TRUE(local.ok()) << local.status();
    local_ = std::move(*local);
    faults_ = std::make_unique<FaultInjectingStorage>(*local_);
    RetryOptions options;
    options.max_attempts = 5;
    options.sleep = [this](absl::Duration d) { slept_.push_back(d); };
    retrying_ = std::make_unique<RetryingStorage>(std::make_unique<Forward>(*faults_), options);
  }
  pageserver::testing::TempDir dir_{"retrying_storage_test"};
  std::unique_ptr<LocalStorage> local_;
  std::unique_ptr<FaultInjectingStorage> faults_;
  std::unique_ptr<RetryingStorage> retrying_;
  std::vector<absl::Duration> slept_;
};

TEST_F(RetryingStorageTest, PassingFaultsAreRetriedWithGrowingJitteredBackoff) {
  faults_->FailNext(1, Fault::kUnavailable);
  faults_->FailNext(1, Fault::kSlowDown);
  faults_->FailNext(1, Fault::kTimeout);
  ASSERT_TRUE(retrying_->PutIfAbsent("a", Bytes{1, 2, 3}).ok());
  EXPECT_EQ(retrying_->retries(), 3u);
  ASSERT_EQ(slept_.size(), 3u);
  // Full jitter: each wait lies below its backoff, which doubles from 50 ms.
  EXPECT_LT(slept_[0], absl::Milliseconds(50));
  EXPECT_LT(slept_[1], absl::Milliseconds(100));
  EXPECT_LT(slept_[2], absl::Milliseconds(200));
  EXPECT_EQ(*local_->Get("a", {}), (Bytes{1, 2, 3}));
}

TEST_F(RetryingStorageTest, OtherErrorsAreNotRetried) {
  EXPECT_TRUE(absl::IsNotFound(retrying_->Get("missing", {}).status()));
  ASSERT_TRUE(retrying_->PutIfAbsent("k", Bytes{1}).ok());
  EXPECT_TRUE(absl::IsAlreadyExists(retrying_->PutIfAbsent("k", Bytes{1})))
      << "a first attempt that finds the key taken did not store it";
  EXPECT_EQ(retrying_->retries(), 0u);
}

TEST_F(RetryingStorageTest, APutWhoseAnswerWasLostSucceedsOnRetry) {
  faults_->FailNext(1, Fault::kLostAnswer);
  ASSERT_TRUE(retrying_->PutIfAbsent("lost", Bytes{7, 7}).ok());
  EXPECT_EQ(retrying_->retries(), 1u);
  // Someone else's object under the key is still refused after a retry.
  ASSERT_TRUE(local_->PutIfAbsent("taken", Bytes{1}).ok());
  faults_->FailNext(1, Fault::kUnavailable);
  EXPECT_TRUE(absl::IsAlreadyExists(retrying_->PutIfAbsent("taken", Bytes{2})));
}

TEST_F(RetryingStorageTest, GivesUpAfterItsAttemptsNamingThem) {
  faults_->FailNext(5, Fault::kUnavailable);
  const absl::StatusOr<Bytes> got = retrying_->Get("a", {});
  EXPECT_TRUE(absl::IsUnavailable(got.status())) << got.status();
  EXPECT_NE(got.status().message().find("gave up after 5 attempts"), std::string::npos)
      << got.status();
  EXPECT_EQ(retrying_->failures(), 1u);
}

TEST_F(RetryingStorageTest, ManyRandomFaultsLoseNothing) {
  faults_->FailRandomly(0.3, 42);
  RetryOptions patient;
  patient.max_attempts = 50;
  patient.sleep = [](absl::Duration) {};
  RetryingStorage storage(std::make_unique<Forward>(*faults_), patient);
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(storage.PutIfAbsent("obj/" + std::to_string(i), Bytes(i + 1, i & 0xff)).ok()) << i;
  }
  for (int i = 0; i < 200; ++i) {
    auto got = storage.Get("obj/" + std::to_string(i), {});
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, Bytes(i + 1, i & 0xff));
  }
  auto listed = storage.List("obj/");
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(listed->size(), 200u);
  EXPECT_GT(faults_->injected(), 50u);
  EXPECT_EQ(storage.retries(), faults_->injected());
}

}  // namespace
}  // namespace pageserver::remote
