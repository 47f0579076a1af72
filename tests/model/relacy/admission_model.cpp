// Relacy models of bounded admission (detail/admission.hpp: the room counter
// and the sleeping protocol of producers that wait for room) on the real
// headers: local_work's try_add / try_add_until and its core's hooks
// (detail/local_work_core.hpp: enter_bounded(), take_room_waiting(), the
// pass's release [L30], close()'s wake [L31]) through the detail/ seam. A
// producer that waits for room sleeps in rl::rl_futex, so a lost wake is a
// DEADLOCK (nothing else can end an untimed sleep).
//
//   admission_model <scenario> [random N | bound K | full]   (default: random 100000)
//
// Scenarios (limit 1 everywhere, so one queued item fills the object):
//   room     two producers each try_add_until(item, time_point::max()) (no
//            deadline) while the owner runs wait(1, forever) until both
//            items ran. One of them waits for the room the other's item
//            holds; only the owner's pass gives it back and wakes it (W1,
//            W3). The owner checks depth <= limit after each wait (only
//            bounded adds come in) and deletes the object as soon as both
//            ran (a producer may still be inside its add: waited out).
//            ADMISSION_NO_RECHECK,
//            ADMISSION_RELAXED, ADMISSION_WAKE_BEFORE_RELEASE: DEADLOCK (the
//            producer asleep for room, the owner asleep for an item).
//   close    a producer try_add()s one item (the room) and then waits for
//            room for a second; the owner closes at any point. The waiting
//            add returns closed and keeps its item (not run); the first item
//            runs exactly once (cancelled by close()'s drain when close() came
//            after it, never when close() came first). ADMISSION_CLOSE_NO_WAKE:
//            the producer sleeps through close(), which waits the gate
//            drained for ever (DEADLOCK or LIVELOCK: the gate's wait loop
//            yields).
//   destroy  as close, but the owner deletes the object (heap memory, as in
//            local_work_model's teardown) as soon as the producer is inside
//            its waiting add (a probe: the Stop type's stop_requested(),
//            which acquire_wait() calls inside the adder gate, raises a
//            flag). The destructor must wake the producer, wait until it
//            left, and free nothing it still touches (W5): ACCESS TO FREED
//            MEMORY otherwise. ADMISSION_CLOSE_NO_WAKE: DEADLOCK/LIVELOCK.
//   stop     the waiting path with a stop (the std::stop_token overload
//            cannot run under Relacy: detail/stop_token.hpp, model builds).
//            A fake Stop reads a model flag (relaxed: W4 must not rely on
//            the flag's own order, only on the bump's release/acquire); a
//            stopper thread raises it and then calls the core's
//            wake_waiting_adders(), as the std::stop_callback does. The
//            producer holds the room (its first item, never run), so only
//            the stop ends its wait: stopped, item kept.
//            ADMISSION_STOP_BEFORE_SNAPSHOT: DEADLOCK.
//   plain    plain add() on a bounded object is charged, never refused: a
//            producer add()s one item and then try_add()s another before the
//            owner runs anything - that try_add must be refused (full: the
//            plain add's charge holds the room); a second producer waits for
//            room with try_add_until. The owner runs until both accepted
//            items ran; depth returns to 0; the plain item runs uncancelled.
//
// Relacy's headers are system headers, so the project's warnings apply to
// this file only.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include <mpscq/local_work.hpp>  // pulls in relacy through detail/relacy_seam.hpp

#include "model_cli.hpp"

