// An open-addressing hash map from object address to a 32-bit value, for the capture's "seen" set: linear
// probing over one flat array of 16-byte slots (key and value share a cache line, so one prefetch covers a
// lookup), no per-entry allocation (std::unordered_map costs a node and a cache miss more). The array is fresh
// zeroed memory from zeroed_alloc (no memset; a big table is in huge pages, pre-faulted in one call).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "zeroed_alloc.hpp"

namespace refgraph::capture {

class PtrIndex {
 public:
  static constexpr std::uint32_t kAbsent = 0xFFFFFFFFu;

  explicit PtrIndex(std::size_t expected = 64) { reset(expected); }
  ~PtrIndex() { release(); }
  PtrIndex(const PtrIndex&) = delete;
  PtrIndex& operator=(const PtrIndex&) = delete;

  void reset(std::size_t expected) {
    std::size_t cap = 64;
    while (cap * 7 / 10 < expected) cap <<= 1;
    release();
    allocate(cap);
  }

  // The value stored under `key`, or kAbsent. `key` is never 0.
  std::uint32_t find(std::uintptr_t key) const {
    for (std::size_t i = slot(key);; i = (i + 1) & mask_) {
      if (slots_[i].key == key) return slots_[i].value;
      if (slots_[i].key == 0) return kAbsent;
    }
  }

  // Inserts key -> value unless present; returns the stored value and whether it was inserted.
  std::pair<std::uint32_t, bool> insert(std::uintptr_t key, std::uint32_t value) {
    if ((size_ + 1) * 10 > cap_ * 7) grow();
    for (std::size_t i = slot(key);; i = (i + 1) & mask_) {
      if (slots_[i].key == key) return {slots_[i].value, false};
      if (slots_[i].key == 0) {
        slots_[i].key = key;
        slots_[i].value = value;
        ++size_;
        return {value, true};
      }
    }
  }

  // Sets the value stored under `key`, which must be present.
  void assign(std::uintptr_t key, std::uint32_t value) {
    for (std::size_t i = slot(key);; i = (i + 1) & mask_) {
      if (slots_[i].key == key) {
        slots_[i].value = value;
        return;
      }
    }
  }

  void prefetch(std::uintptr_t key) const { __builtin_prefetch(&slots_[slot(key)]); }

  std::size_t size() const { return size_; }
  std::size_t memory_bytes() const { return cap_ * sizeof(Slot); }
  // The slot array as scratch memory, for use after the last lookup (then release()).
  void* raw_buffer() { return slots_; }
  std::size_t raw_bytes() const { return cap_ * sizeof(Slot); }
  void release() {
    zeroed_free(slots_, cap_ * sizeof(Slot));
    slots_ = nullptr;
    cap_ = 0;
    size_ = 0;
  }

 private:
  struct Slot {
    std::uintptr_t key = 0;
    std::uint32_t value = 0;
  };
  static unsigned bits(std::size_t cap) {
    unsigned b = 0;
    while ((std::size_t(1) << b) < cap) ++b;
    return b;
  }
  std::size_t slot(std::uintptr_t key) const {
    return static_cast<std::size_t>((static_cast<std::uint64_t>(key) * 0x9E3779B97F4A7C15ull) >> shift_);
  }
  void allocate(std::size_t cap) {
    slots_ = static_cast<Slot*>(zeroed_alloc(cap * sizeof(Slot)));  // zeroed: every key 0, i.e. empty
    prefault(slots_, cap * sizeof(Slot));  // every page is written soon: one call instead of a fault each
    cap_ = cap;
    mask_ = cap - 1;
    shift_ = 64 - bits(cap);
    size_ = 0;
  }
  void grow() {
    Slot* old = slots_;
    const std::size_t old_cap = cap_;
    const std::size_t old_size = size_;
    allocate(old_cap * 2);
    for (std::size_t k = 0; k < old_cap; ++k) {
      const Slot& s = old[k];
      if (s.key == 0) continue;
      std::size_t i = slot(s.key);
      while (slots_[i].key != 0) i = (i + 1) & mask_;
      slots_[i] = s;
    }
    size_ = old_size;
    zeroed_free(old, old_cap * sizeof(Slot));
  }

  Slot* slots_ = nullptr;
  std::size_t cap_ = 0;
  std::size_t mask_ = 0;
  unsigned shift_ = 0;
  std::size_t size_ = 0;
};

}  // namespace refgraph::capture
