// reconstruct_check FIXTURE_DIR: the GetPage@LSN core (storage::PageSnippet +
// storage::ReconstructPage) checked against MariaDB on a fixture made by make_fixture.sh.
//
// It imports the base datadir's pages into an ImageLayer (as `pagectl import` will), keeps, per
// page, the snippets of every mini-transaction in the fixture's final log since the base's
// checkpoint (as the storage layer will), and rebuilds every page that has any, from the image
// layer's image, at two LSNs: the crash LSN (compared with crash_recovered/) and the end of the log
// (compared with final/). Pages free at that LSN are not compared (MariaDB never writes them).
// Exit 0 when every rebuilt page equals MariaDB's, 1 otherwise, 2 on error.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_format.h"
#include "common/byte_order.h"
#include "redo/page_checksum.h"
#include "redo/page_format.h"
#include "replay/datadir.h"
#include "storage/image_layer.h"
#include "storage/page_reconstruct.h"
#include "storage/page_snippet.h"
#include "wal/log_file.h"

namespace pageserver {
namespace {

constexpr size_t kPs = 16384;

std::vector<uint8_t> ReadPage(const std::string& path, uint32_t page) {
  std::vector<uint8_t> buf(kPs, 0);
  std::ifstream in(path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(uint64_t{page} * kPs));
  in.read(reinterpret_cast<char*>(buf.data()), kPs);
  return buf;  // zeros past the end of the file
}

struct SpaceInfo {
  std::string path;       // current path, relative to a datadir
  std::string base_path;  // path in the base datadir, empty for spaces created since
  bool trimmed = false;   // TRIM_PAGES since the base: the base image no longer counts
};

class Checker {
 public:
  explicit Checker(std::string fixture) : fixture_(std::move(fixture)) {}

  int Run() {
    auto crashed = wal::LogFile::Open(fixture_ + "/crashed/ib_logfile0");
    auto base_log = wal::LogFile::Open(fixture_ + "/base/ib_logfile0");
    auto final_log = wal::LogFile::Open(fixture_ + "/final/ib_logfile0");
    if (!crashed.ok() || !base_log.ok() || !final_log.ok()) return Fail("cannot open the logs");
    auto crash_end = wal::ScanLog(*crashed, crashed->checkpoint().checkpoint_lsn, std::nullopt,
                                  [](wal::Mtr&) { return absl::OkStatus(); });
    if (!crash_end.ok()) return Fail(std::string(crash_end.status().message()));
    const Lsn crash_lsn = crash_end->end_lsn;
    auto files = replay::ListInnodbFiles(fixture_ + "/base");
    if (!files.ok()) return Fail(std::string(files.status().message()));
    for (const auto& f : *files) {
      if (f.space_id == kSystemSpaceId && f.relative_path != "ibdata1") continue;
      spaces_[f.space_id.value()] = {f.relative_path, f.relative_path};
    }
    if (absl::Status s = ImportBase(base_log->checkpoint().checkpoint_lsn); !s.ok()) {
      return Fail(std::string(s.message()));
    }
    bool crash_checked = false;
    auto end = wal::ScanLog(*final_log, base_log->checkpoint().checkpoint_lsn, std::nullopt,
                            [&](wal::Mtr& mtr) -> absl::Status {
                              if (!crash_checked && mtr.end_lsn > crash_lsn) {
                                Check("crash_recovered", crash_lsn);
                                crash_checked = true;
                              }
                              Ingest(mtr);
                              return absl::OkStatus();
                            });
    if (!end.ok()) return Fail(std::string(end.status().message()));
    if (!crash_checked) Check("crash_recovered", crash_lsn);
    Check("final", end->end_lsn);
    std::printf("reconstruct_check: %llu pages rebuilt and compared, %llu differ, %llu free\n",
                static_cast<unsigned long long>(compared_),
                static_cast<unsigned long long>(differing_),
                static_cast<unsigned long long>(free_));
    return (differing_ == 0 && errors_ == 0 && compared_ > 0) ? 0 : 1;
  }

 private:
  int Fail(const std::string& why) {
    std::fprintf(stderr, "reconstruct_check: %s\n", why.c_str());
    return 2;
  }

  // Every page of every base tablespace into one image layer at the base's checkpoint LSN, in
  // (space, page) order.
  absl::Status ImportBase(Lsn lsn) {
    const std::string path = (std::filesystem::temp_directory_path() /
                              ("reconstruct_check." + std::to_string(getpid()) + ".img"))
                                 .string();
    auto writer = storage::ImageLayerWriter::Create(path, lsn);
    if (!writer.ok()) return writer.status();
    for (const auto& [space, info] : spaces_) {  // std::map: ascending space ids
      const std::string file = fixture_ + "/base/" + info.base_path;
      const uint64_t pages = std::filesystem::file_size(file) / kPs;
      std::ifstream in(file, std::ios::binary);
      std::vector<uint8_t> page(kPs);
      for (uint64_t p = 0; p < pages; ++p) {
        in.read(reinterpret_cast<char*>(page.data()), kPs);
        if (absl::Status s =
                (*writer)->Add(PageId{SpaceId(space), PageNo(static_cast<uint32_t>(p))}, page);
            !s.ok()) {
          return s;
        }
      }
    }
    if (absl::Status s = (*writer)->Finish(); !s.ok()) return s;
    auto layer = storage::ImageLayer::Open(path);
    std::filesystem::remove(path);  // the open descriptor keeps it readable
    if (!layer.ok()) return layer.status();
    base_ = std::move(*layer);
    std::printf("imported %llu base pages into an image layer at LSN %llu\n",
                static_cast<unsigned long long>(base_->page_count()),
                static_cast<unsigned long long>(lsn.value()));
    return absl::OkStatus();
  }

