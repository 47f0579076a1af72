// mpscq/detail/mutants.hpp - deliberate bugs, for proving the checkers work.
//
// Internal, test-only. Each MPSCQ_MUTANT_<NAME> macro turns one known bug or
// one weakened memory order back on inside the real headers, so a model build
// can show that Relacy (tests/model) catches it. A checker that stops finding
// a mutant fails CI. Production builds define none of these; every flag is a
// constexpr false there and the `if constexpr` branches compile away.
//
// The names say what the mutant does; the comment at each use site says which
// upstream bug or which pairing it breaks.
#ifndef MPSCQ_DETAIL_MUTANTS_HPP
#define MPSCQ_DETAIL_MUTANTS_HPP

#include <atomic>

namespace mpscq::detail::mutant {

// --- queue.hpp -------------------------------------------------------------
#ifdef MPSCQ_MUTANT_QUEUE_LINK_RELAXED
inline constexpr bool queue_link_relaxed = true;  // link store: release -> relaxed
#else
inline constexpr bool queue_link_relaxed = false;
#endif
#ifdef MPSCQ_MUTANT_QUEUE_TAIL_EXCHANGE_RELAXED
inline constexpr bool queue_tail_exchange_relaxed = true;  // tail exchange: acq_rel -> relaxed
#else
inline constexpr bool queue_tail_exchange_relaxed = false;
#endif
#ifdef MPSCQ_MUTANT_QUEUE_NEXT_LOAD_RELAXED
inline constexpr bool queue_next_load_relaxed = true;  // pop's next loads: acquire -> relaxed
#else
inline constexpr bool queue_next_load_relaxed = false;
#endif
#ifdef MPSCQ_MUTANT_QUEUE_STUB_CAS_RELAXED
inline constexpr bool queue_stub_cas_relaxed = true;  // stub compare-exchange: acq_rel -> relaxed
#else
inline constexpr bool queue_stub_cas_relaxed = false;
#endif
#ifdef MPSCQ_MUTANT_QUEUE_STUB_NOT_REINSERTED
inline constexpr bool queue_stub_not_reinserted = true;  // hand out the last node without the CAS
#else
inline constexpr bool queue_stub_not_reinserted = false;
#endif

// --- local_work.hpp --------------------------------------------------------
#ifdef MPSCQ_MUTANT_LOCAL_EAGER_WAKE_CAS
inline constexpr bool local_eager_wake_cas = true;  // countdown_wake::claim() eager [W3]: compare-exchange instead of exchange (the seed's v2, lost wake)
#else
inline constexpr bool local_eager_wake_cas = false;
#endif
#ifdef MPSCQ_MUTANT_LOCAL_ARM_WITHOUT_RECHECK
inline constexpr bool local_arm_without_recheck = true;  // waiter sleeps without re-checking the queue after arming
#else
inline constexpr bool local_arm_without_recheck = false;
#endif
#ifdef MPSCQ_MUTANT_LOCAL_PUSH_ARM_RELAXED
inline constexpr bool local_push_arm_relaxed = true;  // countdown_wake::read() [W1] and arm() [W6]: acq_rel -> relaxed (push vs arm, the Dekker pair)
#else
inline constexpr bool local_push_arm_relaxed = false;
#endif
#ifdef MPSCQ_MUTANT_LOCAL_TEARDOWN_NO_WAIT_ADDERS
inline constexpr bool local_teardown_no_wait_adders = true;  // close() does not wait out in-flight adds (upstream use-after-free)
#else
inline constexpr bool local_teardown_no_wait_adders = false;
#endif
#ifdef MPSCQ_MUTANT_GATE_RELAXED
inline constexpr bool gate_relaxed = true;  // adder gate (detail/adder_gate.hpp): leave()'s release fetch_sub and wait_drained()'s acquire load -> relaxed
#else
inline constexpr bool gate_relaxed = false;
#endif
#ifdef MPSCQ_MUTANT_LOCAL_FUTEX_WORD_RELAXED
// NOT CAUGHT by the models (masked by Relacy's futex; see tests/model/relacy/local_work.cmake).
inline constexpr bool local_futex_word_relaxed = true;  // futex word: countdown_wake::wake()'s release increment [W4] and snapshot()'s acquire load [W5] -> relaxed
#else
inline constexpr bool local_futex_word_relaxed = false;
#endif
#ifdef MPSCQ_MUTANT_LOCAL_CLAIM_RELAXED
// NOT CAUGHT by the models (the order looks redundant; see tests/model/relacy/local_work.cmake).
inline constexpr bool local_claim_relaxed = true;  // countdown_wake::claim(): lazy fetch_sub [W2] / eager exchange [W3] on wait_nr, acq_rel -> relaxed
#else
inline constexpr bool local_claim_relaxed = false;
#endif

// --- task_work.hpp ---------------------------------------------------------
#ifdef MPSCQ_MUTANT_TASK_NO_STOP_AFTER_EMPTIED
inline constexpr bool task_no_stop_after_emptied = true;  // run loop keeps popping after a pop that emptied the queue ("Boom")
#else
inline constexpr bool task_no_stop_after_emptied = false;
#endif
#ifdef MPSCQ_MUTANT_TASK_STOP_AFTER_CAP_CHECK
inline constexpr bool task_stop_after_cap_check = true;  // the emptied stop moved after the yield/cap check
#else
inline constexpr bool task_stop_after_cap_check = false;
#endif
#ifdef MPSCQ_MUTANT_TASK_EMPTIED_RELAXED
inline constexpr bool task_emptied_relaxed = true;  // relaxed run-slot hand-off: the order that publishes the end of a run (its emptying pop) to the next run
#else
inline constexpr bool task_emptied_relaxed = false;
#endif
#ifdef MPSCQ_MUTANT_TASK_FALLBACK_DROPS_REF_EARLY
inline constexpr bool task_fallback_drops_ref_early = true;  // fallback releases the target before its run finished
#else
inline constexpr bool task_fallback_drops_ref_early = false;
#endif

// --- task_work.hpp (teardown) ----------------------------------------------
#ifdef MPSCQ_MUTANT_TASK_TEARDOWN_NO_WAIT_ADDERS
inline constexpr bool task_teardown_no_wait_adders = true;  // close()/~task_work() do not wait out in-flight scheduling adds
#else
inline constexpr bool task_teardown_no_wait_adders = false;
#endif

#ifdef MPSCQ_MUTANT_TASK_GATE_AFTER_PUSH
inline constexpr bool task_gate_after_push = true;  // the scheduling add enters the adder gate only after its push (the pre-hardening order: use after free)
#else
inline constexpr bool task_gate_after_push = false;
#endif

#ifdef MPSCQ_MUTANT_TASK_FALLBACK_REFS_RELAXED
// NOT CAUGHT by the models (masked by the run slot; see tests/model/relacy/task_work.cmake).
inline constexpr bool task_fallback_refs_relaxed = true;  // fallback_refs_: the job's release fetch_sub and the destructor's acquire load -> relaxed
#else
inline constexpr bool task_fallback_refs_relaxed = false;
#endif
#ifdef MPSCQ_MUTANT_TASK_FALLBACK_QUEUED_RELAXED
inline constexpr bool task_fallback_queued_relaxed = true;  // fallback_queued_: both acq_rel exchanges -> relaxed
#else
inline constexpr bool task_fallback_queued_relaxed = false;
#endif

/// The order a site uses: `order` normally, relaxed when its mutant is on.
constexpr std::memory_order weaken_if(bool mutated, std::memory_order order) noexcept {
  return mutated ? std::memory_order_relaxed : order;
}

}  // namespace mpscq::detail::mutant

#endif  // MPSCQ_DETAIL_MUTANTS_HPP
