// NodeConfig and the Node's loading of it: every example in configs/, py-ipv8's defaults, and
// every error with the JSON path of the bad value. Nodes are built on the in-memory network.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "node/node.h"
#include "overlay/discovery_community.h"
#include "overlay/dispersy_bootstrapper.h"
#include "ring/memory_endpoint.h"
#include "tests/testing/simulation.h"
#include "tunnel/tunnel_community.h"

namespace ringv8::node {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class ConfigTest : public ::testing::Test {
 protected:
  ConfigTest() {
    EndpointOptions options;
    options.ipv4 = Address::ParseIp("10.0.0.1", 8090);
    endpoint_ = std::move(*sim_.net.Open(options));
    directory_ = std::filesystem::temp_directory_path() /
                 ("ringv8-config-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(directory_);
  }
  ~ConfigTest() override { std::filesystem::remove_all(directory_); }

  std::unique_ptr<Node> Build(const NodeConfig& config, bool skip_unknown = false) {
    return std::make_unique<Node>(
        *sim_.loop, config, NodeOptions{.skip_unknown = skip_unknown, .endpoint = endpoint_.get()});
  }
  // The ConfigError that loading `document` into a node throws.
  ConfigError ErrorOf(const json& document) {
    try {
      NodeConfig config = NodeConfig::FromJson(document);
      Build(config);
    } catch (const ConfigError& e) {
      return e;
    }
    ADD_FAILURE() << "no ConfigError for " << document.dump();
    return ConfigError("", "");
  }
  // A valid one-overlay document with its key kept out of the working directory.
  json Minimal() {
    return {{"keys", {{{"alias", "k"}, {"generation", "curve25519"}}}},
            {"overlays",
             {{{"class", "DiscoveryCommunity"},
               {"key", "k"},
               {"walkers", {{{"strategy", "RandomWalk"}, {"peers", 20}, {"init", json::object()}}}},
               {"bootstrappers", json::array()},
               {"initialize", json::object()},
               {"on_start", json::array()}}}}};
  }

  ::ringv8::testing::Simulation sim_{std::chrono::seconds(1)};
  std::unique_ptr<MemoryEndpoint> endpoint_;
  std::filesystem::path directory_;
};

TEST_F(ConfigTest, DefaultJsonIsPyIpv8sDefaultThatRingv8Has) {
  NodeConfig config = NodeConfig::FromJson(DefaultConfigJson());
  ASSERT_EQ(config.interfaces.size(), 1u);
  EXPECT_EQ(config.interfaces[0].interface, "UDPIPv4");
  EXPECT_EQ(config.interfaces[0].ip, "0.0.0.0");
  EXPECT_EQ(config.interfaces[0].port, 8090);
  ASSERT_EQ(config.keys.size(), 1u);
  EXPECT_EQ(config.keys[0].alias, "anonymous id");
  EXPECT_EQ(config.keys[0].file, "ec_multichain.pem");
  EXPECT_EQ(config.walker_interval, 0.5);
  EXPECT_EQ(config.log_level, "INFO");
  ASSERT_EQ(config.overlays.size(), 1u);
  const OverlayConfig& discovery = config.overlays[0];
  EXPECT_EQ(discovery.class_name, "DiscoveryCommunity");
  ASSERT_EQ(discovery.walkers.size(), 3u);
  EXPECT_EQ(discovery.walkers[0].strategy, "RandomWalk");
  EXPECT_EQ(discovery.walkers[0].peers, 20);
  EXPECT_EQ(discovery.walkers[1].strategy, "RandomChurn");
  EXPECT_EQ(discovery.walkers[1].peers, -1);
  EXPECT_EQ(discovery.walkers[2].strategy, "PeriodicSimilarity");
  ASSERT_EQ(discovery.bootstrappers.size(), 1u);
  EXPECT_EQ(discovery.bootstrappers[0].init["ip_addresses"].size(), 13u);
  EXPECT_EQ(discovery.bootstrappers[0].init["dns_addresses"].size(), 7u);
}

TEST_F(ConfigTest, ConfigsDefaultJsonEqualsTheBuiltInDefault) {
  std::ifstream in(std::string(RINGV8_CONFIGS_DIR) + "/default.json");
  ASSERT_TRUE(in) << RINGV8_CONFIGS_DIR;
  EXPECT_EQ(json::parse(in), DefaultConfigJson());
}

TEST_F(ConfigTest, EveryExampleInConfigsLoads) {
  int loaded = 0;
  for (const auto& file : std::filesystem::directory_iterator(RINGV8_CONFIGS_DIR)) {
    if (file.path().extension() != ".json") continue;
    SCOPED_TRACE(file.path().string());
    NodeConfig config = NodeConfig::Load(file.path().string());
    config.working_directory = directory_.string();  // Key files go to the temporary folder.
    const bool py_ipv8_only = file.path().filename() == "py-ipv8-default.json";
    if (py_ipv8_only) {
      try {
        Build(config);
        ADD_FAILURE() << "HiddenTunnelCommunity was not refused";
      } catch (const ConfigError& e) {
        EXPECT_EQ(e.path(), "overlays[1].class");
        EXPECT_THAT(e.what(), HasSubstr("HiddenTunnelCommunity is a py-ipv8 overlay"));
        EXPECT_THAT(e.what(), HasSubstr("--skip-unknown"));
      }
    }
    auto node = Build(config, /*skip_unknown=*/py_ipv8_only);
    EXPECT_GE(node->overlay_count(), 1u);
    EXPECT_GE(node->strategy_count(), 1u);
    for (overlay::Community* c : node->GetOverlays<overlay::Community>()) {
      EXPECT_FALSE(c->bootstrappers().empty()) << node->ClassOf(*c);
    }
    // Not started: their bootstrappers would resolve public names and broadcast on the LAN.
    node->Stop();
    ++loaded;
  }
  EXPECT_GE(loaded, 4);
}

TEST_F(ConfigTest, MissingKeysTakePyIpv8Defaults) {
  NodeConfig config = NodeConfig::FromJson(json::object());
  ASSERT_EQ(config.interfaces.size(), 1u);
  EXPECT_EQ(config.interfaces[0].port, 8090);
  EXPECT_EQ(config.walker_interval, 0.5);
  EXPECT_TRUE(config.overlays.empty());
  // py-ipv8's legacy top-level address/port.
  NodeConfig legacy = NodeConfig::FromJson({{"address", "127.0.0.1"}, {"port", 9000}});
  ASSERT_EQ(legacy.interfaces.size(), 1u);
  EXPECT_EQ(legacy.interfaces[0].ip, "127.0.0.1");
  EXPECT_EQ(legacy.interfaces[0].port, 9000);
  // Walker defaults: 20 peers, empty init.
  json doc = Minimal();
  doc["overlays"][0]["walkers"] = {{{"strategy", "RandomWalk"}}};
  EXPECT_EQ(NodeConfig::FromJson(doc).overlays[0].walkers[0].peers, 20);
}

TEST_F(ConfigTest, SetPortUpdatesOrAddsTheInterface) {
  NodeConfig config = NodeConfig::FromJson(DefaultConfigJson());
  config.SetPort(9999);
  EXPECT_EQ(config.interfaces[0].port, 9999);
  config.SetPort(9998, "UDPIPv6");
  ASSERT_EQ(config.interfaces.size(), 2u);
  EXPECT_EQ(config.interfaces[1].ip, "::");
  EndpointOptions options = EndpointOptionsFor(config);
  EXPECT_EQ(options.ipv4->port(), 9999);
  EXPECT_EQ(options.ipv6->port(), 9998);
  EXPECT_TRUE(options.port_fallback);
}

struct ErrorCase {
  const char* name;
  std::function<void(json&)> edit;
  const char* path;
  const char* message;
};

TEST_F(ConfigTest, ErrorsNameTheJsonPath) {
  const std::vector<ErrorCase> cases = {
      {"not an object", [](json& d) { d = json::array(); }, "", "must be an object"},
      {"interfaces type", [](json& d) { d["interfaces"] = 3; }, "interfaces", "must be an array"},
      {"interfaces empty", [](json& d) { d["interfaces"] = json::array(); }, "interfaces",
       "is empty: list at least one interface"},
      {"walker_interval 0", [](json& d) { d["walker_interval"] = 0; }, "walker_interval",
       "must be a number of seconds in [0.01, 3600]"},
      {"interface name",
       [](json& d) {
         d["interfaces"] = {{{"interface", "TCP"}}};
       },
       "interfaces[0].interface", "unknown interface 'TCP'"},
      {"port range",
       [](json& d) {
         d["interfaces"] = {{{"interface", "UDPIPv4"}, {"port", 70000}}};
       },
       "interfaces[0].port", "must be in [0, 65535]"},
      {"bad ip",
       [](json& d) {
         d["interfaces"] = {{{"interface", "UDPIPv4"}, {"ip", "::1"}}};
       },
       "interfaces[0].ip", "is not an IPv4 address"},
      {"key alias", [](json& d) { d["keys"][0].erase("alias"); }, "keys[0].alias", "is required"},
      {"duplicate alias", [](json& d) { d["keys"].push_back(d["keys"][0]); }, "keys[1].alias",
       "already defined at keys[0]"},
      {"EC generation", [](json& d) { d["keys"][0]["generation"] = "medium"; },
       "keys[0].generation", "legacy EC key"},
      {"unknown generation", [](json& d) { d["keys"][0]["generation"] = "rsa"; },
       "keys[0].generation", "unknown key generation 'rsa'"},
      {"bad bin", [](json& d) { d["keys"][0]["bin"] = "not base64!"; }, "keys[0].bin",
       "not valid base64"},
      {"short bin", [](json& d) { d["keys"][0]["bin"] = "TGliTmFDTFNLOg=="; }, "keys[0].bin",
       "not a curve25519 private key"},
      {"log level",
       [](json& d) {
         d["logger"] = {{"level", "LOUD"}};
       },
       "logger.level", "unknown level 'LOUD'"},
      {"walker interval", [](json& d) { d["walker_interval"] = -1; }, "walker_interval",
       "must be a number of seconds"},
      {"overlay class missing", [](json& d) { d["overlays"][0].erase("class"); },
       "overlays[0].class", "is required"},
      {"unknown overlay", [](json& d) { d["overlays"][0]["class"] = "FooCommunity"; },
       "overlays[0].class",
       "unknown overlay class 'FooCommunity' (known: Community, "
       "DiscoveryCommunity, TriblerTunnelCommunity, TunnelCommunity)"},
      {"py-ipv8 overlay", [](json& d) { d["overlays"][0]["class"] = "DHTDiscoveryCommunity"; },
       "overlays[0].class",
       "DHTDiscoveryCommunity is a py-ipv8 overlay that ringv8 does not "
       "implement"},
      {"unknown key alias", [](json& d) { d["overlays"][0]["key"] = "other"; }, "overlays[0].key",
       "no key with alias 'other'"},
      {"walkers type", [](json& d) { d["overlays"][0]["walkers"] = json::object(); },
       "overlays[0].walkers", "must be an array"},
      {"peers type", [](json& d) { d["overlays"][0]["walkers"][0]["peers"] = "20"; },
       "overlays[0].walkers[0].peers", "must be an integer, not string"},
      {"unknown strategy",
       [](json& d) { d["overlays"][0]["walkers"][0]["strategy"] = "PingChurn"; },
       "overlays[0].walkers[0].strategy", "unknown strategy 'PingChurn' for DiscoveryCommunity"},
      {"strategy init key",
       [](json& d) {
         d["overlays"][0]["walkers"][0]["init"] = {{"speed", 1}};
       },
       "overlays[0].walkers[0].init.speed", "RandomWalk does not take 'speed'"},
      {"strategy init value",
       [](json& d) {
         d["overlays"][0]["walkers"][0]["init"] = {{"timeout", "3"}};
       },
       "overlays[0].walkers[0].init.timeout", "RandomWalk: must be a number"},
      {"discovery-only strategy",
       [](json& d) {
         d["overlays"][0]["class"] = "Community";
         d["overlays"][0]["initialize"] = {{"community_id", std::string(40, 'a')}};
         d["overlays"][0]["walkers"][0]["strategy"] = "RandomChurn";
       },
       "overlays[0].walkers[0].strategy", "unknown strategy 'RandomChurn' for Community"},
      {"unknown bootstrapper",
       [](json& d) {
         d["overlays"][0]["bootstrappers"] = {{{"class", "DNSBootstrapper"}}};
       },
       "overlays[0].bootstrappers[0].class", "unknown bootstrapper 'DNSBootstrapper'"},
      {"bootstrapper address",
       [](json& d) {
         d["overlays"][0]["bootstrappers"] = {
             {{"class", "DispersyBootstrapper"},
              {"init",
               {{"ip_addresses",
                 json::array({json::array({"1.2.3.4", 6421}), json::array({"1.2.3", 6421})})}}}}};
       },
       "overlays[0].bootstrappers[0].init.ip_addresses[1]", "must be [\"ip\", port]"},
      {"bootstrapper init key",
       [](json& d) {
         d["overlays"][0]["bootstrappers"] = {
             {{"class", "UDPBroadcastBootstrapper"}, {"init", {{"port", 1}}}}};
       },
       "overlays[0].bootstrappers[0].init.port", "does not take 'port'"},
      {"max_peers",
       [](json& d) {
         d["overlays"][0]["initialize"] = {{"max_peers", -2}};
       },
       "overlays[0].initialize.max_peers", "must be an integer >= -1"},
      {"anonymize",
       [](json& d) {
         d["overlays"][0]["initialize"] = {{"anonymize", true}};
       },
       "overlays[0].initialize.anonymize", "TunnelEndpoint"},
      {"unknown initialize key",
       [](json& d) {
         d["overlays"][0]["initialize"] = {{"min_circuits", 1}};
       },
       "overlays[0].initialize.min_circuits", "DiscoveryCommunity does not take 'min_circuits'"},
      {"community id missing", [](json& d) { d["overlays"][0]["class"] = "Community"; },
       "overlays[0].initialize.community_id", "is required for the plain Community"},
      {"community id short",
       [](json& d) {
         d["overlays"][0]["class"] = "Community";
         d["overlays"][0]["initialize"] = {{"community_id", "abcd"}};
       },
       "overlays[0].initialize.community_id", "40 hex characters"},
      {"duplicate community", [](json& d) { d["overlays"].push_back(d["overlays"][0]); },
       "overlays[1].class", "is already served by another overlay"},
      {"on_start shape", [](json& d) { d["overlays"][0]["on_start"] = {42}; },
       "overlays[0].on_start[0]", "an array starting with a string"},
      {"on_start method",
       [](json& d) {
         d["overlays"][0]["on_start"] = json::array({json::array({"build_tunnels", 1})});
       },
       "overlays[0].on_start[0]", "no on_start method 'build_tunnels' (known: bootstrap, walk_to)"},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.name);
    json document = Minimal();
    c.edit(document);
    ConfigError error = ErrorOf(document);
    EXPECT_EQ(error.path(), c.path);
    EXPECT_THAT(error.what(), HasSubstr(c.message));
    if (*c.path != '\0') {
      EXPECT_THAT(error.what(), ::testing::StartsWith(std::string(c.path) + ": "));
    }
  }
}

TEST_F(ConfigTest, OnStartArgumentsAreCheckedAtStart) {
  json document = Minimal();
  document["overlays"][0]["on_start"] = json::array({json::array({"walk_to", "10.0.0.2"})});
  auto node = Build(NodeConfig::FromJson(document));
  try {
    node->Start();
    ADD_FAILURE() << "a bad walk_to address was accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.path(), "overlays[0].on_start[0][1]");
  }
}

TEST_F(ConfigTest, JsonSyntaxErrorsNameTheFile) {
  const std::string file = (directory_ / "broken.json").string();
  std::ofstream(file) << "{\"overlays\": [}";
  try {
    NodeConfig::Load(file);
    ADD_FAILURE();
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("broken.json is not valid JSON"));
    EXPECT_THAT(e.what(), HasSubstr("line 1"));
  }
  EXPECT_THROW(NodeConfig::Load((directory_ / "missing.json").string()), ConfigError);
}

