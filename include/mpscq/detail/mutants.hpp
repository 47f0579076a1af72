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

// Each switch is "on" when its macro is defined (-DMPSCQ_MUTANT_X gives 1;
// an empty definition counts too): the macro's expansion, as text, is then
// "1" or "", while an undefined macro stays its own name.
#define MPSCQ_DETAIL_MUTANT_TEXT(m) MPSCQ_DETAIL_MUTANT_TEXT_(m)
#define MPSCQ_DETAIL_MUTANT_TEXT_(m) #m
constexpr bool is_set(const char* text) noexcept {
  return text[0] == '\0' || (text[0] == '1' && text[1] == '\0');
}

// --- queue.hpp -------------------------------------------------------------
inline constexpr bool queue_link_relaxed = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_QUEUE_LINK_RELAXED));  // link store: release -> relaxed
inline constexpr bool queue_tail_exchange_relaxed = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_QUEUE_TAIL_EXCHANGE_RELAXED));  // tail exchange: acq_rel -> relaxed
inline constexpr bool queue_next_load_relaxed = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_QUEUE_NEXT_LOAD_RELAXED));  // pop()'s and pop_batch()'s next loads: acquire -> relaxed
inline constexpr bool queue_stub_cas_relaxed = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_QUEUE_STUB_CAS_RELAXED));  // stub compare-exchange: acq_rel -> relaxed
inline constexpr bool queue_stub_not_reinserted = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_QUEUE_STUB_NOT_REINSERTED));  // hand out the last node without the CAS
inline constexpr bool queue_batch_hands_out_in_flight = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_QUEUE_BATCH_HANDS_OUT_IN_FLIGHT));  // pop_batch: after a first hand-out, the walk's last node handed out without the CAS
inline constexpr bool queue_batch_emptied_early = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_QUEUE_BATCH_EMPTIED_EARLY));  // pop_batch: a batch that has handed out nodes and ends on an in-flight window reports emptied()
inline constexpr bool queue_clear_after_handout = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_QUEUE_CLEAR_AFTER_HANDOUT));  // pop_batch/poll: the handed-out node's link cleared after f instead of before

// --- local_work.hpp --------------------------------------------------------
inline constexpr bool local_eager_wake_cas = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_LOCAL_EAGER_WAKE_CAS));  // countdown_wake::claim() eager [W3]: compare-exchange instead of exchange (the seed's v2, lost wake)
inline constexpr bool local_arm_without_recheck = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_LOCAL_ARM_WITHOUT_RECHECK));  // waiter sleeps without re-checking the queue after arming
inline constexpr bool local_push_arm_relaxed = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_LOCAL_PUSH_ARM_RELAXED));  // countdown_wake::read() [W1] and arm() [W6]: seq_cst -> relaxed (push vs arm, the Dekker pair)
inline constexpr bool local_read_acquire = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_LOCAL_READ_ACQUIRE));  // countdown_wake::read() [W1]: seq_cst load -> acquire, arm() [W6]: seq_cst -> acq_rel, wait()'s re-check [L21]: seq_cst -> acquire (the push-vs-arm pair without a total order: store buffering, lost wake)
inline constexpr bool local_teardown_no_wait_adders = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_LOCAL_TEARDOWN_NO_WAIT_ADDERS));  // close() does not wait out in-flight adds (upstream use-after-free)
inline constexpr bool local_interrupt_check_before_snapshot = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_LOCAL_INTERRUPT_CHECK_BEFORE_SNAPSHOT));  // wait() reads the interrupt flag before its futex snapshot, not after (lost interrupt)
inline constexpr bool local_interrupt_outside_gate = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_LOCAL_INTERRUPT_OUTSIDE_GATE));  // interrupt() does not enter the adder gate (its FUTEX_WAKE after the owner freed the object)
inline constexpr bool local_interrupt_flag_relaxed = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_LOCAL_INTERRUPT_FLAG_RELAXED));  // interrupt flag: interrupt()'s release store [L24] and take_interrupt()'s acquire exchange [L25] -> relaxed
inline constexpr bool local_stop_check_before_snapshot = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_LOCAL_STOP_CHECK_BEFORE_SNAPSHOT));  // wait(..., stop token) reads the stop request before its futex snapshot, not after (lost stop) [LS1]
inline constexpr bool local_stop_no_callback = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_LOCAL_STOP_NO_CALLBACK));  // wait(..., stop token) registers no stop callback: a stop during the sleep does not wake the owner [LS2]
inline constexpr bool gate_close_one_shard = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_GATE_CLOSE_ONE_SHARD));  // adder gate: close() and wait_drained() reach only shard 0 (adds on other shards are not waited out: use after free)
inline constexpr bool gate_relaxed = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_GATE_RELAXED));  // adder gate (detail/adder_gate.hpp): leave()'s release fetch_sub and wait_drained()'s acquire load -> relaxed
inline constexpr bool local_chain_counts_one = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_LOCAL_CHAIN_COUNTS_ONE));  // countdown_wake::claim_batch() [W9]: a lazy chain subtracts 1, not its length (owner sleeps past min_events)
inline constexpr bool local_chain_wake_exact = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_LOCAL_CHAIN_WAKE_EXACT));  // countdown_wake::claim_batch() [W9]: wakes only when it took the count exactly to 0 (old == n), not on crossing it (lost wake)
// NOT CAUGHT by the models (masked by Relacy's futex; see tests/model/relacy/local_work.cmake).
inline constexpr bool local_futex_word_relaxed = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_LOCAL_FUTEX_WORD_RELAXED));  // futex word: countdown_wake::wake()'s release increment [W4] and snapshot()'s acquire load [W5] -> relaxed
// NOT CAUGHT by the models (the order looks redundant; see tests/model/relacy/local_work.cmake).
inline constexpr bool local_claim_relaxed = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_LOCAL_CLAIM_RELAXED));  // countdown_wake::claim(): lazy fetch_sub [W2] / eager exchange [W3] on wait_nr, acq_rel -> relaxed

