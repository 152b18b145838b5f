#include "storage/writer_lease.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_format.h"
#include "common/file_io.h"
#include "common/status_macros.h"
#include "nlohmann/json.hpp"

namespace pageserver::storage {
namespace {

constexpr char kLeaseName[] = "writer.json";

}  // namespace

absl::StatusOr<std::optional<WriterLease>> ReadWriterLease(const std::string& dir) {
  const std::string path = dir + "/" + kLeaseName;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::optional<WriterLease>();
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) return absl::DataLossError(absl::StrFormat("%s: cannot be read", path));
  ASSIGN_OR_RETURN(WriterLease lease, ParseWriterLease(text.str(), path));
  return std::optional<WriterLease>(std::move(lease));
}

absl::StatusOr<WriterLease> ParseWriterLease(const std::string& text, const std::string& where) {
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    WriterLease lease;
    lease.generation = j.at("generation").get<uint64_t>();
    lease.holder = j.at("holder").get<std::string>();
    lease.granted_at = Lsn(j.at("granted_at_lsn").get<uint64_t>());
    if (lease.generation == kNoWriterLease) {
      return absl::DataLossError(absl::StrFormat("%s: generation 0 is never granted", where));
    }
    return lease;
  } catch (const nlohmann::json::exception& e) {
    return absl::DataLossError(absl::StrFormat("%s is malformed: %s", where, e.what()));
  }
}

std::string WriterLeaseJson(const WriterLease& lease) {
  nlohmann::json j;
  j["generation"] = lease.generation;
  j["holder"] = lease.holder;
  j["granted_at_lsn"] = lease.granted_at.value();
  return j.dump(1) + "\n";
}

absl::Status WriteWriterLease(const std::string& dir, const WriterLease& lease) {
  return WriteFileAtomically(dir + "/" + kLeaseName, WriterLeaseJson(lease));
}

}  // namespace pageserver::storage
