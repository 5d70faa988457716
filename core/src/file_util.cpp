// Output files shared by dumps and renderers (atomic for regular files, streamed for devices and pipes), and
// format sniffing.
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <streambuf>
#include <string>
#include <vector>

#include "dump_codec.hpp"
#include "refgraph/dump.hpp"
#include "refgraph/errors.hpp"

namespace refgraph {

namespace {

std::string errno_text(int err) { return std::strerror(err); }

// An output stream buffer over a file descriptor that keeps the errno of a failed write(2), so the error can say
// "No space left on device" instead of a stream's bare failbit.
class FdOutBuf : public std::streambuf {
 public:
  explicit FdOutBuf(int fd) : fd_(fd), buf_(1 << 20) { setp(buf_.data(), buf_.data() + buf_.size()); }
  int error() const { return error_; }

 protected:
  int_type overflow(int_type ch) override {
    if (!drain()) return traits_type::eof();
    if (!traits_type::eq_int_type(ch, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(ch);
      pbump(1);
    }
    return traits_type::not_eof(ch);
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    if (n <= epptr() - pptr()) {
      std::memcpy(pptr(), s, static_cast<std::size_t>(n));
      pbump(static_cast<int>(n));
      return n;
    }
    // Larger than the room left (a rendered image): no copy through the buffer.
    if (!drain() || !write_all(s, static_cast<std::size_t>(n))) return 0;
    return n;
  }
  int sync() override { return drain() ? 0 : -1; }

 private:
  bool write_all(const char* p, std::size_t n) {
    while (n > 0 && error_ == 0) {
      const ssize_t w = ::write(fd_, p, n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        error_ = w < 0 ? errno : EIO;
        break;
      }
      p += w;
      n -= static_cast<std::size_t>(w);
    }
    return error_ == 0;
  }
  bool drain() {
    const auto n = static_cast<std::size_t>(pptr() - pbase());
    setp(buf_.data(), buf_.data() + buf_.size());
    return error_ == 0 && write_all(buf_.data(), n);
  }

  int fd_;
  std::vector<char> buf_;
  int error_ = 0;
};

// Runs `write` into `fd`; throws Error naming `path` and the system's reason when a write fails.
void write_to_fd(int fd, const std::string& path, const std::function<void(std::ostream&)>& write) {
  FdOutBuf buf(fd);
  std::ostream out(&buf);
  auto failed = [&] { return Error(path + ": write failed: " + errno_text(buf.error() ? buf.error() : EIO)); };
  try {
    write(out);
    out.flush();
  } catch (const Error&) {
    if (buf.error()) throw failed();  // the writer's own "write failed" lacks the path and the reason
    throw;
  }
  if (!out || buf.error()) throw failed();
}

enum class OutputKind { Replace, Stream };
struct Output {
  OutputKind kind;
  std::string path;  // Replace: the file to replace (a symlink's final target); Stream: the path to open
};

// What writing to `path` means: a regular file, or a name that does not exist yet, is replaced; anything else
// that is not a directory (a character device such as /dev/null or /dev/full, a FIFO, a socket) is opened and
// written as a stream. Symlinks are followed one by one, so a link's target is replaced and the link stays. A
// name in /proc (what /dev/stdout and /dev/fd/N lead to) is a stream: its "target" is an open file of this
// process, which a rename could not reach.
Output classify_output(const std::string& path) {
  namespace fs = std::filesystem;
  std::string p = path;
  for (int hop = 0; hop < 40; ++hop) {
    const fs::path f(p);
    const fs::path parent = f.has_parent_path() ? f.parent_path() : fs::path(".");
    char resolved[PATH_MAX];
    // A missing directory: the temporary file's creation reports it.
    if (::realpath(parent.c_str(), resolved) == nullptr) return {OutputKind::Replace, p};
    const std::string dir = resolved;
    if (dir == "/proc" || dir.rfind("/proc/", 0) == 0) return {OutputKind::Stream, path};
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) {
      if (errno == ENOENT) return {OutputKind::Replace, p};
      throw Error(path + ": cannot write: " + errno_text(errno));
    }
    if (S_ISREG(st.st_mode)) return {OutputKind::Replace, p};
    if (S_ISDIR(st.st_mode)) throw Error(path + ": cannot write: is a directory");
    if (!S_ISLNK(st.st_mode)) return {OutputKind::Stream, p};
    std::vector<char> target(static_cast<std::size_t>(st.st_size > 0 ? st.st_size : PATH_MAX) + 1);
    const ssize_t n = ::readlink(p.c_str(), target.data(), target.size());
    if (n < 0) throw Error(path + ": cannot write: " + errno_text(errno));
    const std::string t(target.data(), static_cast<std::size_t>(n));
    p = !t.empty() && t[0] == '/' ? t : (parent / t).string();
  }
  throw Error(path + ": cannot write: " + errno_text(ELOOP));
}

void replace_file(const std::string& shown, const std::string& path, const std::function<void(std::ostream&)>& write) {
  namespace fs = std::filesystem;
  static std::atomic<unsigned> counter{0};
  const fs::path dest(path);
  // A hidden name beside the destination: rename() is atomic only within one file system.
  std::string stem(".");  // (built in steps: GCC 12 warns falsely about "." + string)
  stem += dest.filename().string();
  stem += ".tmp-" + std::to_string(::getpid()) + "-";
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; attempt < 100 && fd < 0; ++attempt) {
    tmp = (dest.parent_path() / (stem + std::to_string(counter++))).string();
    // 0666 and no mkstemp: the file gets the permissions the umask gives any new file, not mkstemp's 0600.
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) throw Error(shown + ": cannot create a temporary file: " + errno_text(errno));
  try {
    write_to_fd(fd, shown, write);
    const int closed = ::close(fd);
    fd = -1;
    if (closed != 0) throw Error(shown + ": write failed: " + errno_text(errno));
    // No fsync: the goal is that a failure never leaves a half file, not durability across power loss, and a
    // sync would dominate the time of saving a dump.
    if (::rename(tmp.c_str(), path.c_str()) != 0)
      throw Error(shown + ": cannot rename into place: " + errno_text(errno));
  } catch (...) {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
}

void stream_to(const std::string& shown, const std::string& path, const std::function<void(std::ostream&)>& write) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) throw Error(shown + ": cannot open for writing: " + errno_text(errno));
  try {
    write_to_fd(fd, shown, write);
  } catch (...) {
    ::close(fd);
    throw;
  }
  if (::close(fd) != 0) throw Error(shown + ": write failed: " + errno_text(errno));
}

}  // namespace

