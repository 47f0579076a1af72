// asio_echo_server - Asio's coroutine echo server (its
// cpp17/coroutines_ts/echo_server.cpp: a co_spawn'ed listener, one coroutine
// per session, use_awaitable) on mpscq::asio::io_thread
// (mpscq/asio_thread.hpp).
//
// WHAT IT SHOWS
//   Asio's program, with its io_context + run() replaced by an io_thread:
//   one thread that runs an asio::io_context and an mpscq::local_work.
//     - The acceptor and the sockets are created on io.io_context() (the
//       reactor the thread runs), so their completions run on that thread
//       with no hop and no hidden scheduler thread (an I/O object created on
//       io.context(), the local_work's execution context, would make Asio
//       start one: asio_thread.hpp, WHICH OBJECTS WHERE).
//     - The coroutines are co_spawn'ed on io.get_executor() (the local_work's
//       executor: the same thread); a completion resumes them inline.
//     - A worker thread hands the server thread work through
//       io.get_executor() (asio::post: one wait-free add each, an eventfd
//       write only when the queue was empty), and main() reads the server's
//       counters back the same way at the end. The server's state is touched
//       only on its thread: no locks, no atomics.
//   Stop: main() posts "close the acceptor" to the server thread; the
//   listener's pending accept ends (operation_aborted) and the listener
//   calls io.stop() from inside its coroutine; main() joins. --stop=main
//   instead calls io.stop() from main() with the accept still pending: the
//   listener's frame is then destroyed with the io_context, in io_thread's
//   destructor (Asio's rule for a stopped io_context).
//   By default the program runs its own clients (--clients coroutines on a
//   plain asio::io_context in main(), each --rounds messages of 1..4096
//   bytes) against an ephemeral port on 127.0.0.1. --serve runs the server
//   alone on --port (default 55555, Asio's) until SIGINT or SIGTERM (Asio's
//   signal_set, created on io.io_context()).
//
// WHAT IT CHECKS (exit status 1 on any failure)
//   Every echo came back byte-for-byte and every client saw the server close
//   its session after its last round; every handler and every coroutine step
//   of the server ran on the io_thread's thread (io.get_id()); the server
//   counted each session started and ended (at eof) once, with none still
//   open, and echoed exactly the bytes the clients sent; every note the
//   worker posted ran once; while the server ran, the process had exactly one
//   thread more than before the io_thread was made (no hidden thread); the
//   stop ended the thread (stopped(), join) with the listener ended
//   (--stop=handler) or its frame destroyed by the destructor (--stop=main),
//   and no coroutine frame was left.
//   Prints the round trips, bytes and elapsed time.
//
// USAGE
//   asio_echo_server [--clients=N] [--rounds=R] [--notes=M] [--stop=handler|main]
//                    [--inject=corrupt]
//   asio_echo_server --serve [--port=P]
//   --inject=corrupt makes the server flip one byte of one echo, so the
//   byte-for-byte check can be seen to fire. Exits 77 (skipped) where this
//   compiler and Asio have no co_await (e.g. clang 14 with libstdc++).
//
// Build: needs standalone Asio (libasio-dev) or Boost.Asio (-DMPSCQ_ASIO_USE_BOOST=1).
#include <utility>  // first: Boost 1.74's Asio headers use std::exchange without it

#if MPSCQ_ASIO_USE_BOOST
#include <boost/asio.hpp>
#if defined(BOOST_ASIO_HAS_CO_AWAIT)
#define EXAMPLE_CO_AWAIT 1
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#endif
using error_code = boost::system::error_code;
using system_error = boost::system::system_error;
#else
#include <asio.hpp>
#if defined(ASIO_HAS_CO_AWAIT)
#define EXAMPLE_CO_AWAIT 1
#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#endif
using error_code = std::error_code;
using system_error = std::system_error;
#endif

#include <mpscq/asio_thread.hpp>

#include "common/example_support.hpp"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#if !defined(EXAMPLE_CO_AWAIT)

int main(int argc, char** argv) {
  example::args a(argc, argv, "...\n");
  std::printf("%s: skipped: this compiler and Asio have no co_await (Asio's coroutines need it)\n",
              example::program_name.c_str());
  return 77;
}

#else

