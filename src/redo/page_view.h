// PageView: bounds-checked big-endian access to one page frame for the appliers. Offsets in redo
// payloads and inside pages are untrusted: an access outside the frame does not touch memory, it
// marks the view as corrupt (reads yield 0) and the applier reports DataLoss when it checks
// `ok()`. This keeps every applier free of crashes on hostile input without a check per line.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>

#include "common/byte_order.h"

namespace pageserver::redo {

class PageView {
 public:
  explicit PageView(std::span<uint8_t> frame) : p_(frame.data()), size_(frame.size()) {}

  uint32_t size() const { return static_cast<uint32_t>(size_); }
  const uint8_t* data() const { return p_; }
  bool ok() const { return ok_; }
  void Fail() { ok_ = false; }
  bool InRange(int64_t off, int64_t len) {
    if (off < 0 || len < 0 || static_cast<uint64_t>(off + len) > size_) {
      ok_ = false;
      return false;
    }
    return true;
  }

  uint8_t U8(int64_t off) { return InRange(off, 1) ? p_[off] : 0; }
  uint16_t U16(int64_t off) { return InRange(off, 2) ? ReadBe16(p_ + off) : 0; }
  void Set8(int64_t off, uint8_t v) {
    if (InRange(off, 1)) p_[off] = v;
  }
  void Set16(int64_t off, uint16_t v) {
    if (InRange(off, 2)) WriteBe16(p_ + off, v);
  }
  void Set32(int64_t off, uint32_t v) {
    if (InRange(off, 4)) WriteBe32(p_ + off, v);
  }
  void Copy(int64_t dst, const uint8_t* src, int64_t len) {
    if (InRange(dst, len)) std::memcpy(p_ + dst, src, static_cast<size_t>(len));
  }
  void Move(int64_t dst, int64_t src, int64_t len) {
    if (InRange(dst, len) && InRange(src, len)) {
      std::memmove(p_ + dst, p_ + src, static_cast<size_t>(len));
    }
  }
  void Fill(int64_t dst, uint8_t v, int64_t len) {
    if (InRange(dst, len)) std::memset(p_ + dst, v, static_cast<size_t>(len));
  }
  // Copies `len` bytes at `off` out into `out` (which must hold len bytes).
  void Read(int64_t off, uint8_t* out, int64_t len) {
    if (InRange(off, len)) {
      std::memcpy(out, p_ + off, static_cast<size_t>(len));
    } else {
      std::memset(out, 0, static_cast<size_t>(len > 0 ? len : 0));
    }
  }

 private:
  uint8_t* p_;
  size_t size_;
  bool ok_ = true;
};

}  // namespace pageserver::redo
