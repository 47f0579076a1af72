// Relacy model of mpscq::queue, run on the real header (include/mpscq/queue.hpp)
// through the detail/ seam: with MPSCQ_MODEL_RELACY defined, every atomic
// operation of the queue is an rl::atomic operation with its real memory
// order, so the checker explores the interleavings *and* the stale reads the
// C++ memory model allows.
//
// The configuration is fixed at compile time (one executable per
// configuration and per mutant, see queue.cmake):
//   MODEL_PRODUCERS  producer threads (one more thread is the consumer)
//   MODEL_ROUNDS     pushes per producer
//   MODEL_BATCH      nodes per push (1: push; 2: push_batch of a linked chain)
//   MODEL_POOL       nodes each producer owns; fewer than ROUNDS*BATCH means
//                    nodes are reused: the consumer hands every popped node
//                    straight back to its producer, who pushes it again
//   MODEL_POP_BATCH  0: the consumer calls pop(); N > 0: it calls
//                    pop_batch(N, f), and f does the per-node checks (the
//                    node goes back to its producer from inside f, so a
//                    producer may push it again while the batch goes on)
// The scheduler is chosen on the command line:
//   queue_model [random N | bound K | full]      (default: random 200000)
//
// What the model checks (each check can fail; the comment says which mutant
// of detail/mutants.hpp it catches):
//
//  1. Payload visibility. Each node carries an rl::var payload written by the
//     producer before its push and read by the consumer after the pop that
//     returns it. Relacy reports DATA RACE unless the write happens-before the
//     read. Catches QUEUE_LINK_RELAXED (the link store no longer releases the
//     payload) and QUEUE_NEXT_LOAD_RELAXED (pop's loads no longer acquire it).
//
//  2. Per-producer FIFO, no loss, no duplicate: the consumer checks that the
//     payload is exactly the next sequence number of its producer; after the
//     run every item has been received once. A lost link makes the consumer
//     wait for ever (yielding): Relacy reports LIVELOCK.
//
//  3. Empty -> non-empty accounting: pushes that returned true equal pops after
//     which emptied() was true (the queue ends empty). Also checked online:
//     the consumer never closes more cycles than pushes opened (a producer
//     counts its push as opening a cycle right after its exchange, before
//     its link makes the node reachable). With pop_batch the consumer counts
//     the way a batch user sees it, from emptied() after the call, and checks
//     that this is the emptied() of the batch's last hand-out (seen in f), and
//     that a call that handed out nothing did not turn emptied() on. Catches
//     QUEUE_BATCH_EMPTIED_EARLY: "USER ASSERT FAILED (assertion: ... reported
//     before the queue was empty)".
//
//  4. Observer "no node is handed out while a producer can still write it".
//     A producer whose exchange returned node P as the previous tail will
//     still store into P->next (its link step), so P must stay in the queue
//     until that store is done. Plain test-side flags per node (Relacy runs
//     the threads one at a time, and switches only at atomic operations):
//       linker_pending  set by the producer right after its exchange returned
//                       the node; cleared by the consumer when it pops the
//                       node through its `next` (the link is then done);
//       handed_out      set by the consumer when pop() returns the node;
//                       cleared by the owner just before it pushes it again.
//     The consumer asserts that a node handed out as the last one (emptied()
//     after the pop) has no pending linker; the producer asserts that the
//     previous tail its exchange returned has not been handed out. Catches
//     QUEUE_STUB_NOT_REINSERTED (the last node handed out without putting the
//     stub back) and, with pop_batch, QUEUE_BATCH_HANDS_OUT_IN_FLIGHT (a batch
//     that has handed out nodes treats the last linked one as free):
//     "USER ASSERT FAILED (assertion: ... handed out ...)".
//
//  5. Observer "every store to a node's next pointer happens-after the previous
//     store to it". The algorithm needs each of these stores to land after the
//     earlier ones in the modification order of `next` (a link store that an
//     older `next = nullptr` could overwrite is a lost node). C++ only promises
//     that when the earlier store happens-before the later one. Relacy itself
//     cannot show the bad outcome: its modification order is execution order.
//     So each store to `next` is shadowed by a write to an rl::var next to it
//     (node.next_shadow, or stub_shadow for the stub), placed in the same
//     thread just before the store; Relacy reports DATA RACE on the shadow when
//     two such stores are not ordered by happens-before. The stores are:
//       - the producer's `next = nullptr` in publish (and a batch's own links),
//       - the next producer's link store into the previous tail,
//       - the consumer's clear of stub.next when it steps off the stub.
//     Catches QUEUE_TAIL_EXCHANGE_RELAXED (producer B's link into A->next is no
//     longer ordered after producer A's `A->next = nullptr`, nor after the
//     consumer's stub clear) and QUEUE_STUB_CAS_RELAXED (the stub clear is no
//     longer published to the producer that next finds the stub as the tail).
//     Both are reported as DATA RACE on the shadow variable. Without check 5
//     both mutants pass 1M random iterations of the 2-producer model: only
//     this observer sees them.
//
// Producers push through detail::queue_access::publish and ::link, which are
// exactly the two steps of queue::push_batch (and push), so that the model's
// bookkeeping can sit between them.
//
// Builds with the project's warnings (-Wall -Wextra -Wpedantic -Werror);
// Relacy's headers are system headers, so their own warnings stay quiet.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ostream>
#include <streambuf>

