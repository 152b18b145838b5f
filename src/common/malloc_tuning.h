// Process-wide allocator setting for processes that move megabytes per call (the page server;
// the benchmark's load generator). Call once at the start of main.
#pragma once

namespace pageserver {

// GetPages answers and StreamWAL batches are megabytes and live for one call. By default glibc
// serves such sizes with a fresh mmap, or returns the top of the heap to the kernel when they
// are freed, so every call pays page faults and page zeroing for its buffers (a tenth of the
// server's time in the batched GetPages benchmark). This keeps them in the heap and the heap
// mapped: resident memory stays at the high-water mark of concurrent calls.
void KeepLargeBuffersInHeap();

}  // namespace pageserver
