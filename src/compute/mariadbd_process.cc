#include "compute/mariadbd_process.h"

#include <fcntl.h>
#include <mysql.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <thread>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace pageserver::compute {

absl::StatusOr<MariadbdProcess> MariadbdProcess::Start(const std::vector<std::string>& argv,
                                                       const std::string& output_path,
                                                       int nice) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int out = open(output_path.c_str(), O_CREAT | O_APPEND | O_WRONLY | O_CLOEXEC, 0640);
  if (out < 0) {
    return absl::InternalError(absl::StrFormat("opening %s: %s", output_path, strerror(errno)));
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    close(out);
    return absl::InternalError(absl::StrFormat("fork: %s", strerror(errno)));
  }
  if (pid == 0) {
    // The child: dies with the compute; the signals the compute waits for are its own again.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    setpriority(PRIO_PROCESS, 0, nice);  // mariadbd competes as the caller would have
    dup2(out, STDOUT_FILENO);
    dup2(out, STDERR_FILENO);
    execvp(args[0], args.data());
    dprintf(STDERR_FILENO, "exec %s: %s\n", args[0], strerror(errno));
    _exit(127);
  }
  close(out);
  return MariadbdProcess(pid);
}

namespace {

// The @@datadir of the server behind `mysql`, without a trailing '/'.
std::string DatadirOf(MYSQL* mysql) {
  std::string datadir;
  if (mysql_query(mysql, "SELECT @@datadir") == 0) {
    if (MYSQL_RES* result = mysql_store_result(mysql)) {
      if (MYSQL_ROW row = mysql_fetch_row(result); row && row[0]) datadir = row[0];
      mysql_free_result(result);
    }
  }
  while (datadir.size() > 1 && datadir.back() == '/') datadir.pop_back();
  return datadir;
}

}  // namespace

absl::Status MariadbdProcess::WaitReady(const std::string& socket, const std::string& datadir,
                                        const std::string& error_log, absl::Duration timeout) {
  const absl::Time give_up = absl::Now() + timeout;
  while (true) {
    int status = 0;
    if (Exited(&status)) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "mariadbd exited while starting (wait status %d); the end of %s:\n%s", status,
          error_log, TailOfFile(error_log, 15)));
    }
    MYSQL* mysql = mysql_init(nullptr);
    if (mysql == nullptr) return absl::ResourceExhaustedError("mysql_init failed");
    const bool connected = mysql_real_connect(mysql, nullptr, "root", nullptr, nullptr, 0,
                                              socket.c_str(), 0) != nullptr;
    const std::string error = mysql_error(mysql);
    const std::string answering = connected ? DatadirOf(mysql) : "";
    mysql_close(mysql);
    if (connected && answering == datadir) return absl::OkStatus();
    if (connected) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "another mariadbd (datadir %s) answers on the socket %s", answering, socket));
    }
    if (absl::Now() > give_up) {
      return absl::DeadlineExceededError(absl::StrFormat(
          "mariadbd accepted no connection on %s within %s (last: %s); the end of %s:\n%s",
          socket, absl::FormatDuration(timeout), error, error_log, TailOfFile(error_log, 15)));
    }
    // Polling the socket is how a client learns that a server accepts connections.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

bool MariadbdProcess::Exited(int* status) {
  if (!reaped_) {
    const pid_t r = waitpid(pid_, &status_, WNOHANG);
    reaped_ = r == pid_;
  }
  if (reaped_ && status) *status = status_;
  return reaped_;
}

int MariadbdProcess::Stop() {
  if (!reaped_) {
    kill(pid_, SIGTERM);
    while (waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
  }
  return status_;
}

std::string TailOfFile(const std::string& path, int lines) {
  std::ifstream in(path);
  std::deque<std::string> tail;
  for (std::string line; std::getline(in, line);) {
    tail.push_back(line);
    if (static_cast<int>(tail.size()) > lines) tail.pop_front();
  }
  return absl::StrJoin(tail, "\n");
}

}  // namespace pageserver::compute
