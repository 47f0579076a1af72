// mpscq/mpscq.hpp - everything public in one include.
#ifndef MPSCQ_MPSCQ_HPP
#define MPSCQ_MPSCQ_HPP

#include <mpscq/fallback_executor.hpp>
#include <mpscq/llist.hpp>
#include <mpscq/queue.hpp>
#include <mpscq/work.hpp>
#if __has_include(<mpscq/local_work.hpp>)
#include <mpscq/local_work.hpp>
#endif
#if __has_include(<mpscq/task_work.hpp>)
#include <mpscq/task_work.hpp>
#endif

#endif  // MPSCQ_MPSCQ_HPP
