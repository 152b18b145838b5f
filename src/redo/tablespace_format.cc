#include "redo/tablespace_format.h"

#include <cstring>

#include "absl/strings/str_format.h"
#include "common/byte_order.h"
#include "redo/page_format.h"

namespace pageserver::redo {
namespace {

absl::Status Unsupported(SpaceId space, uint32_t flags, std::string_view what) {
  return absl::FailedPreconditionError(
      absl::StrFormat("tablespace %d (FSP_SPACE_FLAGS 0x%x) uses %s, which is not supported",
                      space.value(), flags, what));
}

// Where fil_space_crypt_t is stored on page 0: after the FSP header and the 256 extent
// descriptors of a 16 KiB page (FSP_HEADER_OFFSET + XDES_ARR_OFFSET + 40 * 256; found in real
// encrypted tablespaces at 10428). Its magic is "s\x0e\x0cREt", then the scheme byte (1 = AES).
constexpr uint32_t kCryptDataOffset16k = 38 + (38 + 112) + 40 * (16384 / 64);
constexpr uint8_t kCryptMagic[6] = {'s', 0x0E, 0x0C, 'R', 'E', 't'};

}  // namespace

absl::StatusOr<TablespaceFormat> ParseSpaceFlags(uint32_t flags, SpaceId space) {
  TablespaceFormat format;
  if (flags & kFlagsFullCrc32Marker) {
    format.full_crc32 = true;
    const uint32_t ssize = flags & 0x0F;
    if (ssize == 0) return Unsupported(space, flags, "an invalid page size code");
    format.page_size = 512u << ssize;
    if ((flags >> 5) & 7) return Unsupported(space, flags, "page_compressed");
  } else {
    format.full_crc32 = false;
    if ((flags >> 1) & 0x0F) return Unsupported(space, flags, "ROW_FORMAT=COMPRESSED");
    const uint32_t ssize = (flags >> 6) & 0x0F;
    format.page_size = ssize == 0 ? 16384u : (512u << ssize);
    if (flags & (1u << 16)) return Unsupported(space, flags, "page_compressed");
  }
  if (format.page_size != kSupportedPageSize) {
    return Unsupported(space, flags,
                       absl::StrFormat("page size %d (only 16384 is supported)", format.page_size));
  }
  return format;
}

absl::StatusOr<TablespaceFormat> ReadTablespaceFormat(std::span<const uint8_t> page0,
                                                      SpaceId space) {
  if (page0.size() < kFspSpaceFlags + 4) {
    return absl::DataLossError(
        absl::StrFormat("tablespace %d: page 0 is truncated", space.value()));
  }
  const uint32_t flags = ReadBe32(page0.data() + kFspSpaceFlags);
  auto format = ParseSpaceFlags(flags, space);
  if (!format.ok()) return format;
  const uint8_t* crypt = page0.data() + kCryptDataOffset16k;
  if (page0.size() >= kCryptDataOffset16k + 8 &&
      std::memcmp(crypt, kCryptMagic, sizeof(kCryptMagic)) == 0 && crypt[6] != 0) {
    return Unsupported(space, flags, "encryption (ENCRYPTED=YES or innodb_encrypt_tables)");
  }
  return format;
}

}  // namespace pageserver::redo
