// write_file_atomic: regular files are replaced atomically; devices, FIFOs and symlinks keep what they are.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "dump_test_util.hpp"
#include "refgraph/dump.hpp"
#include "refgraph/errors.hpp"
#include "refgraph/render.hpp"

using namespace refgraph;
using refgraph::test::TempDir;

namespace {

mode_t file_type(const std::string& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_mode & S_IFMT;
}

// A private copy of /dev/full (ENOSPC on every write) or /dev/null, so that a regression replaces a node of the
// test's own and not the machine's; without the right to make device nodes, the real one (which the code under
// test must leave alone).
std::string device(const TempDir& dir, const char* name, unsigned minor) {
  const std::string own = dir.file(name);
  if (::mknod(own.c_str(), S_IFCHR | 0666, makedev(1, minor)) == 0) return own;
  return std::string("/dev/") + name;
}
std::string full_device(const TempDir& dir) { return device(dir, "full", 7); }

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string rgd_bytes(const HeapGraph& g) {
  std::ostringstream out;
  write_dump(g, out);
  return out.str();
}

}  // namespace

TEST_CASE("a write error on a device is an error, and the device stays a device") {
  TempDir dir;
  const std::string full = full_device(dir);
  const HeapGraph g = test::full_graph();
  CHECK_THROWS_WITH_AS(write_dump(g, full), (full + ": write failed: No space left on device").c_str(), Error);
  CHECK(file_type(full) == S_IFCHR);
  CHECK_THROWS_WITH_AS(write_jsonl(g, full), (full + ": write failed: No space left on device").c_str(), Error);
  CHECK(file_type(full) == S_IFCHR);
  CHECK_THROWS_WITH_AS(render_to_file("digraph { a -> b }", full, Format::Dot),
                       (full + ": write failed: No space left on device").c_str(), RenderError);
  CHECK(file_type(full) == S_IFCHR);
  // Nothing was left beside it either.
  CHECK(dir.entries() == (full == "/dev/full" ? 0u : 1u));
}

TEST_CASE("writing to /dev/null succeeds and keeps it") {
  TempDir dir;
  const std::string null = device(dir, "null", 3);
  write_dump(test::full_graph(), null);
  write_jsonl(test::full_graph(), null);
  CHECK(file_type(null) == S_IFCHR);
}

TEST_CASE("a FIFO is written as a stream, not replaced") {
  TempDir dir;
  const std::string fifo = dir.file("pipe");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const HeapGraph g = test::full_graph();
  std::string got;
  std::thread reader([&] { got = slurp(fifo); });
  write_dump(g, fifo);
  reader.join();
  CHECK(file_type(fifo) == S_IFIFO);
  CHECK(got == rgd_bytes(g));
  CHECK(dir.entries() == 1);
}

TEST_CASE("a symlink is followed: its target is replaced and the link stays") {
  TempDir dir;
  const HeapGraph g = test::full_graph();
  std::filesystem::create_directory(dir.file("real"));
  const std::string target = dir.file("real/g.rgd");
  std::ofstream(target) << "old";
  std::filesystem::create_symlink("real/g.rgd", dir.file("link.rgd"));  // relative, as ln -s makes them
  std::filesystem::create_symlink(dir.file("link.rgd"), dir.file("link2.rgd"));
  write_dump(g, dir.file("link2.rgd"));
  CHECK(file_type(dir.file("link.rgd")) == S_IFLNK);
  CHECK(file_type(dir.file("link2.rgd")) == S_IFLNK);
  CHECK(file_type(target) == S_IFREG);
  CHECK(slurp(target) == rgd_bytes(g));
  CHECK(dir.entries() == 3);
  CHECK(std::distance(std::filesystem::directory_iterator(dir.file("real")), {}) == 1);  // no temporary left

  // A dangling link gets its target created; a link to a device writes the device.
  std::filesystem::create_symlink("real/new.rgd", dir.file("dangling.rgd"));
  write_dump(g, dir.file("dangling.rgd"));
  CHECK(file_type(dir.file("dangling.rgd")) == S_IFLNK);
  CHECK(slurp(dir.file("real/new.rgd")) == rgd_bytes(g));
  const std::string full = full_device(dir);
  std::filesystem::create_symlink(full, dir.file("to-full"));
  CHECK_THROWS_WITH_AS(write_dump(g, dir.file("to-full")),
                       (dir.file("to-full") + ": write failed: No space left on device").c_str(), Error);
  CHECK(file_type(dir.file("to-full")) == S_IFLNK);
  CHECK(file_type(full) == S_IFCHR);

  // A loop of links is an error, not a hang.
  std::filesystem::create_symlink("loop-b", dir.file("loop-a"));
  std::filesystem::create_symlink("loop-a", dir.file("loop-b"));
  CHECK_THROWS_WITH_AS(write_dump(g, dir.file("loop-a")),
                       (dir.file("loop-a") + ": cannot write: Too many levels of symbolic links").c_str(), Error);
}

TEST_CASE("a directory is not written over") {
  TempDir dir;
  std::filesystem::create_directory(dir.file("sub"));
  CHECK_THROWS_WITH_AS(write_dump(test::full_graph(), dir.file("sub")),
                       (dir.file("sub") + ": cannot write: is a directory").c_str(), Error);
  CHECK(file_type(dir.file("sub")) == S_IFDIR);
  CHECK(dir.entries() == 1);
}
