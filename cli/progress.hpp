// cli/progress.hpp: a progress line on stderr for a long computation (the dominator tree, leak suspects), only when
// stderr is a terminal:
//
//   StepProgress progress("retained");             // "\rretained: dominator tree 40% (3.1 s)", rewritten in place
//   dominator_tree(g, progress.callback());
//   progress.step("chains");                       // a step that reports no fraction shows its time only
//
// The line appears once the computation has taken REFGRAPH_PROGRESS_AFTER seconds (0.25 by default: quick
// commands print nothing) and is erased when the object goes, before the command writes its result. A ticker
// thread rewrites it every 200 ms, so the seconds move even while a step says nothing.
#pragma once

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "refgraph/dominators.hpp"

namespace refgraph::cli {

class StepProgress {
 public:
  explicit StepProgress(std::string command) : command_(std::move(command)) {
    if (::isatty(STDERR_FILENO) != 1) return;
    after_ = 0.25;
    if (const char* env = std::getenv("REFGRAPH_PROGRESS_AFTER")) after_ = std::strtod(env, nullptr);
    enabled_ = true;
    ticker_ = std::thread([this] {
      std::unique_lock<std::mutex> lock(mutex_);
      while (!done_) {
        draw(lock);
        wake_.wait_for(lock, std::chrono::milliseconds(200));
      }
    });
  }
  ~StepProgress() { finish(); }
  // Erases the line (before the command prints its result); nothing more is shown after.
  void finish() {
    if (!enabled_) return;
    enabled_ = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
      if (shown_) std::fputs("\r\033[K", stderr);
      std::fflush(stderr);
    }
    wake_.notify_all();
    ticker_.join();
  }
  StepProgress(const StepProgress&) = delete;
  StepProgress& operator=(const StepProgress&) = delete;

  // A step without a fraction.
  void step(std::string_view what) { update(what, -1.0); }
  // For dominator_tree and leak_suspects.
  Progress callback() {
    if (!enabled_) return {};
    return [this](std::string_view what, double fraction) { update(what, fraction); };
  }

 private:
  void update(std::string_view what, double fraction) {
    if (!enabled_) return;
    std::unique_lock<std::mutex> lock(mutex_);
    const bool new_step = what != step_;
    if (new_step) step_ = what;
    const int permille = fraction < 0 ? -1 : int(fraction * 1000);
    if (!new_step && permille / 10 == permille_ / 10) {
      permille_ = permille;
      return;  // the ticker shows it; no redraw for each call
    }
    permille_ = permille;
    draw(lock);
  }
  void draw(std::unique_lock<std::mutex>&) {
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    if (seconds < after_ || step_.empty()) return;
    std::string line = "\r\033[K" + command_ + ": " + step_;
    if (permille_ >= 0) line += " " + std::to_string(permille_ / 10) + "%";
    char time[32];
    std::snprintf(time, sizeof time, " (%.1f s)", seconds);
    line += time;
    std::fputs(line.c_str(), stderr);
    std::fflush(stderr);
    shown_ = true;
  }

  std::string command_;
  bool enabled_ = false;
  double after_ = 0.25;
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
  bool shown_ = false;
  std::string step_;
  int permille_ = -1;
  std::thread ticker_;
};

}  // namespace refgraph::cli
