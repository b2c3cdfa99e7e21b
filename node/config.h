// NodeConfig: a node's configuration in py-ipv8's JSON schema, with py-ipv8's defaults (spec 7.1).
//
//   {"interfaces": [{"interface": "UDPIPv4", "ip": "0.0.0.0", "port": 8090}],
//    "keys": [{"alias": "anonymous id", "generation": "curve25519", "file": "ec_multichain.pem"}],
//    "logger": {"level": "INFO"}, "working_directory": ".", "walker_interval": 0.5,
//    "overlays": [{"class": "DiscoveryCommunity", "key": "anonymous id",
//                  "walkers": [{"strategy": "RandomWalk", "peers": 20, "init": {"timeout": 3.0}}],
//                  "bootstrappers": [{"class": "DispersyBootstrapper", "init": {...}}],
//                  "initialize": {"max_peers": 30}, "on_start": []}]}
//
// Missing keys take py-ipv8's defaults (py-ipv8's legacy top-level "address"/"port" become a
// UDPIPv4 interface). Parsing checks the shape of the document only; names (overlay classes,
// strategies, bootstrappers) are resolved by the Node against its Registry. Every error is a
// ConfigError whose path names the bad value, e.g. "overlays[0].walkers[1].peers".
// Thread-compatible.
#ifndef RINGV8_NODE_CONFIG_H_
#define RINGV8_NODE_CONFIG_H_

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ringv8::node {

// node/'s one exception type: a configuration, or a call into a Node, that cannot be honoured
// (the CLI turns it into one message and exit code 2). It is an std::invalid_argument, so code
// that catches those (factories' callers) sees it too. Sockets that cannot be opened are the
// kernel's std::system_error.
class ConfigError : public std::invalid_argument {
 public:
  // `path`: where in the document ("overlays[0].class"); "" for the document as a whole.
  ConfigError(std::string path, const std::string& message);
  const std::string& path() const { return path_; }
  const std::string& reason() const { return reason_; }

 private:
  std::string path_;
  std::string reason_;
};

struct InterfaceConfig {
  std::string interface = "UDPIPv4";  // UDPIPv4 or UDPIPv6.
  std::string ip = "0.0.0.0";
  uint16_t port = 8090;
};

struct KeyConfig {
  std::string alias;
  std::string generation = "curve25519";
  std::string file;  // Loaded if it exists, else written with the new key. "": no file.
  std::string bin;   // Base64 of the private key bin.
  std::string path;  // Where this entry is ("keys[0]").
};

struct WalkerConfig {
  std::string strategy;
  int peers = 20;  // target_peers; -1: always step.
  nlohmann::json init = nlohmann::json::object();
  std::string path;
};

struct BootstrapperConfig {
  std::string class_name;
  nlohmann::json init = nlohmann::json::object();
  std::string path;
};

struct OverlayConfig {
  std::string class_name;
  std::string key;  // A KeyConfig alias.
  std::vector<WalkerConfig> walkers;
  std::vector<BootstrapperConfig> bootstrappers;
  nlohmann::json initialize = nlohmann::json::object();
  nlohmann::json on_start = nlohmann::json::array();  // [["method", args...], ...]
  std::string path;
};

struct NodeConfig {
  std::vector<InterfaceConfig> interfaces;
  std::vector<KeyConfig> keys;
  std::string log_level = "INFO";
  std::string working_directory = ".";
  double walker_interval = 0.5;
  std::vector<OverlayConfig> overlays;

  // Throws ConfigError.
  static NodeConfig FromJson(const nlohmann::json& document);
  // Reads and parses a file; JSON syntax errors name the line and column.
  static NodeConfig Load(const std::string& file);

  const KeyConfig* FindKey(const std::string& alias) const;
  const InterfaceConfig* FindInterface(const std::string& interface) const;
  // ConfigBuilder.set_port: updates (or adds) the interface's port.
  void SetPort(uint16_t port, const std::string& interface = "UDPIPv4");
};

// py-ipv8's DISPERSY_BOOTSTRAPPER init: the public trackers (13 addresses, 7 names, 30 s).
nlohmann::json DispersyBootstrapperInit();
// py-ipv8's default configuration restricted to what ringv8 has: DiscoveryCommunity with
// RandomWalk 20, RandomChurn and PeriodicSimilarity, bootstrapping through the public trackers,
// on UDPIPv4 port 8090 (configs/default.json holds the same).
nlohmann::json DefaultConfigJson();

}  // namespace ringv8::node

#endif  // RINGV8_NODE_CONFIG_H_
