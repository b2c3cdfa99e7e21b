// Access to the golden vectors: ../shared/vectors/ipv8-vectors.json and tunnel-vectors.json (made
// with py-ipv8), found at
// configure time, and small helpers for hex test data.
// Thread-compatible.
#ifndef RINGV8_TESTS_TESTING_VECTORS_H_
#define RINGV8_TESTS_TESTING_VECTORS_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "ring/address.h"
#include "wire/keys.h"

namespace ringv8::testing {

// The parsed ipv8-vectors.json, or nullptr when it was not found (see tests/CMakeLists.txt).
const nlohmann::json* GoldenVectors();
// Why GoldenVectors() is null, for GTEST_SKIP.
const char* GoldenVectorsMissingReason();
// The parsed tunnel-vectors.json (same folder), or nullptr when it was not found.
const nlohmann::json* TunnelVectors();

// Bytes from hex; fails the test on bad hex.
std::vector<uint8_t> Hex(std::string_view hex);
// {"ip": "1.2.3.4", "port": 80} -> Address.
Address JsonAddress(const nlohmann::json& value);
// The private key of "key_a"/"key_b" in the vectors.
wire::PrivateKey VectorKey(const nlohmann::json& vectors, const std::string& name);

}  // namespace ringv8::testing

#define RINGV8_REQUIRE_GOLDEN_VECTORS()              \
  if (::ringv8::testing::GoldenVectors() == nullptr) \
  GTEST_SKIP() << ::ringv8::testing::GoldenVectorsMissingReason()

#define RINGV8_REQUIRE_TUNNEL_VECTORS()              \
  if (::ringv8::testing::TunnelVectors() == nullptr) \
  GTEST_SKIP() << ::ringv8::testing::GoldenVectorsMissingReason()

#endif  // RINGV8_TESTS_TESTING_VECTORS_H_
