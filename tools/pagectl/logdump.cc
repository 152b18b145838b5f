// pagectl logdump LOG [--from-lsn L] [--to-lsn L] [--json]: the header, both checkpoint blocks,
// and counts of mini-transactions and records by type between two LSNs, with every file
// operation listed.
#include <array>
#include <iostream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_format.h"
#include "tools/pagectl/commands.h"
#include "wal/log_file.h"

namespace pageserver::pagectl {
namespace {

using wal::ExtendedType;
using wal::RecordType;

struct Options {
  std::string log;
  uint64_t from_lsn = 0;
  uint64_t to_lsn = 0;
  bool json = false;
};

nlohmann::json CheckpointJson(const std::optional<wal::Checkpoint>& c) {
  if (!c) return nullptr;
  return {{"offset", c->file_offset},
          {"checkpoint_lsn", c->checkpoint_lsn.value()},
          {"end_lsn", c->end_lsn.value()}};
}

int Run(const Options& o) {
  auto log = wal::LogFile::Open(o.log);
  if (!log.ok()) {
    std::cerr << "pagectl logdump: " << log.status().message() << "\n";
    return 1;
  }
  const Lsn from = o.from_lsn ? Lsn(o.from_lsn) : log->checkpoint().checkpoint_lsn;
  std::array<uint64_t, wal::kRecordTypeCount> by_type{};
  std::array<uint64_t, wal::kExtendedTypeCount> by_subtype{};
  uint64_t mtrs = 0;
  nlohmann::json file_ops = nlohmann::json::array();
  auto end = wal::ScanLog(*log, from, o.to_lsn ? std::optional<Lsn>(Lsn(o.to_lsn)) : std::nullopt,
                          [&](const wal::Mtr& mtr) {
                            ++mtrs;
                            for (const wal::Record& r : mtr.records) {
                              ++by_type[static_cast<int>(r.type)];
                              if (r.type == RecordType::kExtended) {
                                ++by_subtype[static_cast<int>(r.subtype)];
                              }
                              if (!r.IsFileOp()) continue;
                              nlohmann::json op = {{"lsn", mtr.start_lsn.value()},
                                                   {"type", wal::RecordTypeName(r.type)},
                                                   {"space_id", r.page.space.value()}};
                              if (r.type == RecordType::kFileCheckpoint) {
                                op["checkpoint_lsn"] = mtr.CheckpointLsn(r).value();
                              } else if (r.type == RecordType::kFileRename) {
                                op["path"] = mtr.OldPath(r);
                                op["new_path"] = mtr.NewPath(r);
                              } else {
                                op["path"] = mtr.Path(r);
                              }
                              file_ops.push_back(op);
                            }
                            return absl::OkStatus();
                          });
  if (!end.ok()) {
    std::cerr << "pagectl logdump: " << end.status().message() << "\n";
    return 1;
  }
  nlohmann::json records = nlohmann::json::object();
  for (int i = 0; i < wal::kRecordTypeCount; ++i) {
    if (by_type[i])
      records[std::string(wal::RecordTypeName(static_cast<RecordType>(i)))] = by_type[i];
  }
  nlohmann::json extended = nlohmann::json::object();
  for (int i = 0; i < wal::kExtendedTypeCount; ++i) {
    if (by_subtype[i]) {
      extended[std::string(wal::ExtendedTypeName(static_cast<ExtendedType>(i)))] = by_subtype[i];
    }
  }
  const auto& h = log->header();
  nlohmann::json out = {
      {"file", o.log},
      {"file_size", log->file_size()},
      {"format", absl::StrFormat("0x%08x", h.format)},
      {"creator", h.creator},
      {"first_lsn", h.first_lsn.value()},
      {"capacity", log->geometry().capacity},
      {"checkpoint_blocks",
       {CheckpointJson(log->checkpoint_block(0)), CheckpointJson(log->checkpoint_block(1))}},
      {"checkpoint_lsn", log->checkpoint().checkpoint_lsn.value()},
      {"checkpoint_end_lsn", log->checkpoint().end_lsn.value()},
      {"from_lsn", from.value()},
      {"end_lsn", end->end_lsn.value()},
      {"end_reason", end->reason},
      {"mtrs", mtrs},
      {"records", records},
      {"extended", extended},
      {"file_ops", file_ops},
  };
  if (o.json) {
    // Paths and the creator come from the file: replace invalid UTF-8 rather than throw.
    std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }
  std::cout << absl::StrFormat("log          %s (%d bytes, capacity %d)\n", o.log, log->file_size(),
                               log->geometry().capacity)
            << absl::StrFormat("format       0x%08x, created by \"%s\"\n", h.format, h.creator)
            << absl::StrFormat("first LSN    %d\n", h.first_lsn.value());
  for (int i = 0; i < 2; ++i) {
    const auto& c = log->checkpoint_block(i);
    if (c) {
      std::cout << absl::StrFormat("checkpoint%d  at offset %d: checkpoint LSN %d, end LSN %d\n",
                                   i + 1, c->file_offset, c->checkpoint_lsn.value(),
                                   c->end_lsn.value());
    } else {
      std::cout << absl::StrFormat("checkpoint%d  invalid\n", i + 1);
    }
  }
  std::cout << absl::StrFormat("scanned      LSN %d .. %d (%d bytes): %d mini-transactions\n",
                               from.value(), end->end_lsn.value(), end->end_lsn - from, mtrs)
            << "end          " << end->reason << "\n"
            << "records:\n";
  for (auto& [name, n] : records.items())
    std::cout << absl::StrFormat("  %-28s %d\n", name, n.get<uint64_t>());
  for (auto& [name, n] : extended.items())
    std::cout << absl::StrFormat("    %-26s %d\n", name, n.get<uint64_t>());
  std::cout << "file operations:\n";
  for (const auto& op : file_ops) {
    if (op["type"] == "FILE_CHECKPOINT") continue;
    std::cout << absl::StrFormat(
        "  LSN %-12d %-12s space %-6d %s%s\n", op["lsn"].get<uint64_t>(),
        op["type"].get<std::string>(), op["space_id"].get<uint32_t>(),
        op["path"].get<std::string>(),
        op.contains("new_path") ? " -> " + op["new_path"].get<std::string>() : "");
  }
  return 0;
}

}  // namespace

void RegisterLogdump(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("logdump", "Summarise an ib_logfile0");
  cmd->add_option("log", options->log, "path of ib_logfile0")->required();
  cmd->add_option("--from-lsn", options->from_lsn, "start here (default: the checkpoint LSN)");
  cmd->add_option("--to-lsn", options->to_lsn, "stop after the last mini-transaction ending here");
  cmd->add_flag("--json", options->json, "print JSON");
  cmd->callback([options, &exit_code] { exit_code = Run(*options); });
}

}  // namespace pageserver::pagectl
