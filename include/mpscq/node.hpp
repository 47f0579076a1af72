// mpscq/node.hpp - the intrusive hook and container_of: the floor every
// other header stands on.
//
// WHAT IT IS
//   mpscq::node is the hook an object embeds to go through an mpscq::queue,
//   an mpscq::llist, or (inside mpscq::work) local_work and task_work: one
//   atomic next pointer, no allocation. container_of<&T::member>(m) goes back
//   from a member to the object that holds it (the kernel's container_of).
//   queue.hpp, llist.hpp and work.hpp include this header and not each other.
//
// EXAMPLE
//   struct msg { int value; mpscq::node hook; };
//   msg& m = mpscq::container_of<&msg::hook>(*n);   // n: a node* from pop()
#ifndef MPSCQ_NODE_HPP
#define MPSCQ_NODE_HPP

#include <cstddef>
#include <type_traits>

#include <mpscq/version.hpp>
#include <mpscq/detail/atomic.hpp>

namespace mpscq {

/// The intrusive hook: embed one in every object that goes through a queue.
/// A node is in at most one queue at a time; its `next` belongs to the queue
/// from push() until pop() hands it back.
struct node {
  detail::atomic<node*> next{nullptr};
};

namespace detail {

/// Offset of a member hook inside T, for getting from a hook back to its
/// object. T must be a standard-layout-like class whose hook is a direct
/// member (the same rule as offsetof).
template <class T, class M, M T::*Member>
inline std::size_t member_offset() noexcept {
  // Computed on a properly aligned buffer that never holds a T: only the
  // member's address is formed, nothing is read or written.
  alignas(T) static unsigned char storage[sizeof(T)];
  auto* object = reinterpret_cast<T*>(storage);
  return static_cast<std::size_t>(reinterpret_cast<unsigned char*>(&(object->*Member)) - storage);
}

template <class P>
struct member_traits;
template <class T, class M>
struct member_traits<M T::*> {
  using owner = T;
  using field = M;
};

template <class T, class M, M T::*Member>
inline T* owner_of(M* member) noexcept {
  return reinterpret_cast<T*>(reinterpret_cast<unsigned char*>(member) - member_offset<T, M, Member>());
}

}  // namespace detail

/// From a member (a node, a work item, ...) back to the object that holds it:
///   request& r = mpscq::container_of<&request::tw>(w);
template <auto Member, class M>
  requires std::is_member_object_pointer_v<decltype(Member)>
inline auto& container_of(M& member) noexcept {
  using traits = detail::member_traits<decltype(Member)>;
  using T = typename traits::owner;
  using F = typename traits::field;
  static_assert(std::is_same_v<F, M>, "container_of: the member's type does not match");
  return *detail::owner_of<T, F, Member>(&member);
}

}  // namespace mpscq

#endif  // MPSCQ_NODE_HPP
