#include "node/config.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "overlay/dispersy_bootstrapper.h"

namespace ringv8::node {

using nlohmann::json;

ConfigError::ConfigError(std::string path, const std::string& message)
    : std::invalid_argument(path.empty() ? message : path + ": " + message),
      path_(std::move(path)),
      reason_(message) {}

namespace {

std::string Join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}
std::string Index(const std::string& path, size_t i) { return fmt::format("{}[{}]", path, i); }

const char* TypeName(const json& value) { return value.type_name(); }

// A JSON object being read: typed getters that name the path of a bad value, and a check for
// keys nobody read (a warning, since py-ipv8 ignores them too).
class ObjectReader {
 public:
  ObjectReader(const json& value, std::string path) : value_(value), path_(std::move(path)) {
    if (!value.is_object()) {
      throw ConfigError(path_, fmt::format("must be an object, not {}", TypeName(value)));
    }
  }

  const json* Find(const std::string& key) {
    seen_.push_back(key);
    auto it = value_.find(key);
    return it == value_.end() ? nullptr : &*it;
  }
  const json& Require(const std::string& key) {
    const json* v = Find(key);
    if (v == nullptr) throw ConfigError(Join(path_, key), "is required");
    return *v;
  }
  std::string String(const std::string& key, const std::string& fallback, bool required = false) {
    const json* v = required ? &Require(key) : Find(key);
    if (v == nullptr) return fallback;
    if (!v->is_string()) {
      throw ConfigError(Join(path_, key), fmt::format("must be a string, not {}", TypeName(*v)));
    }
    return v->get<std::string>();
  }
  double Number(const std::string& key, double fallback) {
    const json* v = Find(key);
    if (v == nullptr) return fallback;
    if (!v->is_number()) {
      throw ConfigError(Join(path_, key), fmt::format("must be a number, not {}", TypeName(*v)));
    }
    return v->get<double>();
  }
  int64_t Integer(const std::string& key, int64_t fallback, int64_t min, int64_t max) {
    const json* v = Find(key);
    if (v == nullptr) return fallback;
    if (!v->is_number_integer()) {
      throw ConfigError(Join(path_, key), fmt::format("must be an integer, not {}", TypeName(*v)));
    }
    int64_t n = v->get<int64_t>();
    if (n < min || n > max) {
      throw ConfigError(Join(path_, key), fmt::format("must be in [{}, {}], not {}", min, max, n));
    }
    return n;
  }
  const json& Array(const std::string& key, const json& fallback) {
    const json* v = Find(key);
    if (v == nullptr) return fallback;
    if (!v->is_array()) {
      throw ConfigError(Join(path_, key), fmt::format("must be an array, not {}", TypeName(*v)));
    }
    return *v;
  }
  json Object(const std::string& key) {
    const json* v = Find(key);
    if (v == nullptr) return json::object();
    if (!v->is_object()) {
      throw ConfigError(Join(path_, key), fmt::format("must be an object, not {}", TypeName(*v)));
    }
    return *v;
  }
  void WarnUnread() const {
    for (const auto& [key, value] : value_.items()) {
      if (std::find(seen_.begin(), seen_.end(), key) == seen_.end()) {
        spdlog::warn("configuration: {} is not a setting ringv8 knows; ignored", Join(path_, key));
      }
    }
  }
  const std::string& path() const { return path_; }

