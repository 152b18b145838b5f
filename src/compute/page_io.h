// PageIo: mariadbd's reads and writes of InnoDB data files (ibdata*, undo*, *.ibd) in a compute.
//
//   - A read is GetPage at the compute's durable LSN (everything this compute wrote, as the server
//     acknowledged it): a page mariadbd reads back is the one it wrote before evicting it, since
//     the write waited for that LSN (below). A page past the end of the tablespace as the server
//     has it at that LSN was never written: zeros, as a new file's extension reads.
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

  client::PageServerClient& client_;
  RedoShipper& shipper_;
  const uint32_t page_size_;
  const bool verify_;
  const absl::Duration patience_;  // for an unreachable server (compute/server_patience.h)
  std::atomic<uint64_t> pages_read_{0}, pages_written_{0}, pages_verified_{0}, mismatches_{0};
};

}  // namespace pageserver::compute
