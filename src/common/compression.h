// zstd compression of layer file contents (page images, runs of record snippets), as Neon's
// layers compress theirs. Fast level: layers are written on the ingest machine's spare CPU, and
// reads decompress one page or one frame of records at a time.
//
// Thread-safety: a Compressor belongs to one thread (it keeps its zstd context); Decompress may
// be called from any thread (each thread keeps a context of its own).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "absl/status/status.h"

namespace pageserver {

class Compressor {
 public:
  Compressor();
  ~Compressor();
  Compressor(const Compressor&) = delete;
  Compressor& operator=(const Compressor&) = delete;

  // Appends the compressed form of `in` to `out`; returns its size.
  size_t Compress(std::span<const uint8_t> in, std::vector<uint8_t>* out);

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

// Decompresses `in` into exactly `out.size()` bytes. Anything else (a frame that is damaged, or
// that holds more or fewer bytes) is DataLoss; the caller names the file and what it read.
absl::Status Decompress(std::span<const uint8_t> in, std::span<uint8_t> out);

}  // namespace pageserver
