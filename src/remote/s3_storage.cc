#include "remote/s3_storage.h"

#include <curl/curl.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"

namespace pageserver::remote {
namespace {

std::string Hex(const uint8_t* p, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[p[i] >> 4];
    out[2 * i + 1] = kDigits[p[i] & 15];
  }
  return out;
}

std::string Sha256Hex(std::span<const uint8_t> data) {
  uint8_t digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), digest, &n, EVP_sha256(), nullptr);
  return Hex(digest, n);
}

// RFC 3986 percent-encoding of a query parameter, as SigV4's canonical query string wants it.
std::string UriEncode(const std::string& s) {
  std::string out;
  for (const unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += absl::StrFormat("%%%02X", c);
    }
  }
  return out;
}

std::string XmlUnescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out += s[i];
      continue;
    }
    static constexpr std::pair<std::string_view, char> kEntities[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    bool matched = false;
    for (const auto& [entity, c] : kEntities) {
      if (s.substr(i, entity.size()) == entity) {
        out += c;
        i += entity.size() - 1;
        matched = true;
        break;
      }
    }
    if (!matched) out += '&';
  }
  return out;
}

// The text of the first <tag>...</tag> in `xml` at or after `from`; nullopt when absent.
std::optional<std::string> XmlTag(std::string_view xml, std::string_view tag, size_t from = 0,
                                  size_t* end = nullptr) {
  const std::string open = absl::StrFormat("<%s>", tag), close = absl::StrFormat("</%s>", tag);
  const size_t a = xml.find(open, from);
  if (a == std::string_view::npos) return std::nullopt;
  const size_t b = xml.find(close, a + open.size());
  if (b == std::string_view::npos) return std::nullopt;
  if (end) *end = b + close.size();
  return XmlUnescape(xml.substr(a + open.size(), b - a - open.size()));
}

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t AppendBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

}  // namespace

struct S3Storage::Response {
  long status = 0;
  std::string body;
  std::string etag;  // the ETag header's value, when the answer has one
};

namespace {

size_t ReadHeader(char* data, size_t size, size_t n, void* out) {
  const absl::string_view line(data, size * n);
  constexpr absl::string_view kEtag = "etag:";
  if (line.size() > kEtag.size() &&
      absl::EqualsIgnoreCase(line.substr(0, kEtag.size()), kEtag)) {
    *static_cast<std::string*>(out) =
        std::string(absl::StripAsciiWhitespace(line.substr(kEtag.size())));
  }
  return size * n;
}

}  // namespace

absl::StatusOr<S3Credentials> S3CredentialsFromEnvironment() {
  S3Credentials c;
  for (auto [name, out] : {std::pair{"AWS_ACCESS_KEY_ID", &c.access_key_id},
                           std::pair{"AWS_SECRET_ACCESS_KEY", &c.secret_access_key}}) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') {
      return absl::InvalidArgumentError(
          absl::StrFormat("an s3:// remote needs the %s environment variable", name));
    }
    *out = value;
  }
  return c;
}

S3Storage::S3Storage(S3Location location, S3Credentials credentials, absl::Duration timeout)
    : location_(std::move(location)), credentials_(std::move(credentials)), timeout_(timeout) {
  GlobalInitOnce();
}

std::string S3Storage::Describe() const {
  return absl::StrFormat("s3://%s%s%s (%s)", location_.bucket, location_.prefix.empty() ? "" : "/",
                         location_.prefix, location_.endpoint);
}

std::string S3Storage::ObjectPath(const std::string& key) const {
  return location_.prefix.empty() ? key : location_.prefix + "/" + key;
}

