#include "compute/compute.h"

#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <regex>
#include <thread>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/page_server_client.h"
#include "common/status_macros.h"
#include "compute/aux_files.h"
#include "compute/compute_fs.h"
#include "compute/mariadbd_process.h"
#include "compute/page_io.h"
#include "compute/redo_shipper.h"
#include "compute/starting_log.h"
#include "wal/record.h"

namespace pageserver::compute {
namespace {

namespace fs = std::filesystem;

int Fail(const absl::Status& s) {
  absl::FPrintF(stderr, "compute: %s\n", std::string(s.message()));
  return 1;
}

// Waits for the page server to answer, up to `wait`.
absl::Status WaitForServer(client::PageServerClient& client, const std::string& address,
                           absl::Duration wait) {
  const absl::Time give_up = absl::Now() + wait;
  bool told = false;
  while (true) {
    absl::StatusOr<Lsn> lsn = client.Ping();
    if (lsn.ok()) return absl::OkStatus();
    if (!absl::IsUnavailable(lsn.status()) && !absl::IsDeadlineExceeded(lsn.status())) {
      return lsn.status();
    }
    if (absl::Now() > give_up) {
      return absl::UnavailableError(
          absl::StrFormat("the page server at %s did not answer for %s: %s", address,
                          absl::FormatDuration(wait), lsn.status().message()));
    }
    if (!told) {
      absl::PrintF("waiting for the page server at %s (%s)\n", address,
                  std::string(lsn.status().message()));
      std::fflush(stdout);
      told = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

// The page size of a tablespace's FSP flags (FSP_FLAGS_POS_PAGE_SSIZE, bits 6..9; 0: 16 KiB).
uint32_t PageSizeOfFlags(uint32_t flags) {
  const uint32_t ssize = (flags >> 6) & 0xF;
  return ssize == 0 ? 16384 : 512u << ssize;
}

// A workdir left by a killed compute may hold a dead mount (ENOTCONN): detach it.
absl::Status PrepareWorkdir(const std::string& workdir) {
  std::error_code ec;
  const fs::path data = fs::path(workdir) / "data";
  struct stat st;
  if (stat(data.c_str(), &st) != 0 && errno == ENOTCONN) umount2(data.c_str(), MNT_DETACH);
  fs::remove_all(fs::path(workdir) / "shadow", ec);
  if (ec) return absl::InternalError(absl::StrFormat("emptying %s/shadow: %s", workdir, ec.message()));
  for (const char* dir : {"data", "shadow", "tmp"}) {
    fs::create_directories(fs::path(workdir) / dir, ec);
    if (ec) return absl::InternalError(absl::StrFormat("creating %s/%s: %s", workdir, dir, ec.message()));
  }
  if (!fs::is_empty(data, ec)) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s is not empty (a compute still running there?); the compute mounts it", data.string()));
  }
  return absl::OkStatus();
}

std::vector<std::string> MariadbdArgs(const ComputeOptions& o, uint32_t page_size,
                                      int undo_tablespaces) {
  const std::string w = fs::absolute(o.workdir).string();
  std::vector<std::string> a = {
      o.mariadbd, "--no-defaults", "--datadir=" + w + "/data", "--socket=" + o.socket,
      "--pid-file=" + w + "/mariadbd.pid", "--log-error=" + w + "/mariadbd.err",
      "--tmpdir=" + w + "/tmp",
      // Every InnoDB file I/O as plain pread/pwrite/fdatasync, which FUSE sees one by one.
      "--innodb-use-native-aio=0", "--innodb-flush-method=fsync",
      "--innodb-log-file-buffering=ON", "--innodb-log-file-mmap=OFF",
      // Pages are rebuilt from redo, never read back from a torn write: no doublewrite.
      "--innodb-doublewrite=0",
      absl::StrFormat("--innodb-log-file-size=%d", o.log_file_bytes),
      absl::StrFormat("--innodb-page-size=%d", page_size),
      absl::StrFormat("--innodb-undo-tablespaces=%d", undo_tablespaces),
      // The buffer pool dump is a local file: a new compute starts cold.
      "--innodb-buffer-pool-load-at-startup=0", "--innodb-buffer-pool-dump-at-shutdown=0"};
  if (o.read_only) a.push_back("--innodb-read-only");
  a.push_back(o.port > 0 ? absl::StrFormat("--port=%d", o.port) : "--skip-networking");
  if (geteuid() == 0) a.push_back("--user=root");
  a.insert(a.end(), o.mariadbd_options.begin(), o.mariadbd_options.end());
  return a;
}

std::string Holder(const ComputeOptions& o) {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return absl::StrFormat("compute pid %d on %s, workdir %s", getpid(), host,
                         fs::absolute(o.workdir).string());
}

}  // namespace

int RunCompute(const ComputeOptions& o) {
  // The main thread takes these with sigwaitinfo; blocked before any thread starts.
  sigset_t waited;
  sigemptyset(&waited);
  for (int sig : {SIGTERM, SIGINT, SIGCHLD}) sigaddset(&waited, sig);
  pthread_sigmask(SIG_BLOCK, &waited, nullptr);
  // Before any thread starts, so that every thread of the compute inherits it (Linux's nice is
  // per thread); mariadbd is started at the caller's value.
  errno = 0;
  const int caller_nice = getpriority(PRIO_PROCESS, 0);
  if (o.io_nice != 0 && errno == 0 && setpriority(PRIO_PROCESS, 0, caller_nice + o.io_nice) != 0) {
    absl::FPrintF(stderr, "compute: could not change its nice value by %d (%s); running at %d\n",
                  o.io_nice, strerror(errno), caller_nice);
  }

  if (absl::Status s = PrepareWorkdir(o.workdir); !s.ok()) return Fail(s);
  const std::string workdir = fs::absolute(o.workdir).string();
  const std::string shadow = workdir + "/shadow";

  client::Options copts;
  copts.address = o.server;
  copts.timeline = o.timeline;
  copts.token = o.token;
  copts.tls = o.tls;
  absl::StatusOr<std::unique_ptr<client::PageServerClient>> made =
      client::PageServerClient::Create(copts);
  if (!made.ok()) return Fail(made.status());
  client::PageServerClient& client = **made;
  if (absl::Status s = WaitForServer(client, o.server, o.server_wait); !s.ok()) return Fail(s);

  absl::StatusOr<client::WriterGrant> grant = client.AcquireWriter(Holder(o));
  if (!grant.ok()) return Fail(grant.status());
  const Lsn start = grant->last_record_lsn;

  absl::StatusOr<client::TablespaceList> spaces = client.ListTablespaces(start);
  if (!spaces.ok()) return Fail(spaces.status());
  if (spaces->tablespaces.empty()) {
    return Fail(absl::FailedPreconditionError(absl::StrFormat(
        "the page server at %s holds no database; create one with pagectl init or import one "
        "with pagectl import",
        o.server)));
  }
  uint32_t page_size = 16384;
  int undo = 0;
  static const std::regex kUndo("undo[0-9]{3}");
  for (const client::Tablespace& t : spaces->tablespaces) {
    if (t.space.value() == 0) page_size = PageSizeOfFlags(t.flags);
    if (std::regex_match(wal::NormalizeRelativePath(t.path), kUndo)) ++undo;
  }

  // The log first: the shipper reads it when it opens.
  std::vector<TablespaceFile> ibd_files;
  for (const client::Tablespace& t : spaces->tablespaces) {
    const std::string path = wal::NormalizeRelativePath(t.path);
    if (path.ends_with(".ibd")) ibd_files.push_back({t.space, path});
  }
  absl::StatusOr<std::vector<uint8_t>> checkpoint_mtr =
      o.read_only ? absl::StatusOr<std::vector<uint8_t>>(FileCheckpointMtr(start))
                  : CheckpointMtr(start, ibd_files);
  if (!checkpoint_mtr.ok()) return Fail(checkpoint_mtr.status());
  const Lsn after_checkpoint = start + checkpoint_mtr->size();
  if (absl::Status s =
          WriteStartingLog(shadow + "/ib_logfile0", o.log_file_bytes, start, *checkpoint_mtr);
      !s.ok()) {
    return Fail(s);
  }
  absl::StatusOr<client::WalAck> ack = client.StreamWal(start, *checkpoint_mtr);
  if (!ack.ok()) return Fail(ack.status());
  absl::StatusOr<std::unique_ptr<RedoShipper>> shipper =
      RedoShipper::Open(client, shadow + "/ib_logfile0", after_checkpoint, o.server_patience);
  if (!shipper.ok()) return Fail(shipper.status());
  PageIo pages(client, **shipper, page_size, o.verify_writes, o.server_patience);
  AuxFiles aux(client, **shipper, o.server_patience);
  ComputeFs filesystem(shadow, client, **shipper, pages, aux);

  for (const client::Tablespace& t : spaces->tablespaces) {
    absl::Status s = filesystem.AddTablespace(wal::NormalizeRelativePath(t.path), t.space,
                                              uint64_t{t.pages} * page_size);
    if (!s.ok()) return Fail(s);
  }
  absl::StatusOr<FetchedAuxFiles> fetched = aux.FetchAll(shadow, start);
  if (!fetched.ok()) return Fail(fetched.status());
  absl::PrintF("compute: page server %s, timeline %s%s, writer generation %d, LSN %d: %d "
              "tablespaces, %d aux files (%d bytes)\n",
              o.server, o.timeline.empty() ? "main" : o.timeline, o.read_only ? " (read-only)" : "",
              grant->generation, start.value(), spaces->tablespaces.size(),
              fetched->files, fetched->bytes);
  std::fflush(stdout);

  if (absl::Status s = filesystem.Mount(workdir + "/data"); !s.ok()) return Fail(s);
  const std::string error_log = workdir + "/mariadbd.err";
  absl::StatusOr<MariadbdProcess> mariadbd =
      MariadbdProcess::Start(MariadbdArgs(o, page_size, undo), workdir + "/mariadbd.out",
                             caller_nice);
  if (!mariadbd.ok()) return Fail(mariadbd.status());
  if (absl::Status s = mariadbd->WaitReady(o.socket, workdir + "/data", error_log,
                                           o.start_timeout);
      !s.ok()) {
    mariadbd->Stop();
    filesystem.Unmount();
    return Fail(s);
  }
  absl::PrintF("ready: mariadbd pid %d on socket %s%s, storage on the page server %s, timeline "
              "%s%s\n",
              mariadbd->pid(), o.socket,
              o.port > 0 ? absl::StrFormat(" and port %d", o.port) : "", o.server,
              o.timeline.empty() ? "main" : o.timeline, o.read_only ? " (read-only)" : "");
  std::fflush(stdout);

  int exit_code = 0;
  while (true) {
    siginfo_t info;
    if (sigwaitinfo(&waited, &info) < 0) continue;
    if (info.si_signo == SIGCHLD) {
      int status = 0;
      if (!mariadbd->Exited(&status)) continue;
      absl::FPrintF(stderr, "compute: mariadbd exited (wait status %d); the end of %s:\n%s\n",
                   status, error_log, TailOfFile(error_log, 15));
      exit_code = 1;
      break;
    }
    absl::PrintF("stopping: shutting mariadbd down\n");
    std::fflush(stdout);
    const int status = mariadbd->Stop();
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      absl::FPrintF(stderr, "compute: mariadbd's shutdown ended with wait status %d\n", status);
      exit_code = 1;
    }
    break;
  }
  filesystem.Unmount();
  const RedoShipperStats rs = (*shipper)->stats();
  const PageIoStats ps = pages.stats();
  absl::PrintF("stopped at LSN %d: %d log flushes shipped %d bytes (mean %d us each; %d "
              "retries, %d stale tails dropped); %d pages read, %d written; %d aux uploads%s\n",
              (*shipper)->durable_lsn().value(), rs.flushes, rs.bytes,
              rs.flushes ? rs.flush_micros / rs.flushes : 0, rs.retries, rs.stale_tails,
              ps.pages_read,
              ps.pages_written, aux.uploads(),
              o.verify_writes ? absl::StrFormat("; verified %d pages, %d mismatches",
                                                ps.pages_verified, ps.mismatches)
                                    
                              : "");
  if (o.verify_writes && ps.mismatches > 0) exit_code = 1;
  return exit_code;
}

}  // namespace pageserver::compute
