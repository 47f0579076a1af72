/*
 * task_work.pml - spin model of mpscq::task_work's schedule-once protocol
 * (include/mpscq/task_work.hpp), with the same mutants as the Relacy models.
 *
 *   spin -a [-D...] task_work.pml && cc -O2 -o pan pan.c && ./pan
 *
 * Configuration (spin -D...):
 *   NP=n, NI=n     producers, items per producer            (default 2, 2)
 *   RUNNERS=n      target runner processes, a "thread pool"  (default 1)
 *   NO_CAPS        every run is uncapped (default: each run draws cap 1 or none)
 *   REFUSE         the scheduler may refuse (fallback process runs the cycle)
 *   LIFETIME       the scheduler always refuses; a destroyer destroys the
 *                  task_work once the producers are done (no runners)
 *   INLINE         the scheduler runs inline: a producer whose push found
 *                  the queue empty calls run() itself (while it returns
 *                  `more`); no runner processes. Every item a producer
 *                  added adds a child item (owner NP + p) from inside
 *                  itself when it runs, whose scheduler's run() meets the
 *                  run slot held by the item's own run: the inline
 *                  hand-off (its turn counted, served by the active run)
 * Mutants:
 *   NO_STOP          the run loop does not stop after an emptying pop
 *   STOP_AFTER_CAP   the stop is checked after the cap
 *   EMPTIED_RELAXED  the run slot's release is not ordered after the last
 *                    item's effects (spin steps are sequentially consistent,
 *                    so the relaxed order is modelled by what it permits: the
 *                    release taking effect before the item has finished)
 *   DROPS_REF_EARLY  the fallback job drops its target reference before it runs
 *   INLINE_DROPS_TURN  (with INLINE) the inline hand-off does not leave its
 *                  turn counted in the run slot
 *
 * The queue (mpscq::queue) is abstracted to what the protocol sees: pushes
 * take positions in the order of their tail exchanges (ex), each then links
 * (lk[i]); the consumer cursor hd hands out node hd when it is linked and
 * either its successor is linked (not emptying) or it is the tail (the stub
 * compare-exchange succeeds: emptying). pop() returns NONE in the in-flight
 * window. Each atomic { } is one atomic operation of the C++ code.
 *
 * Assertions (each can fail):
 *   Boom      the scheduler is called while an accepted schedule is pending
 *             (no run has taken it yet)
 *   more      a run that returned `more` still owns the queue: not empty
 *   overlap   two items run at once
 *   FIFO      each producer's items run in order, each once
 *   lifetime  nothing touches the task_work after its destructor finished
 *   no loss   when nothing can move any more (timeout), every item has run
 *   handed    (INLINE) the item's own run() meets a held run slot
 */

#ifndef NP
#define NP 2
#endif
#ifndef NI
#define NI 2
#endif
#ifndef RUNNERS
#define RUNNERS 1
#endif
#define TOTAL (NP * NI)
#ifdef INLINE
#define SLOTS (2 * TOTAL)           /* the producers' items and their children */
#define OWNERS (2 * NP)
#else
#define SLOTS TOTAL
#define OWNERS NP
#endif
#define NONE 255
#define UNCAPPED 255

#define TARGET 0
#define FALLBACK 1

#define EMPTIED 0
#define DRAINED 1
#define MORE 2

/* mpscq::queue, abstracted */
byte ex = 0;                /* pushes whose exchange is done */
bool lk[SLOTS];             /* push i has linked its node behind its predecessor */
byte hd = 0;                /* the consumer's cursor */
bool tail_stub = true;      /* queue::empty() */
bool emptied = true;        /* consumer::emptied() */
byte owner_of[SLOTS];
byte seq_of[SLOTS];

/* mpscq::task_work */
byte gate_adders = 0;       /* gate_: adds inside their hand-over */
bool closed = false;        /* gate_: closed bit */
byte runs = 0;              /* runs_: the run slot */
bool fb_queued = false;     /* fallback_queued_ */
byte fb_refs = 0;           /* fallback_refs_ */

