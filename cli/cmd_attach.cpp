// `refgraph attach PID`: a heap dump of a running CPython process that never imported refgraph.
//
// gdb attaches (every thread stops), and the target's own interpreter is made to run a few lines of Python that
// import refgraph, take a snapshot and save it (refgraph/_attach.py), then gdb detaches and the process carries
// on. The command drives gdb itself rather than through a Python helper: it then works whatever `python3` is on
// PATH, and the only Python involved is the target's.
//
// The Python code must run where the interpreter is consistent, with the GIL held by the thread that runs it:
//  - if the main thread does not hold the GIL (blocked in a system call: an idle server), it takes the GIL there
//    (PyGILState_Ensure) as any other thread could;
//  - otherwise the process is running Python code: breakpoints on PyEval_SaveThread (a thread about to let others
//    run) and PyErr_CheckSignals (where signal handlers run), and a pending call to PyErr_CheckSignals, which the
//    main thread runs between two bytecodes; the first hit with no exception set is the place. If none comes
//    within --timeout (a thread in C code holding the GIL), nothing is run and the command fails.
// No thread is started in the target; the string and memory gdb allocates there are freed.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "common.hpp"
#include "refgraph/errors.hpp"
#include "refgraph/type_stats.hpp"

namespace refgraph::cli {

namespace {

namespace fs = std::filesystem;

struct AttachArgs {
  int pid = 0;
  std::string output;
  bool summary = false;
  std::size_t top = 20;
  double timeout = 10.0;
};

[[noreturn]] void fail(const std::string& message) { throw Error("attach: " + message); }

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The first executable named `name` in $PATH, or "".
std::string find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

// Real uid and gid of the process, from /proc/PID/status; {-1, -1} if unreadable.
std::pair<long, long> owner_of(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  long uid = -1, gid = -1;
  while (std::getline(in, line)) {
    if (line.rfind("Uid:", 0) == 0) uid = std::strtol(line.c_str() + 4, nullptr, 10);
    if (line.rfind("Gid:", 0) == 0) gid = std::strtol(line.c_str() + 4, nullptr, 10);
  }
  return {uid, gid};
}

// Where refgraph may be found for the target if its own sys.path lacks it: this environment's PYTHONPATH, and the
// site-packages beside this executable (a pip install puts both under one prefix).
std::vector<std::string> package_dirs() {
  std::vector<std::string> dirs;
  if (const char* pp = std::getenv("PYTHONPATH")) {
    std::stringstream parts(pp);
    std::string d;
    while (std::getline(parts, d, ':')) {
      std::error_code ec;
      if (!d.empty() && fs::exists(fs::path(d) / "refgraph" / "__init__.py", ec)) {
        dirs.push_back(fs::absolute(d, ec).string());
      }
    }
  }
  std::error_code ec;
  fs::path lib = fs::canonical("/proc/self/exe", ec).parent_path().parent_path() / "lib";
  if (!ec && fs::is_directory(lib, ec)) {
    for (const auto& entry : fs::directory_iterator(lib, ec)) {
      if (entry.path().filename().string().rfind("python3", 0) != 0) continue;
      for (const char* sub : {"site-packages", "dist-packages"}) {
        fs::path d = entry.path() / sub;
        if (fs::exists(d / "refgraph" / "__init__.py", ec)) dirs.push_back(d.string());
      }
    }
  }
  return dirs;
}

std::string py_str(const std::string& s) {  // a Python string literal; the text travels hex-encoded anyway
  std::string out = "'";
  for (unsigned char c : s) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02x", c);
    out += buf;
  }
  return out + "'";
}

// The Python run in the target: import refgraph (adding `dirs` to sys.path only for the import), then
// refgraph._attach.run. Runs in a fresh namespace so nothing is left in __main__.
std::string bootstrap(const std::string& dump, const std::string& status, const std::vector<std::string>& dirs) {
  std::string paths = "[";
  for (const std::string& d : dirs) paths += py_str(d) + ",";
  paths += "]";
  return "import sys\n"
         "try:\n"
         "    import refgraph._attach as a\n"
         "except ImportError:\n"
         "    p = sys.path[:]\n"
         "    sys.path[:0] = " +
         paths +
         "\n"
         "    try:\n"
         "        import refgraph._attach as a\n"
         "    except ImportError as e:\n"
         "        a = None\n"
         "        try:\n"
         "            with open(" +
         py_str(status) +
         ", 'w') as f:\n"
         "                f.write('not importable: Python %s, sys.path %r: %s: %s\\n' % (sys.version.split()[0], sys.path, type(e).__name__, e))\n"
         "        except OSError:\n"
         "            pass\n"
         "    finally:\n"
         "        sys.path[:] = p\n"
         "if a is not None:\n"
         "    a.run(" +
         py_str(dump) + ", " + py_str(status) + ")\n";
}

std::string hex_of(const std::string& s) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string gdb_script(const std::string& code) {
  const std::string call = "exec(bytes.fromhex('" + hex_of(code) + "').decode(),{})";
  const std::string n = std::to_string(call.size() + 1);
  const char* safe_points[] = {"PyEval_SaveThread", "PyErr_CheckSignals"};
  std::string s =
      "set pagination off\n"
      "set confirm off\n"
      "set width 0\n"
      "set unwindonsignal on\n"
      "handle all nostop noprint pass\n"
      "echo REFGRAPH-ATTACHED\\n\n"
      "set $refgraph_init = (int)Py_IsInitialized()\n"
      "if $refgraph_init == 0\n"
      "  echo REFGRAPH-NOT-INITIALIZED\\n\n"
      "  detach\n"
      "  quit\n"
      "end\n"
      "set $refgraph_safe = 0\n"
      "if (int)PyGILState_Check() == 0\n"
      "  set $refgraph_safe = 1\n"
      "else\n";
  for (const char* f : safe_points) s += std::string("  break *") + f + " if (long)PyErr_Occurred() == 0\n";
  s += "  call (int)Py_AddPendingCall(&PyErr_CheckSignals, 0)\n"
       "  echo REFGRAPH-WAITING\\n\n"
       "  continue\n"
       "  echo REFGRAPH-STOPPED\\n\n"
       "  if $pc == (long)&PyEval_SaveThread || $pc == (long)&PyErr_CheckSignals\n"
       "    set $refgraph_safe = 1\n"
       "  end\n"
       "  delete\n"
       "end\n"
       "if $refgraph_safe\n"
       "  set $refgraph_gil = (int)PyGILState_Ensure()\n"
       "  if (long)PyErr_Occurred() == 0\n"
       "    set $refgraph_code = (char*)malloc(" +
       n +
       ")\n"
       "    set {char[" +
       n + "]}$refgraph_code = \"" + call +
       "\"\n"
       "    set $refgraph_rc = (int)PyRun_SimpleString($refgraph_code)\n"
       "    call (void)free($refgraph_code)\n"
       "    echo REFGRAPH-RAN\\n\n"
       "  else\n"
       "    echo REFGRAPH-NO-SAFE-POINT\\n\n"
       "  end\n"
       "  call (void)PyGILState_Release($refgraph_gil)\n"
       "else\n"
       "  echo REFGRAPH-NO-SAFE-POINT\\n\n"
       "end\n"
       "detach\n"
       "quit\n";
  return s;
}

struct GdbRun {
  std::string output;
  int status = 0;
  bool interrupted = false;  // gdb was sent SIGINT while it waited for a safe point
  bool cancelled = false;    // this command got SIGINT, SIGTERM or SIGHUP
};

volatile std::sig_atomic_t g_cancel = 0;
extern "C" void on_cancel(int) { g_cancel = 1; }

// While gdb runs, a Ctrl-C or kill of this command must not take gdb down with it (a dead tracer leaves the target
// with breakpoints in its code, or in the middle of the injected call): the signal is noted, and only the wait for
// a safe point is cut short.
class CancelSignals {
 public:
  CancelSignals() {
    struct sigaction sa {};
    sa.sa_handler = on_cancel;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < 3; ++i) ::sigaction(kSignals[i], &sa, &old_[i]);
  }
  ~CancelSignals() {
    for (int i = 0; i < 3; ++i) ::sigaction(kSignals[i], &old_[i], nullptr);
  }
  CancelSignals(const CancelSignals&) = delete;
  CancelSignals& operator=(const CancelSignals&) = delete;

