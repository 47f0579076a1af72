// mpscq/detail/thread_chain.hpp - the head of a per-thread chain of stack
// frames ("what is this thread inside of?"), also under the model checker.
//
// Internal header: not part of the public API, not general purpose.
//
// detail::callback_guard (the scheduler calls and runs a thread is inside)
// and detail::context_slot (the task_contexts its runs have entered) keep a
// chain of frames that live on the thread's stack, innermost first, and
// reach its head through thread_chain_head<Frame>(). Normally the head is a
// thread_local (its first use in a dlopen()ed library may allocate). Under
// the model checker every modelled thread runs on one OS thread, so a
// thread_local would mix their chains: there the head is one slot per
// modelled thread (detail::model_thread_index()). Frames are pushed and
// popped in LIFO order by RAII objects; nothing here is shared between
// threads, so there is no atomic and no order.
#ifndef MPSCQ_DETAIL_THREAD_CHAIN_HPP
#define MPSCQ_DETAIL_THREAD_CHAIN_HPP

#include <mpscq/detail/atomic.hpp>
#include <mpscq/detail/misuse.hpp>

namespace mpscq::detail {

/// Modelled threads a model may use while a chain is in use (Relacy models
/// here use at most four).
inline constexpr unsigned thread_chain_model_threads = 16;

/// The calling thread's chain head for frames of type Frame: nullptr, or the
/// innermost frame.
template <class Frame>
Frame*& thread_chain_head() noexcept {
  if constexpr (model_build) {
    static Frame* heads[thread_chain_model_threads] = {};
    const unsigned index = model_thread_index();
    if (index >= thread_chain_model_threads) misuse("thread_chain", "a model uses more threads than thread_chain_model_threads");
    return heads[index];
  } else {
    static thread_local Frame* head = nullptr;
    return head;
  }
}

}  // namespace mpscq::detail

#endif  // MPSCQ_DETAIL_THREAD_CHAIN_HPP
