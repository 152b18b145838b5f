// remote_bench: the timeline over remote storage (issue 10), each figure next to its baseline
// measured the same way in the same run (bench/remote/run.sh starts the S3 server):
//   upload:  a reopened timeline uploading its layers (RemoteTimelineClient: PUTs with their
//            checks, then the index) vs plain PUTs of the same bytes, one after the other;
//   restore: Timeline::Open on an empty directory (index, layers, WAL) vs plain GETs of the
//            same objects;
//   GetPage: random pages at the last LSN from a restored timeline whose layers are evicted
//            (a 1 MiB disk budget: read from the bucket by range) vs resident;
//   storage: bytes stored (local layers + bucket objects) over the base's size, after the same
//            redo, without and with GC (a PITR window of 1/10 of the redo).
// The data is synthetic: a base of --pages pages and --redo-mb MiB of WRITE records over it.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "absl/strings/str_format.h"
#include "common/byte_order.h"
#include "common/file_io.h"
#include "redo/page_checksum.h"
#include "redo/page_format.h"
#include "remote/remote_storage.h"
#include "remote/retrying_storage.h"
#include "remote/s3_location.h"
#include "remote/s3_storage.h"
#include "storage/timeline.h"
#include "wal/testing/mtr_builder.h"

namespace ps = pageserver;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr uint32_t kFlags = 0x15;  // full_crc32, 16 KiB
constexpr size_t kPageSize = 16384;
const ps::SpaceId kSpace(5);
const ps::Lsn kBase(1'000'000);

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

[[noreturn]] void Die(const absl::Status& s, const char* what) {
  std::fprintf(stderr, "remote_bench: %s: %s\n", what, std::string(s.message()).c_str());
  std::exit(1);
}
template <typename T>
T Must(absl::StatusOr<T> v, const char* what) {
  if (!v.ok()) Die(v.status(), what);
  return std::move(*v);
}
void Must(const absl::Status& s, const char* what) {
  if (!s.ok()) Die(s, what);
}

std::vector<uint8_t> BasePage(uint32_t page, std::mt19937& rng) {
  std::vector<uint8_t> p(kPageSize, 0);
  ps::WriteBe32(&p[ps::redo::kFilPageOffset], page);
  ps::WriteBe32(&p[ps::redo::kFilPageSpaceId], kSpace.value());
  if (page == 0) ps::WriteBe32(&p[ps::redo::kFspSpaceFlags], kFlags);
  for (size_t i = 200; i < 8000; ++i) p[i] = static_cast<uint8_t>(rng());
  ps::redo::PrepareForWrite(p, ps::PageId{kSpace, ps::PageNo(page)}, true);
  return p;
}

// A timeline in `dir` with the base and `redo_mb` MiB of redo, flushed.
std::unique_ptr<ps::storage::Timeline> Build(const std::string& dir, uint32_t pages,
                                             uint64_t redo_mb, ps::storage::TimelineOptions o) {
  auto t = Must(ps::storage::Timeline::Open(dir, o), "open");
  std::mt19937 rng(7);
  auto session = Must(t->BeginImport(kBase, kPageSize, {{kSpace, "./db/t.ibd", kFlags, pages}}),
                      "import");
  for (uint32_t p = 0; p < pages; ++p) {
    Must(session->AddPage(ps::PageId{kSpace, ps::PageNo(p)}, BasePage(p, rng)), "add page");
  }
  Must(session->Finish(), "finish import");
  ps::Lsn lsn = kBase;
  std::vector<uint8_t> batch;
  const uint64_t total = redo_mb << 20;
  uint64_t done = 0;
  while (done < total) {
    ps::wal::testing::MtrBuilder b;
    for (int r = 0; r < 4; ++r) {
      const ps::PageId id{kSpace, ps::PageNo(1 + rng() % (pages - 1))};
      b.Write(id, 200 + rng() % 7000, std::vector<uint8_t>(64, static_cast<uint8_t>(rng())));
    }
    const std::vector<uint8_t> mtr = b.Build(1);
    batch.insert(batch.end(), mtr.begin(), mtr.end());
    if (batch.size() >= (1 << 20) || done + batch.size() >= total) {
      Must(t->IngestWal(lsn, batch).status(), "ingest");
      lsn = lsn + batch.size();
      done += batch.size();
      batch.clear();
    }
  }
  Must(t->Flush(), "flush");
  return t;
}

uint64_t DirBytes(const fs::path& dir) {
  uint64_t bytes = 0;
  std::error_code ec;
  for (const auto& f : fs::recursive_directory_iterator(dir, ec)) {
    if (f.is_regular_file()) bytes += f.file_size();
  }
  return bytes;
}

uint64_t BucketBytes(ps::remote::RemoteStorage& remote, const std::string& prefix) {
  uint64_t bytes = 0;
  for (const auto& o : Must(remote.List(prefix + "/"), "list")) bytes += o.size;
  return bytes;
}

