#include "node/strategy_factory.h"

#include <stdexcept>
#include <variant>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "node/config.h"
#include "node/registry.h"
#include "strategies/edge_walk.h"
#include "strategies/random_churn.h"
#include "strategies/random_walk.h"

namespace ringv8::node {

namespace {

using Field = std::variant<double*, int*>;

// Copies `init`'s values into the fields, refusing unknown keys (RequireOnlyKeys, the one policy
// for them) and non-numbers.
void Read(std::string_view strategy, const nlohmann::json& init,
          const std::vector<std::pair<std::string, Field>>& fields) {
  std::vector<std::string> accepted;
  for (const auto& field : fields) accepted.push_back(field.first);
  RequireOnlyKeys(strategy, init, accepted);
  for (const auto& [key, field] : fields) {
    auto value = init.find(key);
    if (value == init.end()) continue;
    if (!value->is_number()) {
      throw ConfigError(key, fmt::format("{}: must be a number", strategy));
    }
    if (auto* d = std::get_if<double*>(&field)) {
      **d = value->get<double>();
    } else {
      if (!value->is_number_integer()) {
        throw ConfigError(key, fmt::format("{}: must be an integer", strategy));
      }
      *std::get<int*>(field) = value->get<int>();
    }
  }
}

overlay::DiscoveryCommunity* RequireDiscovery(std::string_view strategy,
                                              overlay::Community* overlay) {
  auto* discovery = dynamic_cast<overlay::DiscoveryCommunity*>(overlay);
  if (discovery == nullptr) {
    throw ConfigError("", fmt::format("{} is offered by DiscoveryCommunity only", strategy));
  }
  return discovery;
}

}  // namespace

std::vector<std::string> BuiltinStrategyNames() {
  return {"RandomWalk", "EdgeWalk", "RandomChurn", "PeriodicSimilarity"};
}

std::unique_ptr<strategies::DiscoveryStrategy> MakeStrategy(std::string_view name,
                                                            overlay::Community* overlay,
                                                            const nlohmann::json& init) {
  if (name == "RandomWalk") {
    strategies::RandomWalkOptions o;
    Read(name, init,
         {{"timeout", &o.timeout},
          {"window_size", &o.window_size},
          {"reset_chance", &o.reset_chance},
          {"target_interval", &o.target_interval}});
    return std::make_unique<strategies::RandomWalk>(overlay, o);
  }
  if (name == "EdgeWalk") {
    strategies::EdgeWalkOptions o;
    Read(name, init,
         {{"edge_length", &o.edge_length},
          {"neighborhood_size", &o.neighborhood_size},
          {"edge_timeout", &o.edge_timeout}});
    return std::make_unique<strategies::EdgeWalk>(overlay, o);
  }
  if (name == "RandomChurn") {
    strategies::RandomChurnOptions o;
    Read(name, init,
         {{"sample_size", &o.sample_size},
          {"ping_interval", &o.ping_interval},
          {"inactive_time", &o.inactive_time},
          {"drop_time", &o.drop_time}});
    return std::make_unique<strategies::RandomChurn>(RequireDiscovery(name, overlay), o);
  }
  if (name == "PeriodicSimilarity") {
    Read(name, init, {});
    return std::make_unique<strategies::PeriodicSimilarity>(RequireDiscovery(name, overlay));
  }
  throw ConfigError("", fmt::format("unknown strategy '{}' (known: {})", name,
                                    fmt::join(BuiltinStrategyNames(), ", ")));
}

}  // namespace ringv8::node
