#include "common/compression.h"

#include <zstd.h>

#include "absl/strings/str_format.h"

namespace pageserver {
namespace {

constexpr int kLevel = 1;  // zstd's fastest standard level

struct DecompressContext {
  DecompressContext() : dctx(ZSTD_createDCtx()) {}
  ~DecompressContext() { ZSTD_freeDCtx(dctx); }
  ZSTD_DCtx* dctx;
};

}  // namespace

struct Compressor::Context {
  Context() : cctx(ZSTD_createCCtx()) {}
  ~Context() { ZSTD_freeCCtx(cctx); }
  ZSTD_CCtx* cctx;
};

Compressor::Compressor() : context_(std::make_unique<Context>()) {}
Compressor::~Compressor() = default;

size_t Compressor::Compress(std::span<const uint8_t> in, std::vector<uint8_t>* out) {
  const size_t at = out->size();
  out->resize(at + ZSTD_compressBound(in.size()));
  const size_t n =
      ZSTD_compressCCtx(context_->cctx, out->data() + at, out->size() - at, in.data(), in.size(),
                        kLevel);
  // With a destination of compressBound bytes, compression cannot fail but for lack of memory.
  if (ZSTD_isError(n)) std::abort();
  out->resize(at + n);
  return n;
}

absl::Status Decompress(std::span<const uint8_t> in, std::span<uint8_t> out) {
  thread_local DecompressContext context;
  const size_t n =
      ZSTD_decompressDCtx(context.dctx, out.data(), out.size(), in.data(), in.size());
  if (ZSTD_isError(n)) {
    return absl::DataLossError(
        absl::StrFormat("a compressed frame of %d bytes does not decompress: %s", in.size(),
                        ZSTD_getErrorName(n)));
  }
  if (n != out.size()) {
    return absl::DataLossError(absl::StrFormat(
        "a compressed frame of %d bytes holds %d bytes, not %d", in.size(), n, out.size()));
  }
  return absl::OkStatus();
}

}  // namespace pageserver
