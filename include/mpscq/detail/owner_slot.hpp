// mpscq/detail/owner_slot.hpp - which thread owns a local_work: the owner
// word, its claims, hand-overs and take-overs.
//
// Internal header: not part of the public API, not general purpose.
//
// WHAT IT DOES
//   Names the owner thread of one object by its thread_record
//   (detail/thread_identity.hpp): an identity that is never reused while the
//   slot names it. The owner's check is one relaxed load and a compare
//   against the calling thread's record, which only that thread can hold.
//   Everything else - a first claim, a claim of a reservation, a hand-over
//   (disown), a take-over from an owner whose thread has ended, and the
//   report of a thread that is not the owner - takes the slot's lock.
//
// RULES (what local_work.hpp promises, docs/api.md 6.3)
//   S1. At most one live thread owns the slot at a time.
//   S2. The slot is free (no owner), reserved for a std::thread::id
//       (local_work_options::owner naming another thread), or names a record.
//       A free slot goes to the first claimer; a reserved one to the first
//       claimer with that id (then it names that claimer's record).
//   S2a. A reservation holds until the reserved thread calls: a
//       std::thread::id cannot tell whether its thread still lives, so a
//       reserved thread that ended without a call leaves the slot reserved
//       (every other claimer, the destructor's too, is refused and told so:
//       reserved_for_another()). Name in options.owner only a thread that
//       will call.
//   S3. An owner whose thread has ended has disowned: the next claimer takes
//       the slot over. Everything the ended owner did happens-before what the
//       new owner does: the owner's end() is a release store after its last
//       act ([I2], its thread's exit), and the claimer reads it with an
//       acquire load ([I1]) before it stores itself.
//   S3a. In a fork()ed child, an owner that is a thread of the parent other
//       than the forking thread does not exist: it has ended as far as the
//       child can tell, and the child's first owner-only call (from any of
//       its threads, the forking one included) takes over as in S3. Its
//       record names another process (thread_record::process()). The
//       forking thread lives on in the child with its record, which the
//       child's fork handler moves to the child's process
//       (thread_identity.hpp, fork_rebind), so an object it owns stays its
//       own: another thread of the child is refused as by any live owner.
//       A child's thread that got a gone owner's std::thread::id takes over;
//       it does not pass as that owner (item 8).
//   S4. disown() and a take-over hand the slot on under the lock: what the
//       previous owner did happens-before what the next one does (the lock's
//       release [O4] and acquire [O3]).
//   S5. A record of the calling thread made by another copy of the headers
//       (shared libraries with hidden visibility) counts as the calling
//       thread: same std::thread::id, same process (getpid() at creation),
//       and not ended - two such records are one live thread, since ids are
//       unique among live threads. This rests on an order the C library
//       gives, not C++: a thread's id goes to a new thread only after the old
//       thread ran its key destructors (its record's end), and the new
//       thread's creation happens after that (glibc: the stack cache's lock),
//       so a new thread with a dead thread's id reads that record as ended
//       and takes over (S3) instead. The process check keeps a fork()ed
//       child's new thread, which may get the id of a parent thread (glibc
//       reclaims the parent's other stacks in the child; that thread did not
//       end), from passing as that thread.
//   S6. The slot holds a reference on the record it names (retain/release,
//       thread_identity.hpp): the record, and so its address, outlives the
//       naming. Readers other than the owner look at the record only under
//       the lock, where the slot cannot change.
//
// RACE WINDOWS
//   [R1] two claimers of a free slot, or of an ended owner's: the lock makes
//        the check and the store one step, so exactly one wins; the other
//        sees a live owner and is refused (MUTANT owner_takeover_unlocked:
//        both win).
//   [R2] the owner's end vs a claimer: the claimer either reads ended ==
//        false (the owner is refused-as-alive: a report, since a live owner
//        was there) or true, and then synchronizes with the end ([I1]/[I2]).
//   [R3] fork() while another thread holds the lock (a claim or disown in
//        progress, a few instructions): the child's copy of the lock stays
//        held and every slow path on that object spins there. Not supported,
//        like everything another thread was doing at the fork.
//
// THE FAST PATH AND REUSE
//   is(self) compares the slot with the caller's record: equal only if the
//   caller stored it (only a claimer stores, and it stores its own record),
//   and the caller is alive (it is calling). No other thread can hold that
//   address while the slot names it (S6). A thread with a dead owner's
//   std::thread::id is a different record: it takes over (S3), never passes
//   as the old owner (MUTANT owner_check_os_id: it does, without S3's
//   ordering). The only check left on a std::thread::id is a reservation for
//   another thread (S2): if that thread ends before its first claim, a later
//   thread that gets its id claims the slot.
//
// ATOMICS (rows of docs/design.md's table, section 3.11)
//   [O1] is         word_ load              relaxed   the owner reads its own store (coherence)
//   [O2] slot       word_ load / store      relaxed   under the lock ([O3]/[O4] order them)
//   [O3] lock       locked_ exchange(true)  acquire   pairs with [O4]
//   [O4] unlock     locked_ store(false)    release   the holder's slot writes and acts before
//   [O5] spin       locked_ load            relaxed   wait for the holder, then [O3] again
#ifndef MPSCQ_DETAIL_OWNER_SLOT_HPP
#define MPSCQ_DETAIL_OWNER_SLOT_HPP

