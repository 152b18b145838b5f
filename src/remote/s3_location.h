// Where an S3 remote storage is: s3://BUCKET[/PREFIX][?endpoint=URL&region=R], path-style
// addressing (http://HOST:PORT/BUCKET/PREFIX/KEY), as radosgw and MinIO serve it.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace pageserver::remote {

struct S3Location {
  std::string bucket;
  std::string prefix;    // without leading or trailing '/'; may be empty
  std::string endpoint;  // scheme://host[:port], no trailing '/'
  std::string region = "us-east-1";
};

// InvalidArgument naming what is wrong: not s3://, a bad bucket name (3..63 of [a-z0-9.-]), a
// prefix with an empty, "." or ".." segment, an unknown parameter, an endpoint that is not
// http:// or https://.
absl::StatusOr<S3Location> ParseS3Url(const std::string& url);

}  // namespace pageserver::remote
