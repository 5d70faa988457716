// An open-addressing hash map from object address to a 32-bit value, for the capture's "seen" set: linear
// probing over two flat arrays, no per-entry allocation (std::unordered_map costs a node and a cache miss more).
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
    keys_.assign(cap, 0);
    values_.assign(cap, 0);
    mask_ = cap - 1;
    shift_ = 64 - bits(cap);
    size_ = 0;
  }

  // The value stored under `key`, or kAbsent. `key` is never 0.
  std::uint32_t find(std::uintptr_t key) const {
    for (std::size_t i = slot(key);; i = (i + 1) & mask_) {
      if (keys_[i] == key) return values_[i];
      if (keys_[i] == 0) return kAbsent;
    }
  }

  // Inserts key -> value unless present; returns the stored value and whether it was inserted.
  std::pair<std::uint32_t, bool> insert(std::uintptr_t key, std::uint32_t value) {
    if ((size_ + 1) * 10 > keys_.size() * 7) grow();
    for (std::size_t i = slot(key);; i = (i + 1) & mask_) {
      if (keys_[i] == key) return {values_[i], false};
      if (keys_[i] == 0) {
        keys_[i] = key;
        values_[i] = value;
        ++size_;
        return {value, true};
      }
    }
  }

  void prefetch(std::uintptr_t key) const { __builtin_prefetch(&keys_[slot(key)]); }

  std::size_t size() const { return size_; }
  std::size_t memory_bytes() const { return keys_.capacity() * sizeof(std::uintptr_t) + values_.capacity() * 4; }
  void release() {
    std::vector<std::uintptr_t>().swap(keys_);
    std::vector<std::uint32_t>().swap(values_);
    size_ = 0;
  }

 private:
  static unsigned bits(std::size_t cap) {
    unsigned b = 0;
    while ((std::size_t(1) << b) < cap) ++b;
    return b;
  }
  std::size_t slot(std::uintptr_t key) const {
    return static_cast<std::size_t>((static_cast<std::uint64_t>(key) * 0x9E3779B97F4A7C15ull) >> shift_);
  }
  void grow() {
    std::vector<std::uintptr_t> old_keys;
    std::vector<std::uint32_t> old_values;
    old_keys.swap(keys_);
    old_values.swap(values_);
    std::size_t cap = old_keys.size() * 2;
    keys_.assign(cap, 0);
    values_.assign(cap, 0);
    mask_ = cap - 1;
    shift_ = 64 - bits(cap);
    for (std::size_t j = 0; j < old_keys.size(); ++j) {
      if (old_keys[j] == 0) continue;
      std::size_t i = slot(old_keys[j]);
      while (keys_[i] != 0) i = (i + 1) & mask_;
      keys_[i] = old_keys[j];
      values_[i] = old_values[j];
    }
  }

  std::vector<std::uintptr_t> keys_;
  std::vector<std::uint32_t> values_;
  std::size_t mask_ = 0;
  unsigned shift_ = 0;
  std::size_t size_ = 0;
};

}  // namespace refgraph::capture
