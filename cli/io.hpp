#pragma once
// Output plumbing of the command-line front end: atomic files, progress, interruption.
#include <fstream>
#include <string>

namespace qbopt::cli {

// A file written to `path.tmp.<pid>` and renamed onto `path` by commit(); destroyed without
// commit() it removes the temporary, so an interrupted run never leaves a truncated result.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path);  // throws std::invalid_argument if not writable
  ~AtomicFile();
  std::ofstream& stream() { return out_; }
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

}  // namespace qbopt::cli