namespace {

namespace net = mpscq::asio::net;
using net::awaitable;
using net::co_spawn;
using net::detached;
using net::use_awaitable;
using net::ip::tcp;
namespace this_coro = net::this_coro;

struct options {
  std::size_t clients = 4;
  std::uint32_t rounds = 1000;
  std::uint32_t notes = 10000;
  bool stop_from_main = false;
  bool corrupt = false;
  bool serve = false;
  unsigned short port = 55555;
};

options parse(int argc, char** argv) {
  example::args a(argc, argv,
                  "[--clients=N] [--rounds=R] [--notes=M] [--stop=handler|main] [--inject=corrupt]\n"
                  "       --serve [--port=P]\n"
                  "  --clients  built-in client sessions, at once (default 4)\n"
                  "  --rounds   messages (1..4096 bytes) each client sends and checks (default 1000)\n"
                  "  --notes    functions a worker thread posts to the server thread (default 10000)\n"
                  "  --stop     handler: the listener calls io.stop() (default); main: main() does\n"
                  "  --inject=corrupt  the server flips one byte of one echo (the checks must fail)\n"
                  "  --serve    no built-in clients: serve 0.0.0.0:--port until SIGINT/SIGTERM\n"
                  "  --port     --serve's port (default 55555)\n");
  options o;
  o.clients = a.number("clients", o.clients);
  o.rounds = a.number("rounds", o.rounds);
  o.notes = a.number("notes", o.notes);
  const std::string stop = a.text("stop", "handler");
  o.stop_from_main = stop == "main";
  const std::string inject = a.text("inject", "");
  o.corrupt = inject == "corrupt";
  o.serve = a.flag("serve");
  o.port = a.number("port", o.port);
  a.done(o.clients >= 1 && o.rounds >= 1 && (stop == "handler" || stop == "main") &&
         (inject.empty() || o.corrupt));
  return o;
}

// The server's state: touched only on the io_thread's thread (handlers,
// coroutine steps), and by main() after join() or from a function posted
// there. No locks, no atomics.
struct server_state {
  mpscq::asio::io_thread* io = nullptr;
  std::thread::id server_thread;  // io->get_id()
  bool stop_from_handler = true;
  bool corrupt = false;

  std::uint64_t sessions_started = 0;
  std::uint64_t sessions_ended = 0;  // at eof, as a client closes
  std::uint64_t session_errors = 0;  // any other end
  std::uint64_t bytes = 0;
  std::uint64_t wrong_thread = 0;
  std::uint64_t notes = 0;
  int frames = 0;  // coroutine frames alive (listener and sessions)
  tcp::acceptor* acceptor = nullptr;
  bool listener_ended = false;

