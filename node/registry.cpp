#include "node/registry.h"

#include <stdexcept>
#include <system_error>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "node/strategy_factory.h"
#include "node/tunnel_config.h"
#include "overlay/discovery_community.h"
#include "overlay/dispersy_bootstrapper.h"
#include "overlay/udp_broadcast_bootstrapper.h"
#include "wire/hex.h"

namespace ringv8::node {

using nlohmann::json;

namespace {

// The `initialize` keys the Node itself reads into CommunitySettings.
const std::vector<std::string> kSettingsKeys = {"max_peers", "anonymize"};

std::vector<std::string> With(std::vector<std::string> keys, std::vector<std::string> more) {
  keys.insert(keys.end(), more.begin(), more.end());
  return keys;
}

template <typename Map>
std::vector<std::string> Names(const Map& map) {
  std::vector<std::string> names;
  for (const auto& [name, value] : map) names.push_back(name);
  return names;
}

wire::CommunityId ReadCommunityId(const json& initialize) {
  auto it = initialize.find("community_id");
  if (it == initialize.end()) {
    throw ConfigError("community_id",
                      "is required for the plain Community (40 hex characters: the 20-byte id)");
  }
  const char* kWhat = "must be a string of 40 hex characters (the 20-byte id)";
  if (!it->is_string()) throw ConfigError("community_id", kWhat);
  auto bytes = wire::FromHex(it->get<std::string>());
  if (!bytes || bytes->size() != 20) {
    throw ConfigError("community_id", kWhat);
  }
  wire::CommunityId id;
  std::copy(bytes->begin(), bytes->end(), id.begin());
  return id;
}

bool IsPort(const json& value) {
  return value.is_number_integer() && value.get<int64_t>() >= 0 && value.get<int64_t>() <= 65535;
}

// "ip:port", "[v6]:port" or py-ipv8's ["ip", port].
Address ReadAddress(const json& value, const std::string& path);

// ringv8's "udp_forward": [{"listen": ["127.0.0.1", 7000], "destination": ["1.2.3.4", 6881],
// "hops": 2}, ...]: local ports whose datagrams go through a circuit (tunnel/udp_forward.h).
void AddUdpForwards(tunnel::TunnelCommunity& community, const json& forwards) {
  if (!forwards.is_array()) throw ConfigError("udp_forward", "must be a list of forwards");
  for (size_t i = 0; i < forwards.size(); ++i) {
    const std::string path = fmt::format("udp_forward[{}]", i);
    const json& f = forwards[i];
    RequireOnlyKeys("udp_forward", f, {"listen", "destination", "hops"});
    if (!f.contains("listen") || !f.contains("destination")) {
      throw ConfigError(path, "needs \"listen\" and \"destination\" ([\"ip\", port])");
    }
    const Address listen = ReadAddress(f["listen"], path + ".listen");
    const Address destination = ReadAddress(f["destination"], path + ".destination");
    const json hops = f.value("hops", json(1));
    if (!hops.is_number_integer() || hops.get<int>() < 1 || hops.get<int>() > 3) {
      throw ConfigError(path + ".hops", "must be 1, 2 or 3");
    }
    if (std::error_code error = community.AddUdpForward(listen, destination, hops.get<size_t>())) {
      throw std::system_error(error, "udp_forward " + listen.ToString());
    }
  }
}

Address ReadAddress(const json& value, const std::string& path) {
  std::optional<Address> address;
  if (value.is_string()) {
    address = Address::Parse(value.get<std::string>());
  } else if (value.is_array() && value.size() == 2 && value[0].is_string() && IsPort(value[1])) {
    address = Address::ParseIp(value[0].get<std::string>(), value[1].get<uint16_t>());
  }
  if (!address) throw ConfigError(path, "must be [\"ip\", port] or \"ip:port\"");
  return *address;
}

std::pair<std::string, uint16_t> ReadHostPort(const json& value, const std::string& path) {
  if (value.is_array() && value.size() == 2 && value[0].is_string() && IsPort(value[1])) {
    return {value[0].get<std::string>(), value[1].get<uint16_t>()};
  }
  if (value.is_string()) {
    const std::string text = value.get<std::string>();
    size_t colon = text.rfind(':');
    if (colon != std::string::npos && colon > 0) {
      try {
        unsigned long port = std::stoul(text.substr(colon + 1));
        if (port <= 65535) return {text.substr(0, colon), static_cast<uint16_t>(port)};
      } catch (const std::exception&) {
      }
    }
  }
  throw ConfigError(path, "must be [\"host\", port] or \"host:port\"");
}

Duration ReadTimeout(const json& init, Duration fallback) {
  auto it = init.find("bootstrap_timeout");
  if (it == init.end()) return fallback;
  if (!it->is_number() || it->get<double>() < 0) {
    throw ConfigError("bootstrap_timeout", "must be a number of seconds >= 0");
  }
  return Seconds(it->get<double>());
}

const json& ArrayOf(const json& init, const char* key) {
  static const json kEmpty = json::array();
  auto it = init.find(key);
  if (it == init.end()) return kEmpty;
  if (!it->is_array()) throw ConfigError(key, "must be an array");
  return *it;
}

std::unique_ptr<overlay::Bootstrapper> MakeDispersyBootstrapper(const json& init) {
  RequireOnlyKeys("DispersyBootstrapper", init,
                  {"ip_addresses", "dns_addresses", "bootstrap_timeout"});
  overlay::DispersyBootstrapperOptions options;
  const json& ips = ArrayOf(init, "ip_addresses");
  for (size_t i = 0; i < ips.size(); ++i) {
    options.ip_addresses.push_back(ReadAddress(ips[i], fmt::format("ip_addresses[{}]", i)));
  }
  const json& names = ArrayOf(init, "dns_addresses");
  for (size_t i = 0; i < names.size(); ++i) {
    options.dns_addresses.push_back(ReadHostPort(names[i], fmt::format("dns_addresses[{}]", i)));
  }
  options.bootstrap_timeout = ReadTimeout(init, options.bootstrap_timeout);
  return std::make_unique<overlay::DispersyBootstrapper>(std::move(options));
}

std::unique_ptr<overlay::Bootstrapper> MakeUdpBroadcastBootstrapper(const json& init) {
  RequireOnlyKeys("UDPBroadcastBootstrapper", init, {"bootstrap_timeout"});
  overlay::UdpBroadcastOptions options;
  options.bootstrap_timeout = ReadTimeout(init, options.bootstrap_timeout);
  return std::make_unique<overlay::UDPBroadcastBootstrapper>(options);
}

StrategyFactory BuiltinStrategy(std::string name) {
  return [name](overlay::Community& overlay, const json& init) {
    return MakeStrategy(name, &overlay, init);
  };
}

}  // namespace

void RequireOnlyKeys(std::string_view what, const json& init,
                     const std::vector<std::string>& accepted) {
  if (!init.is_object()) {
    throw ConfigError("", fmt::format("{}: must be a JSON object", what));
  }
  for (const auto& [key, value] : init.items()) {
    if (std::find(accepted.begin(), accepted.end(), key) == accepted.end()) {
      throw ConfigError(
          key, fmt::format("{} does not take '{}' (accepted: {})", what, key,
                           accepted.empty() ? std::string("none")
                                            : fmt::format("{}", fmt::join(accepted, ", "))));
    }
  }
}

Registry Registry::Builtin() {
  Registry registry;
  registry.AddOverlay("Community", [](const OverlayContext& c) {
    RequireOnlyKeys("Community", c.initialize, With(kSettingsKeys, {"community_id"}));
    return std::make_unique<overlay::Community>(ReadCommunityId(c.initialize), c.my_peer, c.key,
                                                c.endpoint, c.network, c.loop, c.settings);
  });
  OverlayEntry& discovery = registry.AddOverlay("DiscoveryCommunity", [](const OverlayContext& c) {
    RequireOnlyKeys("DiscoveryCommunity", c.initialize, kSettingsKeys);
    return std::unique_ptr<overlay::Community>(std::make_unique<overlay::DiscoveryCommunity>(
        c.my_peer, c.key, c.endpoint, c.network, c.loop, c.settings));
  });
  for (const std::string& name : overlay::DiscoveryCommunity::AvailableStrategies()) {
    discovery.strategies[name] = BuiltinStrategy(name);
  }
  // py-ipv8's TunnelCommunity (its own id) and Tribler's subclass (Tribler's id): the relay role.
  for (const auto& entry :
       {std::pair{"TunnelCommunity", tunnel::kPyIpv8TunnelCommunityId},
        std::pair{"TriblerTunnelCommunity", tunnel::kTriblerTunnelCommunityId}}) {
    const char* name = entry.first;
    const wire::CommunityId default_id = entry.second;
    OverlayEntry& tunnel = registry.AddOverlay(name, [name, default_id](const OverlayContext& c) {
      RequireOnlyKeys(name, c.initialize,
                      With(kSettingsKeys, {"community_id", "settings", "udp_forward"}));
      wire::CommunityId id = default_id;
      if (auto it = c.initialize.find("community_id"); it != c.initialize.end()) {
        id = ReadTunnelCommunityId(*it, "community_id");
      }
      auto settings = c.initialize.find("settings");
      const tunnel::TunnelSettings tunnel_settings =
          ReadTunnelSettings(settings != c.initialize.end() ? *settings : json::object());
      auto community = std::make_unique<tunnel::TunnelCommunity>(
          id, c.my_peer, c.key, c.endpoint, c.network, c.loop, c.settings, tunnel_settings);
      if (auto it = c.initialize.find("udp_forward"); it != c.initialize.end()) {
        AddUdpForwards(*community, *it);
      }
      return std::unique_ptr<overlay::Community>(std::move(community));
    });
    // py-ipv8's build_tunnels(hops): keep a circuit of that many hops.
    tunnel.on_start["build_tunnels"] = [](overlay::Community& overlay, const json& args) {
      if (args.size() != 1 || !args[0].is_number_integer() || args[0].get<int>() < 1 ||
          args[0].get<int>() > 3) {
        throw ConfigError("", "build_tunnels takes the number of hops: 1, 2 or 3");
      }
      static_cast<tunnel::TunnelCommunity&>(overlay).BuildTunnels(args[0].get<size_t>());
    };
  }
  registry.AddStrategy("RandomWalk", BuiltinStrategy("RandomWalk"));
  registry.AddStrategy("EdgeWalk", BuiltinStrategy("EdgeWalk"));
  registry.AddBootstrapper("DispersyBootstrapper", MakeDispersyBootstrapper);
  registry.AddBootstrapper("UDPBroadcastBootstrapper", MakeUdpBroadcastBootstrapper);
  // py-ipv8's on_start calls name overlay methods: ["walk_to", ["1.2.3.4", 8090]].
  registry.AddOnStart("walk_to", [](overlay::Community& overlay, const json& args) {
    if (args.size() != 1) throw ConfigError("", "walk_to takes one address: [\"ip\", port]");
    overlay.WalkTo(ReadAddress(args[0], "[1]"));
  });
  registry.AddOnStart("bootstrap", [](overlay::Community& overlay, const json& args) {
    if (!args.empty()) throw ConfigError("", "bootstrap takes no arguments");
    overlay.Bootstrap();
  });
  return registry;
}

OverlayEntry& Registry::AddOverlay(std::string name, CommunityFactory factory) {
  OverlayEntry& entry = overlays_[std::move(name)];
  entry = OverlayEntry{};
  entry.factory = std::move(factory);
  return entry;
}

void Registry::AddStrategy(std::string name, StrategyFactory factory) {
  strategies_[std::move(name)] = std::move(factory);
}

void Registry::AddBootstrapper(std::string name, BootstrapperFactory factory) {
  bootstrappers_[std::move(name)] = std::move(factory);
}

void Registry::AddOnStart(std::string name, OnStartFunction function) {
  on_start_[std::move(name)] = std::move(function);
}

const OnStartFunction* Registry::FindOnStart(std::string_view overlay_class,
                                             std::string_view name) const {
  if (auto it = on_start_.find(name); it != on_start_.end()) return &it->second;
  const OverlayEntry* entry = FindOverlay(overlay_class);
  if (entry == nullptr) return nullptr;
  auto it = entry->on_start.find(name);
  return it == entry->on_start.end() ? nullptr : &it->second;
}

std::vector<std::string> Registry::OnStartNames(std::string_view overlay_class) const {
  std::vector<std::string> names = Names(on_start_);
  if (const OverlayEntry* entry = FindOverlay(overlay_class)) {
    for (const std::string& name : Names(entry->on_start)) names.push_back(name);
  }
  return names;
}

const OverlayEntry* Registry::FindOverlay(std::string_view name) const {
  auto it = overlays_.find(name);
  return it == overlays_.end() ? nullptr : &it->second;
}

const StrategyFactory* Registry::FindStrategy(std::string_view overlay_class,
                                              std::string_view name) const {
  if (auto it = strategies_.find(name); it != strategies_.end()) return &it->second;
  const OverlayEntry* entry = FindOverlay(overlay_class);
  if (entry == nullptr) return nullptr;
  auto it = entry->strategies.find(name);
  return it == entry->strategies.end() ? nullptr : &it->second;
}

const BootstrapperFactory* Registry::FindBootstrapper(std::string_view name) const {
  auto it = bootstrappers_.find(name);
  return it == bootstrappers_.end() ? nullptr : &it->second;
}

std::vector<std::string> Registry::OverlayNames() const { return Names(overlays_); }

std::vector<std::string> Registry::StrategyNames(std::string_view overlay_class) const {
  std::vector<std::string> names = Names(strategies_);
  if (const OverlayEntry* entry = FindOverlay(overlay_class)) {
    for (const std::string& name : Names(entry->strategies)) names.push_back(name);
  }
  return names;
}

std::vector<std::string> Registry::BootstrapperNames() const { return Names(bootstrappers_); }

std::string Registry::UnknownOverlayMessage(std::string_view name) const {
  static const std::vector<std::string_view> kPyIpv8Only = {
      "HiddenTunnelCommunity", "DHTDiscoveryCommunity",  "DHTCommunity",
      "TrustChainCommunity",   "TunnelTestnetCommunity", "IdentityCommunity",
      "AttestationCommunity"};
  const std::string known = fmt::format("{}", fmt::join(OverlayNames(), ", "));
  if (std::find(kPyIpv8Only.begin(), kPyIpv8Only.end(), name) != kPyIpv8Only.end()) {
    return fmt::format(
        "{} is a py-ipv8 overlay that ringv8 does not implement (ringv8 has: {}); remove it "
        "from the configuration, or pass --skip-unknown to skip it",
        name, known);
  }
  return fmt::format("unknown overlay class '{}' (known: {}); pass --skip-unknown to skip it", name,
                     known);
}

}  // namespace ringv8::node
