// in_parallel: two independent pieces of work on two threads, for the parts of a walk that touch no Python
// object through the C API (plain loads and stores the GIL holder has made safe by running nothing else).
#pragma once

#include <future>
#include <system_error>
#include <utility>

namespace refgraph::capture {

// Runs `other` on a second thread while this one runs `mine`, when `worth` it (and a thread can be had); else
// one after the other. Waits for both, also when `mine` throws; an exception of either is rethrown.
template <class A, class B>
void in_parallel(A&& other, B&& mine, bool worth) {
  std::future<void> f;
  if (worth) {
    try {
      f = std::async(std::launch::async, std::forward<A>(other));
    } catch (const std::system_error&) {
    }
  }
  if (!f.valid()) other();
  mine();  // should it throw, f's destructor waits for `other` (a future from std::async does)
  if (f.valid()) f.get();
}

}  // namespace refgraph::capture