 private:
  static constexpr int kSignals[3] = {SIGINT, SIGTERM, SIGHUP};
  struct sigaction old_[3]{};
};

// Runs gdb on the script, output collected. If the script waits for a safe point for longer than `timeout`,
// gdb gets one SIGINT: it stops the target, the script sees no safe point and detaches. gdb is never killed: it
// may be inside a call in the target, which must be let finish.
GdbRun run_gdb(const std::string& gdb, int pid, const std::string& script, double timeout) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) fail(std::string("pipe: ") + std::strerror(errno));
  CancelSignals cancel_signals;
  g_cancel = 0;
  const std::string pid_text = std::to_string(pid);
  std::vector<std::string> args = {
      gdb,  "-nx",    "-batch", "-iex", "set auto-load off", "-iex", "set debuginfod enabled off",
      "-p", pid_text, "-x",     script};
  pid_t child = ::fork();
  if (child < 0) fail(std::string("fork: ") + std::strerror(errno));
  if (child == 0) {
    int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, 0);
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    ::setpgid(0, 0);             // a Ctrl-C at the terminal goes to this command, not straight to gdb
    ::signal(SIGPIPE, SIG_IGN);  // and if this command dies, gdb's writes fail rather than kill it
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(gdb.c_str(), argv.data());
    std::fprintf(stderr, "exec %s: %s\n", gdb.c_str(), std::strerror(errno));
    ::_exit(127);
  }
  ::close(fds[1]);
  GdbRun run;
  using clock = std::chrono::steady_clock;
  std::optional<clock::time_point> waiting_since;
  bool stopped = false;
  char buf[4096];
  for (;;) {
    pollfd p{fds[0], POLLIN, 0};
    int ready = ::poll(&p, 1, 100);
    if (ready > 0) {
      ssize_t n = ::read(fds[0], buf, sizeof buf);
      if (n <= 0) break;
      run.output.append(buf, static_cast<std::size_t>(n));
      if (!waiting_since && run.output.find("REFGRAPH-WAITING") != std::string::npos) waiting_since = clock::now();
      if (run.output.find("REFGRAPH-STOPPED") != std::string::npos) stopped = true;
    } else if (ready < 0 && errno != EINTR) {
      break;
    }
    if (g_cancel) run.cancelled = true;
    if (waiting_since && !stopped && !run.interrupted &&
        (run.cancelled || std::chrono::duration<double>(clock::now() - *waiting_since).count() > timeout)) {
      ::kill(child, SIGINT);
      run.interrupted = true;
    }
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  run.status = status;
  return run;
}

