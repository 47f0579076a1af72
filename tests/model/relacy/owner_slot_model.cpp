// Relacy model of local_work's owner slot (include/mpscq/detail/owner_slot.hpp)
// and the thread records it names (detail/thread_identity.hpp), on the real
// headers through the detail/ seam: the slot's word and lock and each
// record's `ended` flag and reference count are rl::atomic operations with
// their real memory orders. The records are the model's own (one per
// modelled thread identity); a modelled thread "ends" by calling end() on
// its record, as the pthread key destructor does at a real thread's end.
//
//   owner_slot_model <model> [random N | bound K | full]   (default random 200000)
//
// Every model checks the payload the previous owner wrote (rl::var: DATA RACE
// if the new owner's read is not ordered after it) and, at the end, the
// records' reference counts (the slot holds exactly one on the record it
// names; every other reference is the record's thread's).
//
//  takeover [3 threads]  A owns the slot (claimed before the threads start),
//    writes the payload and ends. B and C each claim until one of them owns
//    it. Checks: exactly one takes over ("two threads took over"), never
//    while A is alive ("took over a live owner"), and the winner reads A's
//    payload (S3: the claim's acquire of A's end). Catches OWNER_END_RELAXED
//    (DATA RACE) and OWNER_TAKEOVER_UNLOCKED (two take-overs).
//
//  reuse [2 threads]  A owns the slot, writes the payload and ends; a new
//    thread A2 then gets A's std::thread::id (the C library hands the id on
//    only after A's end: modelled as a release/acquire pair, see the model)
//    and runs the owner check (is(), then claim()). A2 must take the slot
//    over - the slot then names A2's record, and A's record lost the slot's
//    reference - not pass as A while the slot still names A's record.
//    Catches OWNER_CHECK_OS_ID, the old check by std::thread::id ("a new
//    thread with a dead owner's id passed as that owner").
//    Without the C library's order, S5 (another copy's record of the calling
//    thread) could read A's `ended` stale and take A2 for A: S5 rests on that
//    order (owner_slot.hpp), which glibc's stack cache gives.
//  fork [1 thread, and an idle one]  A owns the slot and is alive in its process; a thread C
//    of another process with A's std::thread::id is not A. In A's process
//    it is refused ("a thread of another process passed as the owner"). A
//    record of A made by another copy of the headers (same id, same
//    process, S5) is A: it passes while A is alive and takes over once A
//    ended. Then the model plays a fork()ed child (current_process() = 1):
//    a child's thread with the id of B (a parent thread that owned another
//    slot) takes that slot over (S3a: B does not exist in the child; "a
//    child's thread passed as the parent's owner" when it is taken for B),
//    and the forking thread F, which kept its own record, stays the owner of
//    a slot it owned: its record moved to the child's process (the fork
//    handler), so another child thread is refused ("a child's thread took
//    the forking thread's object", the adversarial review's finding when the
//    record kept the parent's process). Catches OWNER_CHECK_OS_ID.
//
//  disown [2 threads]  A owns the slot, writes the payload and disowns; B
//    claims until it owns it and reads the payload (S4: the lock's
//    release/acquire). Catches OWNER_LOCK_RELAXED (DATA RACE).
//
// Relacy's own headers warn under -Wall -Wextra; they are included as system
// headers, so the warnings target applies to this file's code only.

#include <chrono>
#include <cstdio>
#include <string>

#include <mpscq/detail/owner_slot.hpp>  // pulls in relacy through detail/relacy_seam.hpp

#include "model_cli.hpp"

namespace {

namespace detail = mpscq::detail;
using detail::owner_slot;
using detail::thread_record;
using verdict = owner_slot::verdict;

// A failed check is the model's verdict: "USER ASSERT FAILED (<what>)".
void check(bool ok, const char* what) {
  if (!ok) rl::ctx().fail_test(what, rl::test_result_user_assert_failed, RL_INFO);
}

// The owner check as local_work_core::claim_owner() makes it: the fast path,
// then the slot's slow path. Returns how the caller came to own it, or
// `other`.
verdict own(owner_slot& slot, thread_record& self) {
  if (slot.is(&self)) return verdict::owner;
  return slot.claim(&self);
}

struct takeover : rl::test_suite<takeover, 3> {
  thread_record a{1, 0}, b{2, 0}, c{3, 0};
  owner_slot slot;  // after the records: destroyed first (it drops its reference)
  rl::var<int> payload;
  // Plain observers: Relacy switches threads only at model operations.
  bool a_ended = false;
  int takeovers = 0;
  thread_record* winner = nullptr;

  void before() { check(own(slot, a) == verdict::owner, "A could not claim a free slot"); }

  void thread(unsigned index) {
    if (index == 0) {
      payload($) = 42;
      a.end();
      a_ended = true;
      return;
    }
    thread_record& me = index == 1 ? b : c;
    while (winner == nullptr) {
      const verdict v = own(slot, me);
      if (v == verdict::other) {
        rl::yield(1, $);
        continue;
      }
      check(v == verdict::took_over, "a claim of an owned slot succeeded without a take-over");
      check(a_ended, "took over a live owner");
      ++takeovers;
      check(takeovers == 1, "two threads took over");
      winner = &me;
      check(payload($) == 42, "the new owner missed the ended owner's write");  // DATA RACE if unordered
    }
  }

