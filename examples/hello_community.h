// The tutorial's example (docs/tutorial.md): a community with one message and a strategy that
// sends it, registered by name so that a configuration can load them.
//
// py-ipv8 equivalent:
//   class HelloCommunity(Community):
//       community_id = b"ringv8 hello example"            # 20 bytes
//       def __init__(self, settings): super().__init__(settings)
//                                     self.add_message_handler(Hello, self.on_hello)
//       @lazy_wrapper(Hello)
//       def on_hello(self, peer, payload): ...
//   @overlay(HelloCommunity) @walk_strategy(HelloWalk) class HelloLauncher(CommunityLauncher): ...
// Thread-affine: everything runs on the node's loop thread.
#ifndef RINGV8_EXAMPLES_HELLO_COMMUNITY_H_
#define RINGV8_EXAMPLES_HELLO_COMMUNITY_H_

#include <map>
#include <string>

#include "node/registry.h"
#include "overlay/community.h"
#include "strategies/discovery_strategy.h"

namespace hello {

// Message 1: a signed greeting (py-ipv8: @dataclass class Hello: text: str, msg_id = 1).
struct Hello {
  static constexpr uint8_t kMessageId = 1;
  static constexpr bool kSigned = true;
  std::string_view text;  // Points into the datagram while the handler runs.
  bool Read(ringv8::wire::Reader& r) { return r.ReadVarlenHUtf8(&text); }
  void Write(ringv8::wire::Writer& w) const { w.WriteVarlenHUtf8(text); }
};

class HelloCommunity : public ringv8::overlay::Community {
 public:
  // "ringv8 hello example" is 20 bytes: the community id.
  static constexpr ringv8::wire::CommunityId kCommunityId = {'r', 'i', 'n', 'g', 'v', '8', ' ',
                                                             'h', 'e', 'l', 'l', 'o', ' ', 'e',
                                                             'x', 'a', 'm', 'p', 'l', 'e'};

  // `initialize.greeting` (optional) is what this node says.
  explicit HelloCommunity(const ringv8::node::OverlayContext& context);

  void SayHello(const ringv8::Address& to);
  // Greetings received, by the sender's mid (hex).
  const std::map<std::string, std::string>& greetings() const { return greetings_; }

 private:
  std::string greeting_;
  std::map<std::string, std::string> greetings_;
};

// Each step greets one random peer of the community, or looks for peers when it has none.
class HelloWalk : public ringv8::strategies::DiscoveryStrategy {
 public:
  explicit HelloWalk(HelloCommunity* overlay) : DiscoveryStrategy(overlay), hello_(overlay) {}
  const char* name() const override { return "HelloWalk"; }
  void TakeStep() override;

 private:
  HelloCommunity* hello_;
};

// The CommunityLauncher of this example: makes "HelloCommunity" and "HelloWalk" loadable.
void Register(ringv8::node::Registry& registry);

}  // namespace hello

#endif  // RINGV8_EXAMPLES_HELLO_COMMUNITY_H_
