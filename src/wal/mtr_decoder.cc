#include "wal/mtr_decoder.h"

#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/byte_order.h"
#include "common/crc32c.h"
#include "common/status_macros.h"
#include "wal/varint.h"

namespace pageserver::wal {
namespace {

constexpr uint16_t kFilPageType = 24;  // last_offset after INIT_PAGE and EXTENDED records
constexpr uint16_t kAfterFree = 1;     // last_offset meaning "next record must name its page"
constexpr uint16_t kMinPageOffset = 8;

// Length of a record from its first bytes: how many bytes follow the first byte, and how many of
// those are the length varint. nullopt when more bytes are needed; error when malformed.
struct RecordLength {
  size_t following;  // bytes after the first byte, including any length varint
  size_t varint;     // bytes of the length varint (0 for the short form)
};

enum class LengthResult { kOk, kNeedMore, kMalformed };

LengthResult DecodeRecordLength(const uint8_t* p, size_t avail, RecordLength* out) {
  const uint8_t n = p[0] & 0x0F;
  if (n != 0) {
    *out = {n, 0};
    return LengthResult::kOk;
  }
  if (avail < 2) return LengthResult::kNeedMore;
  const size_t vlen = VarintLength(p[1]);
  if (vlen == 0 || vlen > 3) return LengthResult::kMalformed;
  if (avail < 1 + vlen) return LengthResult::kNeedMore;
  auto v = DecodeVarint(p + 1, vlen, 3);
  if (!v || v->value >= kMtrSizeMax) return LengthResult::kMalformed;
  *out = {v->value + 15, vlen};
  return LengthResult::kOk;
}

class BodyParser {
 public:
  BodyParser(std::span<const uint8_t> body, Lsn start_lsn, uint32_t page_size, Mtr* out)
      : body_(body), start_lsn_(start_lsn), page_size_(page_size), out_(out) {}

