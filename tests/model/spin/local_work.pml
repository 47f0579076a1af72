/*
 * spin model of mpscq::local_work's wake protocol (include/mpscq/local_work.hpp,
 * detail/local_work_core.hpp): the countdown wait_nr, the owner's arm /
 * re-check / sleep / disarm, the lazy and eager wake rules, the separate
 * futex word, and close() with the in-flight adder gate.
 *
 * Steps are sequentially consistent, one atomic operation per step (an RMW is
 * one `atomic` block). The queue is abstracted to counters: `pushed` is the
 * tail (what the owner's emptiness re-check sees: non-empty from the tail
 * exchange on), `linked` what pop() can hand out (after the link store). A
 * push is two steps, so the in-flight window is in the model.
 *
 * Configuration (spin -D...):
 *   NLAZY, NEAGER  producers with lazy / eager adds (default 1, 1)
 *   NI             items per producer (default 1)
 *   MIN            the owner's wait(MIN, unbounded) (default: every item)
 * Mutants (detail/mutants.hpp):
 *   EAGER_WAKE_CAS            the eager claim by compare-exchange (seed v2)
 *   ARM_WITHOUT_RECHECK       sleep without re-checking the queue after arming
 *   PUSH_ARM_RELAXED          the store->load reordering relaxed orders allow:
 *                             the add's wait_nr read takes effect before its
 *                             push is visible, the owner's re-check reads the
 *                             tail before its arm is visible
 *   TEARDOWN_NO_WAIT_ADDERS   close() frees without waiting for adders
 *
 * Checks:
 *   - no lost wake: the owner sleeps on the futex with nobody left to wake
 *     it -> an invalid end state (safety run); with -DCHECK_LTL the claim
 *     "an eager item queued behind a sleeping owner is eventually run"
 *     (acceptance run, weak fairness);
 *   - at most one wake claimed per wait cycle (assertion);
 *   - no add touches the object after it was freed (assertion);
 *   - every item runs exactly once: by the owner, by close()'s drain, or
 *     inline by an add after close (assertion at the end).
 */

#ifndef NLAZY
#define NLAZY 1
#endif
#ifndef NEAGER
#define NEAGER 1
#endif
#ifndef NI
#define NI 1
#endif
#define NPROD (NLAZY + NEAGER)
#define NITEMS (NPROD * NI)
#ifndef MIN
#define MIN NITEMS
#endif
#define NO_WAITER (-1)

int  wait_nr = NO_WAITER;  /* the countdown */
byte futex = 0;            /* the futex word: a sequence number */
bool sleeping = false;     /* the owner is inside futex_wait */
byte pushed = 0;           /* tail side: items exchanged in, not yet run */
byte linked = 0;           /* items pop() can hand out */
byte eager_linked = 0;     /* of those, eager (for the LTL claim) */
byte ran = 0;              /* run by the owner (normally or by close()'s drain) */
byte ran_inline = 0;       /* run by an add after close */
byte gate = 0;             /* adds inside the object */
bool closed = false;
bool freed = false;
byte claims = 0;           /* wakes claimed since the owner last armed */

proctype producer(bool eager) {
  byte i = 0;
  int nr;
  int old;
  do
  :: i == NI -> break
  :: else ->
    /* enter(): one RMW on the gate word, which also holds the closed bit */
    atomic {
      if
      :: closed -> ran_inline++; goto next   /* runs its item inline, cancelled */
      :: else -> assert(!freed); gate++
      fi
    }
#ifdef PUSH_ARM_RELAXED
    atomic { assert(!freed); nr = wait_nr }  /* read before the push is visible */
    atomic { assert(!freed); pushed++ }
    atomic { assert(!freed); linked++; if :: eager -> eager_linked++ :: else -> skip fi }
#else
    atomic { assert(!freed); pushed++ }      /* the tail exchange */
    atomic { assert(!freed); linked++; if :: eager -> eager_linked++ :: else -> skip fi }  /* the link */
    atomic { assert(!freed); nr = wait_nr }  /* countdown_wake::read(): a seq_cst load (the model is SC) */
#endif
    if
    :: nr <= 0 -> goto leave
    :: else -> skip
    fi;
    if
    :: !eager ->
      atomic {
        assert(!freed); old = wait_nr; wait_nr = wait_nr - 1;
        if :: old == 1 -> claims++; assert(claims <= 1) :: else -> skip fi
      }
    :: eager ->
#ifdef EAGER_WAKE_CAS
      atomic {
        assert(!freed);
        if
        :: wait_nr == nr -> old = nr; wait_nr = NO_WAITER
        :: else -> old = 0      /* "lost the race": give up */
        fi;
        if :: old > 0 -> claims++; assert(claims <= 1) :: else -> skip fi
      }
#else
      atomic {
        assert(!freed); old = wait_nr; wait_nr = NO_WAITER;
        if :: old > 0 -> claims++; assert(claims <= 1) :: else -> skip fi
      }
#endif
    fi;
    if
    :: (eager && old > 0) || (!eager && old == 1) ->
      atomic { assert(!freed); futex++ }                                      /* countdown_wake::wake(): bump ... */
      atomic { assert(!freed); if :: sleeping -> sleeping = false :: else -> skip fi }  /* ... then FUTEX_WAKE */
    :: else -> skip
    fi;
leave:
    atomic { assert(!freed); gate-- }
next:
    i++
  od
}

proctype owner() {
  byte seq;
  bool nonempty;
  do
  :: /* a run pass: take what is linked */
    atomic { ran = ran + linked; pushed = pushed - linked; linked = 0; eager_linked = 0 };
    if
    :: ran >= MIN -> break
    :: else -> skip
    fi;
    if
    :: pushed > 0 -> skip   /* a producer in its in-flight window: back off, retry */
    :: else ->
      seq = futex;          /* 1. snapshot the futex word */
#ifdef PUSH_ARM_RELAXED
      nonempty = (pushed > 0);                              /* 3. re-check, read early */
      atomic { wait_nr = MIN - ran; claims = 0 };          /* 2. arm */
#else
      atomic { wait_nr = MIN - ran; claims = 0 };          /* 2. arm (an RMW) */
      nonempty = (pushed > 0);                              /* 3. re-check */
#endif
#ifdef ARM_WITHOUT_RECHECK
      nonempty = false;
#endif
      if
      :: nonempty -> wait_nr = NO_WAITER                    /* disarm, run again */
      :: else ->
        atomic { if :: futex == seq -> sleeping = true :: else -> skip fi };  /* 4. futex_wait */
        (!sleeping);
        wait_nr = NO_WAITER                                 /* 5. disarm */
      fi
    fi
  od;
  /* close(): mark closed, wait out the adders, drain, free */
  closed = true;
#ifndef TEARDOWN_NO_WAIT_ADDERS
  (gate == 0);
#endif
  atomic { ran = ran + linked; pushed = pushed - linked; linked = 0; eager_linked = 0 };
  freed = true
}

init {
  byte p;
  atomic {
    run owner();
    p = 0;
    do
    :: p < NLAZY -> run producer(false); p++
    :: p >= NLAZY && p < NPROD -> run producer(true); p++
    :: p == NPROD -> break
    od
  }
  (_nr_pr == 1);  /* everyone else finished */
  assert(ran + ran_inline == NITEMS)
}

#ifdef CHECK_LTL
/* No lost wake: an eager item linked while the owner sleeps gets the owner up. */
ltl no_lost_wake { [] ((sleeping && eager_linked > 0) -> <> !sleeping) }
#endif