absl::StatusOr<S3Storage::Response> S3Storage::Send(const std::string& method,
                                                    const std::string& object,
                                                    const std::string& query,
                                                    std::span<const uint8_t> body,
                                                    const std::vector<std::string>& headers) {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return absl::InternalError("curl_easy_init failed");
  std::string url = location_.endpoint + "/" + location_.bucket;
  if (!object.empty()) url += "/" + object;
  if (!query.empty()) url += "?" + query;
  const std::string sigv4 = "aws:amz:" + location_.region + ":s3";
  const std::string user = credentials_.access_key_id + ":" + credentials_.secret_access_key;
  curl_slist* list = nullptr;
  // Signed over, so the server checks the body it received against it.
  list = curl_slist_append(list, ("x-amz-content-sha256: " + Sha256Hex(body)).c_str());
  for (const std::string& h : headers) list = curl_slist_append(list, h.c_str());
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_list(list,
                                                                          curl_slist_free_all);
  Response response;
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_AWS_SIGV4, sigv4.c_str());
  curl_easy_setopt(c, CURLOPT_USERPWD, user.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, header_list.get());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  // No waiting for "100 Continue" before a large body. (Removing the Expect header instead, with
  // an empty "Expect:", breaks curl's SigV4 signature.)
  curl_easy_setopt(c, CURLOPT_EXPECT_100_TIMEOUT_MS, 0L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(absl::ToInt64Milliseconds(timeout_)));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, ReadHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &response.etag);
  if (method == "PUT" || method == "POST") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
    static const char kEmpty[] = "";
    curl_easy_setopt(c, CURLOPT_POSTFIELDS,
                     body.empty() ? kEmpty : reinterpret_cast<const char*>(body.data()));
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  } else if (method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  const std::string what = absl::StrFormat("%s %s/%s", method, Describe(), object);
  const CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    return absl::DeadlineExceededError(absl::StrFormat("%s: no answer within %s", what,
                                                       absl::FormatDuration(timeout_)));
  }
  if (rc != CURLE_OK) {  // connection refused or reset, a body cut short, ...
    return absl::UnavailableError(absl::StrFormat("%s: %s", what, curl_easy_strerror(rc)));
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
  curl_off_t length = -1;
  curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
  if (length >= 0 && static_cast<uint64_t>(length) != response.body.size()) {
    return absl::UnavailableError(absl::StrFormat("%s: %d bytes of an answer of %d", what,
                                                  response.body.size(), length));
  }
  if (response.status >= 200 && response.status < 300) return response;
  // The error in S3's terms: its status and <Code>.
  const std::string code = XmlTag(response.body, "Code").value_or("");
  const std::string message =
      absl::StrFormat("%s: HTTP %d%s%s", what, response.status, code.empty() ? "" : " ", code);
  switch (response.status) {
    case 404:
      return absl::NotFoundError(message);
    case 412:
      return absl::AlreadyExistsError(message + "; objects are never overwritten");
    case 416:
      return absl::OutOfRangeError(message);
    case 401:
    case 403:
      return absl::PermissionDeniedError(message);
    case 409:
      return absl::FailedPreconditionError(message);
    default:
      break;
  }
  if (code == "SlowDown") return absl::ResourceExhaustedError(message);
  if (response.status >= 500) return absl::UnavailableError(message);
  return absl::InvalidArgumentError(message);
}

void S3Storage::SetMultipart(uint64_t threshold, uint64_t part_bytes) {
  multipart_threshold_ = threshold;
  part_bytes_ = std::max<uint64_t>(part_bytes, 5ull << 20);
}

absl::Status S3Storage::PutIfAbsent(const std::string& key, std::span<const uint8_t> data) {
  RETURN_IF_ERROR(ValidateKey(key));
  if (data.size() > multipart_threshold_) return PutMultipart(key, data);
  return Send("PUT", ObjectPath(key), "", data,
              {"If-None-Match: *", "Content-Type: application/octet-stream"})
      .status();
}

absl::Status S3Storage::PutMultipart(const std::string& key, std::span<const uint8_t> data) {
  ASSIGN_OR_RETURN(const std::vector<ObjectInfo> listed, List(key));
  for (const ObjectInfo& o : listed) {
    if (o.key == key) {
      return absl::AlreadyExistsError(absl::StrFormat(
          "%s/%s exists already; objects are never overwritten", Describe(), key));
    }
  }
  const std::string object = ObjectPath(key);
  ASSIGN_OR_RETURN(Response created, Send("POST", object, "uploads=", {},
                                          {"Content-Type: application/octet-stream"}));
  const std::optional<std::string> upload_id = XmlTag(created.body, "UploadId");
  if (!upload_id || upload_id->empty()) {
    return absl::UnavailableError(absl::StrFormat(
        "CreateMultipartUpload of %s/%s: no UploadId in the answer", Describe(), key));
  }
  const std::string id = "uploadId=" + UriEncode(*upload_id);
  std::string complete = "<CompleteMultipartUpload>";
  absl::Status status;
  for (uint64_t at = 0, part = 1; at < data.size(); at += part_bytes_, ++part) {
    const std::span<const uint8_t> bytes =
        data.subspan(at, std::min<uint64_t>(part_bytes_, data.size() - at));
    absl::StatusOr<Response> sent =
        Send("PUT", object, absl::StrFormat("partNumber=%d&%s", part, id), bytes, {});
    if (sent.ok() && sent->etag.empty()) {
      sent = absl::UnavailableError(
          absl::StrFormat("UploadPart %d of %s/%s: no ETag in the answer", part, Describe(), key));
    }
    if (!sent.ok()) {
      status = sent.status();
      break;
    }
    absl::StrAppend(&complete, "<Part><PartNumber>", part, "</PartNumber><ETag>", sent->etag,
                    "</ETag></Part>");
  }
  if (status.ok()) {
    absl::StrAppend(&complete, "</CompleteMultipartUpload>");
    absl::StatusOr<Response> done = Send(
        "POST", object, id,
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(complete.data()),
                                 complete.size()),
        {"Content-Type: application/xml"});
    // A Complete can fail inside a 200 answer.
    if (done.ok() && XmlTag(done->body, "Code")) {
      done = absl::UnavailableError(absl::StrFormat("CompleteMultipartUpload of %s/%s: %s",
                                                    Describe(), key, *XmlTag(done->body, "Code")));
    }
    if (done.ok()) return absl::OkStatus();
    status = done.status();
  }
  // No part is left behind (storage is billed for them).
  (void)Send("DELETE", object, id, {}, {}).status();
  return status;
}