  // What the storage layer will do on ingest: one snippet per (mini-transaction, page).
  void Ingest(const wal::Mtr& mtr) {
    std::vector<PageId> pages;
    for (const wal::Record& rec : mtr.records) {
      const uint32_t space = rec.page.space.value();
      switch (rec.type) {
        case wal::RecordType::kFileCreate:
        case wal::RecordType::kFileModify:
          if (!spaces_.count(space))
            spaces_[space] = {replay::NormalizeRelativePath(mtr.Path(rec)), ""};
          continue;
        case wal::RecordType::kFileRename:
          spaces_[space].path = replay::NormalizeRelativePath(mtr.NewPath(rec));
          continue;
        case wal::RecordType::kFileDelete:
          spaces_.erase(space);
          absl::erase_if(history_, [&](const auto& e) { return e.first.space.value() == space; });
          continue;
        case wal::RecordType::kFileCheckpoint:
          continue;
        default:
          break;
      }
      if (rec.type == wal::RecordType::kExtended && rec.subtype == wal::ExtendedType::kTrimPages) {
        spaces_[space].trimmed = true;
        absl::erase_if(history_, [&](const auto& e) { return e.first.space.value() == space; });
        continue;
      }
      if (std::find(pages.begin(), pages.end(), rec.page) == pages.end()) pages.push_back(rec.page);
    }
    for (const PageId& id : pages) history_[id].push_back(storage::EncodeSnippet(mtr, id));
  }

  void Check(const std::string& expected_dir, Lsn lsn) {
    uint64_t compared = 0, differing = 0;
    for (const auto& [id, snippets] : history_) {
      auto space = spaces_.find(id.space.value());
      if (space == spaces_.end()) continue;
      std::vector<uint8_t> frame(kPs, 0);
      const bool fresh_start = [&] {
        auto first = storage::DecodeSnippet(snippets.front(), id);
        return first.ok() && storage::SnippetStartsFresh(*first);
      }();
      if (space->second.trimmed && !fresh_start) {
        ++free_;  // truncated away and not re-initialised: undefined, as in MariaDB
        continue;
      }
      if (!space->second.base_path.empty() && !space->second.trimmed) {
        auto image = base_->Get(id);
        if (!image.ok()) {
          std::fprintf(stderr, "%s\n", std::string(image.status().message()).c_str());
          ++errors_;
          continue;
        }
        if (image->has_value()) frame = **image;  // else: past the base file's end, zero
      }
      storage::ReconstructResult result;
      const absl::Status s = storage::ReconstructPage(id, frame, snippets, &result);
      if (!s.ok()) {
        std::fprintf(stderr, "%s at LSN %llu: %s\n", ToString(id).c_str(),
                     static_cast<unsigned long long>(lsn.value()),
                     std::string(s.message()).c_str());
        ++errors_;
        continue;
      }
      if (result.freed) {
        ++free_;
        continue;
      }
      const std::string expected_path = fixture_ + "/" + expected_dir + "/" + space->second.path;
      const std::vector<uint8_t> page0 = ReadPage(expected_path, 0);
      const bool full_crc32 =
          ReadBe32(page0.data() + redo::kFspSpaceFlags) & redo::kFlagsFullCrc32Marker;
      redo::PrepareForWrite(frame, id, full_crc32);
      ++compared;
      if (frame != ReadPage(expected_path, id.page.value())) {
        if (differing++ < 10) {
          std::fprintf(stderr, "%s (%s) differs from %s at LSN %llu\n", ToString(id).c_str(),
                       space->second.path.c_str(), expected_dir.c_str(),
                       static_cast<unsigned long long>(lsn.value()));
        }
      }
    }
    std::printf("at LSN %llu against %s: %llu pages rebuilt from base + snippets, %llu differ\n",
                static_cast<unsigned long long>(lsn.value()), expected_dir.c_str(),
                static_cast<unsigned long long>(compared),
                static_cast<unsigned long long>(differing));
    compared_ += compared;
    differing_ += differing;
  }

  std::string fixture_;
  std::unique_ptr<storage::ImageLayer> base_;
  std::map<uint32_t, SpaceInfo> spaces_;
  absl::flat_hash_map<PageId, std::vector<std::vector<uint8_t>>, std::hash<PageId>> history_;
  uint64_t compared_ = 0, differing_ = 0, free_ = 0, errors_ = 0;
};

}  // namespace
}  // namespace pageserver

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s FIXTURE_DIR\n", argv[0]);
    return 2;
  }
  return pageserver::Checker(argv[1]).Run();
}
