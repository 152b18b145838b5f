// Seeds for randomised tests. Each test prints the seed it uses; setting TEST_SEED=<n> in the
// environment replays a failing run with the same bytes. Header-only, test-only.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <random>

namespace pageserver::testing {

// TEST_SEED if set, else a fresh random seed; printed so a failure can be replayed.
inline uint64_t TestSeed() {
  uint64_t seed = 0;
  if (const char* env = std::getenv("TEST_SEED"); env != nullptr && *env != '\0') {
    seed = std::strtoull(env, nullptr, 0);
  } else {
    seed = (uint64_t{std::random_device{}()} << 32) | std::random_device{}();
  }
  std::cout << "[ seed     ] TEST_SEED=" << seed << std::endl;
  return seed;
}

}  // namespace pageserver::testing
