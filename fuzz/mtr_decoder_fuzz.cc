// libFuzzer target: the redo stream decoder. The input is split into two feeds at a point chosen
// by its first byte, so chunk boundaries are exercised too. Any crash or sanitizer report is a
// bug: the decoder must answer every input with an mtr, "need more", or an error status.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/byte_order.h"
#include "common/crc32c.h"
#include "wal/mtr_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pageserver;
  if (size < 2) return 0;
  const size_t split = data[0] % size;
  const bool with_geometry = data[1] & 1;
  std::span<const uint8_t> bytes(data + 2, size - 2);
  // Mode 2: frame the input as one mini-transaction with a valid terminator and CRC, so the
  // fuzzer reaches the record parser instead of stopping at the checksum.
  std::vector<uint8_t> framed;
  if (data[1] & 2) {
    framed.assign(bytes.begin(), bytes.end());
    framed.push_back(1);
    uint8_t crc[4];
    WriteBe32(crc, Crc32c(0, bytes.data(), bytes.size()));
    framed.insert(framed.end(), crc, crc + 4);
    bytes = framed;
  }
  wal::MtrDecoderOptions options;
  if (with_geometry) options.geometry = wal::LogGeometry{Lsn(12288), 1 << 20};
  wal::MtrDecoder decoder(Lsn(12288), options);
  decoder.Feed(bytes.subspan(0, std::min(split, bytes.size())));
  wal::Mtr mtr;
  for (int round = 0; round < 2; ++round) {
    for (;;) {
      auto next = decoder.Next(&mtr);
      if (!next.ok() || !*next) break;
    }
    if (round == 0) decoder.Feed(bytes.subspan(std::min(split, bytes.size())));
  }
  return 0;
}
