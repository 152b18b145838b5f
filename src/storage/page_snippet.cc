#include "storage/page_snippet.h"

#include "absl/strings/str_format.h"
#include "common/byte_order.h"

namespace pageserver::storage {
namespace {

constexpr size_t kHeaderSize = 8 + 8 + 4;                        // start LSN, end LSN, record count
constexpr size_t kRecordHeaderSize = 1 + 1 + 2 + 2 + 2 + 4 + 4;  // see the format doc

bool IsPageRecord(const wal::Record& rec) {
  return !rec.IsFileOp() &&
         !(rec.type == wal::RecordType::kExtended && rec.subtype == wal::ExtendedType::kTrimPages);
}

}  // namespace

std::vector<uint8_t> EncodeSnippet(const wal::Mtr& mtr, PageId page) {
  std::vector<uint8_t> out;
  EncodeSnippetTo(mtr, page, &out);
  return out;
}

void EncodeSnippetTo(const wal::Mtr& mtr, PageId page, std::vector<uint8_t>* out) {
  std::vector<uint32_t> records;
  for (uint32_t i = 0; i < mtr.records.size(); ++i) {
    if (IsPageRecord(mtr.records[i]) && mtr.records[i].page == page) records.push_back(i);
  }
  EncodeSnippetRecords(mtr, page, records, out);
}

void EncodeSnippetRecords(const wal::Mtr& mtr, PageId /*page*/, std::span<const uint32_t> records,
                          std::vector<uint8_t>* out_ptr) {
  std::vector<uint8_t>& out = *out_ptr;
  out.assign(kHeaderSize, 0);
  WriteBe64(out.data(), mtr.start_lsn.value());
  WriteBe64(out.data() + 8, mtr.end_lsn.value());
  for (const uint32_t i : records) {
    const wal::Record& rec = mtr.records[i];
    const size_t at = out.size();
    out.resize(at + kRecordHeaderSize);
    uint8_t* h = out.data() + at;
    h[0] = static_cast<uint8_t>(rec.type);
    h[1] = static_cast<uint8_t>(rec.subtype);
    WriteBe16(h + 2, rec.offset);
    WriteBe16(h + 4, rec.length);
    WriteBe16(h + 6, rec.source);
    WriteBe32(h + 8, rec.first_byte_pos);
    WriteBe32(h + 12, rec.data_len);
    const auto data = mtr.Data(rec);
    out.insert(out.end(), data.begin(), data.end());
  }
  WriteBe32(out.data() + 16, static_cast<uint32_t>(records.size()));
}

absl::StatusOr<wal::Mtr> DecodeSnippet(std::span<const uint8_t> bytes, PageId page,
                                       uint32_t page_size) {
  auto corrupt = [&](std::string_view why) {
    return absl::DataLossError(absl::StrFormat(
        "corrupt stored record snippet for %s (%d bytes%s): %s", ToString(page), bytes.size(),
        bytes.size() >= 16 ? absl::StrFormat(", mini-transaction at LSN %d", ReadBe64(bytes.data()))
                           : "",
        why));
  };
  if (bytes.size() < kHeaderSize) return corrupt("shorter than its header");
  wal::Mtr mtr;
  mtr.start_lsn = Lsn(ReadBe64(bytes.data()));
  mtr.end_lsn = Lsn(ReadBe64(bytes.data() + 8));
  const uint32_t count = ReadBe32(bytes.data() + 16);
  if (mtr.end_lsn <= mtr.start_lsn) return corrupt("end LSN not after start LSN");
  if (count == 0 || count > bytes.size() / kRecordHeaderSize) return corrupt("bad record count");
  mtr.records.reserve(count);
  size_t pos = kHeaderSize;
  for (uint32_t i = 0; i < count; ++i) {
    if (bytes.size() - pos < kRecordHeaderSize) return corrupt("record header past the end");
    const uint8_t* h = bytes.data() + pos;
    wal::Record rec{};
    if (h[0] > static_cast<uint8_t>(wal::RecordType::kOption) || h[1] >= wal::kExtendedTypeCount) {
      return corrupt("unknown record type");
    }
    rec.type = static_cast<wal::RecordType>(h[0]);
    rec.subtype = static_cast<wal::ExtendedType>(h[1]);
    rec.page = page;
    rec.offset = ReadBe16(h + 2);
    rec.length = ReadBe16(h + 4);
    rec.source = ReadBe16(h + 6);
    rec.first_byte_pos = ReadBe32(h + 8);
    rec.data_len = ReadBe32(h + 12);
    pos += kRecordHeaderSize;
    if (rec.data_len > bytes.size() - pos) return corrupt("record payload past the end");
    // The same bounds the log decoder enforces, so the appliers get what they expect.
    const bool ranged = rec.type == wal::RecordType::kWrite ||
                        rec.type == wal::RecordType::kMemset ||
                        rec.type == wal::RecordType::kMemmove;
    if (ranged) {
      const uint64_t len = rec.type == wal::RecordType::kWrite ? rec.data_len : rec.length;
      if (rec.offset < 8 || len == 0 || rec.offset + len > page_size) {
        return corrupt("byte range outside the page");
      }
      if (rec.type == wal::RecordType::kMemset && (rec.data_len == 0 || rec.data_len > len)) {
        return corrupt("bad MEMSET pattern");
      }
      if (rec.type == wal::RecordType::kMemmove &&
          (rec.source < 8 || uint64_t{rec.source} + rec.length > page_size)) {
        return corrupt("MEMMOVE source outside the page");
      }
    }
    rec.data_pos = static_cast<uint32_t>(mtr.body.size());
    mtr.body.insert(mtr.body.end(), bytes.begin() + static_cast<ptrdiff_t>(pos),
                    bytes.begin() + static_cast<ptrdiff_t>(pos + rec.data_len));
    pos += rec.data_len;
    mtr.records.push_back(rec);
  }
  if (pos != bytes.size()) return corrupt("bytes after the last record");
  return mtr;
}

bool SnippetStartsFresh(const wal::Mtr& snippet) {
  return !snippet.records.empty() && (snippet.records[0].type == wal::RecordType::kInitPage ||
                                      snippet.records[0].type == wal::RecordType::kFreePage);
}

}  // namespace pageserver::storage