#include <mpscq/queue.hpp>  // pulls in relacy through detail/relacy_seam.hpp

#include "model_cli.hpp"

#ifndef MODEL_PRODUCERS
#define MODEL_PRODUCERS 2
#endif
#ifndef MODEL_ROUNDS
#define MODEL_ROUNDS 2
#endif
#ifndef MODEL_BATCH
#define MODEL_BATCH 1
#endif
#ifndef MODEL_POOL
#define MODEL_POOL (MODEL_ROUNDS * MODEL_BATCH)
#endif
#ifndef MODEL_POP_BATCH
#define MODEL_POP_BATCH 0
#endif
// MODEL_POLL=1: the batch consumer calls poll(MODEL_POP_BATCH, f) instead of
// pop_batch (under the model checker the pacer is inert, so this checks that
// poll is pop_batch with nothing of its own in the protocol).
#ifndef MODEL_POLL
#define MODEL_POLL 0
#endif

namespace {

constexpr int producers = MODEL_PRODUCERS;
constexpr int rounds = MODEL_ROUNDS;
constexpr int batch = MODEL_BATCH;
constexpr int pool = MODEL_POOL;
constexpr int pop_batch_max = MODEL_POP_BATCH;
constexpr bool use_poll = MODEL_POLL != 0;
static_assert(!use_poll || pop_batch_max > 0, "MODEL_POLL needs MODEL_POP_BATCH > 0");
static_assert(pop_batch_max >= 0, "MODEL_POP_BATCH: 0 (pop) or the batch size");
constexpr int items_per_producer = rounds * batch;
constexpr int total_items = producers * items_per_producer;
static_assert(pool >= batch && pool % batch == 0, "the pool must hold whole batches");
static_assert(pool <= items_per_producer, "a larger pool than items is pointless");

using access = mpscq::detail::queue_access;

struct item {
  mpscq::node hook;
  rl::var<int> payload;      // check 1, 2: producer * 100 + sequence number
  rl::var<int> next_shadow;  // check 5: written just before every store to hook.next
  int producer = 0;             // which producer owns this node (fixed)
  bool linker_pending = false;  // check 4: a producer's exchange returned this node, link not seen yet
  bool handed_out = false;      // check 4: pop() returned this node, its owner has not pushed it again
};

item* owner(mpscq::node* n) { return mpscq::detail::owner_of<item, mpscq::node, &item::hook>(n); }

// The model's plain-variable accesses go through these named functions, so
// Relacy's report names the check that failed ("DATA RACE ..., in
// read_payload"); the mutant tests in queue.cmake match on those names.

// check 1: the consumer reads what the producer wrote before its push.
int read_payload(item& it) { return it.payload($); }
// check 5: shadows a store to a node's next pointer.
void shadow_next_store(item& it) { it.next_shadow($) = 1; }
// check 5: shadows a store to stub.next (a producer's link, the consumer's clear).
void shadow_stub_next_store(rl::var<int>& stub_shadow, int who) { stub_shadow($) = who; }

struct queue_model : rl::test_suite<queue_model, producers + 1> {
  mpscq::queue q;
  item nodes[producers][pool];

