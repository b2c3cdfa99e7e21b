#include "node/strategy_factory.h"

#include <stdexcept>
#include <variant>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "strategies/edge_walk.h"
#include "strategies/random_churn.h"
#include "strategies/random_walk.h"

namespace ringv8::node {

namespace {

using Field = std::variant<double*, int*>;

// Copies `init`'s values into the fields, refusing unknown keys and non-numbers.
void Read(std::string_view strategy, const nlohmann::json& init,
          const std::vector<std::pair<std::string, Field>>& fields) {
  if (!init.is_object()) {
    throw std::invalid_argument(fmt::format("{}: init must be a JSON object", strategy));
  }
  for (const auto& item : init.items()) {
    const std::string& key = item.key();
    const nlohmann::json& value = item.value();
    auto it = std::find_if(fields.begin(), fields.end(),
                           [&](const auto& field) { return field.first == key; });
    if (it == fields.end()) {
      std::vector<std::string> accepted;
      for (const auto& field : fields) accepted.push_back(field.first);
      throw std::invalid_argument(fmt::format(
          "{}: unknown init key '{}' (accepted: {})", strategy, key,
          accepted.empty() ? std::string("none") : fmt::format("{}", fmt::join(accepted, ", "))));
    }
    if (!value.is_number()) {
      throw std::invalid_argument(fmt::format("{}: init.{} must be a number", strategy, key));
    }
    if (auto* d = std::get_if<double*>(&it->second)) {
      **d = value.get<double>();
    } else {
      if (!value.is_number_integer()) {
        throw std::invalid_argument(fmt::format("{}: init.{} must be an integer", strategy, key));
      }
      *std::get<int*>(it->second) = value.get<int>();
    }
  }
}

overlay::DiscoveryCommunity* RequireDiscovery(std::string_view strategy,
                                              overlay::Community* overlay) {
  auto* discovery = dynamic_cast<overlay::DiscoveryCommunity*>(overlay);
  if (discovery == nullptr) {
    throw std::invalid_argument(fmt::format("{} is offered by DiscoveryCommunity only", strategy));
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
  throw std::invalid_argument(fmt::format("unknown strategy '{}' (known: {})", name,
                                          fmt::join(BuiltinStrategyNames(), ", ")));
}

}  // namespace ringv8::node