// The first line of gdb's output that says what went wrong, for an error message.
std::string gdb_complaint(const std::string& output) {
  std::stringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.find("rror") != std::string::npos || line.find("No symbol") != std::string::npos ||
        line.find("ptrace") != std::string::npos || line.find("exec ") == 0) {
      return line;
    }
  }
  return "gdb exited without attaching";
}

std::string ptrace_advice() {
  std::string scope = read_file("/proc/sys/kernel/yama/ptrace_scope");
  while (!scope.empty() && (scope.back() == '\n' || scope.back() == ' ')) scope.pop_back();
  std::string text = "not permitted to ptrace it: run as its user with kernel.yama.ptrace_scope=0";
  if (!scope.empty()) text += " (it is " + scope + " now)";
  return text + ", or as root / with CAP_SYS_PTRACE (in a container: --cap-add=SYS_PTRACE)";
}

void print_summary(const std::string& dump, int pid, std::size_t top) {
  HeapGraph g = load(dump);
  std::vector<TypeStat> stats = type_stats(g, {.sort = SortBy::Size});
  std::uint64_t objects = 0, bytes = 0;
  for (const TypeStat& s : stats) {
    objects += s.count;
    bytes += s.size;
  }
  std::size_t rows = top == 0 ? stats.size() : std::min(top, stats.size());
  Table t({"type", "count", "size"}, {false, true, true});
  for (std::size_t i = 0; i < rows; ++i) {
    t.add({printable(stats[i].type), std::to_string(stats[i].count), human_size(stats[i].size)});
  }
  std::string text = "== pid " + std::to_string(pid) + ": " + std::to_string(objects) + " objects, " +
                     human_size(bytes) + " ==\n" + t.str();
  if (rows < stats.size()) text += "  ... " + std::to_string(stats.size() - rows) + " more types\n";
  std::fputs(text.c_str(), stdout);
}

std::string default_name(int pid) {
  char stamp[32];
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  return std::to_string(pid) + "-" + stamp + ".rgd";
}

