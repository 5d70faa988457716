// A growable array of trivially copyable values with an always-inlined push_back, for the capture's hot loop
// (std::vector::push_back ended up as an out-of-line call through the PLT there). Large columns live in their own
// huge-page mappings (zeroed_alloc.hpp) and grow by moving pages, not copying them.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <new>
#include <type_traits>

#include "zeroed_alloc.hpp"

namespace refgraph::capture {

template <class T>
class Column {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  Column() = default;
  ~Column() { release(); }
  Column(const Column&) = delete;
  Column& operator=(const Column&) = delete;

  void reserve(std::size_t n) {
    if (n > cap_) resize_storage(n);
  }
  __attribute__((always_inline)) void push_back(T v) {
    if (__builtin_expect(size_ == cap_, 0)) resize_storage(cap_ ? cap_ * 2 : 1024);
    data_[size_++] = v;
  }
  // For columns kept the same length as another: the caller has reserved room (capacity()).
  __attribute__((always_inline)) void push_unchecked(T v) { data_[size_++] = v; }
  void set_size(std::size_t n) {
    reserve(n);
    size_ = n;
  }
  std::size_t capacity() const { return cap_; }
  T& operator[](std::size_t i) { return data_[i]; }
  const T& operator[](std::size_t i) const { return data_[i]; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T* begin() { return data_; }
  T* end() { return data_ + size_; }
  // The memory past the first `bytes` goes back to the system; the column must not be read or grown there again.
  void give_back_after(std::size_t bytes) { zeroed_give_back(data_, bytes, cap_ * sizeof(T)); }
  // The same past its values, once its size is final.
  void give_back_unused() { give_back_after(size_ * sizeof(T)); }
  void release() {
    zeroed_free(data_, cap_ * sizeof(T));
    data_ = nullptr;
    size_ = cap_ = 0;
  }

 private:
  void resize_storage(std::size_t n) {
    data_ = static_cast<T*>(zeroed_realloc(data_, cap_ * sizeof(T), n * sizeof(T)));
    cap_ = n;
  }
  T* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t cap_ = 0;
};

}  // namespace refgraph::capture