// The test accessor (local_work is its friend): the waiting add with any
// Stop type, as the std::stop_token overload runs it (enter_bounded() with
// take_room_waiting(), then push_admitted()), and the stop callback's wake.
struct mpscq::detail::local_work_access {
  template <class Stop>
  static mpscq::add_status try_add_until(mpscq::local_work& lw, mpscq::work& w,
                                         std::chrono::steady_clock::time_point deadline, const Stop& stop) {
    mpscq::detail::adder_gate::ticket ticket;
    const auto e = lw.enter_bounded(w, "local_work", ticket, [&](mpscq::detail::admission& a) noexcept {
      return lw.take_room_waiting(a, deadline, stop);
    });
    if (e != mpscq::local_work::entry::admitted) return mpscq::local_work::status_of(e);
    lw.push_admitted(w, mpscq::wake::eager, ticket);
    return mpscq::add_status::added;
  }
  static void wake_waiting_adders(mpscq::local_work& lw) { lw.wake_waiting_adders(); }
};

namespace {

constexpr auto forever = std::chrono::nanoseconds::max();
constexpr auto no_deadline = std::chrono::steady_clock::time_point::max();
using access = mpscq::detail::local_work_access;

struct model_item : mpscq::work {
  rl::var<int> payload;  // written by the producer before the add, read when run
  int producer = 0;
  int runs = 0;  // plain: Relacy runs one thread at a time
  bool cancelled = false;

  model_item() { func = &model_item::run; }

  void prepare(int p) {
    producer = p;
    payload($) = p;
  }

  static void run(mpscq::work& w, mpscq::run_state st) noexcept {
    auto& self = static_cast<model_item&>(w);
    RL_ASSERT(self.payload($) == self.producer && "payload not the producer's");  // DATA RACE if unordered
    ++self.runs;
    RL_ASSERT(self.runs == 1 && "item ran twice");
    self.cancelled = st.cancel;
  }
};

// A bounded local_work (limit 1, owner: Relacy thread 0) on Relacy's heap, as
// local_work_model.cpp's heap_local_work: the storage comes from the plain
// ::operator new (Relacy's), aligned here, so a use after the free reports
// ACCESS TO FREED MEMORY.
class heap_local_work {
  mpscq::detail::model_thread_identities<4> identities_;

 public:
  // owned: options.owner is Relacy thread 0 (which must then close() before
  // after() destroys); unowned: nobody claimed it, after() may destroy it.
  mpscq::local_work* create(std::uint32_t limit = 1, bool owned = true) {
    constexpr std::size_t align = alignof(mpscq::local_work);
    base_ = ::operator new(sizeof(mpscq::local_work) + align);
    void* p = base_;
    std::size_t space = sizeof(mpscq::local_work) + align;
    std::align(align, sizeof(mpscq::local_work), p, space);
    mpscq::local_work_options options;
    if (owned) options.owner = 0u;
    options.limit = limit;
    return lw_ = new (p) mpscq::local_work(options);
  }
  void destroy() {
    if (lw_ == nullptr) return;
    lw_->~local_work();
    ::operator delete(base_);
    lw_ = nullptr;
  }

 private:
  void* base_ = nullptr;
  mpscq::local_work* lw_ = nullptr;
};

// A model flag (detail/ seam's atomic: an rl::atomic with real orders).
using flag = mpscq::detail::atomic<bool>;

void spin_until(const flag& f) {
  while (!f.load(std::memory_order_acquire)) rl::yield(1, $);
}

// Stop types for the core's waiting path (anything with a const
// stop_requested()).
struct flag_stop {  // the stopper's request: a relaxed flag (see the header comment)
  const flag* requested;
  bool stop_requested() const noexcept { return requested->load(std::memory_order_relaxed); }
};
struct probe_stop {  // never stops; says "inside the waiting add" when first asked
  flag* inside;
  bool stop_requested() const noexcept {
    inside->store(true, std::memory_order_release);
    return false;
  }
};

// --- room ---------------------------------------------------------------------
struct room : rl::test_suite<room, 3> {
  heap_local_work heap;
  mpscq::local_work* lw = nullptr;
  model_item items[2];
  mpscq::add_status status[2] = {mpscq::add_status::full, mpscq::add_status::full};
  int ran = 0;
  std::uint64_t depth_after = 1;
  std::uint64_t refused_after = 1;

