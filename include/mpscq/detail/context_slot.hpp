// mpscq/detail/context_slot.hpp - where a task_work run keeps the context it
// has entered, so that the context's destructor can tell the run it is gone.
//
// Internal header: not part of the public API, not general purpose.
//
// A task_work run enters a task_context before a stretch of items that name
// it and leaves it after the stretch. An item of the stretch may end the
// context's life (delete it, or end the coroutine frame that holds it): it
// is the context's last item, and nothing else is left to run in it. The run
// must then neither call leave() on it nor compare the next item's context
// with the dangling pointer (a new context may have been allocated at the
// same address; it must be entered). The kernel keeps a ctx alive across a
// stretch of task work with a reference; we cannot count references to a
// user's object, but task_context is our base class, so its destructor can
// tell the run.
//
// Each run's current context lives in a context_slot on the run's stack. A
// slot that holds a context is linked into a per-thread chain
// (detail/thread_chain.hpp), and ~task_context() calls forget(), which
// clears every slot of the calling thread that holds it: the runs of this
// thread (nested runs of other task_works included) see nullptr, as if they
// had left it. A slot is linked on its first set() and unlinked by its
// destructor, so a run that never enters a context never touches the chain.
// LIFO holds: set() is called between items, never inside one, so every
// slot linked after ours belongs to a run nested in one of our items and
// has been unlinked by the time set() or our destructor runs.
//
// Only the calling thread's chain is searched: a context destroyed on
// another thread while a run has it entered is not found here (task_work.hpp
// reports it from the context's entry count). Nothing here is shared between
// threads: no atomic, no order.
#ifndef MPSCQ_DETAIL_CONTEXT_SLOT_HPP
#define MPSCQ_DETAIL_CONTEXT_SLOT_HPP

#include <mpscq/detail/thread_chain.hpp>

namespace mpscq {
class task_context;
}

namespace mpscq::detail {

class context_slot {
 public:
  context_slot() noexcept = default;
  ~context_slot() {
    if (linked_) head() = previous_;
  }
  context_slot(const context_slot&) = delete;
  context_slot& operator=(const context_slot&) = delete;

  /// The context the run has entered, or nullptr (none, or it was destroyed).
  task_context* get() const noexcept { return current_; }

  /// Records `ctx` (nullptr: none). Call between items only.
  void set(task_context* ctx) noexcept {
    if (ctx != nullptr && !linked_) {
      previous_ = head();
      head() = this;
      linked_ = true;
    }
    current_ = ctx;
  }

  /// From ~task_context(): clears every slot of the calling thread that
  /// holds `ctx`. Returns how many there were.
  static unsigned forget(const task_context* ctx) noexcept {
    unsigned found = 0;
    for (context_slot* s = head(); s != nullptr; s = s->previous_)
      if (s->current_ == ctx) {
        s->current_ = nullptr;
        ++found;
      }
    return found;
  }

 private:
  static context_slot*& head() noexcept { return thread_chain_head<context_slot>(); }

  task_context* current_ = nullptr;
  context_slot* previous_ = nullptr;
  bool linked_ = false;
};

}  // namespace mpscq::detail

#endif  // MPSCQ_DETAIL_CONTEXT_SLOT_HPP
