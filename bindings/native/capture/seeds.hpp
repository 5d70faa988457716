// Where every walk of the live heap starts: the values of sys.modules (roots of kind module) and the frames of
// every thread (roots of kind thread frame, 3.11's gc not seeing a running frame's locals), the tool's own frames
// told apart by file prefix. Gathering the frames makes frame objects and frees a dict (it allocates): done
// before a walk reads the gc's lists or writes their headers.
//
//   ThreadSeeds threads(skip_files);                 // before the gc lists are read
//   for (const ThreadFrame& t : threads.frames) ...  // t.tool: the tool's, never a node
//   for_each_module([&](PyObject* m) { ... });
#pragma once

#include <Python.h>

#include <string>
#include <unordered_map>
#include <vector>

#include "frames.hpp"
#include "ptr_index.hpp"

namespace refgraph::capture {

struct ThreadSeeds {
  std::vector<ThreadFrame> frames;  // callees before callers, thread by thread
  explicit ThreadSeeds(const std::vector<std::string>& skip_files) {
    for_each_thread_frame(skip_files, [this](const ThreadFrame& t) {
      if (t.mine) current_.insert(reinterpret_cast<std::uintptr_t>(t.frame), 1);
      caller_[t.frame] = t.back;
      frames.push_back(t);
    });
  }
  ThreadSeeds(const ThreadSeeds&) = delete;
  ThreadSeeds& operator=(const ThreadSeeds&) = delete;

  // A running frame's caller (its f_back is computed, not stored), or NULL.
  PyObject* caller_of(PyObject* frame) const {
    auto it = caller_.find(frame);
    return it == caller_.end() ? nullptr : it->second;
  }
  // A frame of the calling thread: what it asks about, rarely why (its references are deferred edges).
  bool is_current(PyObject* frame) const {
    return current_.find(reinterpret_cast<std::uintptr_t>(frame)) != PtrIndex::kAbsent;
  }

 private:
  std::unordered_map<PyObject*, PyObject*> caller_;
  PtrIndex current_{64};
};

// fn(module) for each value of sys.modules (borrowed); returns the dict, or NULL.
template <class Fn>
PyObject* for_each_module(Fn&& fn) {
  PyObject* modules = PyImport_GetModuleDict();  // borrowed
  if (modules == nullptr || !PyDict_Check(modules)) return nullptr;
  Py_ssize_t pos = 0;
  PyObject *k, *v;
  while (PyDict_Next(modules, &pos, &k, &v)) fn(v);
  return modules;
}

}  // namespace refgraph::capture