// p50 and p99 of `n` GetPage calls of random pages at the last LSN, in microseconds.
std::pair<double, double> GetPageLatency(ps::storage::Timeline& t, uint32_t pages, int n) {
  std::mt19937 rng(11);
  std::vector<double> us;
  for (int i = 0; i < n; ++i) {
    const ps::PageId id{kSpace, ps::PageNo(rng() % pages)};
    const auto start = Clock::now();
    Must(t.GetPage(id, ps::Lsn(0), absl::InfinitePast()).status(), "get page");
    us.push_back(Seconds(start) * 1e6);
  }
  std::sort(us.begin(), us.end());
  return {us[us.size() / 2], us[us.size() * 99 / 100]};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"remote_bench: the timeline over remote storage, next to plain PUTs and GETs"};
  std::string url, work;
  uint32_t pages = 4096;
  uint64_t redo_mb = 192;
  int reads = 2000;
  app.add_option("--remote", url, "remote storage URL (s3://... or file:///...)")->required();
  app.add_option("--work", work, "scratch directory on the disk under test")->required();
  app.add_option("--pages", pages, "pages in the base (16 KiB each)");
  app.add_option("--redo-mb", redo_mb, "MiB of redo after the base");
  app.add_option("--reads", reads, "GetPage calls per latency figure");
  CLI11_PARSE(app, argc, argv);
  if (url.starts_with("s3://")) {  // a fresh server: the bucket first
    ps::remote::S3Storage s3(Must(ps::remote::ParseS3Url(url), "URL"),
                             Must(ps::remote::S3CredentialsFromEnvironment(), "credentials"));
    Must(s3.CreateBucket(), "create bucket");
  }
  auto opened = Must(ps::remote::OpenRemoteStorage(url), "remote storage");
  ps::remote::RetryingStorage remote(std::move(opened));
  fs::remove_all(work);
  fs::create_directories(work);

  // --- upload ---
  ps::storage::TimelineOptions local;
  Build(work + "/upload", pages, redo_mb, local).reset();
  std::vector<std::pair<std::string, std::vector<uint8_t>>> files;
  uint64_t layer_bytes = 0;
  for (const auto& f : fs::directory_iterator(work + "/upload/layers")) {
    files.emplace_back(f.path().filename().string(),
                       Must(ps::ReadWholeFile(f.path().string()), "read layer"));
    layer_bytes += files.back().second.size();
  }
  auto start = Clock::now();
  for (const auto& [name, bytes] : files) {
    Must(remote.PutIfAbsent("plain/" + name, bytes), "plain put");
  }
  const double plain_put = Seconds(start);
  ps::storage::TimelineOptions with_remote = local;
  with_remote.remote = &remote;
  with_remote.remote_prefix = "tl";
  start = Clock::now();
  {
    auto t = Must(ps::storage::Timeline::Open(work + "/upload", with_remote), "reopen");
    Must(t->WaitUntilUploaded(absl::InfiniteFuture()), "upload");
  }
  const double upload = Seconds(start);
  std::printf("upload: %d layer files, %.1f MiB: timeline %.2f s (%.1f MB/s) vs plain PUTs "
              "%.2f s (%.1f MB/s): %.2fx\n",
              static_cast<int>(files.size()), layer_bytes / 1048576.0, upload,
              layer_bytes / upload / 1e6, plain_put, layer_bytes / plain_put / 1e6,
              plain_put / upload);

  // --- restore ---
  start = Clock::now();
  for (const auto& [name, bytes] : files) Must(remote.Get("plain/" + name, {}).status(), "plain get");
  const double plain_get = Seconds(start);
  start = Clock::now();
  auto resident = Must(ps::storage::Timeline::Open(work + "/restored", with_remote), "restore");
  const double restore = Seconds(start);
  std::printf("restore: a fresh node %.2f s (%.1f MB/s) vs plain GETs of the same layers %.2f s "
              "(%.1f MB/s): %.2fx\n",
              restore, layer_bytes / restore / 1e6, plain_get, layer_bytes / plain_get / 1e6,
              plain_get / restore);

  // --- GetPage, evicted vs resident ---
  // One node at a time: each opening claims a generation, which fences the one before.
  const auto [r50, r99] = GetPageLatency(*resident, pages, reads);
  resident.reset();
  ps::storage::TimelineOptions budget = with_remote;
  budget.local_disk_budget_bytes = 1 << 20;
  auto evicted = Must(ps::storage::Timeline::Open(work + "/evicted", budget), "restore (budget)");
  const auto [e50, e99] = GetPageLatency(*evicted, pages, reads);
  const auto st = evicted->Status();
  std::printf("GetPage (%d random pages at the last LSN): evicted p50 %.0f us p99 %.0f us (%llu "
              "remote reads, %.1f MiB local) vs resident p50 %.0f us p99 %.0f us: p50 %.1fx\n",
              reads, e50, e99, static_cast<unsigned long long>(st.layer_remote_reads),
              st.local_layer_bytes / 1048576.0, r50, r99, e50 / r50);
  evicted.reset();

  // --- storage amplification, without and with GC ---
  const double base_bytes = static_cast<double>(pages) * kPageSize;
  ps::storage::TimelineOptions gc = with_remote;
  gc.remote_prefix = "gc";
  gc.pitr_window_bytes = (redo_mb << 20) / 10;
  gc.image_creation_delta_bytes = (redo_mb << 20) / 4;
  ps::storage::TimelineOptions keep = gc;
  keep.remote_prefix = "keep";
  keep.pitr_window_bytes = UINT64_MAX;
  for (auto* o : {&keep, &gc}) {
    const std::string dir = work + "/" + o->remote_prefix;
    auto t = Build(dir, pages, redo_mb, *o);
    Must(t->WaitUntilUploaded(absl::InfiniteFuture()), "upload");
    const auto s = t->Status();
    const uint64_t local_bytes = DirBytes(fs::path(dir) / "layers");
    const uint64_t bucket = BucketBytes(remote, o->remote_prefix);
    std::printf("storage %s GC: local layers %.1f MiB, bucket %.1f MiB, for a %.1f MiB base "
                "and %d MiB of redo: %.2fx and %.2fx the base (GC cutoff %llu, %d full image "
                "sets)\n",
                o == &gc ? "with" : "without", local_bytes / 1048576.0, bucket / 1048576.0,
                base_bytes / 1048576.0, static_cast<int>(redo_mb), local_bytes / base_bytes,
                bucket / base_bytes, static_cast<unsigned long long>(s.gc_cutoff_lsn.value()),
                static_cast<int>(s.full_image_sets));
  }
  return 0;
}