  void before() { lw = heap.create(1); }
  void thread(unsigned index) {
    if (index == 0) {
      while (ran < 2) {
        ran += lw->wait(1, forever);
        // Only bounded adds come in: every depth in the counter's history is
        // within the limit (a relaxed snapshot reads one of them).
        RL_ASSERT(lw->stats().depth <= 1 && "a bounded add took the depth past the limit");
      }
      depth_after = lw->stats().depth;
      refused_after = lw->stats().refused;
      // Deleted at once: a producer may still be inside its add (its wake
      // rule, its leave()) - the destructor must wait it out.
      heap.destroy();
    } else {
      model_item& it = items[index - 1];
      it.prepare(static_cast<int>(index));
      status[index - 1] = lw->try_add_until(it, no_deadline);
      // Nothing of the object may be touched from here on: it may be gone.
    }
  }
  void after() {
    RL_ASSERT(ran == 2 && "wait() ran more than was added");
    for (int i = 0; i < 2; ++i) {
      RL_ASSERT(status[i] == mpscq::add_status::added && "a waiting add without deadline gave up");
      RL_ASSERT(items[i].runs == 1 && !items[i].cancelled && "item lost");
    }
    RL_ASSERT(depth_after == 0 && "room not given back");
    RL_ASSERT(refused_after == 0);
  }
};

// --- close --------------------------------------------------------------------
struct close_wait : rl::test_suite<close_wait, 2> {
  heap_local_work heap;
  mpscq::local_work* lw = nullptr;
  model_item first;
  model_item second;
  mpscq::add_status s1 = mpscq::add_status::full;
  mpscq::add_status s2 = mpscq::add_status::full;

  void before() { lw = heap.create(1); }
  void thread(unsigned index) {
    if (index == 0) {
      lw->close();  // anywhere: before the first add, between, or while the second waits
    } else {
      first.prepare(1);
      second.prepare(2);
      s1 = lw->try_add(first);
      s2 = lw->try_add_until(second, no_deadline);  // no room (first holds it, nothing runs): only close() ends it
    }
  }
  void after() {
    RL_ASSERT((s1 == mpscq::add_status::added || s1 == mpscq::add_status::closed) && "try_add: neither");
    RL_ASSERT(s2 == mpscq::add_status::closed && "the waiting add did not end with closed");
    RL_ASSERT(second.runs == 0 && "a refused item ran");
    if (s1 == mpscq::add_status::added) {
      RL_ASSERT(first.runs == 1 && first.cancelled && "the queued item lost, or not cancelled by close()");
    } else {
      RL_ASSERT(first.runs == 0 && "a refused item ran");
    }
    RL_ASSERT(lw->stats().depth == 0 && "room not given back by close()'s drain");
    heap.destroy();
  }
};

// --- destroy ------------------------------------------------------------------
struct destroy : rl::test_suite<destroy, 2> {
  heap_local_work heap;
  mpscq::local_work* lw = nullptr;
  model_item first;
  model_item second;
  flag inside{false};
  mpscq::add_status s1 = mpscq::add_status::full;
  mpscq::add_status s2 = mpscq::add_status::full;

  void before() { lw = heap.create(1); }
  void thread(unsigned index) {
    if (index == 0) {
      spin_until(inside);  // the producer is inside its waiting add (inside the gate)
      heap.destroy();      // close(): wake it, wait it out, drain `first`, free
    } else {
      first.prepare(1);
      second.prepare(2);
      s1 = lw->try_add(first);  // the room: nothing runs it before the destructor
      s2 = access::try_add_until(*lw, second, no_deadline, probe_stop{&inside});
      // Nothing of the object may be touched from here on: it may be gone.
    }
  }
  void after() {
    RL_ASSERT(s1 == mpscq::add_status::added && "the first add was refused");
    RL_ASSERT(s2 == mpscq::add_status::closed && "the waiting add did not end with closed");
    RL_ASSERT(first.runs == 1 && first.cancelled && "the queued item lost, or not cancelled by the destructor");
    RL_ASSERT(second.runs == 0 && "a refused item ran");
  }
};

// --- stop ---------------------------------------------------------------------
// No owner thread: nobody runs, so the room stays taken, and no thread spins
// (a spinning thread lets Relacy wake a sleeper spuriously, which would hide
// a lost wake); after() destroys the unclaimed object.
struct stop : rl::test_suite<stop, 2> {
  heap_local_work heap;
  mpscq::local_work* lw = nullptr;
  model_item first;
  model_item second;
  flag requested{false};
  mpscq::add_status s1 = mpscq::add_status::full;
  mpscq::add_status s2 = mpscq::add_status::full;

