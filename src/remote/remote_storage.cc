#include "remote/remote_storage.h"

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "remote/local_storage.h"
#include "remote/s3_location.h"
#include "remote/s3_storage.h"

namespace pageserver::remote {
namespace {

constexpr size_t kMaxKeyBytes = 1024;

bool IsKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

// Segments of [A-Za-z0-9._-], none empty, "." or ".."; empty when fine, else what is wrong.
std::string CheckSegments(const std::string& path) {
  for (const absl::string_view segment : absl::StrSplit(path, '/')) {
    if (segment.empty()) return "an empty segment";
    if (segment == "." || segment == "..") return absl::StrFormat("the segment \"%s\"", segment);
    for (const char c : segment) {
      if (!IsKeyChar(c)) return absl::StrFormat("the character 0x%02x", static_cast<uint8_t>(c));
    }
  }
  return "";
}

}  // namespace

absl::Status ValidateKey(const std::string& key) {
  if (key.empty() || key.size() > kMaxKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrFormat("object key \"%s\": %d bytes (1..%d allowed)", key, key.size(),
                        kMaxKeyBytes));
  }
  if (const std::string wrong = CheckSegments(key); !wrong.empty()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "object key \"%s\" has %s (keys are '/'-joined segments of [A-Za-z0-9._-])", key, wrong));
  }
  return absl::OkStatus();
}

absl::StatusOr<S3Location> ParseS3Url(const std::string& url) {
  constexpr absl::string_view kScheme = "s3://";
  if (!absl::StartsWith(url, kScheme)) {
    return absl::InvalidArgumentError(absl::StrFormat("\"%s\" is not an s3:// URL", url));
  }
  std::string rest = url.substr(kScheme.size());
  std::string query;
  if (const size_t q = rest.find('?'); q != std::string::npos) {
    query = rest.substr(q + 1);
    rest.resize(q);
  }
  S3Location location;
  const size_t slash = rest.find('/');
  location.bucket = rest.substr(0, slash);
  if (slash != std::string::npos) location.prefix = rest.substr(slash + 1);
  while (!location.prefix.empty() && location.prefix.back() == '/') location.prefix.pop_back();
  const std::string& b = location.bucket;
  bool bucket_ok = b.size() >= 3 && b.size() <= 63 && b.front() != '.' && b.front() != '-' &&
                   b.back() != '.' && b.back() != '-';
  for (const char c : b) {
    bucket_ok = bucket_ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                              c == '-');
  }
  if (!bucket_ok) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: bucket \"%s\" is not a bucket name (3..63 of [a-z0-9.-])", url, location.bucket));
  }
  if (!location.prefix.empty()) {
    if (const std::string wrong = CheckSegments(location.prefix); !wrong.empty()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: prefix \"%s\" has %s", url, location.prefix, wrong));
    }
  }
  for (const absl::string_view param : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    const std::pair<std::string, std::string> kv = absl::StrSplit(param, absl::MaxSplits('=', 1));
    if (kv.first == "endpoint") {
      location.endpoint = kv.second;
    } else if (kv.first == "region") {
      location.region = kv.second;
    } else {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: unknown parameter \"%s\" (endpoint and region are known)", url, kv.first));
    }
  }
  while (!location.endpoint.empty() && location.endpoint.back() == '/') {
    location.endpoint.pop_back();
  }
  if (location.endpoint.empty()) location.endpoint = "https://s3." + location.region + ".amazonaws.com";
  if (!absl::StartsWith(location.endpoint, "http://") &&
      !absl::StartsWith(location.endpoint, "https://")) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: endpoint \"%s\" is not an http:// or https:// URL", url, location.endpoint));
  }
  if (location.region.empty()) {
    return absl::InvalidArgumentError(absl::StrFormat("%s: an empty region", url));
  }
  return location;
}

absl::StatusOr<std::unique_ptr<RemoteStorage>> OpenRemoteStorage(const std::string& url) {
  constexpr absl::string_view kFile = "file://";
  if (absl::StartsWith(url, kFile)) {
    ASSIGN_OR_RETURN(std::unique_ptr<LocalStorage> local,
                     LocalStorage::Open(url.substr(kFile.size())));
    return std::unique_ptr<RemoteStorage>(std::move(local));
  }
  if (absl::StartsWith(url, "s3://")) {
    ASSIGN_OR_RETURN(S3Location location, ParseS3Url(url));
    ASSIGN_OR_RETURN(S3Credentials credentials, S3CredentialsFromEnvironment());
    return std::unique_ptr<RemoteStorage>(
        new S3Storage(std::move(location), std::move(credentials)));
  }
  return absl::InvalidArgumentError(
      absl::StrFormat("--remote \"%s\": expected file:///PATH or s3://BUCKET/PREFIX", url));
}

}  // namespace pageserver::remote
