#include "common/log.h"

#include <spdlog/sinks/stdout_sinks.h>

namespace pageserver::log {

spdlog::logger& Logger() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto l = spdlog::stderr_logger_mt("pageserver");
    l->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%l] pageserver: %v");
    l->flush_on(spdlog::level::info);  // a line is on stderr before the event's next step
    return l;
  }();
  return *logger;
}

}  // namespace pageserver::log