  void before() { lw = heap.create(1, /*owned=*/false); }
  void thread(unsigned index) {
    if (index == 0) {
      // The stopper (std::stop_source::request_stop(), then the callback).
      requested.store(true, std::memory_order_relaxed);
      access::wake_waiting_adders(*lw);
    } else {
      first.prepare(1);
      second.prepare(2);
      s1 = lw->try_add(first);  // the room, never given back (nothing runs)
      s2 = access::try_add_until(*lw, second, no_deadline, flag_stop{&requested});
    }
  }
  void after() {
    RL_ASSERT(s1 == mpscq::add_status::added && "the first add was refused");
    RL_ASSERT(s2 == mpscq::add_status::stopped && "the waiting add did not end with stopped");
    RL_ASSERT(second.runs == 0 && "a refused item ran");
    RL_ASSERT(lw->stats().refused == 1);
    heap.destroy();  // runs `first`, cancelled
    RL_ASSERT(first.runs == 1 && first.cancelled && "the queued item lost");
  }
};

// --- plain --------------------------------------------------------------------
struct plain : rl::test_suite<plain, 3> {
  heap_local_work heap;
  mpscq::local_work* lw = nullptr;
  model_item charged;   // producer 1: plain add()
  model_item refused;   // producer 1: try_add() right after it, before anything ran
  model_item waiting;   // producer 2: try_add_until()
  flag adds_done{false};
  mpscq::add_status s_refused = mpscq::add_status::added;
  mpscq::add_status s_waiting = mpscq::add_status::full;
  int ran = 0;

  void before() { lw = heap.create(1); }
  void thread(unsigned index) {
    if (index == 0) {
      spin_until(adds_done);  // nothing runs before producer 1's try_add
      while (ran < 2) ran += lw->wait(1, forever);
      lw->close();
    } else if (index == 1) {
      charged.prepare(1);
      refused.prepare(1);
      lw->add(charged);  // charged, never refused (it may take the depth past the limit)
      s_refused = lw->try_add(refused);
      adds_done.store(true, std::memory_order_release);
    } else {
      waiting.prepare(2);
      s_waiting = lw->try_add_until(waiting, no_deadline);
    }
  }
  void after() {
    RL_ASSERT(ran == 2 && "wait() ran more than was added");
    RL_ASSERT(s_refused == mpscq::add_status::full && "try_add admitted past the plain add's charge");
    RL_ASSERT(s_waiting == mpscq::add_status::added && "a waiting add without deadline gave up");
    RL_ASSERT(charged.runs == 1 && !charged.cancelled && "the plain add's item lost");
    RL_ASSERT(waiting.runs == 1 && !waiting.cancelled && "the waiting add's item lost");
    RL_ASSERT(refused.runs == 0 && "a refused item ran");
    RL_ASSERT(lw->stats().depth == 0 && "room not given back");
    RL_ASSERT(lw->stats().refused == 1);
    heap.destroy();
  }
};

}  // namespace

int main(int argc, char** argv) {
  const model_cli::model models[] = {
      {"room", &model_cli::simulate<room>},       {"close", &model_cli::simulate<close_wait>},
      {"destroy", &model_cli::simulate<destroy>}, {"stop", &model_cli::simulate<stop>},
      {"plain", &model_cli::simulate<plain>},
  };
  return model_cli::run_main(argc, argv, "admission-model", models, 100000);
}
