#include "node/tunnel_config.h"

#include <fmt/format.h>

#include "node/config.h"
#include "node/registry.h"
#include "wire/hex.h"

namespace ringv8::node {

using nlohmann::json;

namespace {

double ReadNumber(const json& settings, const char* key, double fallback, double min) {
  auto it = settings.find(key);
  if (it == settings.end()) return fallback;
  if (!it->is_number() || it->get<double>() < min) {
    throw ConfigError(fmt::format("settings.{}", key), fmt::format("must be a number >= {}", min));
  }
  return it->get<double>();
}

}  // namespace

const std::vector<std::string>& TunnelSettingsKeys() {
  static const std::vector<std::string> keys = {
      // py-ipv8's TunnelSettings.
      "max_circuits", "max_joined_circuits", "max_time", "max_time_inactive", "max_traffic",
      "max_relay_early", "peer_flags", "unstable_timeout", "next_hop_timeout",
      // ringv8's limits.
      "max_relay_rate", "max_circuit_rate", "create_rate", "create_burst", "aead",
      "max_exit_sockets", "max_exit_rate", "max_exit_circuit_rate", "max_exit_destination_rate",
      "exit_allow_loopback_destinations"};
  return keys;
}

tunnel::PeerFlags ReadPeerFlags(const json& value, std::string_view path) {
  const char* kWhat =
      "must be a list of flags (1 RELAY, 2 EXIT_BT, 4 EXIT_IPV8, 8 SPEED_TEST) "
      "or their sum";
  auto valid = [](const json& v) {
    return v.is_number_integer() && v.get<int64_t>() >= 0 && v.get<int64_t>() <= 0xFFFF;
  };
  uint32_t flags = 0;
  if (valid(value)) {
    flags = value.get<uint32_t>();
  } else if (value.is_array()) {
    for (const json& flag : value) {
      if (!valid(flag)) throw ConfigError(std::string(path), kWhat);
      flags |= flag.get<uint32_t>();
    }
  } else {
    throw ConfigError(std::string(path), kWhat);
  }
  if (flags & (tunnel::kFlagExitHttp | tunnel::kFlagExitBackup)) {
    throw ConfigError(std::string(path),
                      "Tribler's EXIT_HTTP (32768) and EXIT_BACKUP (16384) are not implemented; "
                      "an exit advertises 1 (RELAY), 2 (EXIT_BT) and/or 4 (EXIT_IPV8), 8 "
                      "(SPEED_TEST)");
  }
  if ((flags & (tunnel::kFlagExitBt | tunnel::kFlagExitIpv8)) != 0 &&
      (flags & tunnel::kFlagRelay) == 0) {
    throw ConfigError(std::string(path),
                      "an exit (2 EXIT_BT, 4 EXIT_IPV8) must also be a relay (1 RELAY): py-ipv8 "
                      "clients pick exits among RELAY peers");
  }
  return static_cast<tunnel::PeerFlags>(flags);
}

wire::CommunityId ReadTunnelCommunityId(const json& value, std::string_view path) {
  const char* kWhat = "must be \"tribler\", \"py-ipv8\" or 40 hex characters";
  if (!value.is_string()) throw ConfigError(std::string(path), kWhat);
  const std::string text = value.get<std::string>();
  if (text == "tribler") return tunnel::kTriblerTunnelCommunityId;
  if (text == "py-ipv8") return tunnel::kPyIpv8TunnelCommunityId;
  auto bytes = wire::FromHex(text);
  if (!bytes || bytes->size() != 20) throw ConfigError(std::string(path), kWhat);
  wire::CommunityId id;
  std::copy(bytes->begin(), bytes->end(), id.begin());
  return id;
}

tunnel::TunnelSettings ReadTunnelSettings(const json& settings) {
  try {
    RequireOnlyKeys("TunnelCommunity settings", settings, TunnelSettingsKeys());
  } catch (const ConfigError& e) {
    throw ConfigError(e.path().empty() ? "settings" : "settings." + e.path(), e.reason());
  }
  tunnel::TunnelSettings s;
  s.max_circuits = static_cast<size_t>(ReadNumber(settings, "max_circuits", s.max_circuits, 0));
  s.max_joined_circuits =
      static_cast<size_t>(ReadNumber(settings, "max_joined_circuits", s.max_joined_circuits, 0));
  s.max_time = ReadNumber(settings, "max_time", s.max_time, 1);
  s.max_time_inactive = ReadNumber(settings, "max_time_inactive", s.max_time_inactive, 1);
  s.max_traffic = static_cast<uint64_t>(
      ReadNumber(settings, "max_traffic", static_cast<double>(s.max_traffic), 1));
  s.max_relay_early =
      static_cast<int>(ReadNumber(settings, "max_relay_early", s.max_relay_early, 0));
  s.unstable_timeout = ReadNumber(settings, "unstable_timeout", s.unstable_timeout, 1);
  s.next_hop_timeout = ReadNumber(settings, "next_hop_timeout", s.next_hop_timeout, 0.1);
  s.max_relay_rate = ReadNumber(settings, "max_relay_rate", s.max_relay_rate, 0);
  s.max_circuit_rate = ReadNumber(settings, "max_circuit_rate", s.max_circuit_rate, 0);
  s.create_rate = ReadNumber(settings, "create_rate", s.create_rate, 0);
  s.create_burst = ReadNumber(settings, "create_burst", s.create_burst, 1);
  s.max_exit_sockets =
      static_cast<size_t>(ReadNumber(settings, "max_exit_sockets", s.max_exit_sockets, 0));
  s.max_exit_rate = ReadNumber(settings, "max_exit_rate", s.max_exit_rate, 0);
  s.max_exit_circuit_rate =
      ReadNumber(settings, "max_exit_circuit_rate", s.max_exit_circuit_rate, 0);
  s.max_exit_destination_rate =
      ReadNumber(settings, "max_exit_destination_rate", s.max_exit_destination_rate, 0);
  if (auto it = settings.find("exit_allow_loopback_destinations"); it != settings.end()) {
    if (!it->is_boolean()) {
      throw ConfigError("settings.exit_allow_loopback_destinations", "must be true or false");
    }
    s.exit_allow_loopback = it->get<bool>();
  }
  if (auto it = settings.find("peer_flags"); it != settings.end()) {
    s.peer_flags = ReadPeerFlags(*it, "settings.peer_flags");
  }
  if (auto it = settings.find("aead"); it != settings.end()) {
    if (*it == "auto") {
      s.aead = tunnel::AeadImpl::kAuto;
    } else if (*it == "openssl") {
      s.aead = tunnel::AeadImpl::kOpenSsl;
    } else if (*it == "libsodium") {
      s.aead = tunnel::AeadImpl::kSodium;
    } else {
      throw ConfigError("settings.aead", "must be \"auto\", \"openssl\" or \"libsodium\"");
    }
  }
  return s;
}

}  // namespace ringv8::node
