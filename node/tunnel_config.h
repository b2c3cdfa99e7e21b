// The TunnelCommunity's entries in a py-ipv8 configuration: `initialize.settings` with py-ipv8's
// TunnelSettings names where they exist, ringv8's own limits beside them, and the community id.
//
//   {"class": "TunnelCommunity",            (py-ipv8's id 81ded073...; "TriblerTunnelCommunity":
//    "initialize": {                          Tribler's a3591a6b...)
//      "community_id": "tribler",           (or 40 hex characters, or "py-ipv8"; ringv8's own)
//      "settings": {"max_joined_circuits": 10000, "peer_flags": [1, 8], "max_relay_rate": 0, ...}}}
//
// An exit: "peer_flags": [1, 2, 8] (EXIT_BT) or [1, 2, 4, 8], with "max_exit_sockets",
// "max_exit_rate", "max_exit_circuit_rate", "max_exit_destination_rate" and, for tests only,
// "exit_allow_loopback_destinations": true.
//
// Thread-compatible; throws ConfigError with the path of a bad value.
#ifndef RINGV8_NODE_TUNNEL_CONFIG_H_
#define RINGV8_NODE_TUNNEL_CONFIG_H_

#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tunnel/tunnel_community.h"

namespace ringv8::node {

// The keys `initialize.settings` accepts.
const std::vector<std::string>& TunnelSettingsKeys();
tunnel::TunnelSettings ReadTunnelSettings(const nlohmann::json& settings);
// "tribler", "py-ipv8" or 40 hex characters.
wire::CommunityId ReadTunnelCommunityId(const nlohmann::json& value, std::string_view path);
// peer_flags as py-ipv8 writes them (a list of flag values) or one number.
tunnel::PeerFlags ReadPeerFlags(const nlohmann::json& value, std::string_view path);

}  // namespace ringv8::node

#endif  // RINGV8_NODE_TUNNEL_CONFIG_H_
