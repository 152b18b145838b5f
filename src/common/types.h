// Strong types for the identifiers that flow through every layer: an LSN, a tablespace id, a
// page number and the (space, page) key. They are plain values, trivially copyable, and carry no
// behaviour beyond comparison and formatting; the point is that a page number can never be passed
// where an LSN is meant.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

namespace pageserver {

template <typename Tag, typename Rep>
class StrongInt {
 public:
  using rep_type = Rep;
  constexpr StrongInt() = default;
  constexpr explicit StrongInt(Rep value) : value_(value) {}
  constexpr Rep value() const { return value_; }
  constexpr auto operator<=>(const StrongInt&) const = default;

 private:
  Rep value_ = 0;
};

struct LsnTag {};
struct SpaceIdTag {};
struct PageNoTag {};

// A log sequence number: the byte position in MariaDB's endless redo stream.
class Lsn : public StrongInt<LsnTag, uint64_t> {
 public:
  using StrongInt::StrongInt;
  constexpr Lsn operator+(uint64_t bytes) const { return Lsn(value() + bytes); }
  constexpr uint64_t operator-(Lsn other) const { return value() - other.value(); }
};
using SpaceId = StrongInt<SpaceIdTag, uint32_t>;
using PageNo = StrongInt<PageNoTag, uint32_t>;

struct PageId {
  SpaceId space;
  PageNo page;
  constexpr auto operator<=>(const PageId&) const = default;
};

inline std::ostream& operator<<(std::ostream& os, Lsn lsn) { return os << lsn.value(); }
inline std::ostream& operator<<(std::ostream& os, SpaceId id) { return os << id.value(); }
inline std::ostream& operator<<(std::ostream& os, PageNo no) { return os << no.value(); }
inline std::string ToString(PageId id) {
  return "[space " + std::to_string(id.space.value()) + " page " + std::to_string(id.page.value()) +
         "]";
}

// InnoDB's temporary tablespace is never logged.
inline constexpr SpaceId kTemporarySpaceId{0xFFFFFFFEu};
inline constexpr SpaceId kSystemSpaceId{0};

}  // namespace pageserver

template <>
struct std::hash<pageserver::PageId> {
  // Mixed, not the identity: open-addressing maps (absl::flat_hash_map) take the hash's high
  // bits as well as its low ones.
  size_t operator()(const pageserver::PageId& id) const noexcept {
    uint64_t x = (uint64_t{id.space.value()} << 32) | id.page.value();
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return static_cast<size_t>(x);
  }
};