/* the test's world */
byte pending = 0;           /* accepted schedules no run has taken */
byte tokens = 0;            /* schedule tokens posted to the pool */
byte reruns = 0;            /* `more` runs posted to the pool */
byte fb_jobs = 0;           /* jobs handed to the fallback executor */
bool in_item = false;
byte ran = 0;
byte next_seq[OWNERS];
bool freed = false;
byte producers_done = 0;

inline pop() {
  atomic {
    if
    :: hd == ex -> got = NONE
    :: hd < ex && !lk[hd] -> got = NONE
    :: hd < ex && lk[hd] && hd + 1 < ex && lk[hd + 1] -> got = hd; hd++; emptied = false
    :: hd < ex && lk[hd] && hd + 1 < ex && !lk[hd + 1] -> got = NONE
    :: hd < ex && lk[hd] && hd + 1 == ex -> got = hd; hd++; tail_stub = true; emptied = true
    fi
  }
}

/* One item runs: starts (checks), then ends in a separate step. */
inline item_start() {
  atomic {
    assert(!freed);
    assert(!in_item);                                   /* overlap */
    in_item = true;
    assert(seq_of[got] == next_seq[owner_of[got]]);     /* FIFO, once */
    next_seq[owner_of[got]]++;
    ran++;
    n++
  }
}

/* INLINE: the item at `got`, if a producer added it, adds its child from
 * inside itself (the item is still running: in_item). The child's push is
 * the scheduling one when the item's own pop emptied the queue and no other
 * push came first; its scheduler calls run() inline, on this process, whose
 * run holds the slot: enter_run() counts the turn and hands off. */
inline self_add() {
  if
  :: owner_of[got] < NP ->
     atomic {                                              /* push: the exchange */
       assert(!freed);
       was_empty2 = tail_stub; tail_stub = false;
       my2 = ex; owner_of[my2] = NP + owner_of[got]; seq_of[my2] = seq_of[got]; ex++
     };
     lk[my2] = true;                                       /* push: the link */
     if
     :: was_empty2 ->
#ifdef INLINE_DROPS_TURN
        atomic { assert(!freed); prev2 = runs };           /* MUTANT: not counted */
#else
        atomic { assert(!freed); prev2 = runs; runs++ };   /* enter_run(): fetch_add */
#endif
        assert(prev2 > 0)                                  /* handed: our own run holds it */
     :: else -> skip
     fi
  :: else -> skip
  fi
}

/* task_work::run_as(who, cap): enter the slot, serve, leave (and serve turns
 * handed over meanwhile). Sets handed / more_out. */
inline run_call(who, cap) {
  handed = false;
  more_out = false;
  n = 0;
  atomic { assert(!freed); prev = runs; runs++ };
  if
  :: prev > 0 -> handed = true
  :: else ->
    do
    :: tries = 0;
       deferred = false;
       do                                                  /* serve() */
       :: pop();
          if
          :: got == NONE && tail_stub -> res = DRAINED; break
          :: got == NONE && !tail_stub && who == TARGET && tries == 2 -> res = MORE; break
          :: got == NONE && !tail_stub && !(who == TARGET && tries == 2) ->
             if
             :: tries < 2 -> tries++
             :: else -> skip                               /* backoff.pause() */
             fi
          :: got != NONE ->
             tries = 0;
             em = emptied;
             item_start();
#ifdef INLINE
             self_add();
#endif
#ifdef EMPTIED_RELAXED
             if
             :: em -> deferred = true                      /* ends after the release */
             :: else -> in_item = false
             fi;
#else
             in_item = false;
#endif
#if defined(NO_STOP)
             if
             :: n >= cap -> res = MORE; break
             :: else -> skip
             fi
#elif defined(STOP_AFTER_CAP)
             if
             :: n >= cap -> res = MORE; break
             :: n < cap && em -> res = EMPTIED; break
             :: else -> skip
             fi
#else
             if
             :: em -> res = EMPTIED; break
             :: !em && n >= cap -> res = MORE; break
             :: else -> skip
             fi
#endif
          fi
       od;
       if
       :: res == MORE ->                                   /* leave_run_owning() */
          atomic { assert(!freed); runs = 0 };
          more_out = true;
          break
       :: else ->                                          /* leave_run() */
          atomic { assert(!freed); prev = runs; runs-- };
          if
          :: deferred -> in_item = false; deferred = false
          :: else -> skip
          fi;
          if
          :: prev == 1 -> break
          :: else -> skip                                  /* a turn was handed to us */
          fi
       fi
    od
  fi
}

