// Relacy model of mpscq::detail::split_ref alone (include/mpscq/detail/
// split_ref.hpp), run on the real header through the detail/ seam: with
// MPSCQ_MODEL_RELACY defined every operation on its shard and central words
// is an rl::atomic operation with its real memory order, and each thread
// counts on the shard of its Relacy index (thread i on shard i).
//
//   split_ref_model <model>|all [random N | bound K | full]   (default random 200000)
//
// The contract, as mpscq/asio.hpp uses it: the owner (a context's handle)
// holds the bias; every queued function holds a reference, taken by the
// thread that queues it while it holds one itself, and dropped by the thread
// that runs it, as its last access. The owner kill()s; whoever brings the
// count to zero gets the release token and runs the stages (shut the
// services down, destroy them, free the object), calling stage_done()
// between them. A stage may take new references (a destroyed handler posts
// again); the token then passes to the put() that drops the last of them.
//
// Observers (plain memory, exact because Relacy switches threads only at
// model operations, and each is updated right after the operation that
// changes the count, with no model operation in between):
//   held        references held (the owner's bias counts as one);
//   token_held  a thread holds the release token: from the put()/kill() that
//               returned true to the stage_done() that gave it back;
//   stages_run  stages run so far (0, 1, 2).
// Checks:
//   a. a stage starts only when no reference is held: "released while a
//      reference was held";
//   b. two stages never overlap and none runs twice: "two stages at once",
//      "a stage ran twice";
//   c. what every holder wrote before dropping its reference happens-before
//      the stage that follows (an rl::var per holder, read in the stage):
//      DATA RACE "in read_holders";
//   d. every stage runs, once: "the release did not finish" (after());
//   e. the last stage frees the object; any access after that (a put() or
//      kill() that goes on after another thread released) is ACCESS TO FREED
//      MEMORY.
//
// Models (threads in brackets):
//
//  chain [3: owner, two runners]
//    The owner queues function A (get) for runner 1, writes its note and
//    kill()s. Runner 1 runs A: it queues B (get) for runner 2, writes, and
//    drops A. Runner 2 runs B, writes, drops B. The kill() races with both
//    puts on every shard (the owner's fetch_or visits shards 0..3 in order;
//    the runners' puts land before or after it on theirs). Whoever reaches
//    zero runs both stages.
//    Catches SPLIT_REF_PUT_RELAXED (put()'s release, kill()'s acquire): c -
//    DATA RACE in read_holders. Catches SPLIT_REF_NO_BIAS (the owner's
//    reference a plain 1): runner 2's put of B on its killed shard takes the
//    central count to zero before kill() added the sum, while A is held - a,
//    or e when the early release frees the object under kill().
//
//  resurrect [3: owner, two runners]
//    The owner kill()s first, with nothing queued: it gets the token at once
//    and runs stage 1, which queues C (get: a handler destroyed by the
//    shutdown posts again) for runner 1, writes, and calls stage_done().
//    Runner 1 runs C, queues D for runner 2 (get), drops C. Runner 2 drops D.
//    The token either stays with the owner (the count was zero again at
//    stage_done) or passes to the put() that drops the last reference.
//    Catches SPLIT_REF_CLAIM_HELD_TOKEN (a count that reaches zero hands out
//    the token while it is held): a put that drops the last reference while
//    the owner is still inside stage 1 starts stage 2 next to it - b.
//
// Relacy's own headers warn under -Wall -Wextra; they are included as system
// headers, so the warnings target applies to this file's code only.

#include <cstdio>
#include <new>

#include <mpscq/detail/split_ref.hpp>  // pulls in relacy through detail/relacy_seam.hpp

#include "model_cli.hpp"

namespace {

namespace detail = mpscq::detail;
using detail::split_ref;

void check(bool ok, const char* what) {
  if (!ok) rl::ctx().fail_test(what, rl::test_result_user_assert_failed, RL_INFO);
}

// Storage for the split_ref; the last stage destroys it (its rl::atomics
// poison themselves), so a later access is ACCESS TO FREED MEMORY.
class ref_slot {
 public:
  split_ref& emplace() { return *(object_ = new (raw_) split_ref()); }
  void destroy() {
    object_->~split_ref();
    object_ = nullptr;
  }
  split_ref& get() const { return *object_; }
  bool alive() const { return object_ != nullptr; }
  ~ref_slot() {
    if (object_ != nullptr) destroy();
  }

