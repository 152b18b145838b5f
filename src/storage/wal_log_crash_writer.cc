// Test helper for wal_log_crash_test: appends random mini-transactions to a WalLog (with real
// fdatasync) forever and prints "acked <end LSN>" after each Append returns, so that the test
// can kill -9 it at a random moment and check that every acknowledged LSN survived.
// Usage: wal_log_crash_writer DIR SEED
#include <cstdio>
#include <cstdlib>
#include <random>

#include "storage/wal_log.h"
#include "wal/testing/mtr_builder.h"

int main(int argc, char** argv) {
  using namespace pageserver;
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s DIR SEED\n", argv[0]);
    return 2;
  }
  auto log = storage::WalLog::Open(argv[1], Lsn(12288), {.segment_bytes = 256 << 10, .sync = true});
  if (!log.ok()) {
    std::fprintf(stderr, "open: %s\n", std::string(log.status().message()).c_str());
    return 1;
  }
  std::mt19937_64 rng(std::strtoull(argv[2], nullptr, 10));
  for (;;) {
    // A few mini-transactions per append, of varied sizes, as a stream chunk would carry.
    wal::testing::Bytes chunk;
    const int mtrs = 1 + static_cast<int>(rng() % 4);
    for (int m = 0; m < mtrs; ++m) {
      wal::testing::MtrBuilder b;
      const int records = 1 + static_cast<int>(rng() % 20);
      for (int r = 0; r < records; ++r) {
        const size_t len = 1 + rng() % 300;
        b.Write(PageId{SpaceId(5), PageNo(3 + static_cast<uint32_t>(rng() % 100))},
                8 + static_cast<uint32_t>(rng() % 16000),
                wal::testing::Bytes(len, static_cast<uint8_t>(rng())));
      }
      const auto bytes = b.Build(1);
      chunk.insert(chunk.end(), bytes.begin(), bytes.end());
    }
    const absl::Status s = (*log)->Append((*log)->end_lsn(), chunk);
    if (!s.ok()) {
      std::fprintf(stderr, "append: %s\n", std::string(s.message()).c_str());
      return 1;
    }
    std::printf("acked %llu\n", static_cast<unsigned long long>((*log)->end_lsn().value()));
    std::fflush(stdout);
  }
}
