// UDPBroadcastBootstrapper: finds peers on the LAN (py-ipv8's, spec 8.2).
//
// On its own IPv4 socket (SO_BROADCAST) it sends a 29-byte beacon, "\0\0IPv8\0" + the overlay's
// prefix, to the broadcast address on every port of a range (py-ipv8: all of 0..65534). A beacon
// for our prefix makes us walk to its sender; datagrams that start with our prefix (the
// introduction request of a peer that heard our beacon) go to the overlay; the rest is counted
// and dropped.
// Thread-affine: runs on the overlay's loop thread.
#ifndef RINGV8_OVERLAY_UDP_BROADCAST_BOOTSTRAPPER_H_
#define RINGV8_OVERLAY_UDP_BROADCAST_BOOTSTRAPPER_H_

#include <array>
#include <optional>

#include "overlay/bootstrapper.h"
#include "ring/address.h"
#include "wire/packet.h"

namespace ringv8 {
class EventLoop;
}

namespace ringv8::overlay {

struct UdpBroadcastOptions {
  Address broadcast = Address::Ipv4(0xFFFFFFFFu, 0);  // 255.255.255.255.
  uint16_t first_port = 0;
  uint16_t last_port = 65534;
  Address bind;  // 0.0.0.0:0.
  Duration bootstrap_timeout = std::chrono::seconds(30);
};

class UDPBroadcastBootstrapper final : public Bootstrapper {
 public:
  static constexpr std::array<uint8_t, 7> kBeaconHeader = {0, 0, 'I', 'P', 'v', '8', 0};

  explicit UDPBroadcastBootstrapper(UdpBroadcastOptions options = {}) : options_(options) {}
  ~UDPBroadcastBootstrapper() override { Unload(); }

  void Initialize(Community& overlay) override;
  bool initialized() const override { return fd_ >= 0; }
  std::vector<Address> GetAddresses(Community& overlay, Duration timeout) override;
  void KeepAlive(Community& overlay) override { Beacon(overlay); }
  std::vector<Address> Blacklist() const override { return {}; }
  void Unload() override;

  // The bootstrap socket's address (0.0.0.0:0 before Initialize).
  Address local_address() const { return local_; }
  uint64_t beacons_sent() const { return beacons_sent_; }
  uint64_t beacons_failed() const { return beacons_failed_; }
  uint64_t dropped() const { return dropped_; }

 private:
  void Beacon(Community& overlay);
  void OnReadable(Community& overlay);

  UdpBroadcastOptions options_;
  int fd_ = -1;
  EventLoop* loop_ = nullptr;  // Not owned; set while the socket is watched.
  Address local_;
  std::optional<TimePoint> last_bootstrap_;
  uint64_t beacons_sent_ = 0, beacons_failed_ = 0, dropped_ = 0;
};

}  // namespace ringv8::overlay

#endif  // RINGV8_OVERLAY_UDP_BROADCAST_BOOTSTRAPPER_H_
