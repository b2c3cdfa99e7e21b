// Bootstrapper: how an overlay finds its first peers (py-ipv8's Bootstrapper, spec 8).
//
// Thread-affine: called on the overlay's loop thread.
#ifndef RINGV8_OVERLAY_BOOTSTRAPPER_H_
#define RINGV8_OVERLAY_BOOTSTRAPPER_H_

#include <vector>

#include "ring/address.h"
#include "ring/clock.h"

namespace ringv8::overlay {

class Community;

class Bootstrapper {
 public:
  virtual ~Bootstrapper() = default;
  // Starts whatever the bootstrapper needs (DNS resolution, a socket); idempotent.
  virtual void Initialize(Community& overlay) = 0;
  virtual bool initialized() const = 0;
  // Walks to (or returns) bootstrap addresses, rate-limited by the bootstrap timeout.
  virtual std::vector<Address> GetAddresses(Community& overlay, Duration timeout) = 0;
  virtual void KeepAlive(Community& overlay) = 0;
  // Addresses that must never become verified peers (trackers).
  virtual std::vector<Address> Blacklist() const = 0;
  virtual void Unload() {}
};

}  // namespace ringv8::overlay

#endif  // RINGV8_OVERLAY_BOOTSTRAPPER_H_