inline hand_to_fallback() {
  atomic {
    assert(!freed);
    if
    :: !fb_queued -> fb_queued = true; fb_refs++; fb_jobs++
    :: else -> skip
    fi
  }
}

proctype producer(byte p) {
  byte s = 0, my;
  bool was_empty, was_closed;
#ifdef INLINE
  byte got, prev, n, tries, res, cap, my2, prev2;
  bool em, handed, more_out, deferred, was_empty2;
#endif
  do
  :: s < NI ->
     atomic {                                              /* push: the exchange */
       assert(!freed);
       was_empty = tail_stub; tail_stub = false;
       my = ex; owner_of[my] = p; seq_of[my] = s; ex++
     };
     lk[my] = true;                                        /* push: the link */
     if
     :: was_empty ->                                       /* schedule() */
        atomic { assert(!freed); gate_adders++; was_closed = closed };
#if defined(INLINE)
        do                                                 /* the scheduler: run() inline */
        :: if
           :: cap = 1
           :: cap = UNCAPPED
           fi;
           run_call(TARGET, cap);
           if
           :: more_out -> assert(!tail_stub)               /* more: run again */
           :: else -> break
           fi
        od;
#elif defined(LIFETIME)
        hand_to_fallback();
#else
        if
        :: !was_closed ->
           atomic { assert(pending == 0); pending++; tokens++ }   /* Boom */
#ifdef REFUSE
        :: hand_to_fallback()                               /* refused */
#endif
        :: was_closed -> hand_to_fallback()
        fi;
#endif
        atomic { assert(!freed); gate_adders-- }
     :: else -> skip
     fi;
     s++
  :: else -> break
  od;
  producers_done++
}

proctype runner() {
  byte got, prev, n, tries, res, cap;
  bool em, handed, more_out, deferred;
#ifdef INLINE
  byte my2, prev2;
  bool was_empty2;
#endif
end:
  do
  :: atomic { tokens > 0 -> tokens--; pending-- };
     goto serve_one
  :: atomic { reruns > 0 -> reruns-- };
serve_one:
#ifdef NO_CAPS
     cap = UNCAPPED;
#else
     if
     :: cap = 1
     :: cap = UNCAPPED
     fi;
#endif
     run_call(TARGET, cap);
     if
     :: more_out -> assert(!tail_stub); reruns++              /* more */
     :: else -> skip
     fi
  od
}

proctype fallback() {
  byte got, prev, n, tries, res;
  bool em, handed, more_out, deferred;
#ifdef INLINE
  byte my2, prev2;
  bool was_empty2;
#endif
end:
  do
  :: atomic { fb_jobs > 0 -> fb_jobs-- };
#ifdef DROPS_REF_EARLY
     atomic { assert(!freed); fb_refs-- };                 /* MUTANT */
#endif
     atomic { assert(!freed); fb_queued = false };
     run_call(FALLBACK, UNCAPPED);
#ifndef DROPS_REF_EARLY
     atomic { assert(!freed); fb_refs-- }                  /* the job's last access */
#endif
  od
}

#ifdef LIFETIME
proctype destroyer() {
  byte got, n;
  producers_done == NP;                                    /* every add has returned */
  closed = true;
  gate_adders == 0;
  fb_refs == 0;
  atomic { runs == 0 -> runs = 1 };
  do                                                       /* drain leftovers */
  :: pop();
     if
     :: got == NONE && tail_stub -> break
     :: got == NONE && !tail_stub -> skip
     :: got != NONE -> item_start(); in_item = false
     fi
  od;
  freed = true
}
#endif

init {
  atomic {
    byte i = 0;
    do
    :: i < NP -> run producer(i); i++
    :: else -> break
    od;
#ifdef LIFETIME
    run destroyer();
    run fallback();
#else
#ifndef INLINE
    i = 0;
    do
    :: i < RUNNERS -> run runner(); i++
    :: else -> break
    od;
#endif
#ifdef REFUSE
    run fallback();
#endif
#endif
  }
  timeout -> assert(ran == SLOTS)                          /* no loss */
}
