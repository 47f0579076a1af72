// Relacy model of mpscq::detail::adder_gate alone (include/mpscq/detail/
// adder_gate.hpp), run on the real header through the detail/ seam: with
// MPSCQ_MODEL_RELACY defined every operation on the gate's word is an
// rl::atomic operation with its real memory order.
//
//   adder_gate_model <model> [random N | bound K | full]   (default random 200000)
//
// The gate's contract, as task_work and local_work use it: every add enters
// the gate before it touches the object (its push) and leaves as its last
// access; a closer sets the closed bit and waits until no add is inside, then
// reads (or frees) what the adds wrote. An add whose enter() returns the
// closed bit does not push (it runs its item itself / hands it elsewhere).
//
// Models (threads in brackets):
//
//  drain [2 adders x 2 adds, 1 closer]
//    Each add: enter(); unless the closed bit came back, a push-like write
//    of its own rl::var slot; leave(). The closer writes an rl::var note,
//    close()s, wait_drained()s, then reads every add's slot. Checks:
//     a. every write of an add that entered before close() happens-before
//        the closer's read (G2 release / G4 acquire): DATA RACE on the slot
//        otherwise - "in read_slots";
//     b. an add that sees the closed bit sees what the closer did before
//        close() (G1 acquire / G3 release): it reads the note - DATA RACE
//        "in read_note" otherwise;
//     c. wait_drained() never returns while an add that entered before
//        close() is still inside (an observer on plain memory, exact because
//        Relacy switches threads only at model operations): "drained while an
//        add that entered before close() was inside";
//     d. every add that did not see the closed bit wrote its slot, and the
//        closer read it after the write: "the closer missed an add's write";
//     e. enter() returns the count of adds inside its shard (plain
//        observer) and a closed bit only once close() began, never none
//        after it returned; close() returns the bits before it: "enter()
//        returned a wrong count", "enter() returned a wrong closed bit",
//        "close() returned a wrong word".
//     f. added() (the shards' done fields, issue 21) counts exactly the
//        adds that pushed - they leave through leave_added(), the one RMW
//        that takes them out of the count and adds 1 to done - and none of
//        those that saw the closed bit (leave(), uncounted): "added()
//        missed or invented an add".
//    The gate is split into shards (MPSCQ_GATE_SHARDS, default 4); the model
//    build picks an add's shard from its Relacy thread index, so the two
//    adders count on shards 0 and 1 and the closer's per-shard fetch_or
//    interleaves with them: an add may enter shard 1 after close() set the
//    bit in shard 0 (it is then waited for, as if it came first).
//    Catches GATE_RELAXED (leave()'s release fetch_sub and wait_drained()'s
//    acquire load relaxed): a - DATA RACE in read_slots. Catches
//    GATE_CLOSE_ONE_SHARD (close() and wait_drained() reach shard 0 only):
//    the add on shard 1 neither sees the bit nor is waited for - c.
//
//  drain_except [2 adders x 2 adds, 1 closer with an add of its own inside]
//    As drain, but the closer has entered the gate itself before it closes,
//    and never leaves before its wait: an add of its own thread below it
//    that called exit() from inside its scheduler call (task_work's
//    destructor and close() under exit()). It waits with
//    wait_drained_except(its own count, on its shard) - with two shards,
//    Relacy thread 2 counts on shard 0, which adder 0 shares - then reads
//    every slot, and leaves. Checks a-e as in drain, with "inside" counting
//    everyone but the closer's own add. Catches GATE_RELAXED (a) and
//    GATE_CLOSE_ONE_SHARD (c) as drain does.
//
//  destroy [1 adder x 1 add, 1 owner that closes twice and destroys]
//    The add enters, "pushes" (a release flag: the owner learns from it that
//    the add began, as task_work's owner learns it from the item), then still
//    writes its slot (its accesses after the push: the wake, the scheduler
//    call) and leaves. The owner waits for the flag, then runs the
//    destructor's sequence: close(closed), close(closed | destroying) (a
//    second close: the count is still waited for), wait_drained(), reads the
//    slot, and destroys the gate's memory (an add still inside would then
//    touch freed memory: ACCESS TO FREED MEMORY). Checks a, c, e, f, and that the
//    bits stick.
//    Catches GATE_RELAXED too (a: the write after the push is ordered before
//    the owner's read only by leave() -> wait_drained()). The add leaves
//    through leave_added() (counted), so this also proves the counted
//    leave's release: GATE_RELAXED weakens both leaves.
//
// Relacy's own headers warn under -Wall -Wextra; they are included as system
// headers, so the warnings target applies to this file's code only.

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <string>

#include <mpscq/detail/adder_gate.hpp>  // pulls in relacy through detail/relacy_seam.hpp

