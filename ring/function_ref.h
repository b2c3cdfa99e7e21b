// FunctionRef: a non-owning reference to a callable, for callbacks that run before the call that
// takes them returns (no allocation, one indirect call). C++26's std::function_ref, minimal.
// A value type; the referenced callable must outlive every call through it.
#ifndef RINGV8_RING_FUNCTION_REF_H_
#define RINGV8_RING_FUNCTION_REF_H_

#include <memory>
#include <type_traits>
#include <utility>

namespace ringv8 {

template <typename Signature>
class FunctionRef;

template <typename R, typename... Args>
class FunctionRef<R(Args...)> {
 public:
  template <typename F>
  requires(!std::is_same_v<std::remove_cvref_t<F>, FunctionRef> &&
           std::is_invocable_r_v<R, F&, Args...>)
      FunctionRef(F&& f)  // NOLINT(google-explicit-constructor): used like a function parameter.
      : object_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* object, Args... args) -> R {
          return (*static_cast<std::remove_reference_t<F>*>(object))(std::forward<Args>(args)...);
        }) {}

  R operator()(Args... args) const { return call_(object_, std::forward<Args>(args)...); }

 private:
  void* object_;
  R (*call_)(void*, Args...);
};

}  // namespace ringv8

#endif  // RINGV8_RING_FUNCTION_REF_H_
