// DispersyBootstrapper: py-ipv8's default bootstrapper (spec 8.1). It walks to a fixed list of
// tracker addresses (blacklisted, so trackers never become verified peers) plus the addresses its
// DNS names resolve to.
//
// Names are resolved on a background thread, off the packet path; results are posted back to the
// loop; failures are logged, never fatal. Destroying the bootstrapper waits for that thread.
// Thread-affine (except the resolver thread, which only posts to the loop).
#ifndef RINGV8_OVERLAY_DISPERSY_BOOTSTRAPPER_H_
#define RINGV8_OVERLAY_DISPERSY_BOOTSTRAPPER_H_

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "overlay/bootstrapper.h"
#include "ring/event_loop.h"

namespace ringv8::overlay {

struct DispersyBootstrapperOptions {
  std::vector<Address> ip_addresses;
  std::vector<std::pair<std::string, uint16_t>> dns_addresses;
  Duration bootstrap_timeout = std::chrono::seconds(30);

  // py-ipv8's DISPERSY_BOOTSTRAPPER: 13 addresses and 7 names.
  static DispersyBootstrapperOptions Defaults();
};

class DispersyBootstrapper final : public Bootstrapper {
 public:
  explicit DispersyBootstrapper(DispersyBootstrapperOptions options);
  ~DispersyBootstrapper() override;

  void Initialize(Community& overlay) override;
  bool initialized() const override { return initialized_; }
  std::vector<Address> GetAddresses(Community& overlay, Duration timeout) override;
  void KeepAlive(Community& overlay) override;
  std::vector<Address> Blacklist() const override { return options_.ip_addresses; }
  void Unload() override;

  const std::vector<Address>& ip_addresses() const { return options_.ip_addresses; }

 private:
  DispersyBootstrapperOptions options_;
  bool initialized_ = false;
  std::optional<TimePoint> last_bootstrap_;
  std::jthread resolver_;
  // Shared with the resolver thread: cleared when the bootstrapper goes away.
  std::shared_ptr<std::atomic<DispersyBootstrapper*>> self_;
};

}  // namespace ringv8::overlay

#endif  // RINGV8_OVERLAY_DISPERSY_BOOTSTRAPPER_H_