void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& write) {
  if (path == "-") {
    std::fflush(stdout);  // what stdio already holds goes first
    write_to_fd(STDOUT_FILENO, "<stdout>", write);
    return;
  }
  const Output o = classify_output(path);
  if (o.kind == OutputKind::Stream) {
    stream_to(path, o.path, write);
  } else {
    replace_file(path, o.path, write);
  }
}

namespace dump_detail {

std::uint64_t open_input(std::ifstream& in, const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw Error(path + ": cannot open: " + errno_text(errno));
  if (S_ISDIR(st.st_mode)) throw Error(path + ": cannot open: is a directory");
  in.open(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open: " + errno_text(errno));
  return S_ISREG(st.st_mode) ? static_cast<std::uint64_t>(st.st_size) : kUnknownSize;
}

}  // namespace dump_detail

HeapGraph load_graph(const std::string& path, const ProgressFn& progress) {
  std::ifstream in;
  const std::uint64_t size = dump_detail::open_input(in, path);
  // Peek rather than reopen, so a pipe (/dev/stdin) works too.
  const int first = in.peek();
  // An empty file is a failed or interrupted save rather than a graph with no objects.
  if (first == std::char_traits<char>::eof()) throw DumpFormatError(path + ": at byte 0: empty file");
  // The magic's first byte can never start a JSON line (it is not valid UTF-8 there), so a file that starts with
  // it is a dump, if perhaps a damaged one: let the binary reader say what is wrong.
  if (static_cast<unsigned char>(first) == dump_detail::kMagic[0])
    return dump_detail::read_dump_file(in, path, progress, size);
  return read_jsonl(in, path);
}

}  // namespace refgraph
