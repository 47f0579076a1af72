// asio_bridge - Asio I/O on an io_context thread, completions on an mpscq
// local_work owner (mpscq/asio.hpp).
//
// WHAT IT SHOWS
//   One thread runs an asio::io_context: it does the I/O (a socket pair and a
//   periodic steady_timer) and nothing else. The main thread owns an
//   mpscq::local_work and runs its loop in lw.wait(). Every completion
//   handler is bound to the local_work's executor (asio::bind_executor), so
//   the io_context thread only hops it over - one add() - and the handler runs
//   on the owner, where all the program's state lives without locks:
//     - a ping-pong over the socket pair: the owner writes a counter on one
//       end, reads it on the other, echoes it back, and starts the next round
//       from the echo's completion;
//     - a 1 ms timer that re-arms itself from its handler;
//     - worker threads that asio::post() notes to the owner.
//   Shutdown: the owner cancels the timer and closes the sockets, waits for
//   the cancelled operations' handlers (operation_aborted) to come back,
//   then lets the io_context run out, and closes the local_work.
//
// WHAT IT CHECKS (exit status 1 on any failure)
//   Every handler ran on the owner thread; every round's counter came back
//   in order; every posted note ran exactly once; the timer fired; no handler
//   was left behind (none ran cancelled in close()).
//
// USAGE
//   asio_bridge [--rounds=N] [--notes=N] [--lazy]
//
// Build: needs standalone Asio (libasio-dev) or Boost.Asio (-DMPSCQ_ASIO_USE_BOOST=1).
#include <utility>  // first: Boost 1.74's Asio headers use std::exchange without it

#if MPSCQ_ASIO_USE_BOOST
#include <boost/asio.hpp>
using error_code = boost::system::error_code;
#else
#include <asio.hpp>
using error_code = std::error_code;
#endif

#include <mpscq/asio.hpp>
#include <mpscq/local_work.hpp>

#include "common/example_support.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

namespace {

namespace net = mpscq::asio::net;
using socket_type = net::local::stream_protocol::socket;

struct options {
  std::uint64_t rounds = 2000;
  std::uint32_t notes = 10000;  // per worker, 2 workers
  bool lazy = false;
};

options parse(int argc, char** argv) {
  example::args a(argc, argv,
                  "[--rounds=N] [--notes=N] [--lazy]\n"
                  "  --rounds  socket-pair ping-pong rounds (default 2000)\n"
                  "  --notes   notes each of 2 workers posts (default 10000)\n"
                  "  --lazy    the executor adds with wake::lazy (the owner waits for batches)\n");
  options o;
  o.rounds = a.number("rounds", o.rounds);
  o.notes = a.number("notes", o.notes);
  o.lazy = a.flag("lazy");
  a.done(o.rounds >= 1);
  return o;
}

// Everything below is touched only by the owner thread (the handlers run
// there), so it has no locks and no atomics.
struct owner_state {
  owner_state(net::io_context& io, mpscq::asio::local_work_executor ex) : a(io), b(io), timer(io), ex(ex) {}

  socket_type a, b;  // a writes the counter, b echoes it
  net::steady_timer timer;
  mpscq::asio::local_work_executor ex;
  std::thread::id owner = std::this_thread::get_id();

  std::uint64_t rounds_wanted = 0;
  std::uint64_t rounds_done = 0;
  std::uint64_t order_errors = 0;
  std::uint64_t io_errors = 0;
  std::uint64_t wrong_thread = 0;
  std::uint64_t ticks = 0;
  std::uint64_t notes_run = 0;
  std::vector<std::uint8_t> note_runs;
  bool stopping = false;
  int outstanding = 0;  // operations whose handler has not come back yet

  std::array<unsigned char, 8> out{}, echo{}, back{};

  void on_owner() {
    if (std::this_thread::get_id() != owner) ++wrong_thread;
  }

  // One round: a -> b (read, echo) -> a (read, check).
  void start_round() {
    const std::uint64_t value = rounds_done;
    std::memcpy(out.data(), &value, sizeof value);
    ++outstanding;
    net::async_write(a, net::buffer(out), net::bind_executor(ex, [this](error_code ec, std::size_t) {
                       on_owner();
                       --outstanding;
                       if (ec) ++io_errors;
                     }));
    ++outstanding;
    net::async_read(b, net::buffer(echo), net::bind_executor(ex, [this](error_code ec, std::size_t) {
                      on_owner();
                      --outstanding;
                      if (ec) {
                        ++io_errors;
                        return;
                      }
                      ++outstanding;
                      net::async_write(b, net::buffer(echo), net::bind_executor(ex, [this](error_code e, std::size_t) {
                                         on_owner();
                                         --outstanding;
                                         if (e) ++io_errors;
                                       }));
                    }));
    ++outstanding;
    net::async_read(a, net::buffer(back), net::bind_executor(ex, [this](error_code ec, std::size_t) {
                      on_owner();
                      --outstanding;
                      if (ec) {
                        ++io_errors;
                        return;
                      }
                      std::uint64_t got = 0;
                      std::memcpy(&got, back.data(), sizeof got);
                      if (got != rounds_done) ++order_errors;
                      ++rounds_done;
                      if (rounds_done < rounds_wanted) start_round();
                    }));
  }