  rl::var<int> stub_shadow;        // check 5 for stub.next
  mpscq::detail::atomic<int> returned[producers];  // nodes the consumer gave back, per producer

  // Consumer-side state (touched by the consumer thread and by after()).
  int received = 0;
  int next_seq[producers] = {};
  int emptied_pops = 0;
  bool stub_clear_unshadowed = true;  // check 5: the consumer is (or was) on the stub in this cycle

  // Producer-side counts, one slot per producer.
  int pushes_found_empty[producers] = {};

  void before() {
    for (int p = 0; p < producers; ++p) {
      returned[p].store(0, std::memory_order_relaxed);
      for (int k = 0; k < pool; ++k) nodes[p][k].producer = p;
    }
  }

  void thread(unsigned index) {
    if (index == producers) {
      consume();
    } else {
      produce(static_cast<int>(index));
    }
  }

  void produce(int p) {
    for (int r = 0; r < rounds; ++r) {
      const int first_seq = r * batch;
      // Reuse: wait until the consumer has given back the nodes of this
      // round's slots (items come back in this producer's FIFO order).
      const int need_returned = first_seq + batch - pool;
      while (returned[p].load(std::memory_order_acquire) < need_returned) rl::yield(1, $);

      item* chain[batch];
      for (int j = 0; j < batch; ++j) {
        const int seq = first_seq + j;
        chain[j] = &nodes[p][seq % pool];
        chain[j]->payload($) = p * 100 + seq;
      }
      for (int j = 0; j < batch; ++j) chain[j]->handed_out = false;  // check 4: ours again
      // The chain's own links (push_batch's precondition), each shadowed.
      for (int j = 0; j + 1 < batch; ++j) {
        shadow_next_store(*chain[j]);
        chain[j]->hook.next.store(&chain[j + 1]->hook, std::memory_order_relaxed);
      }
      // publish() stores last->next = nullptr, then exchanges the tail.
      shadow_next_store(*chain[batch - 1]);
      mpscq::node* prev = access::publish(q, &chain[0]->hook, &chain[batch - 1]->hook);
      const bool found_empty = prev == access::stub(q);
      // check 5: the link store below writes prev->next.
      if (found_empty) {
        shadow_stub_next_store(stub_shadow, 1);
      } else {
        item* before_us = owner(prev);
        // check 4: QUEUE_STUB_NOT_REINSERTED.
        RL_ASSERT(!before_us->handed_out && "producer links behind a node already handed out");
        before_us->linker_pending = true;
        shadow_next_store(*before_us);
      }
      // check 3: counted before the link, which is what makes the node
      // reachable, so the consumer can never close this cycle before it is
      // counted as opened.
      if (found_empty) ++pushes_found_empty[p];
      access::link(prev, &chain[0]->hook);
    }
  }

  int cycles_opened() const {
    int n = 0;
    for (int p = 0; p < producers; ++p) n += pushes_found_empty[p];
    return n;
  }

  // check 3 (online): one more cycle closed, as the consumer sees it.
  void count_emptied() {
    ++emptied_pops;
    RL_ASSERT(emptied_pops <= cycles_opened() &&
              "more empty -> non-empty cycles closed than pushes opened (emptied() reported before the queue was empty)");
  }

