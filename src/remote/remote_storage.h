// RemoteStorage: the durable home of a page server's files (issue 10): an object store under
// the local data directory, which becomes a cache of it. One interface, two implementations: a
// local directory (file:///PATH, the embedded default) and the S3 API (s3://BUCKET/PREFIX?...).
//
// The rules every implementation keeps:
//   - Keys are relative paths of [A-Za-z0-9._-] segments joined by '/': no empty segment, no
//     "." or "..", at most 1024 bytes. Anything else is InvalidArgument, before any I/O.
//   - Objects are immutable. PutIfAbsent stores an object only when its key is free and fails
//     with AlreadyExists otherwise, whatever the content: nothing is ever overwritten (a restarted
//     or a stale node cannot clobber another's object; Neon's generations rely on the same rule).
//     A Put that returned OK is durable; one that failed may or may not have stored the object.
//   - Get returns the whole object or a byte range of it; NotFound for a missing key; OutOfRange
//     for a range that starts past the end (a range that runs past the end is cut there).
//   - List returns every key under a prefix, sorted, with sizes. Delete of a missing key is OK.
//   - Errors that may pass (timeouts, 5xx, SlowDown) are Unavailable (or DeadlineExceeded,
//     ResourceExhausted): RetryingStorage retries those. Every message names the object.
//
// Thread-safety: every implementation may be called from any number of threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace pageserver::remote {

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;

  bool operator==(const ObjectInfo&) const = default;
};

struct ByteRange {
  uint64_t offset = 0;
  std::optional<uint64_t> length;  // absent: to the end of the object
};

class RemoteStorage {
 public:
  virtual ~RemoteStorage() = default;

  virtual absl::Status PutIfAbsent(const std::string& key, std::span<const uint8_t> data) = 0;
  virtual absl::StatusOr<std::vector<uint8_t>> Get(const std::string& key,
                                                   ByteRange range = {}) = 0;
  virtual absl::StatusOr<std::vector<ObjectInfo>> List(const std::string& prefix) = 0;
  virtual absl::Status Delete(const std::string& key) = 0;

  // Where the objects are, for messages: "file:///srv/bucket", "s3://bucket/prefix".
  virtual std::string Describe() const = 0;
};

// OK, or InvalidArgument saying what is wrong with `key` (the rules above).
absl::Status ValidateKey(const std::string& key);

// The storage a --remote URL names:
//   file:///PATH                       a local directory (created if missing)
//   s3://BUCKET[/PREFIX][?endpoint=http://HOST:PORT&region=R]
//                                      the S3 API, path-style; credentials from
//                                      AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
// InvalidArgument for anything else, naming the part that is wrong.
absl::StatusOr<std::unique_ptr<RemoteStorage>> OpenRemoteStorage(const std::string& url);

}  // namespace pageserver::remote
