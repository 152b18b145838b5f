#include "logship/mariadb_log_position.h"

#include <mysql.h>

#include <filesystem>
#include <system_error>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"

namespace pageserver::logship {
namespace {

std::string Canonical(const std::string& path) {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::weakly_canonical(path, ec);
  std::string s = ec ? path : p.string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

class MariadbSource : public LogPositionSource {
 public:
  explicit MariadbSource(MariadbConnectOptions options) : options_(std::move(options)) {}
  ~MariadbSource() override { Disconnect(); }

  absl::StatusOr<MariadbLogPosition> Position() override {
    if (mysql_ == nullptr) {
      absl::Status s = Connect();
      if (!s.ok()) return s;
    }
    absl::StatusOr<MariadbLogPosition> p = Query();
    if (!p.ok()) Disconnect();  // mariadbd went away or is shutting down: reconnect next time
    return p;
  }

 private:
  absl::Status Connect() {
    mysql_ = mysql_init(nullptr);
    if (mysql_ == nullptr) return absl::ResourceExhaustedError("mysql_init failed");
    const unsigned int timeout_seconds = 5;
    mysql_optionsv(mysql_, MYSQL_OPT_CONNECT_TIMEOUT, &timeout_seconds);
    mysql_optionsv(mysql_, MYSQL_OPT_READ_TIMEOUT, &timeout_seconds);
    mysql_optionsv(mysql_, MYSQL_OPT_WRITE_TIMEOUT, &timeout_seconds);
    if (mysql_real_connect(mysql_, nullptr, options_.user.c_str(),
                           options_.password.empty() ? nullptr : options_.password.c_str(),
                           nullptr, 0, options_.socket.c_str(), 0) == nullptr) {
      const unsigned int code = mysql_errno(mysql_);
      const std::string message = mysql_error(mysql_);
      Disconnect();
      // 2002: no server at the socket (stopped or restarting); access errors are final.
      const std::string what = absl::StrFormat("connecting to mariadbd at %s as %s: %s",
                                               options_.socket, options_.user, message);
      if (code == 1045 || code == 1698) return absl::PermissionDeniedError(what);
      return absl::UnavailableError(what);
    }
    // The server behind the socket must be the one whose log the follower reads.
    absl::StatusOr<std::string> datadir = QueryString("SELECT @@datadir");
    if (!datadir.ok()) {
      Disconnect();
      return datadir.status();
    }
    if (!options_.datadir.empty() && Canonical(*datadir) != Canonical(options_.datadir)) {
      Disconnect();
      return absl::FailedPreconditionError(absl::StrFormat(
          "the mariadbd at %s serves the datadir %s, not %s: --socket and --datadir must name "
          "the same server",
          options_.socket, *datadir, options_.datadir));
    }
    return absl::OkStatus();
  }

  void Disconnect() {
    if (mysql_ != nullptr) mysql_close(mysql_);
    mysql_ = nullptr;
  }

  absl::StatusOr<std::string> QueryString(const char* sql) {
    if (mysql_query(mysql_, sql) != 0) return QueryError(sql);
    MYSQL_RES* result = mysql_store_result(mysql_);
    if (result == nullptr) return QueryError(sql);
    MYSQL_ROW row = mysql_fetch_row(result);
    std::string value = row != nullptr && row[0] != nullptr ? row[0] : "";
    mysql_free_result(result);
    return value;
  }

  absl::StatusOr<MariadbLogPosition> Query() {
    static constexpr char kSql[] =
        "SHOW GLOBAL STATUS WHERE Variable_name IN ('Innodb_lsn_flushed', 'Innodb_lsn_current')";
    if (mysql_query(mysql_, kSql) != 0) return QueryError(kSql);
    MYSQL_RES* result = mysql_store_result(mysql_);
    if (result == nullptr) return QueryError(kSql);
    uint64_t flushed = 0, current = 0;
    int found = 0;
    while (MYSQL_ROW row = mysql_fetch_row(result)) {
      if (row[0] == nullptr || row[1] == nullptr) continue;
      const std::string name = row[0];
      uint64_t value = 0;
      if (!absl::SimpleAtoi(row[1], &value)) continue;
      if (name == "Innodb_lsn_flushed") {
        flushed = value;
        ++found;
      } else if (name == "Innodb_lsn_current") {
        current = value;
        ++found;
      }
    }
    mysql_free_result(result);
    if (found != 2) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "the mariadbd at %s does not report Innodb_lsn_flushed and Innodb_lsn_current (is "
          "InnoDB running? MariaDB 10.8+ is needed)",
          options_.socket));
    }
    return MariadbLogPosition{Lsn(flushed), Lsn(std::max(current, flushed))};
  }

  absl::Status QueryError(const char* sql) {
    return absl::UnavailableError(absl::StrFormat("mariadbd at %s: %s: %s", options_.socket, sql,
                                                  mysql_error(mysql_)));
  }

  MariadbConnectOptions options_;
  MYSQL* mysql_ = nullptr;
};

}  // namespace

std::unique_ptr<LogPositionSource> ConnectToMariadb(MariadbConnectOptions options) {
  return std::make_unique<MariadbSource>(std::move(options));
}

}  // namespace pageserver::logship