  void arm_timer() {
    ++outstanding;
    timer.expires_after(std::chrono::milliseconds(1));
    timer.async_wait(net::bind_executor(ex, [this](error_code ec) {
      on_owner();
      --outstanding;
      if (ec == net::error::operation_aborted) return;
      ++ticks;
      if (!stopping) arm_timer();
    }));
  }
};

}  // namespace

int main(int argc, char** argv) {
  const options o = parse(argc, argv);
  example::checks check;

  mpscq::local_work lw;  // the owner: this thread (its first wait())
  mpscq::asio::local_work_context ctx(lw, o.lazy ? mpscq::wake::lazy : mpscq::wake::eager);

  net::io_context io;
  auto guard = net::make_work_guard(io);
  std::thread io_thread([&] { io.run(); });

  owner_state s(io, ctx.get_executor());
  net::local::connect_pair(s.a, s.b);
  s.rounds_wanted = o.rounds;
  constexpr int workers = 2;
  s.note_runs.assign(static_cast<std::size_t>(workers) * o.notes, 0);

  // The owner's loop: wait for completions. With --lazy, wake for batches of
  // 16 or after 200 us with at least one.
  auto loop_once = [&] {
    if (o.lazy)
      lw.wait(16, std::chrono::milliseconds(100), std::chrono::microseconds(200));
    else
      lw.wait(1, std::chrono::milliseconds(100));
  };

  // Start the I/O from the owner's own handler (all socket and timer calls
  // happen on the owner).
  net::post(ctx.get_executor(), [&] {
    s.start_round();
    s.arm_timer();
  });

  std::vector<std::thread> posters;
  for (int w = 0; w < workers; ++w) {
    posters.emplace_back([&, w] {
      for (std::uint32_t i = 0; i < o.notes; ++i) {
        net::post(ctx.get_executor(), [&s, idx = static_cast<std::size_t>(w) * o.notes + i] {
          s.on_owner();
          ++s.note_runs[idx];
          ++s.notes_run;
        });
      }
    });
  }

  const std::uint64_t notes_total = static_cast<std::uint64_t>(workers) * o.notes;
  const auto start = example::clock_type::now();
  while (s.rounds_done < o.rounds || s.ticks < 3 || s.notes_run < notes_total) {
    if (s.io_errors != 0) break;
    loop_once();
  }
  for (auto& t : posters) t.join();

  // Shutdown, on the owner: cancel and close, then wait for the handlers of
  // the cancelled operations (operation_aborted) to come back.
  s.stopping = true;
  s.timer.cancel();
  error_code ignored;
  s.a.close(ignored);
  s.b.close(ignored);
  while (s.outstanding > 0) loop_once();
  const double seconds = example::seconds_since(start);
  guard.reset();  // nothing left for the io_context: its run() returns
  io_thread.join();
  lw.run(1000);  // anything still queued (nothing is expected)
  lw.close();

  std::uint64_t not_once = 0;
  for (std::uint8_t r : s.note_runs) not_once += r != 1 ? 1 : 0;
  using ull = unsigned long long;
  const mpscq::local_work_stats st = lw.stats();
  std::printf("%s: %llu rounds, %llu timer ticks, %llu notes in %.3f s (%s adds); owner wakes %llu, wait cycles %llu\n",
              example::program_name.c_str(), static_cast<ull>(s.rounds_done), static_cast<ull>(s.ticks),
              static_cast<ull>(s.notes_run), seconds, o.lazy ? "lazy" : "eager", static_cast<ull>(st.wakes),
              static_cast<ull>(st.wait_cycles));
  check(s.io_errors == 0, "I/O errors before shutdown", s.io_errors);
  check(s.rounds_done == o.rounds, "every round completed", s.rounds_done);
  check(s.order_errors == 0, "counters came back in order", s.order_errors);
  check(s.wrong_thread == 0, "handlers ran off the owner thread", s.wrong_thread);
  check(s.ticks >= 3, "the timer fired");
  check(not_once == 0, "posted notes ran exactly once", not_once);
  check(st.items_cancelled == 0 && st.cancelled_inline == 0, "no handler was left for close()");
  return check.summary();
}