  // The checks on one node handed out; `emptied` is c.emptied() right after
  // the hand-out (for pop_batch: inside f, where it describes this node).
  void take(mpscq::node* n, bool emptied) {
    item* it = owner(n);
    it->handed_out = true;
    if (emptied) {
      // check 4: QUEUE_STUB_NOT_REINSERTED. Handed out as the last node:
      // no producer may still be about to store into its next.
      RL_ASSERT(!it->linker_pending && "last node handed out while a producer can still link behind it");
    } else {
      it->linker_pending = false;  // pop() followed our link: that producer is done with it
    }
    // check 1 (DATA RACE on payload) and check 2 (order, duplicates).
    const int value = read_payload(*it);
    const int p = value / 100;
    const int seq = value % 100;
    RL_ASSERT(p == it->producer && "payload names another producer");
    RL_ASSERT(seq == next_seq[p] && "per-producer FIFO order broken (reorder, loss or duplicate)");
    next_seq[p] = seq + 1;
    ++received;

    if (emptied) {
      // check 3 (pop(): counted per node; pop_batch: after the call); the
      // cursor is back on the stub: a new cycle begins.
      if (pop_batch_max == 0) count_emptied();
      stub_clear_unshadowed = true;
    } else if (stub_clear_unshadowed) {
      // check 5: pop() cleared stub.next when it stepped off the stub in
      // this cycle, and has not put the stub back since (emptied() is
      // false), so this point lies between the clear and the release
      // compare-exchange that must publish it to the next producer.
      shadow_stub_next_store(stub_shadow, 2);
      stub_clear_unshadowed = false;
    }
    // Hand the node back at once (the "free or re-push at once" contract).
    returned[p].fetch_add(1, std::memory_order_release);
  }

  void consume() {
    mpscq::consumer c(q);
    while (received < total_items) {
      if constexpr (pop_batch_max == 0) {
        mpscq::node* n = c.pop();
        if (n == nullptr) {
          // Empty, or a producer is inside its window: never spin without
          // giving the producers a chance (a lost node ends here: LIVELOCK).
          rl::yield(1, $);
          continue;
        }
        take(n, c.emptied());
      } else {
        const bool emptied_before = c.emptied();
        bool last_emptied = false;
        int handed = 0;
        auto f = [&](mpscq::node* n) {
          ++handed;
          last_emptied = c.emptied();
          take(n, last_emptied);
        };
        const int got = use_poll ? c.poll(pop_batch_max, f) : c.pop_batch(pop_batch_max, f);
        RL_ASSERT(got == handed && got <= pop_batch_max && "pop_batch: wrong count");
        if (got == 0) {
          // check 3: a call that handed out nothing is a pop() that returned
          // nullptr: it may turn emptied() off (stepping off the stub), never on.
          RL_ASSERT((!c.emptied() || emptied_before) &&
                    "pop_batch returned 0 and turned emptied() on (reported before the queue was empty)");
          rl::yield(1, $);
          continue;
        }
        // check 3: after the call, emptied() is its last hand-out's.
        RL_ASSERT(c.emptied() == last_emptied &&
                  "emptied() after pop_batch is not its last hand-out's (reported before the queue was empty)");
        if (c.emptied()) count_emptied();
      }
    }
  }

  void after() {
    RL_ASSERT(received == total_items && "items lost");
    for (int p = 0; p < producers; ++p) RL_ASSERT(next_seq[p] == items_per_producer && "items lost");
    RL_ASSERT(q.empty() && "queue not empty after every item was received");
    int found_empty = 0;
    for (int p = 0; p < producers; ++p) found_empty += pushes_found_empty[p];
    RL_ASSERT(found_empty == emptied_pops && "pushes that found the queue empty != pops that emptied it");
  }
};

}  // namespace

int main(int argc, char** argv) {
  rl::test_params params = model_cli::defaults(200000);
  const char* scheduler = nullptr;
  if (!model_cli::parse_scheduler(argc, argv, 1, params, scheduler)) {
    std::fprintf(stderr, "usage: %s [random N | bound K | full]\n", argv[0]);
    return 2;
  }
  model_cli::quiet_progress quiet;
  quiet.attach(params);

  std::printf("queue-model: producers=%d pushes_per_producer=%d batch=%d pool=%d consumer=%s", producers, rounds,
              batch, pool, pop_batch_max == 0 ? "pop" : "pop_batch");
  if (pop_batch_max > 0) std::printf(" max=%d", pop_batch_max);
  model_cli::print_scheduler(params, scheduler);
  std::printf("\n");
  std::fflush(stdout);

  const auto start = std::chrono::steady_clock::now();
  const bool ok = rl::simulate<queue_model>(params);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("queue-model: %s after %llu iterations in %.2f s\n", ok ? "PASS" : "FAIL",
              static_cast<unsigned long long>(params.stop_iteration), seconds);
  return ok ? 0 : 1;
}
