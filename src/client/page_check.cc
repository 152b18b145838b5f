#include "client/page_check.h"

#include "absl/strings/str_format.h"

namespace pageserver::client {

absl::StatusOr<Page> CheckPage(const PageRequest& request, Page page, uint32_t page_size) {
  if (page.id != request.id) {
    return absl::DataLossError(
        absl::StrFormat("asked for %s at LSN %d, the server answered with %s", ToString(request.id),
                        request.lsn.value(), ToString(page.id)));
  }
  if (page.lsn == Lsn(0)) page.lsn = request.lsn;
  if (request.lsn != Lsn(0) && page.lsn != request.lsn) {
    return absl::DataLossError(absl::StrFormat("asked for %s at LSN %d, the server read it at %d",
                                               ToString(request.id), request.lsn.value(),
                                               page.lsn.value()));
  }
  // A freed page too: the server sends its last image, stamped and checksummed.
  if (page.data.size() != page_size) {
    return absl::DataLossError(
        absl::StrFormat("%s at LSN %d: the server sent %d bytes, not a page of %d",
                        ToString(page.id), page.lsn.value(), page.data.size(), page_size));
  }
  return page;
}

}  // namespace pageserver::client
