// The rules of remote_storage.h as checks any implementation must pass: the local directory's
// unit tests and the S3 client's tests against radosgw run the same ones.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "remote/remote_storage.h"

namespace pageserver::remote::testing {

inline std::vector<uint8_t> Text(const std::string& s) {
  return std::vector<uint8_t>(s.begin(), s.end());
}

// Whole objects and byte ranges read back; NotFound; OutOfRange past the end only.
inline void ExpectObjectsReadBackWholeOrByRange(RemoteStorage& storage) {
  using Bytes = std::vector<uint8_t>;
  ASSERT_TRUE(storage.PutIfAbsent("layers/a.delta", Text("0123456789")).ok());
  auto whole = storage.Get("layers/a.delta", {});
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_EQ(*whole, Text("0123456789"));
  EXPECT_EQ(*storage.Get("layers/a.delta", {.offset = 3, .length = 4}), Text("3456"));
  EXPECT_EQ(*storage.Get("layers/a.delta", {.offset = 8, .length = 100}), Text("89"))
      << "a range past the end is cut there";
  EXPECT_EQ(*storage.Get("layers/a.delta", {.offset = 7}), Text("789"));
  EXPECT_EQ(*storage.Get("layers/a.delta", {.offset = 10}), Bytes{});
  const auto past = storage.Get("layers/a.delta", {.offset = 11});
  EXPECT_TRUE(absl::IsOutOfRange(past.status())) << past.status();
  const auto missing = storage.Get("layers/b.delta", {});
  EXPECT_TRUE(absl::IsNotFound(missing.status())) << missing.status();
  ASSERT_TRUE(storage.PutIfAbsent("empty", {}).ok());
  EXPECT_EQ(*storage.Get("empty", {}), Bytes{});
  // Bigger than one network buffer, every byte value.
  Bytes big(3 << 20);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<uint8_t>(i * 131 + (i >> 11));
  ASSERT_TRUE(storage.PutIfAbsent("big", big).ok());
  EXPECT_EQ(*storage.Get("big", {}), big);
  EXPECT_EQ(*storage.Get("big", {.offset = 1000000, .length = 5}),
            Bytes(big.begin() + 1000000, big.begin() + 1000005));
}

inline void ExpectNothingOverwritten(RemoteStorage& storage) {
  ASSERT_TRUE(storage.PutIfAbsent("k", Text("first")).ok());
  const absl::Status again = storage.PutIfAbsent("k", Text("second"));
  EXPECT_TRUE(absl::IsAlreadyExists(again)) << again;
  EXPECT_EQ(*storage.Get("k", {}), Text("first"));
}

// Writers racing for one key, each through its own client (`open`): one stores its whole
// object, the others get AlreadyExists.
inline void ExpectRacingWritersMakeOneWholeObject(
    const std::function<std::unique_ptr<RemoteStorage>()>& open, RemoteStorage& reader) {
  constexpr int kWriters = 6;
  std::atomic<int> stored{0}, refused{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      const std::unique_ptr<RemoteStorage> mine = open();
      const absl::Status s =
          mine->PutIfAbsent("race", std::vector<uint8_t>(256 << 10, static_cast<uint8_t>(w)));
      if (s.ok()) ++stored;
      if (absl::IsAlreadyExists(s)) ++refused;
    });
  }
  for (std::thread& t : writers) t.join();
  EXPECT_EQ(stored.load(), 1);
  EXPECT_EQ(refused.load(), kWriters - 1);
  const std::vector<uint8_t> got = *reader.Get("race", {});
  ASSERT_EQ(got.size(), 256u << 10);
  EXPECT_EQ(std::count(got.begin(), got.end(), got[0]), static_cast<long>(got.size()))
      << "the object mixes two writers' bytes";
}

inline void ExpectDeleteIdempotent(RemoteStorage& storage) {
  ASSERT_TRUE(storage.PutIfAbsent("d/k", Text("x")).ok());
  ASSERT_TRUE(storage.Delete("d/k").ok());
  EXPECT_TRUE(absl::IsNotFound(storage.Get("d/k", {}).status()));
  EXPECT_TRUE(storage.Delete("d/k").ok());
}

}  // namespace pageserver::remote::testing