  void on_server() {
    if (std::this_thread::get_id() != server_thread) ++wrong_thread;
  }
};

// Counts a coroutine frame while it lives, wherever it ends: resumed to its
// end on the server thread, or destroyed with the io_context.
struct frame_guard {
  explicit frame_guard(server_state& s) : s(s) { ++s.frames; }
  ~frame_guard() { --s.frames; }
  frame_guard(const frame_guard&) = delete;
  frame_guard& operator=(const frame_guard&) = delete;
  server_state& s;
};

// Asio's echo(), with the counters.
awaitable<void> echo(tcp::socket socket, server_state& s) {
  const frame_guard guard(s);
  s.on_server();
  ++s.sessions_started;
  try {
    char data[1024];
    for (;;) {
      std::size_t n = co_await socket.async_read_some(net::buffer(data), use_awaitable);
      s.on_server();
      if (s.corrupt) {  // --inject=corrupt: once
        s.corrupt = false;
        data[n / 2] = static_cast<char>(data[n / 2] ^ 0x20);
      }
      co_await async_write(socket, net::buffer(data, n), use_awaitable);
      s.on_server();
      s.bytes += n;
    }
  } catch (const system_error& e) {
    s.on_server();
    if (e.code() == net::error::eof) {
      ++s.sessions_ended;
    } else {
      ++s.session_errors;
      std::printf("echo: %s\n", e.what());
    }
  }
}  // the socket closes here: the client sees eof

// Asio's listener(), with the acceptor on io.io_context() (not on the
// coroutine's executor: that is the local_work's execution context, where
// Asio would start a hidden thread for it), its port published to main(),
// and its end (the acceptor closed) stopping the io_thread.
awaitable<void> listener(server_state& s, tcp::endpoint where, std::promise<unsigned short>& port) {
  const frame_guard guard(s);
  auto executor = co_await this_coro::executor;  // io.get_executor(), type-erased
  std::optional<tcp::acceptor> acceptor;
  try {
    acceptor.emplace(s.io->io_context(), where);
  } catch (...) {
    port.set_exception(std::current_exception());
    co_return;
  }
  s.acceptor = &*acceptor;
  port.set_value(acceptor->local_endpoint().port());
  try {
    for (;;) {
      tcp::socket socket = co_await acceptor->async_accept(use_awaitable);
      s.on_server();
      // Not in Asio's example: a message longer than echo()'s buffer is
      // echoed in pieces, and Nagle would hold each piece after the first
      // until the client's delayed ACK (~40 ms per round trip on Linux).
      socket.set_option(tcp::no_delay(true));
      co_spawn(
          executor, [socket = std::move(socket), &s]() mutable { return echo(std::move(socket), s); }, detached);
    }
  } catch (const system_error& e) {
    s.on_server();
    if (e.code() != net::error::operation_aborted) std::printf("listener: %s\n", e.what());
  }
  s.acceptor = nullptr;
  s.listener_ended = true;
  if (s.stop_from_handler) s.io->stop();  // from a handler on the io_thread's own thread
}

// One built-in client: connect, `rounds` messages each checked
// byte-for-byte, then half-close and expect the server to close too.
struct client_totals {
  std::uint64_t rounds = 0;
  std::uint64_t bytes = 0;
  std::uint64_t mismatches = 0;
  std::uint64_t errors = 0;
  std::uint64_t unclosed = 0;  // the server did not end the session at eof
};

awaitable<void> client(tcp::endpoint server, std::size_t id, std::uint32_t rounds, client_totals& t) {
  std::vector<unsigned char> out(4096), in(4096);
  std::uint64_t x = 0x9e3779b97f4a7c15ULL * (id + 1);  // splitmix64: sizes and contents
  auto next = [&x] {
    std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  };
  try {
    tcp::socket socket(co_await this_coro::executor);
    co_await socket.async_connect(server, use_awaitable);
    for (std::uint32_t r = 0; r < rounds; ++r) {
      const std::size_t size = 1 + next() % out.size();
      for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<unsigned char>(next());
      co_await async_write(socket, net::buffer(out.data(), size), use_awaitable);
      co_await async_read(socket, net::buffer(in.data(), size), use_awaitable);
      if (std::memcmp(out.data(), in.data(), size) != 0) ++t.mismatches;
      t.bytes += size;
      ++t.rounds;
    }
    socket.shutdown(tcp::socket::shutdown_send);
    error_code ec;
    const std::size_t extra = co_await socket.async_read_some(net::buffer(in), net::redirect_error(use_awaitable, ec));
    if (ec != net::error::eof || extra != 0) ++t.unclosed;
  } catch (const system_error& e) {
    ++t.errors;
    std::printf("client %zu: %s\n", id, e.what());
  }
}

// Threads in this process (/proc/self/task), or 0 where that is not there.
std::size_t thread_count() {
  std::error_code ec;
  std::size_t n = 0;
  for (std::filesystem::directory_iterator it("/proc/self/task", ec), end; !ec && it != end; it.increment(ec)) ++n;
  return ec ? 0 : n;
}

// What main() reads back from the server thread.
struct snapshot {
  std::uint64_t sessions_started, sessions_ended, session_errors, bytes, wrong_thread, notes;
  int frames;
  std::size_t threads;
};

int serve(const options& o) {
  server_state s;
  std::optional<mpscq::asio::io_thread> io;
  io.emplace();
  s.io = &*io;
  s.server_thread = io->get_id();
  s.stop_from_handler = false;
  std::promise<unsigned short> port;
  co_spawn(io->get_executor(), listener(s, tcp::endpoint(tcp::v4(), o.port), port), detached);
  try {
    std::printf("%s: serving on port %u; SIGINT or SIGTERM stops\n", example::program_name.c_str(),
                static_cast<unsigned>(port.get_future().get()));
  } catch (const std::exception& e) {
    std::printf("%s: cannot listen on port %u: %s\n", example::program_name.c_str(), static_cast<unsigned>(o.port),
                e.what());
    return 1;
  }
  std::fflush(stdout);
  {
    net::signal_set signals(io->io_context(), SIGINT, SIGTERM);  // an I/O object: on io_context()
    signals.async_wait([&io](const error_code&, int) { io->stop(); });
    io->join();
  }  // the signal_set goes before the io_thread, as every I/O object on it
  const std::uint64_t served = s.sessions_ended;  // after join(): the thread's writes are visible
  io.reset();
  std::printf("%s: %llu sessions served, %llu bytes echoed\n", example::program_name.c_str(),
              static_cast<unsigned long long>(served), static_cast<unsigned long long>(s.bytes));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const options o = parse(argc, argv);
  if (o.serve) return serve(o);
  example::checks check;
  // The baseline for the hidden-thread check. A thread started and joined
  // first: ThreadSanitizer starts its background thread at the process's
  // first pthread_create.
  std::thread([] {}).join();
  const std::size_t threads_before = thread_count();

  server_state s;
  s.stop_from_handler = !o.stop_from_main;
  s.corrupt = o.corrupt;
  std::optional<mpscq::asio::io_thread> io;  // optional: destroyed before the checks that follow it
  io.emplace();
  s.io = &*io;
  s.server_thread = io->get_id();

  // Asio: co_spawn(io_context, listener, detached).
  std::promise<unsigned short> port_promise;
  co_spawn(io->get_executor(), listener(s, tcp::endpoint(net::ip::address_v4::loopback(), 0), port_promise), detached);
  const unsigned short port = port_promise.get_future().get();

  // A worker thread hands the server thread work through get_executor().
  std::thread worker([&s, &io, notes = o.notes] {
    for (std::uint32_t i = 0; i < notes; ++i)
      net::post(io->get_executor(), [&s] {
        s.on_server();
        ++s.notes;
      });
  });

  // The clients: coroutines on a plain io_context, run by main().
  net::io_context client_io(1);
  std::vector<client_totals> totals(o.clients);
  const tcp::endpoint server(net::ip::address_v4::loopback(), port);
  for (std::size_t c = 0; c < o.clients; ++c) co_spawn(client_io, client(server, c, o.rounds, totals[c]), detached);
  const auto start = example::clock_type::now();
  client_io.run();
  const double seconds = example::seconds_since(start);
  worker.join();

  // Read the server's counters back on its thread.
  std::promise<snapshot> reply;
  net::post(io->get_executor(), [&] {
    s.on_server();
    reply.set_value(
        {s.sessions_started, s.sessions_ended, s.session_errors, s.bytes, s.wrong_thread, s.notes, s.frames,
         thread_count()});
  });
  const snapshot snap = reply.get_future().get();

  // Stop: from the listener (it sees its acceptor closed), or from here.
  if (o.stop_from_main) {
    io->stop();
  } else {
    net::post(io->get_executor(), [&s] {
      s.on_server();
      if (s.acceptor != nullptr) s.acceptor->close();
    });
  }
  io->join();
  const bool stopped = io->stopped();
  const bool listener_ended = s.listener_ended;  // after join()
  const int frames_after_join = s.frames;
  io.reset();  // --stop=main: the listener's frame is destroyed here
  const int frames_left = s.frames;

  client_totals all;
  for (const client_totals& t : totals) {
    all.rounds += t.rounds;
    all.bytes += t.bytes;
    all.mismatches += t.mismatches;
    all.errors += t.errors;
    all.unclosed += t.unclosed;
  }
  using ull = unsigned long long;
  // Each client's round trips are one after the other: its mean round trip.
  const double round_trip_us =
      all.rounds != 0 ? seconds * 1e6 * static_cast<double>(o.clients) / static_cast<double>(all.rounds) : 0.0;
  std::printf("%s: %zu clients, %llu round trips, %llu bytes echoed in %.3f s (%.1f us per client round trip); "
              "%llu notes from the worker; stop from %s\n",
              example::program_name.c_str(), o.clients, static_cast<ull>(all.rounds), static_cast<ull>(snap.bytes),
              seconds, round_trip_us, static_cast<ull>(snap.notes), o.stop_from_main ? "main()" : "the listener");
  check(all.errors == 0, "no client error", all.errors);
  check(all.rounds == static_cast<std::uint64_t>(o.clients) * o.rounds, "every round completed", all.rounds);
  check(all.mismatches == 0, "every echo came back byte-for-byte", all.mismatches);
  check(all.unclosed == 0, "the server closed every session after its client's last round", all.unclosed);
  check(snap.sessions_started == o.clients, "the server started one session per client", snap.sessions_started);
  check(snap.sessions_ended == o.clients && snap.session_errors == 0, "every session ended at eof, once",
        snap.sessions_ended);
  check(snap.frames == 1, "no session was left open (only the listener's frame was alive)",
        static_cast<std::uint64_t>(snap.frames));
  check(snap.bytes == all.bytes, "the server echoed exactly the bytes the clients sent", snap.bytes);
  check(snap.notes == o.notes, "every note the worker posted ran once", snap.notes);
  check(threads_before == 0 || snap.threads == threads_before + 1,
        "the io_thread was the only thread added (no hidden scheduler thread)", snap.threads);
  check(s.wrong_thread == 0, "every server handler ran on the io_thread's thread", s.wrong_thread);
  check(stopped, "the io_thread stopped");
  if (o.stop_from_main) {
    check(!listener_ended && frames_after_join == 1, "the listener was still waiting when main() stopped the thread");
  } else {
    check(listener_ended && frames_after_join == 0, "the listener ended when its acceptor was closed");
  }
  check(frames_left == 0, "no coroutine frame was left after the io_thread was destroyed",
        static_cast<std::uint64_t>(frames_left));
  return check.summary();
}

#endif  // EXAMPLE_CO_AWAIT