#include "model_cli.hpp"

namespace {

namespace detail = mpscq::detail;
using gate = detail::adder_gate;

// A failed check is the model's verdict: "USER ASSERT FAILED (<what>)".
void check(bool ok, const char* what) {
  if (!ok) rl::ctx().fail_test(what, rl::test_result_user_assert_failed, RL_INFO);
}

// Storage for the gate at its own alignment; destroying it destroys its
// rl::atomic, so a later access is ACCESS TO FREED MEMORY.
class gate_slot {
 public:
  gate& emplace() { return *(object_ = new (raw_) gate()); }
  void destroy() {
    object_->~gate();
    object_ = nullptr;
  }
  gate* get() const { return object_; }
  ~gate_slot() {
    if (object_ != nullptr) destroy();
  }

 private:
  alignas(gate) unsigned char raw_[sizeof(gate)];
  gate* object_ = nullptr;
};

constexpr int max_adders = 2;
constexpr int max_adds = 2;

// What both models share: the adds' slots and the observers.
struct gate_state {
  int adders = 0;
  int adds = 0;
  // The push-like writes: an add's own slot, read by the closer.
  rl::var<int> slot[max_adders][max_adds];
  // The closer's write before close(), read by adds that see the bit.
  rl::var<int> note;
  // Plain observers (exact: Relacy runs one thread at a time and switches
  // only at model operations, so plain code right after one runs with it).
  int inside = 0;                         // adds between enter() and leave()
  int inside_shard[gate::shards] = {};    // of those, per shard
  int inside_before_close = 0;            // of those, adds that entered before close()
  bool closing = false;                   // close() has begun
  bool closed = false;                    // close() has returned
  bool pushed[max_adders][max_adds] = {};  // the add wrote its slot
  bool read[max_adders][max_adds] = {};    // the closer read it after the write

  void init(int a, int n) {
    adders = a;
    adds = n;
    for (int i = 0; i < a; ++i)
      for (int j = 0; j < n; ++j) slot[i][j]($) = 0;
    note($) = 0;
  }

  // One add of adder i: enter, push-like write unless closed, leave.
  void add(gate& g, int i, int j) {
    const gate::ticket t = g.enter();
    const gate::state before = t.before;
    check(t.shard < gate::shards, "enter() returned a wrong shard");
    check((before & gate::count_mask) == static_cast<gate::state>(inside_shard[t.shard]),
          "enter() returned a wrong count");
    check((before & gate::closed) == 0 || closing, "enter() returned a wrong closed bit");
    check((before & gate::closed) != 0 || !closed || mpscq::detail::mutant::gate_close_one_shard,
          "enter() returned a wrong closed bit");
    ++inside;
    ++inside_shard[t.shard];
    const bool entered_before_close = (before & gate::closed) == 0;
    if (entered_before_close) {
      ++inside_before_close;
      write_slot(i, j);
    } else {
      read_note();
    }
    // The add's last access: counted (leave_added(), one RMW that also adds
    // 1 to the shard's done field) when it pushed, uncounted otherwise.
    if (entered_before_close) {
      g.leave_added(t);
    } else {
      g.leave(t);
    }
    // The observers count the add out only once leave() has run (a thread
    // switch can come before any model operation, so not before it).
    if (entered_before_close) --inside_before_close;
    --inside;
    --inside_shard[t.shard];
  }

  void write_slot(int i, int j) {
    slot[i][j]($) = 100 * (i + 1) + j;
    pushed[i][j] = true;
  }

  void read_note() {
    // DATA RACE here unless close()'s release reached this add's enter().
    check(note($) == 1, "an add that saw the closed bit missed the closer's write");
  }

  // The closer: note, close, wait, read.
  gate::state close(gate& g, gate::state bits) {
    closing = true;
    const gate::state before = g.close(bits);
    check((before & gate::count_mask) == 0, "close() returned a wrong word");
    closed = true;
    return before;
  }

  // `own`: adds of the closer's own thread that are still inside.
  void drained(gate& g, int own = 0) {
    check(inside_before_close == own, "drained while an add that entered before close() was inside");
    read_slots();
    // f. the done fields count exactly the adds that pushed (each left
    //    through leave_added() before the drain), none that saw the bit.
    check(g.added() == static_cast<gate::state>(pushes()), "added() missed or invented an add");
  }

  int pushes() const {
    int n = 0;
    for (int i = 0; i < adders; ++i)
      for (int j = 0; j < adds; ++j) n += pushed[i][j] ? 1 : 0;
    return n;
  }

