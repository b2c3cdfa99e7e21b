// HostResolver: the host names of DATA cells (address type 02, tunnel spec 3.1) turned into IP
// addresses without blocking the loop, as py-ipv8's exit resolves them (IPv4 preferred).
//
// SystemResolver runs getaddrinfo on one worker thread and posts each answer to the loop; answers
// are cached for `ttl` (bounded: `max_cached` names), and at most `max_pending` names wait at
// once (more fail at once, counted by the caller). Tests inject a resolver of their own.
//
// Thread-affine to the loop, like the community that owns it; callbacks run on the loop and never
// after the resolver is destroyed.
#ifndef RINGV8_TUNNEL_HOST_RESOLVER_H_
#define RINGV8_TUNNEL_HOST_RESOLVER_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "ring/address.h"
#include "ring/event_loop.h"

namespace ringv8::tunnel {

class HostResolver {
 public:
  // The IP (port 0), or nullopt when the name does not resolve (or cannot be queued).
  using Callback = std::function<void(std::optional<Address>)>;
  virtual ~HostResolver() = default;
  // Calls `done` on the loop, later or (from a cache) at once.
  virtual void Resolve(const std::string& host, Callback done) = 0;
};

struct SystemResolverOptions {
  size_t max_pending = 64;
  size_t max_cached = 1024;
  double ttl = 60;  // Seconds an answer (or a failure) is kept.
};

std::unique_ptr<HostResolver> MakeSystemResolver(EventLoop& loop,
                                                 const SystemResolverOptions& options = {});

}  // namespace ringv8::tunnel

#endif  // RINGV8_TUNNEL_HOST_RESOLVER_H_
