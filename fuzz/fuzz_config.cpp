// Fuzz target: the configuration loader on arbitrary text. Invalid JSON and invalid
// configurations must end in a parse error or a ConfigError, never anything else. Key files are
// never touched: FromJson only reads the document.
#include <cstddef>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "node/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nlohmann::json document = nlohmann::json::parse(data, data + size, nullptr, false);
  if (document.is_discarded()) return 0;
  try {
    (void)ringv8::node::NodeConfig::FromJson(document);
  } catch (const ringv8::node::ConfigError&) {
  }
  return 0;
}