 private:
  const json& value_;
  std::string path_;
  std::vector<std::string> seen_;
};

const json kEmptyArray = json::array();

InterfaceConfig ReadInterface(const json& value, const std::string& path) {
  ObjectReader r(value, path);
  InterfaceConfig out;
  out.interface = r.String("interface", "", /*required=*/true);
  if (out.interface != "UDPIPv4" && out.interface != "UDPIPv6") {
    throw ConfigError(
        Join(path, "interface"),
        fmt::format("unknown interface '{}' (known: UDPIPv4, UDPIPv6)", out.interface));
  }
  out.ip = r.String("ip", out.interface == "UDPIPv4" ? "0.0.0.0" : "::");
  out.port = static_cast<uint16_t>(r.Integer("port", 8090, 0, 65535));
  r.WarnUnread();
  return out;
}

KeyConfig ReadKey(const json& value, const std::string& path) {
  ObjectReader r(value, path);
  KeyConfig out;
  out.path = path;
  out.alias = r.String("alias", "", /*required=*/true);
  out.generation = r.String("generation", "curve25519");
  out.file = r.String("file", "");
  out.bin = r.String("bin", "");
  r.WarnUnread();
  return out;
}

WalkerConfig ReadWalker(const json& value, const std::string& path) {
  ObjectReader r(value, path);
  WalkerConfig out;
  out.path = path;
  out.strategy = r.String("strategy", "", /*required=*/true);
  out.peers = static_cast<int>(r.Integer("peers", 20, -1, 1 << 20));
  out.init = r.Object("init");
  r.WarnUnread();
  return out;
}

BootstrapperConfig ReadBootstrapper(const json& value, const std::string& path) {
  ObjectReader r(value, path);
  BootstrapperConfig out;
  out.path = path;
  out.class_name = r.String("class", "", /*required=*/true);
  out.init = r.Object("init");
  r.WarnUnread();
  return out;
}

OverlayConfig ReadOverlay(const json& value, const std::string& path) {
  ObjectReader r(value, path);
  OverlayConfig out;
  out.path = path;
  out.class_name = r.String("class", "", /*required=*/true);
  out.key = r.String("key", "", /*required=*/true);
  const json& walkers = r.Array("walkers", kEmptyArray);
  for (size_t i = 0; i < walkers.size(); ++i) {
    out.walkers.push_back(ReadWalker(walkers[i], Index(Join(path, "walkers"), i)));
  }
  const json& bootstrappers = r.Array("bootstrappers", kEmptyArray);
  for (size_t i = 0; i < bootstrappers.size(); ++i) {
    out.bootstrappers.push_back(
        ReadBootstrapper(bootstrappers[i], Index(Join(path, "bootstrappers"), i)));
  }
  out.initialize = r.Object("initialize");
  out.on_start = r.Array("on_start", kEmptyArray);
  for (size_t i = 0; i < out.on_start.size(); ++i) {
    const json& call = out.on_start[i];
    // py-ipv8: ("method", arg, ...), which JSON holds as ["method", arg, ...].
    if (!(call.is_string() || (call.is_array() && !call.empty() && call[0].is_string()))) {
      throw ConfigError(Index(Join(path, "on_start"), i),
                        "must be [\"method\", arguments...] (an array starting with a string)");
    }
  }
  r.WarnUnread();
  return out;
}

}  // namespace

NodeConfig NodeConfig::FromJson(const json& document) {
  ObjectReader r(document, "");
  NodeConfig out;
  if (const json* interfaces = r.Find("interfaces")) {
    if (!interfaces->is_array()) {
      throw ConfigError("interfaces",
                        fmt::format("must be an array, not {}", TypeName(*interfaces)));
    }
    // Only a missing key means py-ipv8's default (UDPIPv4 0.0.0.0:8090); an empty list is a
    // mistake, not a request for that default.
    if (interfaces->empty() && r.Find("address") == nullptr && r.Find("port") == nullptr) {
      throw ConfigError("interfaces",
                        "is empty: list at least one interface (UDPIPv4 or UDPIPv6), or leave the "
                        "key out for py-ipv8's default (UDPIPv4 on 0.0.0.0:8090)");
    }
    for (size_t i = 0; i < interfaces->size(); ++i) {
      out.interfaces.push_back(ReadInterface((*interfaces)[i], Index("interfaces", i)));
    }
  }
  // py-ipv8's legacy top-level keys become a UDPIPv4 interface.
  const json* address = r.Find("address");
  const json* port = r.Find("port");
  if (address != nullptr || port != nullptr) {
    InterfaceConfig legacy;
    legacy.ip = r.String("address", legacy.ip);
    legacy.port = static_cast<uint16_t>(r.Integer("port", legacy.port, 0, 65535));
    out.interfaces.push_back(legacy);
  }
  if (out.interfaces.empty()) out.interfaces.push_back(InterfaceConfig{});

  const json& keys = r.Array("keys", kEmptyArray);
  for (size_t i = 0; i < keys.size(); ++i) {
    KeyConfig key = ReadKey(keys[i], Index("keys", i));
    for (const KeyConfig& other : out.keys) {
      if (other.alias == key.alias) {
        throw ConfigError(Join(key.path, "alias"),
                          fmt::format("'{}' is already defined at {}", key.alias, other.path));
      }
    }
    out.keys.push_back(std::move(key));
  }
  if (const json* logger = r.Find("logger")) {
    ObjectReader l(*logger, "logger");
    out.log_level = l.String("level", out.log_level);
    static const std::vector<std::string> kLevels = {"CRITICAL", "ERROR", "WARNING",
                                                     "INFO",     "DEBUG", "NOTSET"};
    if (std::find(kLevels.begin(), kLevels.end(), out.log_level) == kLevels.end()) {
      throw ConfigError("logger.level",
                        fmt::format("unknown level '{}' (known: CRITICAL, ERROR, WARNING, INFO, "
                                    "DEBUG, NOTSET)",
                                    out.log_level));
    }
    l.WarnUnread();
  }
  out.working_directory = r.String("working_directory", out.working_directory);
  out.walker_interval = r.Number("walker_interval", out.walker_interval);
  // Below 10 ms the scheduler would step strategies back to back and burn a core.
  if (!(out.walker_interval >= 0.01) || out.walker_interval > 3600) {
    throw ConfigError("walker_interval",
                      "must be a number of seconds in [0.01, 3600] (py-ipv8's default: 0.5)");
  }
  const json& overlays = r.Array("overlays", kEmptyArray);
  for (size_t i = 0; i < overlays.size(); ++i) {
    OverlayConfig overlay = ReadOverlay(overlays[i], Index("overlays", i));
    if (out.FindKey(overlay.key) == nullptr) {
      throw ConfigError(Join(overlay.path, "key"),
                        fmt::format("no key with alias '{}' in keys", overlay.key));
    }
    out.overlays.push_back(std::move(overlay));
  }
  r.WarnUnread();
  return out;
}

