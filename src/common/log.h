// The log of the page server's background work (uploads, restore, garbage collection, eviction,
// flushes): spdlog, one line per event on stderr, "[time] [level] pageserver: message". An error
// is logged where it is handled, not where it is passed on (Neon's rule); what a caller gets back
// as a Status is not logged again.
//
// Thread-safety: the logger is spdlog's thread-safe (_mt) stderr logger, created on first use.
#pragma once

#include <spdlog/spdlog.h>

#include <utility>

namespace pageserver::log {

spdlog::logger& Logger();

template <typename... Args>
void Info(fmt::format_string<Args...> format, Args&&... args) {
  Logger().info(format, std::forward<Args>(args)...);
}
template <typename... Args>
void Warn(fmt::format_string<Args...> format, Args&&... args) {
  Logger().warn(format, std::forward<Args>(args)...);
}
template <typename... Args>
void Error(fmt::format_string<Args...> format, Args&&... args) {
  Logger().error(format, std::forward<Args>(args)...);
}

}  // namespace pageserver::log
