#include "tools/signals.h"

#include <unistd.h>

#include <atomic>

#include <signal.h>

namespace ringv8::tools {

namespace {

std::atomic<EventLoop*> g_loop{nullptr};
std::atomic<int> g_received{0};

void OnSignal(int signal) {
  if (g_received.exchange(signal) != 0) _exit(128 + signal);  // The second one: at once.
  if (EventLoop* loop = g_loop.load()) loop->Stop();
}

}  // namespace

StopOnSignals::StopOnSignals(EventLoop& loop) {
  g_received.store(0);
  g_loop.store(&loop);
  struct sigaction action {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

StopOnSignals::~StopOnSignals() {
  struct sigaction action {};
  action.sa_handler = SIG_DFL;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  g_loop.store(nullptr);
}

int StopOnSignals::received() const { return g_received.load(); }

}  // namespace ringv8::tools