absl::StatusOr<std::vector<uint8_t>> S3Storage::Get(const std::string& key, ByteRange range) {
  RETURN_IF_ERROR(ValidateKey(key));
  std::vector<std::string> headers;
  if (range.length && *range.length == 0) {
    // An empty range has no Range header form: the object's existence and size are checked.
    ASSIGN_OR_RETURN(std::vector<uint8_t> whole, Get(key, {}));
    if (range.offset > whole.size()) {
      return absl::OutOfRangeError(absl::StrFormat("%s/%s: offset %d is past its end (%d bytes)",
                                                   Describe(), key, range.offset, whole.size()));
    }
    return std::vector<uint8_t>{};
  }
  if (range.offset > 0 || range.length) {
    headers.push_back(
        range.length ? absl::StrFormat("Range: bytes=%d-%d", range.offset,
                                       range.offset + *range.length - 1)
                     : absl::StrFormat("Range: bytes=%d-", range.offset));
  }
  absl::StatusOr<Response> response = Send("GET", ObjectPath(key), "", {}, headers);
  if (absl::IsOutOfRange(response.status())) {
    // 416: the range starts at or past the end. At the end exactly, the answer is empty.
    ASSIGN_OR_RETURN(const std::vector<ObjectInfo> listed, List(key));
    for (const ObjectInfo& o : listed) {
      if (o.key == key && o.size == range.offset) return std::vector<uint8_t>{};
    }
  }
  if (!response.ok()) return response.status();
  return std::vector<uint8_t>(response->body.begin(), response->body.end());
}

absl::StatusOr<std::vector<ObjectInfo>> S3Storage::List(const std::string& prefix) {
  const std::string full_prefix =
      location_.prefix.empty() ? prefix : location_.prefix + "/" + prefix;
  const size_t strip = location_.prefix.empty() ? 0 : location_.prefix.size() + 1;
  std::vector<ObjectInfo> out;
  std::string token;
  for (;;) {
    // Sorted by name and encoded: SigV4 signs the canonical query string.
    std::vector<std::string> params;
    if (!token.empty()) params.push_back("continuation-token=" + UriEncode(token));
    params.push_back("list-type=2");
    params.push_back("prefix=" + UriEncode(full_prefix));
    ASSIGN_OR_RETURN(Response page, Send("GET", "", absl::StrJoin(params, "&"), {}, {}));
    size_t at = 0, end = 0;
    while (std::optional<std::string> entry = XmlTag(page.body, "Contents", at, &end)) {
      at = end;
      const std::optional<std::string> key = XmlTag(*entry, "Key");
      const std::optional<std::string> size = XmlTag(*entry, "Size");
      if (!key || !size || key->size() < strip) {
        return absl::DataLossError(absl::StrFormat("listing %s: an entry without Key or Size",
                                                   Describe()));
      }
      out.push_back({key->substr(strip), std::strtoull(size->c_str(), nullptr, 10)});
    }
    if (XmlTag(page.body, "IsTruncated").value_or("false") != "true") break;
    token = XmlTag(page.body, "NextContinuationToken").value_or("");
    if (token.empty()) {
      return absl::DataLossError(
          absl::StrFormat("listing %s: a truncated page without a continuation token",
                          Describe()));
    }
  }
  return out;
}

absl::Status S3Storage::Delete(const std::string& key) {
  RETURN_IF_ERROR(ValidateKey(key));
  absl::Status deleted = Send("DELETE", ObjectPath(key), "", {}, {}).status();
  return absl::IsNotFound(deleted) ? absl::OkStatus() : deleted;
}

absl::Status S3Storage::CreateBucket() {
  absl::Status created = Send("PUT", "", "", {}, {"Content-Type: application/octet-stream"}).status();
  if (absl::IsFailedPrecondition(created) &&
      absl::StrContains(created.message(), "BucketAlreadyOwnedByYou")) {
    return absl::OkStatus();
  }
  return created;
}

}  // namespace pageserver::remote