  void after() {
    check(a.references() == 1, "the ended owner's record kept the slot's reference");
    check(winner != nullptr && winner->references() == 2, "the new owner's record lacks the slot's reference");
    thread_record& loser = winner == &b ? c : b;
    check(loser.references() == 1, "the refused claimer's record holds a reference");
  }
};

struct reuse : rl::test_suite<reuse, 2> {
  thread_record a{1, 0};
  thread_record a2{1, 0};  // a later thread that got A's std::thread::id
  owner_slot slot;
  rl::var<int> payload;
  // The C library's hand-over of A's id to a new thread: glibc gives a
  // thread's stack (and so its pthread_t) to a new thread only after the old
  // one ran its key destructors, under the stack cache's lock - a release
  // by the ending thread, an acquire by pthread_create.
  detail::atomic<int> handover{0};

  void before() { check(own(slot, a) == verdict::owner, "A could not claim a free slot"); }

  void thread(unsigned index) {
    if (index == 0) {
      payload($) = 7;
      a.end();
      handover.store(1, std::memory_order_release);
      return;
    }
    while (handover.load(std::memory_order_acquire) == 0) rl::yield(1, $);
    check(own(slot, a2) == verdict::took_over, "a new thread with a dead owner's id passed as that owner");
    check(payload($) == 7, "the new owner missed the ended owner's write");
  }

  void after() { check(a.references() == 1 && a2.references() == 2, "references not handed over"); }
};

struct fork_child : rl::test_suite<fork_child, 2> {  // thread 1 idles (Relacy wants two)
  thread_record a{1, 0};        // the parent's owner thread (process 0)
  thread_record child{1, 1};    // a child's thread with A's id (process 1)
  thread_record a_copy{1, 0};   // A's record made by another copy of the headers
  thread_record b{2, 0};        // a parent thread other than the forking one ...
  thread_record f{3, 0};        // ... the forking thread (its record lives on in the child) ...
  thread_record child_b{2, 1};  // ... and a child's thread that got B's id
  owner_slot slot, child_slot, forked_slot;

  void thread(unsigned index) {
    if (index != 0) return;
    check(own(slot, a) == verdict::owner, "A could not claim a free slot");
    check(own(slot, child) == verdict::other, "a thread of another process passed as the owner");
    check(own(slot, a_copy) == verdict::owner, "A's record of another copy was refused while A lives");
    check(a_copy.references() == 1, "S5 stored the other copy's record");
    a.end();
    check(own(slot, a_copy) == verdict::took_over, "no take-over once A ended");
    check(own(slot, child) == verdict::other, "a second owner while the first is alive");
    // The fork()ed child (S3a): only the forking thread F exists there.
    check(own(child_slot, b) == verdict::owner, "B could not claim a free slot");
    check(own(forked_slot, f) == verdict::owner, "F could not claim a free slot");
    mpscq::detail::model_current_process() = 1;
    f.rebind_to_process(1);  // the child's fork handler, on the forking thread
    check(own(forked_slot, f) == verdict::owner, "the forking thread lost the slot it owned");
    check(own(forked_slot, child_b) == verdict::other, "a child's thread took the forking thread's object");
    check(own(child_slot, child_b) == verdict::took_over, "a child's thread passed as the parent's owner");
    check(own(child_slot, f) == verdict::other, "a second owner in the child");
    mpscq::detail::model_current_process() = 0;
  }
};

struct disown : rl::test_suite<disown, 2> {
  thread_record a{1, 0}, b{2, 0};
  owner_slot slot;
  rl::var<int> payload;
  bool handed = false;  // plain observer

  void before() { check(own(slot, a) == verdict::owner, "A could not claim a free slot"); }

  void thread(unsigned index) {
    if (index == 0) {
      payload($) = 9;
      check(slot.is(&a), "the owner lost the slot");
      handed = true;  // plain: set before the slot can change (no model operation in between)
      slot.clear();   // disown()
      return;
    }
    for (;;) {
      const verdict v = own(slot, b);
      if (v == verdict::owner) break;
      check(v == verdict::other, "a take-over of a live owner");
      rl::yield(1, $);
    }
    check(handed, "claimed before the owner disowned");
    check(payload($) == 9, "the next owner missed the previous owner's write");  // DATA RACE if unordered
  }

  void after() { check(a.references() == 1 && b.references() == 2, "references not handed over"); }
};

constexpr model_cli::model models[] = {{"takeover", &model_cli::simulate<takeover>},
                                        {"reuse", &model_cli::simulate<reuse>},
                                        {"fork", &model_cli::simulate<fork_child>},
                                        {"disown", &model_cli::simulate<disown>}};

}  // namespace

int main(int argc, char** argv) { return model_cli::run_main(argc, argv, "owner-slot-model", models, 200000); }
