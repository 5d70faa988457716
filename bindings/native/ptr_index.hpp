// An open-addressing hash map from object address to a 32-bit value, for the capture's "seen" set: linear
// probing over one flat array of 16-byte slots (key and value share a cache line, so one prefetch covers a
// lookup), no per-entry allocation (std::unordered_map costs a node and a cache miss more).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace refgraph::capture {

class PtrIndex {
 public:
  static constexpr std::uint32_t kAbsent = 0xFFFFFFFFu;

  explicit PtrIndex(std::size_t expected = 64) { reset(expected); }

  void reset(std::size_t expected) {
    std::size_t cap = 64;
    while (cap * 7 / 10 < expected) cap <<= 1;
    slots_.assign(cap, Slot{});
    mask_ = cap - 1;
    shift_ = 64 - bits(cap);
    size_ = 0;
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
    if ((size_ + 1) * 10 > slots_.size() * 7) grow();
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

  void prefetch(std::uintptr_t key) const { __builtin_prefetch(&slots_[slot(key)]); }

  std::size_t size() const { return size_; }
  std::size_t memory_bytes() const { return slots_.capacity() * sizeof(Slot); }
  // The slot array as scratch memory, for use after the last lookup (then release()).
  void* raw_buffer() { return slots_.data(); }
  std::size_t raw_bytes() const { return slots_.size() * sizeof(Slot); }
  void release() {
    std::vector<Slot>().swap(slots_);
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
  void grow() {
    std::vector<Slot> old;
    old.swap(slots_);
    std::size_t cap = old.size() * 2;
    slots_.assign(cap, Slot{});
    mask_ = cap - 1;
    shift_ = 64 - bits(cap);
    for (const Slot& s : old) {
      if (s.key == 0) continue;
      std::size_t i = slot(s.key);
      while (slots_[i].key != 0) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }

  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  unsigned shift_ = 0;
  std::size_t size_ = 0;
};

}  // namespace refgraph::capture