#include <atomic>
#include <optional>

#include <mpscq/detail/atomic.hpp>
#include <mpscq/detail/mutants.hpp>
#include <mpscq/detail/thread_identity.hpp>

namespace mpscq::detail {

class owner_slot {
 public:
  /// What claim() decided.
  enum class verdict {
    owner,      // the caller owns the slot (it did, or it claimed a free / its reserved slot)
    took_over,  // the caller owns it now: the previous owner's thread had ended (S3)
    other,      // a live thread owns it, or it is reserved for another thread's id
  };

  /// A free slot, or one reserved for `os` (S2). When `os` is the id of
  /// `self` (the constructing thread's record, or nullptr), the slot names
  /// `self` at once: no reservation by id is left to be fooled.
  explicit owner_slot(std::optional<thread_id> os = std::nullopt, thread_record* self = nullptr) noexcept {
    if (os && self != nullptr && *os == self->os_id()) {
      self->retain();                                // [I3] the slot's reference (S6)
      word_.store(self, std::memory_order_relaxed);  // [O2] published with the object
    } else {
      reserved_ = os;
    }
  }
  owner_slot(const owner_slot&) = delete;
  owner_slot& operator=(const owner_slot&) = delete;
  /// Drops the slot's reference on its record (S6).
  ~owner_slot() { clear(); }

  /// The fast path: true if `self` (the caller's record, or nullptr) owns the
  /// slot. Only meaningful for the caller's own record.
  bool is(const thread_record* self) const noexcept {
    if constexpr (mutant::owner_check_os_id) {
      // MUTANT (the old owner check): compares std::thread::id, so a thread
      // that got a dead owner's id passes as that owner, with nothing that
      // orders the dead owner's acts before its own (S3 skipped).
      lock();
      const thread_record* cur = word_.load(std::memory_order_relaxed);  // [O2]
      const bool same = self != nullptr && cur != nullptr && cur->os_id() == self->os_id();
      unlock();
      return same;
    } else {
      // [O1] Relaxed: only the caller itself stores its record here; any
      // other value makes it take the slow path (claim()).
      return self != nullptr && word_.load(std::memory_order_relaxed) == self;
    }
  }

