// The frames of every live thread, as the capture, the counter and the local graphs seed them: each thread's top
// frame and its callers, made frame objects where they did not exist yet (3.11's gc does not see a running
// frame's locals, so they must be reached from here).
//
//   for_each_thread_frame(skip_files, [&](const ThreadFrame& f) { ... });
#pragma once

#include <Python.h>
#include <frameobject.h>

#include <string>
#include <vector>

#include "labels.hpp"

namespace refgraph::capture {

struct ThreadFrame {
  PyObject* frame;  // borrowed: owned by its interpreter frame (the top ones by their threads)
  PyObject* back;   // its caller's frame object, or NULL
  bool mine;        // a frame of the calling thread
  bool tool;        // runs code from a file under one of the skip_files prefixes (the tool's own)
};

inline bool is_tool_code(PyCodeObject* code, const std::vector<std::string>& skip_files) {
  if (skip_files.empty()) return false;
  const std::string file = utf8_of(code->co_filename);
  for (const auto& prefix : skip_files)
    if (!prefix.empty() && file.compare(0, prefix.size(), prefix) == 0) return true;
  return false;
}

// fn(const ThreadFrame&) for every frame of every thread, callers after callees.
template <class Fn>
void for_each_thread_frame(const std::vector<std::string>& skip_files, Fn&& fn) {
  // sys._current_frames() in C: it walks the thread states under the runtime's lock, which a thread that is
  // exiting (and freeing its state without the GIL) also takes; walking them ourselves would race with that.
  PyObject* top = _PyThread_CurrentFrames();
  if (top == nullptr) {
    PyErr_Clear();
    return;
  }
  const unsigned long me = PyThread_get_thread_ident();
  Py_ssize_t pos = 0;
  PyObject *key, *value;
  while (PyDict_Next(top, &pos, &key, &value)) {
    if (!PyFrame_Check(value)) continue;
    const bool mine = PyLong_Check(key) && PyLong_AsUnsignedLong(key) == me;
    if (PyErr_Occurred()) PyErr_Clear();
    // PyFrame_GetBack creates the caller's frame object if it does not exist yet; each stays owned by its
    // interpreter frame, so the references we get are dropped at once.
    auto* f = reinterpret_cast<PyFrameObject*>(value);
    Py_INCREF(f);
    while (f != nullptr) {
      PyCodeObject* code = PyFrame_GetCode(f);
      const bool tool = is_tool_code(code, skip_files);
      Py_DECREF(code);
      PyFrameObject* back = PyFrame_GetBack(f);
      fn(ThreadFrame{reinterpret_cast<PyObject*>(f), reinterpret_cast<PyObject*>(back), mine, tool});
      Py_DECREF(f);
      f = back;
    }
  }
  Py_DECREF(top);  // frees only the dict: every frame in it is still owned by its thread
  PyErr_Clear();   // a frame object that could not be created is simply not seen
}

}  // namespace refgraph::capture
