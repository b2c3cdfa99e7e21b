#include "node/node.h"

#include <sys/stat.h>

#include <algorithm>
#include <system_error>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "node/stats_text.h"
#include "wire/hex.h"

namespace ringv8::node {

using nlohmann::json;

namespace {

std::string Join(const std::string& path, const std::string& key) {
  if (key.empty()) return path;
  if (path.empty() || key.front() == '[') return path + key;
  return path + "." + key;
}

// Runs `fn`, giving its configuration errors the path of the object it was reading.
template <typename F>
auto AtPath(const std::string& path, F&& fn) {
  try {
    return fn();
  } catch (const ConfigError& e) {
    throw ConfigError(Join(path, e.path()), e.reason());
  } catch (const std::invalid_argument& e) {
    throw ConfigError(path, e.what());
  }
}

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::string InDirectory(const std::string& directory, const std::string& file) {
  if (file.empty() || file.front() == '/' || directory.empty() || directory == ".") return file;
  return directory + "/" + file;
}

// py-ipv8: load the file if it exists; else the base64 `bin`, else a new key of `generation`;
// then write the file if one is named. A file that exists but does not load is an error (it is
// never replaced).
wire::PrivateKey LoadKey(const KeyConfig& config, const std::string& working_directory) {
  const std::string file = InDirectory(working_directory, config.file);
  if (!file.empty() && FileExists(file)) {
    auto key = wire::LoadKeyFile(file);
    if (!key) {
      throw ConfigError(Join(config.path, "file"),
                        fmt::format("cannot load the key in {}: {} (ringv8 never replaces an "
                                    "existing key file; move it away to create a new key)",
                                    file, wire::KeyFileErrorText(file, key.error())));
    }
    return *key;
  }
  std::optional<wire::PrivateKey> key;
  if (!config.bin.empty()) {
    auto bytes = wire::FromBase64(config.bin);
    if (!bytes) throw ConfigError(Join(config.path, "bin"), "is not valid base64");
    auto parsed = wire::PrivateKey::FromBin(
        wire::Bytes(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size()));
    if (!parsed) {
      throw ConfigError(Join(config.path, "bin"),
                        fmt::format("is not a curve25519 private key (\"LibNaCLSK:\" + 64 bytes): "
                                    "{}",
                                    parsed.error().message()));
    }
    key = *parsed;
  } else if (config.generation == "curve25519") {
    key = wire::PrivateKey::Generate();
  } else if (config.generation == "very-low" || config.generation == "low" ||
             config.generation == "medium" || config.generation == "high") {
    throw ConfigError(Join(config.path, "generation"),
                      fmt::format("'{}' makes a legacy EC key; ringv8 identities are curve25519 "
                                  "(ringv8 verifies EC keys but does not sign with them)",
                                  config.generation));
  } else {
    throw ConfigError(
        Join(config.path, "generation"),
        fmt::format("unknown key generation '{}' (known: curve25519)", config.generation));
  }
  if (!file.empty()) {
    if (std::error_code error = wire::SaveKeyFile(file, *key, /*overwrite=*/false)) {
      throw ConfigError(Join(config.path, "file"),
                        fmt::format("cannot write the new key to {}: {}", file, error.message()));
    }
    spdlog::info("created key '{}' in {}", config.alias, file);
  }
  return *key;
}

overlay::CommunitySettings ReadSettings(const json& initialize, const std::string& path,
                                        uint64_t seed) {
  overlay::CommunitySettings settings;
  settings.seed = seed;
  if (auto it = initialize.find("max_peers"); it != initialize.end()) {
    if (!it->is_number_integer() || it->get<int64_t>() < -1 || it->get<int64_t>() > (1 << 30)) {
      throw ConfigError(Join(path, "max_peers"), "must be an integer >= -1 (-1: no limit)");
    }
    settings.max_peers = it->get<int>();
  }
  if (auto it = initialize.find("anonymize"); it != initialize.end()) {
    if (!it->is_boolean()) throw ConfigError(Join(path, "anonymize"), "must be true or false");
    if (it->get<bool>()) {
      throw ConfigError(Join(path, "anonymize"),
                        "needs py-ipv8's TunnelEndpoint (HiddenTunnelCommunity), which ringv8 "
                        "does not have");
    }
  }
  return settings;
}

const Registry& BuiltinRegistry() {
  static const Registry registry = Registry::Builtin();
  return registry;
}

}  // namespace

EndpointOptions EndpointOptionsFor(const NodeConfig& config, EndpointOptions base) {
  base.ipv4.reset();
  base.ipv6.reset();
  base.port_fallback = true;
  for (size_t i = 0; i < config.interfaces.size(); ++i) {
    const InterfaceConfig& entry = config.interfaces[i];
    auto address = Address::ParseIp(entry.ip, entry.port);
    const bool v4 = entry.interface == "UDPIPv4";
    if (!address || address->is_v4() != v4) {
      throw ConfigError(fmt::format("interfaces[{}].ip", i),
                        fmt::format("'{}' is not an {} address", entry.ip, v4 ? "IPv4" : "IPv6"));
    }
    (v4 ? base.ipv4 : base.ipv6) = *address;
  }
  return base;
}

Node::Node(EventLoop& loop, const NodeConfig& config, NodeOptions options)
    : loop_(loop), options_(std::move(options)) {
  const Registry& registry = options_.registry != nullptr ? *options_.registry : BuiltinRegistry();
  if (options_.scheduler != nullptr) {
    scheduler_ = options_.scheduler;
  } else {
    owned_scheduler_ = std::make_unique<strategies::StepScheduler>(
        strategies::StepScheduler::Options{.interval = Seconds(config.walker_interval)});
    scheduler_ = owned_scheduler_.get();
  }
  const EndpointOptions endpoint_options = EndpointOptionsFor(config, options_.endpoint_options);
  LoadKeys(config);
  if (options_.endpoint != nullptr) {
    endpoint_ = options_.endpoint;
  } else {
    auto endpoint = ringv8::OpenEndpoint(loop_, endpoint_options);
    if (!endpoint) {
      throw std::system_error(endpoint.error(), "cannot open the interfaces");
    }
    owned_endpoint_ = std::move(*endpoint);
    endpoint_ = owned_endpoint_.get();
  }
  for (auto& [alias, identity] : identities_) {
    auto addresses = endpoint_->local_addresses();
    identity.peer = std::make_shared<overlay::Peer>(
        identity.key.public_key(), addresses.empty() ? Address() : addresses.front(), loop_.Now());
  }
  try {
    for (size_t i = 0; i < config.overlays.size(); ++i) {
      LoadOverlay(config.overlays[i], registry, i);
    }
  } catch (...) {
    RemoveStrategies(nullptr);
    overlays_.clear();
    throw;
  }
}

Node::~Node() { Stop(); }

void Node::LoadKeys(const NodeConfig& config) {
  for (const KeyConfig& key : config.keys) {
    // py-ipv8 makes every key of the list, used or not; keys nobody uses are not worth a file.
    bool used = std::any_of(config.overlays.begin(), config.overlays.end(),
                            [&](const OverlayConfig& o) { return o.key == key.alias; });
    if (!used && !identities_.empty()) continue;
    identities_.emplace(key.alias, Identity{LoadKey(key, config.working_directory), nullptr});
  }
  if (identities_.empty()) {
    // No keys at all: an ephemeral identity (py-ipv8's add_ephemeral_key).
    identities_.emplace("", Identity{wire::PrivateKey::Generate(), nullptr});
  }
}

void Node::LoadOverlay(const OverlayConfig& config, const Registry& registry, size_t index) {
  const OverlayEntry* entry = registry.FindOverlay(config.class_name);
  if (entry == nullptr) {
    std::string message = registry.UnknownOverlayMessage(config.class_name);
    if (!options_.skip_unknown) throw ConfigError(Join(config.path, "class"), message);
    spdlog::warn("{}.class: skipped {} (--skip-unknown)", config.path, config.class_name);
    return;
  }
  // Resolve every name before building anything, so that errors come first.
  std::vector<const StrategyFactory*> strategy_factories;
  for (const WalkerConfig& walker : config.walkers) {
    const StrategyFactory* factory = registry.FindStrategy(config.class_name, walker.strategy);
    if (factory == nullptr) {
      throw ConfigError(Join(walker.path, "strategy"),
                        fmt::format("unknown strategy '{}' for {} (known: {})", walker.strategy,
                                    config.class_name,
                                    fmt::join(registry.StrategyNames(config.class_name), ", ")));
    }
    strategy_factories.push_back(factory);
  }
  std::vector<const BootstrapperFactory*> bootstrapper_factories;
  for (const BootstrapperConfig& b : config.bootstrappers) {
    const BootstrapperFactory* factory = registry.FindBootstrapper(b.class_name);
    if (factory == nullptr) {
      throw ConfigError(Join(b.path, "class"),
                        fmt::format("unknown bootstrapper '{}' (known: {})", b.class_name,
                                    fmt::join(registry.BootstrapperNames(), ", ")));
    }
    bootstrapper_factories.push_back(factory);
  }
  for (size_t i = 0; i < config.on_start.size(); ++i) {
    const json& call = config.on_start[i];
    const std::string method =
        call.is_string() ? call.get<std::string>() : call[0].get<std::string>();
    const std::string path = fmt::format("{}.on_start[{}]", config.path, i);
    const OnStartFunction* function = registry.FindOnStart(config.class_name, method);
    if (function == nullptr) {
      throw ConfigError(
          path, fmt::format("{} has no on_start method '{}' (known: {})", config.class_name, method,
                            fmt::join(registry.OnStartNames(config.class_name), ", ")));
    }
    json args = call.is_string() ? json::array() : json(call.begin() + 1, call.end());
    on_start_.push_back({*function, std::move(args), nullptr, path});
  }
  const size_t on_start_begin = on_start_.size() - config.on_start.size();

  Identity& identity = identities_.at(config.key);
  const std::string initialize_path = Join(config.path, "initialize");
  const uint64_t seed = options_.seed == 0 ? 0 : options_.seed * 1000 + index + 1;
  OverlayContext context{
      identity.peer,    identity.key, *endpoint_,
      network_,         loop_,        ReadSettings(config.initialize, initialize_path, seed),
      config.initialize};
  std::unique_ptr<overlay::Community> community =
      AtPath(initialize_path, [&] { return entry->factory(context); });
  for (const LoadedOverlay& other : overlays_) {
    if (other.community->community_id() == community->community_id()) {
      throw ConfigError(Join(config.path, "class"),
                        fmt::format("community {} is already served by another overlay",
                                    wire::ToHex(community->community_id())));
    }
  }
  for (size_t i = 0; i < config.bootstrappers.size(); ++i) {
    const BootstrapperConfig& b = config.bootstrappers[i];
    community->AddBootstrapper(
        AtPath(Join(b.path, "init"), [&] { return (*bootstrapper_factories[i])(b.init); }));
  }
  overlay::Community& loaded = AddOverlay(std::move(community), config.class_name);
  for (size_t i = on_start_begin; i < on_start_.size(); ++i) on_start_[i].overlay = &loaded;
  for (size_t i = 0; i < config.walkers.size(); ++i) {
    const WalkerConfig& walker = config.walkers[i];
    AddStrategy(loaded,
                AtPath(Join(walker.path, "init"),
                       [&] { return (*strategy_factories[i])(loaded, walker.init); }),
                walker.peers);
  }
}

OverlayContext Node::Context(const json& initialize, const std::string& key_alias) {
  auto it = key_alias.empty() ? identities_.begin() : identities_.find(key_alias);
  if (it == identities_.end()) {
    throw ConfigError("", fmt::format("no key with alias '{}'", key_alias));
  }
  const uint64_t seed = options_.seed == 0 ? 0 : options_.seed * 1000 + overlays_.size() + 1;
  return OverlayContext{it->second.peer, it->second.key,
                        *endpoint_,      network_,
                        loop_,           ReadSettings(initialize, "initialize", seed),
                        initialize};
}

overlay::Community& Node::AddOverlay(std::unique_ptr<overlay::Community> overlay,
                                     std::string class_name) {
  overlays_.push_back({std::move(class_name), std::move(overlay)});
  return *overlays_.back().community;
}

void Node::AddStrategy(overlay::Community& overlay,
                       std::unique_ptr<strategies::DiscoveryStrategy> strategy, int target_peers) {
  auto handle = scheduler_->Add(strategy.get(), target_peers);
  if (handle == 0) {
    throw ConfigError(
        "", fmt::format("the step scheduler is full ({} strategies)", scheduler_->size()));
  }
  strategies_.push_back({&overlay, std::move(strategy), handle});
}

void Node::RemoveStrategies(const overlay::Community* overlay) {
  std::erase_if(strategies_, [&](LoadedStrategy& s) {
    if (overlay != nullptr && s.overlay != overlay) return false;
    scheduler_->Remove(s.handle);
    return true;
  });
}

bool Node::UnloadOverlay(overlay::Community& overlay) {
  auto it = std::find_if(overlays_.begin(), overlays_.end(),
                         [&](const LoadedOverlay& o) { return o.community.get() == &overlay; });
  if (it == overlays_.end()) return false;
  RemoveStrategies(&overlay);
  std::erase_if(on_start_, [&](const OnStartCall& call) { return call.overlay == &overlay; });
  overlays_.erase(it);
  return true;
}

std::string Node::ClassOf(const overlay::Community& overlay) const {
  for (const LoadedOverlay& o : overlays_) {
    if (o.community.get() == &overlay) return o.class_name;
  }
  return "";
}

size_t Node::strategy_count() const { return strategies_.size(); }

const wire::PrivateKey& Node::key() const {
  if (!overlays_.empty()) return overlays_.front().community->my_key();
  return identities_.begin()->second.key;
}

void Node::Start() {
  if (running_ || stopped_) return;
  running_ = true;
  if (owned_scheduler_) owned_scheduler_->Attach(loop_);
  for (const OnStartCall& call : on_start_) {
    try {
      call.function(*call.overlay, call.args);
    } catch (const ConfigError& e) {
      throw ConfigError(Join(call.path, e.path()), e.reason());
    } catch (const std::exception& e) {
      throw ConfigError(call.path, e.what());
    }
  }
}

void Node::Stop() {
  if (stopped_) return;
  final_status_ = Status();
  final_stats_ = Stats();
  stopped_ = true;
  running_ = false;
  RemoveStrategies(nullptr);
  if (owned_scheduler_) owned_scheduler_->Detach();
  while (!overlays_.empty()) overlays_.pop_back();  // Reverse order of loading.
  if (owned_endpoint_) owned_endpoint_->Close();
}

NodeStats Node::Stats() const {
  if (stopped_) return final_stats_;
  NodeStats stats;
  const EndpointStats& endpoint = endpoint_->stats();
  stats.endpoint = StatsSnapshot::Of(endpoint);
  for (const auto& [prefix, per_prefix] : endpoint.prefixes()) {
    for (int id = 0; id < 256; ++id) {
      const MessageStats& m = per_prefix->by_message_id[id];
      stats.messages.packets_in[id] += m.packets_in.value();
      stats.messages.bytes_in[id] += m.bytes_in.value();
      stats.messages.packets_out[id] += m.packets_out.value();
      stats.messages.bytes_out[id] += m.bytes_out.value();
    }
  }
  for (const LoadedOverlay& o : overlays_) {
    stats.overlays.push_back(
        {o.class_name, o.community->community_id(), StatsSnapshot::Of(*o.community)});
  }
  stats.scheduler_lag_seconds = std::chrono::duration<double>(scheduler_->last_lag()).count();
  return stats;
}

json Node::Status() const {
  if (stopped_) return final_status_;
  const NodeStats stats = Stats();
  const wire::PrivateKey& my_key = key();
  json status;
  status["mid"] = wire::ToHex(my_key.mid());
  status["public_key"] = wire::ToHex(my_key.public_key().bin());
  json addresses = json::array();
  for (const Address& a : endpoint_->local_addresses()) addresses.push_back(a.ToString());
  status["addresses"] = addresses;
  status["backend"] = endpoint_->backend_name();

  json overlays = json::array();
  for (size_t i = 0; i < overlays_.size(); ++i) {
    json peers = json::array();
    for (const overlay::Peer* peer : overlays_[i].community->GetPeers()) {
      peers.push_back({{"address", peer->address().ToString()},
                       {"mid", wire::ToHex(peer->mid())},
                       {"public_key", wire::ToHex(peer->public_key_bin())}});
    }
    json overlay = {{"class", overlays_[i].class_name},
                    {"community_id", wire::ToHex(stats.overlays[i].community_id)},
                    {"peers", peers}};
    AddStatsJson(stats.overlays[i].stats, overlay);
    overlays.push_back(std::move(overlay));
  }
  status["overlays"] = overlays;
  AddStatsJson(stats.endpoint, status);
  status["messages"] = MessagesJson(stats.messages);
  status["scheduler_lag_seconds"] = stats.scheduler_lag_seconds;
  return status;
}

}  // namespace ringv8::node
