// tests/asio/asio_flavour.hpp - the Asio the test is built for, and mpscq's
// executors over it. Each test file is built twice (MPSCQ_ASIO_USE_BOOST=0:
// standalone Asio; =1: Boost.Asio). MPSCQ_TEST_CO_AWAIT is defined where
// this Asio and compiler support co_await: without it (e.g. clang 14 with
// libstdc++, where Asio looks for <experimental/coroutine>) the co_spawn
// tests are left out.
#ifndef MPSCQ_TESTS_ASIO_FLAVOUR_HPP
#define MPSCQ_TESTS_ASIO_FLAVOUR_HPP

#include <utility>  // first: Boost 1.74's awaitable.hpp uses std::exchange without it

#if MPSCQ_ASIO_USE_BOOST
#include <boost/asio.hpp>
#include <boost/asio/any_io_executor.hpp>
#if defined(BOOST_ASIO_HAS_CO_AWAIT)
#define MPSCQ_TEST_CO_AWAIT 1
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#endif
#else
#include <asio.hpp>
#include <asio/any_io_executor.hpp>
#if defined(ASIO_HAS_CO_AWAIT)
#define MPSCQ_TEST_CO_AWAIT 1
#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/use_awaitable.hpp>
#endif
#endif

#include <mpscq/asio.hpp>

#endif  // MPSCQ_TESTS_ASIO_FLAVOUR_HPP
