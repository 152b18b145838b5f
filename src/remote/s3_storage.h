// S3Storage: RemoteStorage on the S3 API, path-style (ENDPOINT/BUCKET/PREFIX/KEY), signed with
// AWS Signature V4 by libcurl (CURLOPT_AWS_SIGV4), as radosgw, MinIO and AWS serve it.
//
// How each rule of remote_storage.h maps to S3:
//   - PutIfAbsent: PUT with "If-None-Match: *"; 412 Precondition Failed is AlreadyExists (the
//     server refused to overwrite; radosgw and AWS both honour it). The body's SHA-256 goes in
//     x-amz-content-sha256, so the server checks what it stored.
//   - Get: GET, with "Range: bytes=A-B" for a range; 404 NotFound, 416 OutOfRange. A body
//     shorter than its Content-Length (a connection cut mid-answer) is Unavailable.
//   - List: ListObjectsV2 pages (list-type=2, continuation-token), query sorted and encoded
//     before signing.
//   - Delete: DELETE; 204 and 404 are both OK.
//   - Errors: 5xx and curl's transfer failures are Unavailable, 503 SlowDown is
//     ResourceExhausted, a timeout DeadlineExceeded (RetryingStorage retries those); 403 is
//     PermissionDenied; each message names the method, the object and S3's error code.
//
//   - An object over `multipart_threshold` bytes goes up as a multipart upload: parts of
//     `part_bytes` (CreateMultipartUpload, UploadPart, CompleteMultipartUpload; aborted on
//     failure, so no part is left behind). S3 servers differ on a conditional Complete, so the
//     key is checked free first (a listing); generations (storage/remote_layout.h) keep two
//     writers off one key, so the window between the check and the Complete is never contended.
//
// Thread-safety: any number of threads; each call uses its own curl handle.
#pragma once

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "remote/remote_storage.h"
#include "remote/s3_location.h"

namespace pageserver::remote {

struct S3Credentials {
  std::string access_key_id;
  std::string secret_access_key;
};

// From AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY; InvalidArgument naming the missing one.
absl::StatusOr<S3Credentials> S3CredentialsFromEnvironment();

class S3Storage final : public RemoteStorage {
 public:
  S3Storage(S3Location location, S3Credentials credentials,
            absl::Duration timeout = absl::Seconds(30));

  // Objects larger than `threshold` go up in parts of `part_bytes` (at least 5 MiB, S3's
  // minimum for every part but the last). Defaults: 64 MiB in parts of 16 MiB.
  void SetMultipart(uint64_t threshold, uint64_t part_bytes);

  absl::Status PutIfAbsent(const std::string& key, std::span<const uint8_t> data) override;
  absl::StatusOr<std::vector<uint8_t>> Get(const std::string& key, ByteRange range) override;
  absl::StatusOr<std::vector<ObjectInfo>> List(const std::string& prefix) override;
  absl::Status Delete(const std::string& key) override;
  std::string Describe() const override;

  // PUT of the bucket itself (for tests and first setup); OK when it exists already and is ours.
  absl::Status CreateBucket();

 private:
  struct Response;
  // One signed request. `object` is the path after the bucket ("" for the bucket itself);
  // `query` is already sorted and encoded.
  absl::StatusOr<Response> Send(const std::string& method, const std::string& object,
                                const std::string& query, std::span<const uint8_t> body,
                                const std::vector<std::string>& headers);
  std::string ObjectPath(const std::string& key) const;
  absl::Status PutMultipart(const std::string& key, std::span<const uint8_t> data);
  uint64_t multipart_threshold_ = 64ull << 20;
  uint64_t part_bytes_ = 16ull << 20;

  const S3Location location_;
  const S3Credentials credentials_;
  const absl::Duration timeout_;
};

}  // namespace pageserver::remote