  absl::Status Run() {
    size_t pos = 0;
    while (pos < body_.size()) {
      RecordLength len;
      if (DecodeRecordLength(&body_[pos], body_.size() - pos, &len) != LengthResult::kOk ||
          pos + 1 + len.following > body_.size()) {
        return Corrupt(pos, "record length runs past the end of the mini-transaction");
      }
      RETURN_IF_ERROR(ParseRecord(pos, len));
      pos += 1 + len.following;
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Corrupt(size_t pos, std::string_view why) const {
    return absl::DataLossError(absl::StrFormat(
        "corrupt redo record at LSN %d (byte 0x%02x, mini-transaction at LSN %d): %s",
        start_lsn_.value() + pos, pos < body_.size() ? body_[pos] : 0, start_lsn_.value(), why));
  }

  absl::Status ParseRecord(size_t pos, const RecordLength& len) {
    const uint8_t b = body_[pos];
    const uint8_t* p = &body_[pos + 1 + len.varint];
    size_t rlen = len.following - len.varint;
    Record rec{};
    rec.first_byte_pos = static_cast<uint32_t>(pos);

    const bool same_page = (b & 0x80) && got_page_op_;
    if (same_page) {
      rec.page = page_;
    } else {
      if (b == 0xF1 && rlen == 1 && p[0] == 0) return absl::OkStatus();  // dummy padding record
      auto space = DecodeVarint(p, rlen, 5);
      if (!space) return Corrupt(pos, "bad tablespace id");
      p += space->size;
      rlen -= space->size;
      auto page = DecodeVarint(p, rlen, 5);
      if (!page) return Corrupt(pos, "bad page number");
      p += page->size;
      rlen -= page->size;
      page_ = {SpaceId(space->value), PageNo(page->value)};
      rec.page = page_;
      got_page_op_ = !(b & 0x80);
      last_offset_ = 0;
      if (b & 0x80) {
        const bool last = pos + 1 + len.following == body_.size();
        return ParseFileRecord(pos, b, p, rlen, last, rec);
      }
    }
    rec.data_pos = static_cast<uint32_t>(p - body_.data());

    switch (b & 0x70) {
      case 0x00:
      case 0x10:
        if (same_page) return Corrupt(pos, "FREE_PAGE/INIT_PAGE may not use the same-page form");
        if (rlen != 0) return Corrupt(pos, "FREE_PAGE/INIT_PAGE carries a payload");
        rec.type = (b & 0x70) ? RecordType::kInitPage : RecordType::kFreePage;
        last_offset_ = rec.type == RecordType::kInitPage ? kFilPageType : kAfterFree;
        break;
      case 0x30:
      case 0x40:
      case 0x50:
        RETURN_IF_ERROR(ParseByteRange(pos, b & 0x70, p, rlen, &rec));
        break;
      case 0x20:
        RETURN_IF_ERROR(ParseExtended(pos, p, rlen, &rec));
        break;
      case 0x70:
        if (rlen == 0) return Corrupt(pos, "OPTION record without a subtype");
        rec.type = RecordType::kOption;
        rec.data_pos++;
        rec.data_len = static_cast<uint32_t>(rlen - 1);
        break;
      default:
        return Corrupt(pos, "RESERVED record type");
    }
    out_->records.push_back(rec);
    return absl::OkStatus();
  }

  absl::Status ParseByteRange(size_t pos, uint8_t type, const uint8_t* p, size_t rlen,
                              Record* rec) {
    if (last_offset_ == kAfterFree) {
      return Corrupt(pos, "same-page record after FREE_PAGE/TRIM_PAGES");
    }
    auto delta = DecodeVarint(p, rlen, 3);
    if (!delta) return Corrupt(pos, "bad offset");
    p += delta->size;
    rlen -= delta->size;
    const uint64_t target = uint64_t{last_offset_} + delta->value;
    if (target < kMinPageOffset || target >= page_size_) {
      return Corrupt(pos, absl::StrCat("offset ", target, " outside the page"));
    }
    rec->offset = static_cast<uint16_t>(target);
    if (type == 0x30) {
      if (rlen == 0) return Corrupt(pos, "WRITE without data");
      if (target + rlen > page_size_) return Corrupt(pos, "WRITE runs past the end of the page");
      rec->type = RecordType::kWrite;
      rec->data_pos = static_cast<uint32_t>(p - body_.data());
      rec->data_len = static_cast<uint32_t>(rlen);
      last_offset_ = static_cast<uint32_t>(target + rlen);
      return absl::OkStatus();
    }
    auto length = DecodeVarint(p, rlen, 3);
    if (!length || length->value == 0) return Corrupt(pos, "bad length");
    p += length->size;
    rlen -= length->size;
    if (target + length->value > page_size_) return Corrupt(pos, "range runs past the page end");
    rec->length = static_cast<uint16_t>(length->value);
    if (type == 0x40) {
      if (rlen == 0 || rlen > length->value) return Corrupt(pos, "bad MEMSET pattern length");
      rec->type = RecordType::kMemset;
      rec->data_pos = static_cast<uint32_t>(p - body_.data());
      rec->data_len = static_cast<uint32_t>(rlen);
    } else {
      auto src = DecodeVarint(p, rlen, 3);
      if (!src || src->size != rlen) return Corrupt(pos, "bad MEMMOVE source");
      const int64_t distance =
          (src->value & 1) ? -int64_t{src->value >> 1} - 1 : int64_t{src->value >> 1} + 1;
      const int64_t source = static_cast<int64_t>(target) + distance;
      if (source < kMinPageOffset || source + length->value > page_size_) {
        return Corrupt(pos, "MEMMOVE source outside the page");
      }
      rec->type = RecordType::kMemmove;
      rec->source = static_cast<uint16_t>(source);
    }
    last_offset_ = static_cast<uint32_t>(target + length->value);
    return absl::OkStatus();
  }

  absl::Status ParseExtended(size_t pos, const uint8_t* p, size_t rlen, Record* rec) {
    if (rlen == 0) return Corrupt(pos, "EXTENDED record without a subtype");
    if (p[0] >= kExtendedTypeCount)
      return Corrupt(pos, absl::StrCat("unknown EXTENDED subtype ", p[0]));
    rec->type = RecordType::kExtended;
    rec->subtype = static_cast<ExtendedType>(p[0]);
    rec->data_pos++;
    rec->data_len = static_cast<uint32_t>(rlen - 1);
    switch (rec->subtype) {
      case ExtendedType::kInitRowFormatRedundant:
      case ExtendedType::kInitRowFormatDynamic:
      case ExtendedType::kUndoInit:
        if (rlen != 1) return Corrupt(pos, "page-init record carries a payload");
        break;
      case ExtendedType::kUndoAppend:
        if (rlen <= 3) return Corrupt(pos, "UNDO_APPEND shorter than an undo record");
        break;
      case ExtendedType::kTrimPages:
        if (rlen != 1) return Corrupt(pos, "TRIM_PAGES carries a payload");
        last_offset_ = kAfterFree;
        return absl::OkStatus();
      default:
        if (rlen < 2) return Corrupt(pos, "index record without a payload");
        break;
    }
    if (rec->page.page.value() < 3) {
      return Corrupt(pos, "EXTENDED record for page 0, 1 or 2 of a tablespace");
    }
    last_offset_ = kFilPageType;
    return absl::OkStatus();
  }

  absl::Status ParseFileRecord(size_t pos, uint8_t b, const uint8_t* p, size_t rlen, bool last,
                               Record rec) {
    rec.data_pos = static_cast<uint32_t>(p - body_.data());
    rec.data_len = static_cast<uint32_t>(rlen);
    if (rec.page.page.value() != 0) return Corrupt(pos, "file record with a non-zero page number");
    switch (b & 0xF0) {
      case 0xF0:
        if (rlen != 8 || rec.page.space.value() != 0) return Corrupt(pos, "bad FILE_CHECKPOINT");
        if (!last) {
          return Corrupt(pos, "FILE_CHECKPOINT is not the last record of its mini-transaction");
        }
        rec.type = RecordType::kFileCheckpoint;
        break;
      case 0x80:
      case 0x90:
      case 0xB0: {
        std::string_view path(reinterpret_cast<const char*>(p), rlen);
        RETURN_IF_ERROR(CheckPath(pos, rec, path));
        rec.type = (b & 0xF0) == 0x80   ? RecordType::kFileCreate
                   : (b & 0xF0) == 0x90 ? RecordType::kFileDelete
                                        : RecordType::kFileModify;
        break;
      }
      case 0xA0: {
        std::string_view both(reinterpret_cast<const char*>(p), rlen);
        const size_t nul = both.find('\0');
        if (nul == std::string_view::npos || both.find('\0', nul + 1) != std::string_view::npos) {
          return Corrupt(pos, "FILE_RENAME needs exactly one NUL between the two paths");
        }
        RETURN_IF_ERROR(CheckPath(pos, rec, both.substr(0, nul)));
        RETURN_IF_ERROR(CheckPath(pos, rec, both.substr(nul + 1)));
        rec.type = RecordType::kFileRename;
        break;
      }
      default:
        return Corrupt(pos, "unknown file-level record type");
    }
    out_->records.push_back(rec);
    return absl::OkStatus();
  }

  absl::Status CheckPath(size_t pos, const Record& rec, std::string_view path) const {
    if (rec.page.space.value() == 0) return Corrupt(pos, "file record for the system tablespace");
    if (path.size() < 5 || !path.ends_with(".ibd") || path.find('/') == std::string_view::npos ||
        path.find('\0') != std::string_view::npos) {
      return Corrupt(pos, "file record path is not a .ibd path");
    }
    return absl::OkStatus();
  }

  std::span<const uint8_t> body_;
  Lsn start_lsn_;
  uint32_t page_size_;
  Mtr* out_;
  bool got_page_op_ = false;
  PageId page_{};
  // 32 bits: a record ending at the end of a 64 KiB page leaves it at 65536.
  uint32_t last_offset_ = 0;
};

}  // namespace

absl::Status ParseMtrBody(std::span<const uint8_t> body, Lsn start_lsn, uint32_t page_size,
                          Mtr* out) {
  out->records.clear();
  return BodyParser(body, start_lsn, page_size, out).Run();
}

MtrDecoder::MtrDecoder(Lsn start_lsn, MtrDecoderOptions options)
    : lsn_(start_lsn), options_(options) {}

uint8_t* MtrDecoder::PrepareFeed(size_t n) {
  if (consumed_ > 0 && consumed_ >= filled_ / 2) {
    std::memmove(buffer_.data(), buffer_.data() + consumed_, filled_ - consumed_);
    filled_ -= consumed_;
    consumed_ = 0;
  }
  if (buffer_.size() < filled_ + n) buffer_.resize(filled_ + n);
  return buffer_.data() + filled_;
}

void MtrDecoder::CommitFeed(size_t n) { filled_ += n; }

void MtrDecoder::Feed(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return;
  std::memcpy(PrepareFeed(bytes.size()), bytes.data(), bytes.size());
  CommitFeed(bytes.size());
}

// Walks record lengths from the current LSN to the terminator byte; checks terminator and CRC.
absl::StatusOr<bool> MtrDecoder::Frame(size_t* terminator_pos) {
  const uint8_t* base = buffer_.data() + consumed_;
  const size_t avail = filled_ - consumed_;
  size_t pos = scan_offset_;
  for (;;) {
    if (pos >= avail) {
      scan_offset_ = pos;
      return false;
    }
    const uint8_t b = base[pos];
    if (b <= 1) break;
    RecordLength len;
    switch (DecodeRecordLength(base + pos, avail - pos, &len)) {
      case LengthResult::kNeedMore:
        scan_offset_ = pos;
        return false;
      case LengthResult::kMalformed:
        return absl::OutOfRangeError(
            absl::StrFormat("end of log at LSN %d: malformed record length at LSN %d", lsn_.value(),
                            lsn_.value() + pos));
      case LengthResult::kOk:
        break;
    }
    pos += 1 + len.following;
    if (pos >= kMtrSizeMax) {
      return absl::OutOfRangeError(absl::StrFormat(
          "end of log at LSN %d: no mini-transaction terminator within 1 MiB", lsn_.value()));
    }
  }
  if (pos == 0) {
    return absl::OutOfRangeError(absl::StrFormat(
        "end of log at LSN %d: byte 0x%02x where a record should start", lsn_.value(), base[0]));
  }
  const Lsn terminator_lsn = lsn_ + pos;
  if (options_.geometry) {
    const int expected = options_.geometry->SequenceBit(terminator_lsn);
    if (base[pos] != expected) {
      return absl::OutOfRangeError(absl::StrFormat(
          "end of log at LSN %d: terminator 0x%02x at LSN %d is from another pass over the file "
          "(expected 0x%02x)",
          lsn_.value(), base[pos], terminator_lsn.value(), expected));
    }
  }
  if (avail < pos + 5) {
    scan_offset_ = pos;
    return false;
  }
  const uint32_t crc = Crc32c(0, base, pos);
  const uint32_t stored = ReadBe32(base + pos + 1);
  if (crc != stored) {
    return absl::OutOfRangeError(absl::StrFormat(
        "end of log at LSN %d: checksum mismatch in the mini-transaction of %d bytes "
        "(stored 0x%08x, computed 0x%08x)",
        lsn_.value(), pos + 5, stored, crc));
  }
  *terminator_pos = pos;
  return true;
}

absl::StatusOr<bool> MtrDecoder::Next(Mtr* out) {
  size_t terminator_pos = 0;
  ASSIGN_OR_RETURN(bool framed, Frame(&terminator_pos));
  if (!framed) return false;
  const uint8_t* base = buffer_.data() + consumed_;
  out->start_lsn = lsn_;
  out->end_lsn = lsn_ + (terminator_pos + 5);
  out->body.assign(base, base + terminator_pos);
  out->crc = ReadBe32(base + terminator_pos + 1);
  RETURN_IF_ERROR(ParseMtrBody(out->body, lsn_, options_.page_size, out));
  consumed_ += terminator_pos + 5;
  scan_offset_ = 0;
  lsn_ = out->end_lsn;
  return true;
}

}  // namespace pageserver::wal
