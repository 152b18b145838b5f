#include "common/malloc_tuning.h"

#include <malloc.h>

namespace pageserver {

void KeepLargeBuffersInHeap() {
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
}

}  // namespace pageserver
