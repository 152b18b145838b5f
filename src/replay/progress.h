// A one-line progress report for long operations, redrawn in place at most every half second when
// stderr is a terminal, silent otherwise. Not thread-safe.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

namespace pageserver::replay {

class Progress {
 public:
  Progress() : enabled_(isatty(STDERR_FILENO)), start_(std::chrono::steady_clock::now()) {}

  double Seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  bool Due() {
    if (!enabled_) return false;
    auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(500)) return false;
    last_ = now;
    return true;
  }
  void Show(const std::string& line) {
    if (enabled_) std::fprintf(stderr, "\r\033[K%s", line.c_str());
  }
  void Done() {
    if (enabled_) std::fprintf(stderr, "\r\033[K");
  }

 private:
  bool enabled_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace pageserver::replay