  /// The slow path: makes `self` the owner if it may be (S2, S3, S5).
  verdict claim(thread_record* self) noexcept {
    thread_record* dropped = nullptr;
    verdict v = verdict::other;
    // (MUTANT owner_takeover_unlocked: no lock around the decision and the
    // store; two claimers of an ended owner both take over, R1.)
    constexpr bool locked = !mutant::owner_takeover_unlocked;
    if (locked) lock();
    thread_record* cur = word_.load(std::memory_order_relaxed);  // [O2]
    if (cur == self) {
      v = verdict::owner;
    } else if (cur == nullptr) {
      if (!reserved_ || *reserved_ == self->os_id()) {
        self->retain();  // [I3] the slot's reference (S6)
        word_.store(self, std::memory_order_relaxed);  // [O2]
        reserved_.reset();
        v = verdict::owner;
      }
    } else if (cur->ended()) {  // [I1] S3: synchronizes with the owner's end
      self->retain();  // [I3]
      word_.store(self, std::memory_order_relaxed);  // [O2]
      dropped = cur;
      v = verdict::took_over;
    } else if (same_thread(*cur, *self) || (mutant::owner_check_os_id && cur->os_id() == self->os_id())) {
      v = verdict::owner;  // S5 (the mutant: any record with the same id)
    } else if (cur->process() != current_process()) {
      // S3a: the owner is a thread of the process this one was fork()ed
      // from that did not fork (the forking thread's record moved to this
      // process in the child's fork handler): it does not exist here, so it
      // has ended, as far as this process can tell. The caller takes over (and asks for the parent's items: it
      // runs or closes them). Only the forking thread exists in the child
      // when the slot's copy is made, so nothing is left to order.
      self->retain();  // [I3]
      word_.store(self, std::memory_order_relaxed);  // [O2]
      dropped = cur;
      v = verdict::took_over;
    }
    if (locked) unlock();
    if (dropped != nullptr) thread_record::release(dropped);  // [I4] the slot's old reference
    return v;
  }

  /// The caller (the owner) gives the slot up (disown(), S4); or the object
  /// is going away. Drops the slot's reference.
  void clear() noexcept {
    lock();
    thread_record* cur = word_.load(std::memory_order_relaxed);  // [O2]
    word_.store(nullptr, std::memory_order_relaxed);              // [O2]
    unlock();
    if (cur != nullptr) thread_record::release(cur);  // [I4]
  }

  /// True if the slot is free and reserved for a thread (S2) - for the
  /// misuse report that says so.
  bool reserved_for_another() const noexcept {
    lock();
    const bool reserved = word_.load(std::memory_order_relaxed) == nullptr && reserved_.has_value();  // [O2]
    unlock();
    return reserved;
  }

  /// True if `self` owns the slot, through the fast path or S5 - without
  /// claiming it. For the destructor's "from inside its own item" check.
  bool holds(const thread_record* self) const noexcept {
    if (self == nullptr) return false;
    if (is(self)) return true;
    lock();
    const thread_record* cur = word_.load(std::memory_order_relaxed);  // [O2]
    const bool same = cur != nullptr && same_thread(*cur, *self);
    unlock();
    return same;
  }

 private:
  // S5: `a` (named by the slot) is the live thread that `b` (the caller's own
  // record, alive) is.
  static bool same_thread(const thread_record& a, const thread_record& b) noexcept {
    return a.os_id() == b.os_id() && a.process() == b.process() && !a.ended();  // [I1]
  }

  void lock() const noexcept {
    constexpr std::memory_order acquire = mutant::weaken_if(mutant::owner_lock_relaxed, std::memory_order_acquire);
    // [O3] Acquire: pairs with the previous holder's [O4], so its slot writes
    // (and, for disown(), everything its thread did before) are visible.
    // (MUTANT owner_lock_relaxed: relaxed, here and in unlock().)
    while (locked_.exchange(true, acquire)) {
      // [O5] Relaxed: only waits until the holder is gone, then [O3] again.
      // The holder runs a few instructions (no user code, no allocation).
      while (locked_.load(std::memory_order_relaxed)) yield_thread();
    }
  }

  void unlock() const noexcept {
    // [O4] Release: pairs with [O3].
    locked_.store(false, mutant::weaken_if(mutant::owner_lock_relaxed, std::memory_order_release));
  }

  mutable atomic<bool> locked_{false};
  atomic<thread_record*> word_{nullptr};
  std::optional<thread_id> reserved_;  // under the lock (S2)
};

}  // namespace mpscq::detail

#endif  // MPSCQ_DETAIL_OWNER_SLOT_HPP
