#include "ring/open_endpoint.h"

#include <atomic>

#include <spdlog/spdlog.h>

#include "ring/mmsg_endpoint.h"
#include "ring/uring_endpoint.h"

namespace ringv8 {

std::optional<EndpointBackend> ParseEndpointBackend(std::string_view name) {
  if (name == "auto") return EndpointBackend::kAuto;
  if (name == "uring") return EndpointBackend::kUring;
  if (name == "mmsg") return EndpointBackend::kMmsg;
  return std::nullopt;
}

namespace {

void LogFallbackOnce(const std::string& reason) {
  static std::atomic<bool> logged{false};
  if (!logged.exchange(true)) spdlog::warn("using the recvmmsg/sendmmsg endpoint: {}", reason);
}

}  // namespace

Result<LoopAndEndpoint> OpenLoopAndEndpoint(EndpointBackend backend,
                                            const EndpointOptions& options) {
  LoopAndEndpoint out;
  if (backend != EndpointBackend::kMmsg) {
    auto loop = EventLoop::Create({.backend = backend == EndpointBackend::kUring
                                                  ? EventLoop::Backend::kUring
                                                  : EventLoop::Backend::kAuto});
    if (!loop) return Unexpected{loop.error()};
    if ((*loop)->backend() == EventLoop::Backend::kUring) {
      auto endpoint = UringEndpoint::Open(**loop, options);
      if (endpoint) {
        out.loop = std::move(*loop);
        out.endpoint = std::move(*endpoint);
        return out;
      }
      // Address errors are the same on every backend: report them, do not fall back.
      if (backend == EndpointBackend::kUring || endpoint.error() == std::errc::address_in_use ||
          endpoint.error() == std::errc::permission_denied ||
          endpoint.error() == std::errc::address_not_available) {
        return Unexpected{endpoint.error()};
      }
      out.fallback_reason = "io_uring endpoint unavailable: " + endpoint.error().message() +
                            " (multishot receive needs kernel 6.0+)";
    } else {
      out.fallback_reason = (*loop)->fallback_reason();
    }
    LogFallbackOnce(out.fallback_reason);
  }
  auto loop = EventLoop::Create({.backend = EventLoop::Backend::kEpoll});
  if (!loop) return Unexpected{loop.error()};
  auto endpoint = MmsgEndpoint::Open(**loop, options);
  if (!endpoint) return Unexpected{endpoint.error()};
  out.loop = std::move(*loop);
  out.endpoint = std::move(*endpoint);
  return out;
}

Result<std::unique_ptr<Endpoint>> OpenEndpoint(EventLoop& loop, const EndpointOptions& options) {
  if (loop.backend() == EventLoop::Backend::kUring) {
    auto endpoint = UringEndpoint::Open(loop, options);
    if (!endpoint) return Unexpected{endpoint.error()};
    return std::unique_ptr<Endpoint>(std::move(*endpoint));
  }
  auto endpoint = MmsgEndpoint::Open(loop, options);
  if (!endpoint) return Unexpected{endpoint.error()};
  return std::unique_ptr<Endpoint>(std::move(*endpoint));
}

}  // namespace ringv8