  void read_slots() {
    for (int i = 0; i < adders; ++i)
      for (int j = 0; j < adds; ++j) {
        // DATA RACE here unless every leave() before the drain synchronizes
        // with wait_drained()'s load.
        const int v = slot[i][j]($);
        if (pushed[i][j]) {
          check(v == 100 * (i + 1) + j, "the closer missed an add's write");
          read[i][j] = true;
        }
      }
  }
};

// --- drain -----------------------------------------------------------------

struct drain : rl::test_suite<drain, 3> {
  static constexpr int adders = 2;
  static constexpr int adds = 2;

  gate_state s;
  gate_slot g;

  void before() {
    s.init(adders, adds);
    g.emplace();
  }

  void thread(unsigned index) {
    if (index < adders) {
      for (int j = 0; j < adds; ++j) s.add(*g.get(), static_cast<int>(index), j);
      return;
    }
    s.note($) = 1;
    s.close(*g.get(), gate::closed);
    g.get()->wait_drained();
    s.drained(*g.get());
  }

  void after() {
    for (int i = 0; i < adders; ++i)
      for (int j = 0; j < adds; ++j) check(!s.pushed[i][j] || s.read[i][j], "the closer missed an add's write");
    check(s.inside == 0, "an add never left");
    g.destroy();
  }
};

// --- drain_except ----------------------------------------------------------

struct drain_except : rl::test_suite<drain_except, 3> {
  static constexpr int adders = 2;
  static constexpr int adds = 2;

  gate_state s;
  gate_slot g;

  void before() {
    s.init(adders, adds);
    g.emplace();
  }

  void thread(unsigned index) {
    if (index < adders) {
      for (int j = 0; j < adds; ++j) s.add(*g.get(), static_cast<int>(index), j);
      return;
    }
    gate& gt = *g.get();
    // The closer's own add, below it on its stack: entered, never left
    // before the wait.
    const gate::ticket own = gt.enter();
    check((own.before & gate::count_mask) == static_cast<gate::state>(s.inside_shard[own.shard]),
          "enter() returned a wrong count");
    ++s.inside;
    ++s.inside_shard[own.shard];
    ++s.inside_before_close;
    s.note($) = 1;
    s.close(gt, gate::closed);
    gate::own_adds mine;
    mine.count[own.shard] = 1;
    gt.wait_drained_except(mine);
    s.drained(*g.get(), 1);
    gt.leave(own);
    --s.inside_before_close;
    --s.inside;
    --s.inside_shard[own.shard];
  }

  void after() {
    for (int i = 0; i < adders; ++i)
      for (int j = 0; j < adds; ++j) check(!s.pushed[i][j] || s.read[i][j], "the closer missed an add's write");
    check(s.inside == 0, "an add never left");
    g.destroy();
  }
};

// --- destroy ---------------------------------------------------------------

struct destroy : rl::test_suite<destroy, 2> {
  gate_state s;
  gate_slot g;
  detail::atomic<int> pushed{0};  // the add began: what the owner destroys after

  void before() {
    s.init(1, 1);
    g.emplace();
  }

  void thread(unsigned index) {
    if (index == 0) {  // the add
      gate& gt = *g.get();
      const gate::ticket t = gt.enter();
      check(t.before == 0, "enter() returned a wrong word");
      ++s.inside;
      ++s.inside_shard[t.shard];
      ++s.inside_before_close;
      // Release: pairs with the owner's acquire (as an item's run would).
      pushed.store(1, std::memory_order_release);
      s.write_slot(0, 0);  // the add's accesses after its push
      gt.leave_added(t);  // its last access, counted (the release is [A8]'s)
      --s.inside_before_close;  // no model operation in between (see gate_state::add)
      --s.inside;
      --s.inside_shard[t.shard];
      return;
    }
    // The owner: destroys once the add began (allowed: it waits the add out).
    while (pushed.load(std::memory_order_acquire) == 0) detail::yield_thread();
    gate& gt = *g.get();
    s.close(gt, gate::closed);
    const gate::state second = s.close(gt, gate::closed | gate::destroying);
    check((second & (gate::closed | gate::destroying)) == gate::closed, "the second close() returned a wrong word");
    gt.wait_drained();
    check(gt.is_closed() && gt.is_destroying() && gt.in_flight() == 0, "the bits did not stick");
    s.drained(*g.get());
    g.destroy();
  }

  void after() { check(s.pushed[0][0] && s.read[0][0], "the closer missed an add's write"); }
};

constexpr model_cli::model models[] = {{"drain", &model_cli::simulate<drain>},
                                        {"drain_except", &model_cli::simulate<drain_except>},
                                        {"destroy", &model_cli::simulate<destroy>}};

}  // namespace

int main(int argc, char** argv) { return model_cli::run_main(argc, argv, "adder-gate-model", models, 200000); }