TEST_F(ConfigTest, KeyFilesAreCreatedThenLoadedAndNeverReplaced) {
  json document = Minimal();
  document["keys"][0]["file"] = "node.key";
  NodeConfig config = NodeConfig::FromJson(document);
  config.working_directory = directory_.string();
  const std::string file = (directory_ / "node.key").string();
  std::string mid;
  {
    auto node = Build(config);
    mid = node->Status()["mid"];
    EXPECT_EQ(std::filesystem::status(file).permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  }
  EXPECT_EQ(Build(config)->Status()["mid"], mid);  // Loaded, not regenerated.
  std::ofstream(file, std::ios::trunc) << "garbage";
  try {
    Build(config);
    ADD_FAILURE() << "a corrupt key file was accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.path(), "keys[0].file");
    EXPECT_THAT(e.what(), HasSubstr("never replaces"));
  }
  std::ifstream in(file);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "garbage");
}

TEST_F(ConfigTest, KeyFromBinAndSharedPeerPerAlias) {
  const wire::PrivateKey key = wire::PrivateKey::Generate();
  json document = Minimal();
  document["keys"][0]["bin"] = wire::ToBase64(key.bin());
  document["overlays"].push_back({{"class", "Community"},
                                  {"key", "k"},
                                  {"initialize", {{"community_id", std::string(40, 'b')}}}});
  auto node = Build(NodeConfig::FromJson(document));
  EXPECT_EQ(node->key().mid(), key.mid());
  auto overlays = node->GetOverlays<overlay::Community>();
  ASSERT_EQ(overlays.size(), 2u);
  EXPECT_EQ(overlays[0]->my_peer_shared(), overlays[1]->my_peer_shared());
  EXPECT_EQ(node->GetOverlay<overlay::DiscoveryCommunity>(), overlays[0]);
  // Settings from initialize.
  document["overlays"][1]["initialize"]["max_peers"] = 7;
  auto other = Build(NodeConfig::FromJson(document));
  EXPECT_EQ(other->GetOverlays<overlay::Community>()[1]->settings().max_peers, 7);
}

}  // namespace
}  // namespace ringv8::node