// --- detail/thread_identity.hpp, detail/owner_slot.hpp (local_work's owner) -
inline constexpr bool owner_end_relaxed = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_OWNER_END_RELAXED));  // thread_record: end()'s release store [I2] and ended()'s acquire load [I1] -> relaxed (a take-over does not see the ended owner's acts)
inline constexpr bool owner_check_os_id = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_OWNER_CHECK_OS_ID));  // the old owner check: owner_slot compares std::thread::id (a thread with a dead owner's id, or a fork()ed child's thread with a parent thread's id, passes as the owner)
inline constexpr bool owner_takeover_unlocked = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_OWNER_TAKEOVER_UNLOCKED));  // owner_slot::claim() decides and stores without its lock (two claimers of an ended owner both take over)
inline constexpr bool owner_lock_relaxed = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_OWNER_LOCK_RELAXED));  // owner_slot's lock: [O3] acquire exchange and [O4] release store -> relaxed (disown() no longer hands the owner's acts to the next claimer)

// --- task_work.hpp ---------------------------------------------------------
inline constexpr bool task_no_stop_after_emptied = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_TASK_NO_STOP_AFTER_EMPTIED));  // run loop keeps popping after a pop that emptied the queue ("Boom")
inline constexpr bool task_stop_after_cap_check = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_TASK_STOP_AFTER_CAP_CHECK));  // the emptied stop moved after the yield/cap check
inline constexpr bool task_emptied_relaxed = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_TASK_EMPTIED_RELAXED));  // relaxed run-slot hand-off: the order that publishes the end of a run (its emptying pop) to the next run
inline constexpr bool task_fallback_drops_ref_early = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_TASK_FALLBACK_DROPS_REF_EARLY));  // fallback releases the target before its run finished
inline constexpr bool task_inline_run_reported = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_TASK_INLINE_RUN_REPORTED));  // the old rule: run() on the active run's thread is always misuse, also an inline scheduler's called by an add inside an item
inline constexpr bool task_inline_handoff_drops_turn = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_TASK_INLINE_HANDOFF_DROPS_TURN));  // the inline scheduler's run() hands off without leaving its turn counted (a lost cycle)

// --- task_work.hpp (teardown) ----------------------------------------------
inline constexpr bool task_teardown_no_wait_adders = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_TASK_TEARDOWN_NO_WAIT_ADDERS));  // close()/~task_work() do not wait out in-flight scheduling adds

inline constexpr bool task_gate_after_push = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_TASK_GATE_AFTER_PUSH));  // the scheduling add enters the adder gate only after its push (the pre-hardening order: use after free)

// NOT CAUGHT by the models (masked by the run slot; see tests/model/relacy/task_work.cmake).
inline constexpr bool task_fallback_refs_relaxed = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_TASK_FALLBACK_REFS_RELAXED));  // fallback_refs_: the job's release fetch_sub and the destructor's acquire load -> relaxed
inline constexpr bool task_fallback_queued_relaxed = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_TASK_FALLBACK_QUEUED_RELAXED));  // fallback_queued_: both acq_rel exchanges -> relaxed

// --- detail/admission.hpp (bounded admission: producers waiting for room) -
inline constexpr bool admission_no_recheck = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_ADMISSION_NO_RECHECK));  // a producer announces itself and sleeps without re-checking the room [AD4] (lost wake)
inline constexpr bool admission_relaxed = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_ADMISSION_RELAXED));  // the release-vs-announce pair [AD4] [AD5] [AD7] [AD9]: seq_cst -> relaxed (store buffering, lost wake)
inline constexpr bool admission_wake_before_release = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_ADMISSION_WAKE_BEFORE_RELEASE));  // the consumer wakes waiters before it gives the room back (lost wake)
inline constexpr bool admission_close_no_wake = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_ADMISSION_CLOSE_NO_WAKE));  // close() raises closed_ [AD11] without the bump and FUTEX_WAKE [AD10] (a sleeping producer never sees it; close() waits it out for ever)
inline constexpr bool admission_stop_before_snapshot = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_ADMISSION_STOP_BEFORE_SNAPSHOT));  // acquire_wait() reads the stop request before its futex snapshot [AD6], not after (a stop and its wake between the two: lost wake)

// --- detail/split_ref.hpp (mpscq/asio.hpp's context lifetime) ------------
inline constexpr bool split_ref_put_relaxed = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_SPLIT_REF_PUT_RELAXED));  // put()'s release (shard [SR3], central [SR4]) and kill()'s acquire fetch_or [SR5] -> relaxed
inline constexpr bool split_ref_no_bias = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_SPLIT_REF_NO_BIAS));  // the owner's reference is a plain 1 in the central word, not the bias (a put on a killed shard reaches zero before kill() added the sum)
inline constexpr bool split_ref_claim_held_token = is_set(MPSCQ_DETAIL_MUTANT_TEXT(MPSCQ_MUTANT_SPLIT_REF_CLAIM_HELD_TOKEN));  // a count that reaches zero hands the release token out while it is held (two stages at once)

/// The order a site uses: `order` normally, relaxed when its mutant is on.
constexpr std::memory_order weaken_if(bool mutated, std::memory_order order) noexcept {
  return mutated ? std::memory_order_relaxed : order;
}

}  // namespace mpscq::detail::mutant

#endif  // MPSCQ_DETAIL_MUTANTS_HPP
