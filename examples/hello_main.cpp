// The tutorial's program: two nodes on 127.0.0.1 greet each other in HelloCommunity. Node A is
// built in code, node B from a py-ipv8-style JSON configuration through the registry. Exits 0
// once each has the other's greeting (run by the tests), 1 if that takes longer than 30 s.
#include <iostream>

#include <spdlog/spdlog.h>

#include "examples/hello_community.h"
#include "node/node.h"
#include "strategies/random_walk.h"
#include "wire/hex.h"

using nlohmann::json;
using namespace ringv8;

int main() {
  auto loop = EventLoop::Create({});
  if (!loop) return 1;

  // Node A, in code: an ephemeral key, a socket on 127.0.0.1, one overlay, two strategies.
  node::NodeConfig a_config;
  a_config.interfaces = {{.interface = "UDPIPv4", .ip = "127.0.0.1", .port = 0}};
  node::Node a(**loop, a_config);
  auto& a_hello = static_cast<hello::HelloCommunity&>(a.AddOverlay(
      std::make_unique<hello::HelloCommunity>(a.Context({{"greeting", "hello from A"}})),
      "HelloCommunity"));
  a.AddStrategy(a_hello, std::make_unique<hello::HelloWalk>(&a_hello), -1);
  a.AddStrategy(a_hello, std::make_unique<strategies::RandomWalk>(&a_hello), 20);

  // Node B, from a configuration: the registry knows HelloCommunity and HelloWalk by name.
  node::Registry registry = node::Registry::Builtin();
  hello::Register(registry);
  const json b_config = {
      {"interfaces", {{{"interface", "UDPIPv4"}, {"ip", "127.0.0.1"}, {"port", 0}}}},
      {"keys", {{{"alias", "b"}, {"generation", "curve25519"}}}},
      {"overlays",
       {{{"class", "HelloCommunity"},
         {"key", "b"},
         {"walkers",
          {{{"strategy", "HelloWalk"}, {"peers", -1}, {"init", json::object()}},
           {{"strategy", "RandomWalk"}, {"peers", 20}, {"init", {{"timeout", 3.0}}}}}},
         {"bootstrappers", json::array()},
         {"initialize", {{"greeting", "hello from B"}}},
         // B knows where A is; A learns B from B's introduction request.
         {"on_start", json::array({json::array(
                          {"walk_to", a.endpoint().local_addresses()[0].ToString()})})}}}}};
  node::Node b(**loop, node::NodeConfig::FromJson(b_config), {.registry = &registry});
  auto* b_hello = b.GetOverlay<hello::HelloCommunity>();

  a.Start();
  b.Start();
  const std::string a_mid = wire::ToHex(a.key().mid()), b_mid = wire::ToHex(b.key().mid());
  const TimePoint deadline = (*loop)->Now() + std::chrono::seconds(30);
  while ((*loop)->Now() < deadline &&
         !(a_hello.greetings().contains(b_mid) && b_hello->greetings().contains(a_mid))) {
    (*loop)->RunFor(std::chrono::milliseconds(100));
  }
  const bool done = a_hello.greetings().contains(b_mid) && b_hello->greetings().contains(a_mid);
  if (done) {
    std::cout << "A heard: " << a_hello.greetings().at(b_mid) << "\n"
              << "B heard: " << b_hello->greetings().at(a_mid) << "\n";
  } else {
    std::cout << "no greetings exchanged within 30 s\n";
  }
  b.Stop();
  a.Stop();
  return done ? 0 : 1;
}
