#pragma once
// Output plumbing of the command-line front end: atomic files, progress, interruption,
// and the one-line error messages.
#include <fstream>
#include <qbopt/interrupt.hpp>
#include <string>

namespace qbopt::cli {

// A file written to `path.tmp.<pid>` and renamed onto `path` by commit(); destroyed without
// commit() it removes the temporary, so an interrupted run never leaves a truncated result.
// The temporary is created only by the first stream() (when the result is written), so a
// run killed before that (SIGKILL) leaves nothing behind either.
class AtomicFile {
 public:
  // Checks now, before the run, that `path` can be written (not a directory, in an existing
  // writable directory); throws std::invalid_argument naming it.
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  std::ofstream& stream();
  void commit();
  const std::string& path() const { return path_; }

 private:
  std::string path_, tmp_;
  std::ofstream out_;
  bool done_ = false;
};

// True when stderr is a terminal (progress is shown only then).
bool stderr_is_terminal();
// Installs SIGINT/SIGTERM handlers that set a flag instead of killing the process.
void install_interrupt_handler();
bool interrupted();
// Sets (or clears) that flag from code: the Python sweep's Ctrl-C and progress callback.
void request_interrupt(bool on);
// The library's stop hook on that flag (thread-safe: it only reads it).
StopHook stop_hook();

// User text made safe for one error line: control characters as \xNN, and every stretch of
// more than kMaxEcho characters without a space (a pasted file, a huge value) cut with "...".
constexpr std::size_t kMaxEcho = 200;
std::string sanitize(const std::string& text);

}  // namespace qbopt::cli
