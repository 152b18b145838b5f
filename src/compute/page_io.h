// PageIo: mariadbd's reads and writes of InnoDB data files (ibdata*, undo*, *.ibd) in a compute.
//
//   - A read is GetPage at the LSN of the page's last write by this compute (its FIL_PAGE_LSN),
//     or the shipper's confirmed LSN when later (as Neon's compute reads at a page's last-written
//     LSN): a page mariadbd reads back is the one it wrote before evicting it, since the write
//     waited for that LSN (below), and a page it never wrote last changed before that. A page
//     past the end of the tablespace as the server has it at that LSN was never written: zeros,
//     as a new file's extension reads. (The last-written map holds one LSN per page written.)
//   - A write is not shipped: the server rebuilds every page from redo. It is dropped once the
//     server holds redo up to the page's FIL_PAGE_LSN (RedoShipper::EnsureDurable), so the next
//     read gets the same bytes. A partial-page write must be zeros (a file extended by writing).
//   - In verification mode each written page is also compared with the server's page at its
//     FIL_PAGE_LSN; mismatches are counted and the first ones reported on stderr.
//
// Thread-safety: all methods may be called from any thread (the client is thread-safe).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <span>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "client/page_server_client.h"
#include "common/types.h"
#include "compute/redo_shipper.h"

namespace pageserver::compute {

struct PageIoStats {
  uint64_t pages_read = 0;
  uint64_t pages_written = 0;   // written by mariadbd and dropped
  uint64_t pages_verified = 0;  // compared with the server (verification mode)
  uint64_t mismatches = 0;
};

class PageIo {
 public:
  PageIo(client::PageServerClient& client, RedoShipper& shipper, uint32_t page_size, bool verify,
         absl::Duration patience);

  // Reads [offset, offset + out.size()) of tablespace `space`'s file.
  absl::Status Read(SpaceId space, const std::string& path, uint64_t offset,
                    std::span<uint8_t> out);
  // Accepts mariadbd's write of `data` at `offset` of `space`'s file.
  absl::Status Write(SpaceId space, const std::string& path, uint64_t offset,
                     std::span<const uint8_t> data);

  uint32_t page_size() const { return page_size_; }
  PageIoStats stats() const;

 private:
  absl::Status Verify(PageId id, Lsn lsn, std::span<const uint8_t> page, const std::string& path);
  Lsn ReadLsn(PageId id) const;

  client::PageServerClient& client_;
  RedoShipper& shipper_;
  const uint32_t page_size_;
  const bool verify_;
  const absl::Duration patience_;  // for an unreachable server (compute/server_patience.h)
  mutable std::mutex written_mu_;  // guards written_
  std::map<PageId, Lsn> written_;  // the FIL_PAGE_LSN of each page's last write
  std::atomic<uint64_t> pages_read_{0}, pages_written_{0}, pages_verified_{0}, mismatches_{0};
};

}  // namespace pageserver::compute