NodeConfig NodeConfig::Load(const std::string& file) {
  std::ifstream in(file);
  if (!in) throw ConfigError("", fmt::format("cannot read {}: {}", file, std::strerror(errno)));
  std::stringstream text;
  text << in.rdbuf();
  json document;
  try {
    document = json::parse(text.str());
  } catch (const json::parse_error& e) {
    // "[json.exception.parse_error.101] parse error at line 3, ...": the library's tag is noise.
    std::string what = e.what();
    if (what.starts_with("[json.exception.")) what = what.substr(what.find("] ") + 2);
    throw ConfigError("", fmt::format("{} is not valid JSON: {}", file, what));
  }
  return FromJson(document);
}

const KeyConfig* NodeConfig::FindKey(const std::string& alias) const {
  for (const KeyConfig& key : keys) {
    if (key.alias == alias) return &key;
  }
  return nullptr;
}

const InterfaceConfig* NodeConfig::FindInterface(const std::string& interface) const {
  for (const InterfaceConfig& entry : interfaces) {
    if (entry.interface == interface) return &entry;
  }
  return nullptr;
}

void NodeConfig::SetPort(uint16_t port, const std::string& interface) {
  for (InterfaceConfig& entry : interfaces) {
    if (entry.interface == interface) {
      entry.port = port;
      return;
    }
  }
  InterfaceConfig entry;
  entry.interface = interface;
  entry.ip = interface == "UDPIPv4" ? "0.0.0.0" : "::";
  entry.port = port;
  interfaces.push_back(entry);
}

json DispersyBootstrapperInit() {
  overlay::DispersyBootstrapperOptions defaults = overlay::DispersyBootstrapperOptions::Defaults();
  json ips = json::array();
  for (const Address& a : defaults.ip_addresses) ips.push_back({a.IpString(), a.port()});
  json names = json::array();
  for (const auto& [name, port] : defaults.dns_addresses) names.push_back({name, port});
  return {{"ip_addresses", ips},
          {"dns_addresses", names},
          {"bootstrap_timeout", std::chrono::duration<double>(defaults.bootstrap_timeout).count()}};
}

json DefaultConfigJson() {
  return {
      {"interfaces", {{{"interface", "UDPIPv4"}, {"ip", "0.0.0.0"}, {"port", 8090}}}},
      {"keys",
       {{{"alias", "anonymous id"}, {"generation", "curve25519"}, {"file", "ec_multichain.pem"}}}},
      {"logger", {{"level", "INFO"}}},
      {"working_directory", "."},
      {"walker_interval", 0.5},
      {"overlays",
       {{{"class", "DiscoveryCommunity"},
         {"key", "anonymous id"},
         {"walkers",
          {{{"strategy", "RandomWalk"}, {"peers", 20}, {"init", {{"timeout", 3.0}}}},
           {{"strategy", "RandomChurn"},
            {"peers", -1},
            {"init",
             {{"sample_size", 8},
              {"ping_interval", 10.0},
              {"inactive_time", 27.5},
              {"drop_time", 57.5}}}},
           {{"strategy", "PeriodicSimilarity"}, {"peers", -1}, {"init", json::object()}}}},
         {"bootstrappers",
          {{{"class", "DispersyBootstrapper"}, {"init", DispersyBootstrapperInit()}}}},
         {"initialize", json::object()},
         {"on_start", json::array()}}}}};
}

}  // namespace ringv8::node
