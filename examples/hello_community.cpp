#include "examples/hello_community.h"

#include <random>

#include <spdlog/spdlog.h>

#include "wire/hex.h"

namespace hello {

using ringv8::overlay::Peer;

HelloCommunity::HelloCommunity(const ringv8::node::OverlayContext& context)
    : Community(kCommunityId, context.my_peer, context.key, context.endpoint, context.network,
                context.loop, context.settings),
      greeting_(context.initialize.value("greeting", std::string("hello"))) {
  AddHandler<Hello>([this](const std::shared_ptr<Peer>& peer, const Hello& hello) {
    const std::string mid = ringv8::wire::ToHex(peer->mid());
    if (!greetings_.contains(mid)) spdlog::info("{} says \"{}\"", mid.substr(0, 8), hello.text);
    greetings_[mid] = std::string(hello.text);
  });
}

void HelloCommunity::SayHello(const ringv8::Address& to) {
  (void)Send(to, Hello{.text = greeting_});  // A refusal is counted by the endpoint.
}

void HelloWalk::TakeStep() {
  const auto& peers = hello_->GetPeers();
  if (peers.empty()) return hello_->GetNewIntroduction();
  auto pick = std::uniform_int_distribution<size_t>(0, peers.size() - 1)(hello_->random());
  hello_->SayHello(peers[pick]->address());
}

void Register(ringv8::node::Registry& registry) {
  registry.AddOverlay<HelloCommunity>("HelloCommunity").Strategy<HelloWalk>("HelloWalk");
}

}  // namespace hello
