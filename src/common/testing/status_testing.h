// Test-only: checks on absl::Status messages. (This abseil build has its own string_view type,
// so messages are compared as std::string.)
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace pageserver::testing {

inline bool MessageHas(const absl::Status& status, std::string_view what) {
  return std::string(status.message()).find(what) != std::string::npos;
}

}  // namespace pageserver::testing