// A private directory for the status file (and the --summary dump), owned by the target's user, who writes them.
class TempDir {
 public:
  explicit TempDir(std::pair<long, long> owner) {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/refgraph-attach-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) fail(pattern + ": " + std::strerror(errno));
    path_ = pattern;
    if (owner.first >= 0 && static_cast<uid_t>(owner.first) != ::geteuid()) {
      if (::chown(path_.c_str(), static_cast<uid_t>(owner.first), static_cast<gid_t>(owner.second)) != 0) {
        ::chmod(path_.c_str(), 0733);  // not root: let the target's user write here, not read
      }
    }
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void run_attach(const AttachArgs& a) {
  const std::string who = "pid " + std::to_string(a.pid);
  if (a.pid <= 0 || (::kill(a.pid, 0) != 0 && errno == ESRCH)) fail("no process with pid " + std::to_string(a.pid));
  const std::string gdb = find_on_path("gdb");
  if (gdb.empty()) fail("gdb not found on PATH: install the Debian package 'gdb' (apt-get install gdb)");

  std::error_code ec;
  std::string dump;
  if (!a.summary) {
    fs::path out = fs::absolute(a.output.empty() ? default_name(a.pid) : a.output, ec);
    if (!fs::is_directory(out.parent_path(), ec)) fail(out.parent_path().string() + ": no such directory");
    dump = out.string();
  }
  const auto owner = owner_of(a.pid);
  TempDir tmp(owner);
  const std::string status_path = tmp.path() + "/status";
  if (a.summary) dump = tmp.path() + "/heap.rgd";
  const std::string script_path = tmp.path() + "/attach.gdb";
  {
    std::ofstream script(script_path);
    script << gdb_script(bootstrap(dump, status_path, package_dirs()));
    if (!script) fail(script_path + ": cannot write the gdb script");
  }

  const auto started = std::chrono::steady_clock::now();
  GdbRun run = run_gdb(gdb, a.pid, script_path, a.timeout);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const std::string& out = run.output;
  auto has = [&out](const char* s) { return out.find(s) != std::string::npos; };

  if (run.cancelled && !has("REFGRAPH-RAN")) fail(who + ": interrupted; gdb detached, nothing was run");
  if (has("ptrace: Operation not permitted") || has("Could not attach to process")) fail(who + ": " + ptrace_advice());
  if (has("ptrace: No such process")) fail("no process with pid " + std::to_string(a.pid));
  if (!has("REFGRAPH-ATTACHED")) fail(who + ": gdb could not attach: " + gdb_complaint(out));
  if (has("No symbol \"Py_IsInitialized\"")) fail(who + " is not a CPython process (it has no Py_IsInitialized)");
  if (has("REFGRAPH-NOT-INITIALIZED")) fail(who + ": its Python interpreter is not running (starting or exiting)");
  if (has("REFGRAPH-NO-SAFE-POINT")) {
    fail(who + ": no safe point to run Python within " + std::to_string(static_cast<int>(a.timeout)) +
         " s (a thread holds the GIL in C code); nothing was run, try again or raise --timeout");
  }
  if (!has("REFGRAPH-RAN")) fail(who + ": gdb failed: " + gdb_complaint(out));

  std::string status = read_file(status_path);
  while (!status.empty() && status.back() == '\n') status.pop_back();
  if (status.rfind("not importable: ", 0) == 0) {
    fail("refgraph is not importable in " + who + "'s Python (" + status.substr(16) +
         "); install refgraph in its environment or put its directory on this command's PYTHONPATH");
  }
  if (status.rfind("error: ", 0) == 0) fail(who + ": the capture failed in the target: " + status.substr(7));
  if (status.rfind("ok ", 0) != 0) {
    fail(who + ": the target wrote no status to " + tmp.path() + " (it may not be allowed to write there)");
  }
  if (a.summary) {
    print_summary(dump, a.pid, a.top);
  } else {
    std::printf("%s: %s objects from %s in %.1f s\n", printable(dump).c_str(), status.substr(3).c_str(), who.c_str(),
                seconds);
  }
}

}  // namespace

void add_attach_command(CLI::App& app) {
  auto a = std::make_shared<AttachArgs>();
  CLI::App* c = app.add_subcommand(
      "attach", "Dump the heap of a running CPython process that never imported refgraph (through gdb)");
  c->add_option("PID", a->pid, "process id of the Python process")->required();
  auto* out = c->add_option("-o,--output", a->output, "the .rgd dump to write (default: <pid>-<time>.rgd here)");
  auto* summary = c->add_flag("--summary", a->summary, "print the table of types by size instead of writing a dump");
  out->excludes(summary);
  c->add_option("--top", a->top, "rows of --summary (0: all)")->capture_default_str();
  c->add_option("--timeout", a->timeout, "seconds to wait for a safe point in a busy process")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  c->footer(
      "Needs gdb (Debian package 'gdb') and permission to ptrace the process. The target imports refgraph from "
      "its own sys.path, else from this command's PYTHONPATH or site-packages; the dump is written by the target. "
      "See docs/production.md.");
  c->callback([a] { run_attach(*a); });
}

}  // namespace refgraph::cli
