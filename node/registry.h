// Registry: names to factories for communities, strategies and bootstrappers, so that a
// configuration can name them (py-ipv8's loader and CommunityLauncher).
//
// py-ipv8 resolves a walker's strategy among {RandomWalk, EdgeWalk} first, then among the
// overlay's get_available_strategies(); ringv8 does the same: AddStrategy registers a strategy
// for every overlay, OverlayRegistration::Strategy one that only its overlay offers.
//
// What py-ipv8's @overlay / @walk_strategy / @bootstrapper decorators do takes a few lines:
//
//   class HelloCommunity : public overlay::Community {
//    public:
//     explicit HelloCommunity(const node::OverlayContext& context);   // the constructor used
//   };
//   class HelloWalk : public strategies::DiscoveryStrategy {
//    public:
//     HelloWalk(HelloCommunity* overlay, const nlohmann::json& init);  // or (HelloCommunity*)
//   };
//   node::Registry registry = node::Registry::Builtin();
//   registry.AddOverlay<HelloCommunity>("HelloCommunity").Strategy<HelloWalk>("HelloWalk");
//
// after which {"class": "HelloCommunity", "walkers": [{"strategy": "HelloWalk", ...}]} loads.
// Factories report bad `init` / `initialize` values by throwing ConfigError (path relative to
// the object they were given) or std::invalid_argument; the Node adds where that object is.
// Thread-compatible: fill it before the nodes that use it are built.
#ifndef RINGV8_NODE_REGISTRY_H_
#define RINGV8_NODE_REGISTRY_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "node/config.h"
#include "overlay/bootstrapper.h"
#include "overlay/community.h"
#include "strategies/discovery_strategy.h"

namespace ringv8::node {

// What a community factory gets: the node's shared pieces, the settings made from the standard
// `initialize` keys (max_peers), and the whole `initialize` object for keys of its own.
struct OverlayContext {
  std::shared_ptr<overlay::Peer> my_peer;
  const wire::PrivateKey& key;
  Endpoint& endpoint;
  overlay::Network& network;
  EventLoop& loop;
  overlay::CommunitySettings settings;
  const nlohmann::json& initialize;
};

using CommunityFactory =
    std::function<std::unique_ptr<overlay::Community>(const OverlayContext& context)>;
using StrategyFactory = std::function<std::unique_ptr<strategies::DiscoveryStrategy>(
    overlay::Community& overlay, const nlohmann::json& init)>;
using BootstrapperFactory =
    std::function<std::unique_ptr<overlay::Bootstrapper>(const nlohmann::json& init)>;
// An `on_start` call: py-ipv8 calls the overlay's method by name with the given arguments.
using OnStartFunction =
    std::function<void(overlay::Community& overlay, const nlohmann::json& args)>;

struct OverlayEntry {
  CommunityFactory factory;
  std::map<std::string, StrategyFactory, std::less<>> strategies;  // Offered by this overlay.
  std::map<std::string, OnStartFunction, std::less<>> on_start;
};

// The typed handle AddOverlay<C> returns, to add what overlay C offers.
template <typename C>
class OverlayRegistration {
 public:
  explicit OverlayRegistration(OverlayEntry& entry) : entry_(entry) {}

  // S is constructed as S(C*, init) or, when it takes no init, S(C*) with init required empty.
  template <typename S>
  OverlayRegistration& Strategy(std::string name);
  // fn(C&, args): args is the on_start entry's argument array.
  OverlayRegistration& OnStart(std::string name,
                               std::function<void(C&, const nlohmann::json&)> fn) {
    entry_.on_start[std::move(name)] = [fn = std::move(fn)](overlay::Community& overlay,
                                                            const nlohmann::json& args) {
      fn(static_cast<C&>(overlay), args);
    };
    return *this;
  }

 private:
  OverlayEntry& entry_;
};

class Registry {
 public:
  Registry() = default;
  // Community (any community id), DiscoveryCommunity (+ RandomChurn, PeriodicSimilarity),
  // RandomWalk, EdgeWalk, DispersyBootstrapper, UDPBroadcastBootstrapper, and the on_start
  // methods walk_to(address) and bootstrap() of every overlay.
  static Registry Builtin();

  // C is constructed as C(const OverlayContext&). Replaces an entry of the same name.
  template <typename C>
  OverlayRegistration<C> AddOverlay(std::string name) {
    static_assert(std::is_base_of_v<overlay::Community, C>);
    OverlayEntry& entry = AddOverlay(std::move(name), [](const OverlayContext& context) {
      return std::unique_ptr<overlay::Community>(std::make_unique<C>(context));
    });
    return OverlayRegistration<C>(entry);
  }
  OverlayEntry& AddOverlay(std::string name, CommunityFactory factory);
  // A strategy every overlay can use (as RandomWalk and EdgeWalk).
  void AddStrategy(std::string name, StrategyFactory factory);
  void AddBootstrapper(std::string name, BootstrapperFactory factory);
  // An on_start method every overlay has (as walk_to).
  void AddOnStart(std::string name, OnStartFunction function);

  const OverlayEntry* FindOverlay(std::string_view name) const;
  // The general strategies first, then those `overlay_class` offers; null if neither has it.
  const StrategyFactory* FindStrategy(std::string_view overlay_class, std::string_view name) const;
  const BootstrapperFactory* FindBootstrapper(std::string_view name) const;
  // The general on_start methods first, then those of `overlay_class`.
  const OnStartFunction* FindOnStart(std::string_view overlay_class, std::string_view name) const;

  std::vector<std::string> OverlayNames() const;
  std::vector<std::string> StrategyNames(std::string_view overlay_class) const;
  std::vector<std::string> BootstrapperNames() const;
  std::vector<std::string> OnStartNames(std::string_view overlay_class) const;

  // Why `name` cannot be loaded: py-ipv8 overlays ringv8 does not implement get a specific
  // message, anything else the list of known names.
  std::string UnknownOverlayMessage(std::string_view name) const;

 private:
  std::map<std::string, OverlayEntry, std::less<>> overlays_;
  std::map<std::string, StrategyFactory, std::less<>> strategies_;
  std::map<std::string, BootstrapperFactory, std::less<>> bootstrappers_;
  std::map<std::string, OnStartFunction, std::less<>> on_start_;
};

// Refuses `init` keys outside `accepted` (ConfigError listing them): the one policy for unknown
// keys, for overlays, strategies and bootstrappers alike.
void RequireOnlyKeys(std::string_view what, const nlohmann::json& init,
                     const std::vector<std::string>& accepted);

template <typename C>
template <typename S>
OverlayRegistration<C>& OverlayRegistration<C>::Strategy(std::string name) {
  static_assert(std::is_base_of_v<strategies::DiscoveryStrategy, S>);
  entry_.strategies[name] = [name](overlay::Community& overlay, const nlohmann::json& init) {
    auto* typed = static_cast<C*>(&overlay);
    if constexpr (std::is_constructible_v<S, C*, const nlohmann::json&>) {
      return std::unique_ptr<strategies::DiscoveryStrategy>(std::make_unique<S>(typed, init));
    } else {
      static_assert(std::is_constructible_v<S, C*>, "S(C*) or S(C*, const nlohmann::json&)");
      RequireOnlyKeys(name, init, {});
      return std::unique_ptr<strategies::DiscoveryStrategy>(std::make_unique<S>(typed));
    }
  };
  return *this;
}

}  // namespace ringv8::node

#endif  // RINGV8_NODE_REGISTRY_H_
