// libFuzzer target: the page applier. The input is a mini-transaction body (records only) plus a
// seed page: the first 16 KiB of input past the body become the page, the rest stays zero, and
// byte 0 picks an initial page shape (zeros, an empty COMPACT or REDUNDANT index page, an undo
// page) so that inserts and deletes reach deep into index_page.cc. The applier must return an
// error for anything it cannot apply; it must never touch memory outside the frame.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "redo/index_page.h"
#include "redo/page_applier.h"
#include "redo/undo_page.h"
#include "wal/mtr_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pageserver;
  if (size < 3) return 0;
  const uint8_t shape = data[0];
  const size_t body_len = std::min<size_t>(size - 1, data[1] | (size_t{data[2]} << 8));
  std::span<const uint8_t> body(data + 3, std::min(body_len, size - 3));
  std::span<const uint8_t> page_bytes =
      std::span<const uint8_t>(data, size).subspan(3 + body.size());

  wal::Mtr mtr;
  mtr.start_lsn = Lsn(100000);
  mtr.end_lsn = Lsn(100000 + body.size() + 5);
  mtr.body.assign(body.begin(), body.end());
  if (!wal::ParseMtrBody(mtr.body, mtr.start_lsn, 16384, &mtr).ok()) return 0;

  std::vector<uint8_t> page(16384, 0);
  switch (shape % 4) {
    case 1:
      redo::InitIndexPage(page, true);
      break;
    case 2:
      redo::InitIndexPage(page, false);
      break;
    case 3:
      redo::InitUndoPage(page);
      break;
    default:
      break;
  }
  // Overlay fuzzer bytes on the page body past the header, keeping the structure half-sane.
  const size_t overlay = std::min(page_bytes.size(), page.size() - 94);
  std::memcpy(page.data() + 94, page_bytes.data(), overlay);
  for (const wal::Record& rec : mtr.records) {
    if (rec.IsFileOp()) continue;
    if (!redo::ApplyRecord(mtr, rec, page).ok()) break;
  }
  return 0;
}
