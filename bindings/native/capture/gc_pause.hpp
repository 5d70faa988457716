// What every native walk of the live heap does around itself: pause automatic garbage collection (a collection
// could run __del__, free what is being read or relink the gc's lists) and time its phases in this thread's CPU
// time (other processes' time on a shared machine should not count).
//
//   GcPause pause;            // automatic collection resumes when `pause` goes out of scope (or at restore())
//   const double t0 = cpu_now();
#pragma once

#include <Python.h>

#include <ctime>

namespace refgraph::capture {

class GcPause {
 public:
  GcPause() : was_enabled_(PyGC_Disable() == 1) {}
  ~GcPause() { restore(); }
  GcPause(const GcPause&) = delete;
  GcPause& operator=(const GcPause&) = delete;
  void restore() {
    if (was_enabled_) PyGC_Enable();
    was_enabled_ = false;
  }

 private:
  bool was_enabled_;
};

// Wall-clock seconds, for phases that run on more than one thread (the capture's build).
inline double wall_now() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

inline double cpu_now() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

}  // namespace refgraph::capture
