// Built-in strategies by their py-ipv8 names, from a configuration's `init` object:
//   RandomWalk {timeout, window_size, reset_chance, target_interval}
//   EdgeWalk {edge_length, neighborhood_size, edge_timeout}
//   RandomChurn {sample_size, ping_interval, inactive_time, drop_time}   (DiscoveryCommunity)
//   PeriodicSimilarity {}                                                (DiscoveryCommunity)
// Missing keys take py-ipv8's defaults. Configuration errors throw std::invalid_argument with one
// clear message (an unknown name lists the known ones, an unknown key the accepted ones).
// Thread-compatible.
#ifndef RINGV8_NODE_STRATEGY_FACTORY_H_
#define RINGV8_NODE_STRATEGY_FACTORY_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "strategies/discovery_strategy.h"

namespace ringv8::node {

std::vector<std::string> BuiltinStrategyNames();

std::unique_ptr<strategies::DiscoveryStrategy> MakeStrategy(
    std::string_view name, overlay::Community* overlay,
    const nlohmann::json& init = nlohmann::json::object());

}  // namespace ringv8::node

#endif  // RINGV8_NODE_STRATEGY_FACTORY_H_
