// Stopping on SIGINT / SIGTERM: the first signal stops the given loop (its Run/RunUntil returns
// and the command prints its final statistics); a second one exits at once (status 128 + signal).
// Thread-compatible: construct on the main thread; one instance at a time.
#ifndef RINGV8_TOOLS_SIGNALS_H_
#define RINGV8_TOOLS_SIGNALS_H_

#include "ring/event_loop.h"

namespace ringv8::tools {

class StopOnSignals {
 public:
  explicit StopOnSignals(EventLoop& loop);
  ~StopOnSignals();  // Restores the default handlers.
  StopOnSignals(const StopOnSignals&) = delete;
  StopOnSignals& operator=(const StopOnSignals&) = delete;

  // The signal that stopped the loop, 0 if none.
  int received() const;
};

}  // namespace ringv8::tools

#endif  // RINGV8_TOOLS_SIGNALS_H_
