// ComputeFs: the FUSE filesystem a compute's mariadbd runs on. It presents the database's datadir
// as the page server holds it, over a local "shadow" directory that holds nothing that must
// survive:
//
//   - InnoDB data files (PageIo): the shadow file is an empty placeholder whose size is the
//     file's size (FSP_SIZE at start, then as InnoDB extends it); reads are GetPage, writes are
//     checked and dropped.
//   - ib_logfile0 (RedoShipper): the shadow file holds the log; an fsync ships it.
//   - Aux files (AuxFiles): the shadow file is the working copy; uploaded whole on fsync, on the
//     last close after a change, on rename and unlink.
//   - Local files (ibtmp1, pid, error log, ...): the shadow file is all there is.
//
// A file's class is decided by its name when it is first seen (compute/datadir_file_class.h) and
// kept across renames. Open files hold their Node, so a file renamed or unlinked while open keeps
// its tablespace and its uploads follow its name.
//
// Errors from the page server reach mariadbd as EIO, after their message is printed on stderr:
// InnoDB reports the failed operation and, for the log, stops.
//
// Thread-safety: FUSE calls the operations from its worker threads at once. nodes_mu_ guards the
// name -> Node table and is held across a shadow rename/unlink so that the table and the shadow
// directory change together; Node::mu guards one file's state and is held during its upload.
// Order: nodes_mu_ before Node::mu.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "client/page_server_client.h"
#include "compute/aux_files.h"
#include "compute/datadir_file_class.h"
#include "compute/page_io.h"
#include "compute/redo_shipper.h"

struct fuse;

namespace pageserver::compute {

class ComputeFs {
 public:
  struct Node {
    Node(FileClass c, std::string p) : cls(c), path(std::move(p)) {}
    const FileClass cls;
    std::mutex mu;
    std::string path;              // relative to the datadir; empty once unlinked
    std::optional<SpaceId> space;  // InnoDB data files: known at start or resolved on use
    bool dirty = false;            // aux files: changed since the last upload
  };

  ComputeFs(std::string shadow_root, client::PageServerClient& client, RedoShipper& shipper,
            PageIo& pages, AuxFiles& aux);
  ~ComputeFs();

  // A tablespace present at start: its placeholder of `pages` pages and its node.
  absl::Status AddTablespace(const std::string& relative_path, SpaceId space, uint64_t bytes);

  // Mounts at `mountpoint` and serves in background threads until Unmount.
  absl::Status Mount(const std::string& mountpoint);
  void Unmount();

  // --- used by the FUSE callbacks (compute_fs.cc) ---
  std::string ShadowPath(const char* path) const;
  // The node of `relative` (created with the class its name gives when not yet known).
  std::shared_ptr<Node> NodeFor(const std::string& relative);
  // A new file replaces whatever node had its name.
  std::shared_ptr<Node> NewNode(const std::string& relative);
  absl::StatusOr<SpaceId> SpaceOf(Node& node);
  // Uploads an aux file's shadow content when it changed (Node::mu held by the caller).
  absl::Status SyncAux(Node& node, int fd);
  int Rename(const char* from, const char* to, unsigned int flags);
  int Unlink(const char* path);

  RedoShipper& shipper() { return shipper_; }
  PageIo& pages() { return pages_; }
  AuxFiles& aux() { return aux_; }

 private:
  const std::string shadow_root_;
  client::PageServerClient& client_;
  RedoShipper& shipper_;
  PageIo& pages_;
  AuxFiles& aux_;

  std::mutex nodes_mu_;  // guards nodes_; see the header comment for the order
  std::map<std::string, std::shared_ptr<Node>> nodes_;

  struct fuse* fuse_ = nullptr;
  std::string mountpoint_;
  std::thread loop_;
};

// The errno a page server failure becomes for mariadbd, after printing `what` and the message.
int ReportError(const char* what, const std::string& path, const absl::Status& status);

}  // namespace pageserver::compute
