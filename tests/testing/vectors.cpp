#include "tests/testing/vectors.h"

#include <fstream>

#include "wire/hex.h"

namespace ringv8::testing {

namespace {

const nlohmann::json* LoadJson(std::string_view path) {
  if (path.empty()) return nullptr;
  std::ifstream in{std::string(path)};
  if (!in) return nullptr;
  return new nlohmann::json(nlohmann::json::parse(in));  // Lives for the whole test run.
}

}  // namespace

const nlohmann::json* GoldenVectors() {
  static const nlohmann::json* vectors = LoadJson(RINGV8_VECTORS_FILE);
  return vectors;
}

const nlohmann::json* TunnelVectors() {
  static const nlohmann::json* vectors = LoadJson(RINGV8_TUNNEL_VECTORS_FILE);
  return vectors;
}

const char* GoldenVectorsMissingReason() {
  return "ipv8-vectors.json was not found at configure time: configure with "
         "-DRINGV8_VECTORS_DIR=<folder with ipv8-vectors.json>";
}

std::vector<uint8_t> Hex(std::string_view hex) {
  auto bytes = wire::FromHex(hex);
  EXPECT_TRUE(bytes.has_value()) << "bad hex in test data: " << hex;
  return bytes ? *bytes : std::vector<uint8_t>();
}

Address JsonAddress(const nlohmann::json& value) {
  auto address =
      Address::ParseIp(value.at("ip").get<std::string>(), value.at("port").get<uint16_t>());
  EXPECT_TRUE(address.has_value()) << value.dump();
  return address.value_or(Address());
}

wire::PrivateKey VectorKey(const nlohmann::json& vectors, const std::string& name) {
  auto bin = Hex(vectors.at("keys").at(name).at("private_bin").get<std::string>());
  return *wire::PrivateKey::FromBin(bin);
}

}  // namespace ringv8::testing
