// mpscq/mpscq.hpp - everything public in one include, except mpscq/asio.hpp
// (it needs Asio; include it yourself) and baseline/ (benchmarks only).
#ifndef MPSCQ_MPSCQ_HPP
#define MPSCQ_MPSCQ_HPP

#include <mpscq/version.hpp>
#include <mpscq/bounded.hpp>
#include <mpscq/coro.hpp>
#include <mpscq/fallback_executor.hpp>
#include <mpscq/llist.hpp>
#include <mpscq/local_work.hpp>
#include <mpscq/node.hpp>
#include <mpscq/queue.hpp>
#include <mpscq/task_work.hpp>
#include <mpscq/work.hpp>
#include <mpscq/work_chain.hpp>

#endif  // MPSCQ_MPSCQ_HPP
