// Simulation: the setup every protocol and strategy test runs on: a virtual clock, an event loop
// on it (it never sleeps: RunFor moves the clock from timer to timer) and a MemoryNetwork on that
// loop. Members are declared in construction order, so they are destroyed in the right one;
// whatever a test builds on the network (nodes, communities) must go before the Simulation, which
// it does when the test declares it after the Simulation.
// Thread-compatible; everything runs on the calling thread.
#ifndef RINGV8_TESTS_TESTING_SIMULATION_H_
#define RINGV8_TESTS_TESTING_SIMULATION_H_

#include <cstdint>
#include <memory>

#include "ring/clock.h"
#include "ring/event_loop.h"
#include "ring/memory_endpoint.h"

namespace ringv8::testing {

struct Simulation {
  // `start`: the clock's first reading (a peer's "last seen" of 0 means never, so tests of
  // liveness start later); `seed`: the network's loss and delay draws.
  explicit Simulation(TimePoint start = TimePoint(0), uint64_t seed = 1)
      : clock(start),
        loop(std::move(
            *EventLoop::Create({.backend = EventLoop::Backend::kEpoll, .virtual_clock = &clock}))),
        net(*loop, seed) {}

  void RunFor(Duration d) { loop->RunFor(d); }

  VirtualClock clock;
  std::unique_ptr<EventLoop> loop;
  MemoryNetwork net;
};

}  // namespace ringv8::testing

#endif  // RINGV8_TESTS_TESTING_SIMULATION_H_
