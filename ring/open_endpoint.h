// Choosing a backend: an event loop and an endpoint that fit together.
//
// kAuto uses io_uring (UringEndpoint on a kUring loop) and falls back to MmsgEndpoint on an epoll
// loop when io_uring cannot be set up (ENOSYS, EPERM under seccomp or in containers,
// kernel.io_uring_disabled) or lacks what UringEndpoint needs (kernel < 6.0). The fallback is
// logged once per process with its reason.
// Thread-compatible: call on the thread that will run the loop.
#ifndef RINGV8_RING_OPEN_ENDPOINT_H_
#define RINGV8_RING_OPEN_ENDPOINT_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "ring/endpoint.h"
#include "ring/event_loop.h"
#include "ring/result.h"

namespace ringv8 {

enum class EndpointBackend { kAuto, kUring, kMmsg };

// "auto", "uring", "mmsg".
std::optional<EndpointBackend> ParseEndpointBackend(std::string_view name);

struct LoopAndEndpoint {
  std::unique_ptr<EventLoop> loop;
  std::unique_ptr<Endpoint> endpoint;  // Declared after `loop`, so destroyed before it.
  std::string fallback_reason;         // Why kAuto did not get io_uring ("" if it did).
};

Result<LoopAndEndpoint> OpenLoopAndEndpoint(EndpointBackend backend,
                                            const EndpointOptions& options);

// Opens another endpoint on an existing loop (one made by OpenLoopAndEndpoint, so the probing
// is done): UringEndpoint on an io_uring loop, MmsgEndpoint on an epoll loop.
Result<std::unique_ptr<Endpoint>> OpenEndpoint(EventLoop& loop, const EndpointOptions& options);

}  // namespace ringv8

#endif  // RINGV8_RING_OPEN_ENDPOINT_H_
