// mpscq/mpscq.hpp - everything public in one include.
#ifndef MPSCQ_MPSCQ_HPP
#define MPSCQ_MPSCQ_HPP

#include <mpscq/version.hpp>
#include <mpscq/fallback_executor.hpp>
#include <mpscq/llist.hpp>
#include <mpscq/local_work.hpp>
#include <mpscq/node.hpp>
#include <mpscq/queue.hpp>
#include <mpscq/task_work.hpp>
#include <mpscq/work.hpp>

#endif  // MPSCQ_MPSCQ_HPP
