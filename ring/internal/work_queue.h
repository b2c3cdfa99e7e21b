// WorkQueue: a lock-free multi-producer, single-consumer queue of closures.
//
// Push is thread-safe and lock-free (one CAS loop on the head of an intrusive stack). TakeAll is
// called only by the consumer: it detaches the whole stack with one exchange and reverses it, so
// closures run in the order they were pushed. Each Push allocates one node: posting work across
// threads is not on the packet path.
#ifndef RINGV8_RING_INTERNAL_WORK_QUEUE_H_
#define RINGV8_RING_INTERNAL_WORK_QUEUE_H_

#include <atomic>
#include <functional>
#include <utility>

namespace ringv8::internal {

class WorkQueue {
 public:
  WorkQueue() = default;
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;
  ~WorkQueue() { RunAll(/*run=*/false); }

  void Push(std::function<void()> fn) {
    Node* node = new Node{std::move(fn), head_.load(std::memory_order_relaxed)};
    // Release: the consumer that acquires the head sees the node's contents.
    while (!head_.compare_exchange_weak(node->next, node, std::memory_order_release,
                                        std::memory_order_relaxed)) {
    }
  }

  bool Empty() const { return head_.load(std::memory_order_relaxed) == nullptr; }

  // Runs (or with run=false, discards) everything pushed so far, oldest first. Returns the count.
  size_t RunAll(bool run = true) {
    // Acquire pairs with Push's release.
    Node* stack = head_.exchange(nullptr, std::memory_order_acquire);
    Node* fifo = nullptr;
    while (stack != nullptr) {
      Node* next = stack->next;
      stack->next = fifo;
      fifo = stack;
      stack = next;
    }
    size_t count = 0;
    while (fifo != nullptr) {
      Node* next = fifo->next;
      if (run) fifo->fn();
      delete fifo;
      fifo = next;
      ++count;
    }
    return count;
  }

 private:
  struct Node {
    std::function<void()> fn;
    Node* next;
  };
  std::atomic<Node*> head_{nullptr};
};

}  // namespace ringv8::internal

#endif  // RINGV8_RING_INTERNAL_WORK_QUEUE_H_