namespace ringv8::node {
namespace {

TEST_F(ConfigTest, TunnelCommunityLoadsWithPyIpv8Settings) {
  json document = Minimal();
  json tunnel = document["overlays"][0];
  tunnel["class"] = "TunnelCommunity";
  tunnel["initialize"] = {{"settings",
                           {{"max_joined_circuits", 500},
                            {"peer_flags", {1}},
                            {"max_time_inactive", 30},
                            {"max_relay_rate", 1e6}}}};
  document["overlays"].push_back(tunnel);
  tunnel["class"] = "TriblerTunnelCommunity";
  tunnel["initialize"] = json::object();
  document["overlays"].push_back(tunnel);
  std::unique_ptr<Node> node = Build(NodeConfig::FromJson(document));
  auto tunnels = node->GetOverlays<tunnel::TunnelCommunity>();
  ASSERT_EQ(tunnels.size(), 2u);
  EXPECT_EQ(tunnels[0]->community_id(), tunnel::kPyIpv8TunnelCommunityId);
  EXPECT_EQ(tunnels[0]->tunnel_settings().max_joined_circuits, 500u);
  EXPECT_EQ(tunnels[0]->tunnel_settings().peer_flags, tunnel::kFlagRelay);
  EXPECT_EQ(tunnels[0]->tunnel_settings().max_time_inactive, 30);
  EXPECT_EQ(tunnels[0]->tunnel_settings().max_relay_rate, 1e6);
  EXPECT_EQ(tunnels[1]->community_id(), tunnel::kTriblerTunnelCommunityId);
  EXPECT_EQ(tunnels[1]->tunnel_settings().peer_flags, tunnel::kFlagRelay | tunnel::kFlagSpeedTest);
}

TEST_F(ConfigTest, AnExitTakesItsFlagsAndLimits) {
  json document = Minimal();
  json tunnel = document["overlays"][0];
  tunnel["class"] = "TunnelCommunity";
  tunnel["initialize"] = json::object();
  tunnel["initialize"]["settings"] = {{"peer_flags", {1, 2, 4, 8}},
                                      {"max_exit_sockets", 50},
                                      {"max_exit_rate", 2e6},
                                      {"max_exit_circuit_rate", 1e5},
                                      {"max_exit_destination_rate", 10},
                                      {"exit_allow_loopback_destinations", true}};
  document["overlays"].push_back(tunnel);
  std::unique_ptr<Node> node = Build(NodeConfig::FromJson(document));
  const tunnel::TunnelSettings& s =
      node->GetOverlays<tunnel::TunnelCommunity>().front()->tunnel_settings();
  EXPECT_EQ(s.peer_flags, tunnel::kFlagRelay | tunnel::kFlagExitBt | tunnel::kFlagExitIpv8 |
                              tunnel::kFlagSpeedTest);
  EXPECT_EQ(s.max_exit_sockets, 50u);
  EXPECT_EQ(s.max_exit_rate, 2e6);
  EXPECT_EQ(s.max_exit_circuit_rate, 1e5);
  EXPECT_EQ(s.max_exit_destination_rate, 10);
  EXPECT_TRUE(s.exit_allow_loopback);
}

TEST_F(ConfigTest, TunnelCommunityErrorsNameTheSetting) {
  struct Case {
    json initialize;
    const char* path;
    const char* message;
  };
  const Case cases[] = {
      {{{"settings", {{"max_hops", 3}}}},
       "overlays[0].initialize.settings.max_hops",
       "does not take 'max_hops'"},
      {{{"settings", {{"peer_flags", {2, 8}}}}},
       "overlays[0].initialize.settings.peer_flags",
       "must also be a relay"},
      {{{"settings", {{"peer_flags", {1, 32768}}}}},
       "overlays[0].initialize.settings.peer_flags",
       "EXIT_HTTP (32768)"},
      {{{"settings", {{"exit_allow_loopback_destinations", 1}}}},
       "overlays[0].initialize.settings.exit_allow_loopback_destinations",
       "true or false"},
      {{{"settings", {{"peer_flags", "relay"}}}},
       "overlays[0].initialize.settings.peer_flags",
       "must be a list of flags"},
      {{{"settings", {{"max_time", 0}}}},
       "overlays[0].initialize.settings.max_time",
       "must be a number >= 1"},
      {{{"community_id", "abc"}}, "overlays[0].initialize.community_id", "\"tribler\""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.path);
    json document = Minimal();
    document["overlays"][0]["class"] = "TunnelCommunity";
    document["overlays"][0]["initialize"] = c.initialize;
    ConfigError error = ErrorOf(document);
    EXPECT_EQ(error.path(), c.path);
    EXPECT_THAT(error.what(), HasSubstr(c.message));
  }
}

}  // namespace
}  // namespace ringv8::node
