// Atomic file writes and format sniffing, shared by dumps and renderers.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "dump_codec.hpp"
#include "refgraph/dump.hpp"
#include "refgraph/errors.hpp"

namespace refgraph {

namespace {

std::string errno_text(int err) { return std::strerror(err); }

}  // namespace

void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& write) {
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
  if (fd < 0) throw Error(path + ": cannot create a temporary file: " + errno_text(errno));
  ::close(fd);

  try {
    std::vector<char> buffer(1 << 20);
    std::ofstream out;
    out.rdbuf()->pubsetbuf(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    out.open(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(path + ": cannot write the temporary file: " + errno_text(errno));
    try {
      write(out);
      out.flush();
    } catch (const Error&) {
      if (!out) throw Error(path + ": write failed: " + errno_text(errno));
      throw;
    }
    if (!out) throw Error(path + ": write failed: " + errno_text(errno));
    out.close();
    if (!out) throw Error(path + ": write failed: " + errno_text(errno));
    // No fsync: the goal is that a failure never leaves a half file, not durability across power loss, and a
    // sync would dominate the time of saving a dump.
    if (::rename(tmp.c_str(), path.c_str()) != 0) throw Error(path + ": cannot rename into place: " + errno_text(errno));
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
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