 private:
  alignas(split_ref) unsigned char raw_[sizeof(split_ref)];
  split_ref* object_ = nullptr;
};

constexpr int holders = 3;  // one note per thread

// What both models share: the object, the observers and the stages.
struct ref_state {
  ref_slot slot;
  split_ref* ref = nullptr;  // stays valid as an address after the free (the poisoned rl::atomics)
  rl::var<int> note[holders];  // what thread i wrote before dropping its reference
  bool wrote[holders] = {};
  int held = 1;  // the owner's bias
  bool token_held = false;
  int stages_run = 0;

  void init() {
    ref = &slot.emplace();
    for (auto& n : note) n($) = 0;
  }

  void get() {
    ref->get();
    ++held;  // right after the RMW (see the header comment)
  }
  // Drops a reference; runs the release if that was the last.
  void put() {
    const bool last = ref->put();
    --held;  // right after the RMW that dropped it
    if (last) release();
  }
  void kill() {
    const bool last = ref->kill();
    --held;
    if (last) release();
  }

  void write_note(int i) {
    note[i]($) = i + 1;
    wrote[i] = true;
  }
  void read_holders() {
    for (int i = 0; i < holders; ++i) {
      // DATA RACE here unless thread i's put (or kill) happens-before.
      const int v = note[i]($);
      if (wrote[i]) check(v == i + 1, "a stage missed a holder's write");
    }
  }

  // The token's holder: run stages until stage_done() says references are
  // held (or the object is freed).
  void release() {
    check(!token_held, "two stages at once");  // the token was handed out while held
    token_held = true;
    for (;;) {
      check(held == 0, "released while a reference was held");
      check(stages_run < 2, "a stage ran twice");
      const int stage = ++stages_run;
      read_holders();
      if (stage == 1) on_stage_one();
      if (stage == 2) {
        slot.destroy();  // the last stage frees the object (the token is never given back)
        return;
      }
      if (!ref->stage_done()) {
        token_held = false;  // right after the CAS that gave it back
        return;
      }
    }
  }

  // The `resurrect` model's stage 1 queues C; set by that model.
  void (*stage_one)(ref_state&) = nullptr;
  void on_stage_one() {
    if (stage_one != nullptr) stage_one(*this);
  }
};

// Wait for a release flag (a queue hand-off stand-in); every spin yields.
void wait_for(detail::atomic<int>& flag) {
  while (flag.load(std::memory_order_acquire) == 0) detail::yield_thread();
}

// --- chain -----------------------------------------------------------------

struct chain : rl::test_suite<chain, 3> {
  ref_state s;
  detail::atomic<int> queued_a{0};
  detail::atomic<int> queued_b{0};

  void before() { s.init(); }

  void thread(unsigned index) {
    if (index == 0) {  // the owner: queue A, then let go
      s.get();
      queued_a.store(1, std::memory_order_release);  // the push
      s.write_note(0);
      s.kill();
      return;
    }
    if (index == 1) {  // runs A, which queues B
      wait_for(queued_a);
      s.get();
      queued_b.store(1, std::memory_order_release);
      s.write_note(1);
      s.put();
      return;
    }
    wait_for(queued_b);  // runs B
    s.write_note(2);
    s.put();
  }

  void after() {
    check(s.stages_run == 2, "the release did not finish");
    check(s.held == 0, "a reference was never dropped");
  }
};

// --- resurrect -------------------------------------------------------------

struct resurrect : rl::test_suite<resurrect, 3> {
  ref_state s;
  detail::atomic<int> queued_c{0};
  detail::atomic<int> queued_d{0};

  static resurrect*& current() {
    static resurrect* r = nullptr;
    return r;
  }

  void before() {
    s.init();
    current() = this;
    s.stage_one = [](ref_state& st) {
      // A handler destroyed by the shutdown posts again: a reference taken
      // while the count is zero, by the token's holder.
      st.get();
      current()->queued_c.store(1, std::memory_order_release);
      st.write_note(0);
    };
  }

  void thread(unsigned index) {
    if (index == 0) {
      s.kill();  // nothing queued: the owner gets the token and runs stage 1
      return;
    }
    if (index == 1) {  // runs C, which queues D
      wait_for(queued_c);
      s.get();
      queued_d.store(1, std::memory_order_release);
      s.write_note(1);
      s.put();
      return;
    }
    wait_for(queued_d);
    s.write_note(2);
    s.put();
  }

  void after() {
    check(s.stages_run == 2, "the release did not finish");
    check(s.held == 0, "a reference was never dropped");
  }
};

constexpr model_cli::model models[] = {{"chain", &model_cli::simulate<chain>},
                                        {"resurrect", &model_cli::simulate<resurrect>}};

}  // namespace

int main(int argc, char** argv) { return model_cli::run_main(argc, argv, "split-ref-model", models, 200000); }
