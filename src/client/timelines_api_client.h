// TimelinesApiClient: the page server's timelines over its HTTP management API
// (src/service/http_api.h, /api/v1/timelines): make a branch, list, delete. For pagectl branch and
// for a compute at a past point, which runs on a branch it makes and deletes.
//
// Thread-safety: one client per thread (cpp-httplib's client is not shared safely).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "auth/tls.h"
#include "common/types.h"

namespace httplib {
class Client;
}  // namespace httplib

namespace pageserver::client {

struct TimelineDescription {
  std::string name;
  std::string timeline_id;
  std::string ancestor;  // the ancestor's name; empty for a root timeline
  Lsn ancestor_lsn;      // the branch LSN
  Lsn base_lsn;
  Lsn last_record_lsn;
  Lsn gc_cutoff_lsn;
  uint64_t layer_bytes = 0;
};

struct NewBranch {
  std::string name;
  std::string from = "main";
  Lsn lsn;         // 0 and no `at`: the ancestor's last LSN
  std::string at;  // instead of `lsn`: "YYYY-MM-DD HH:MM:SS" in UTC, or RFC 3339
};

class TimelinesApiClient {
 public:
  // `address`: the server's HTTP address, "host:port", "http://host:port" or
  // "https://host:port"; `token`: an admin token when the server has auth on; `tls`: when the
  // server has TLS on (client/http_common.h).
  static absl::StatusOr<std::unique_ptr<TimelinesApiClient>> Create(
      const std::string& address, const std::string& token = "",
      const auth::TlsFiles& tls = {}, absl::Duration timeout = absl::Seconds(60));
  ~TimelinesApiClient();

  // The server's refusals keep their codes: AlreadyExists for a name taken, NotFound for an
  // unknown ancestor, OutOfRange for a point outside the retained history, InvalidArgument.
  absl::StatusOr<TimelineDescription> CreateBranch(const NewBranch& branch);
  absl::StatusOr<std::vector<TimelineDescription>> List();
  absl::Status Delete(const std::string& name, bool cascade);

 private:
  explicit TimelinesApiClient(std::string url);
  // The answer to `method` `path` (a POST sends `body`), checked to be a JSON object.
  absl::StatusOr<std::string> Call(const char* method, const std::string& path,
                                   const std::string& body = "");

  std::string url_;
  std::unique_ptr<httplib::Client> http_;
};

}  // namespace pageserver::client
