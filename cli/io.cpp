#include "io.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <stdexcept>

namespace qbopt::cli {

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  struct stat st {};
  if (::stat(path_.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) throw std::invalid_argument("--out '" + path_ + "' is a directory");
    if (::access(path_.c_str(), W_OK) != 0)
      throw std::invalid_argument("cannot write --out '" + path_ + "'");
  }
  const auto slash = path_.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path_.substr(0, slash + 1);
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) ||
      ::access(dir.c_str(), W_OK | X_OK) != 0)
    throw std::invalid_argument("cannot write --out '" + path_ + "'");
  tmp_ = path_ + ".tmp." + std::to_string(::getpid());
}

AtomicFile::~AtomicFile() {
  if (!done_ && out_.is_open()) {
    out_.close();
    std::remove(tmp_.c_str());
  }
}

std::ofstream& AtomicFile::stream() {
  if (!out_.is_open()) {
    out_.open(tmp_, std::ios::out | std::ios::trunc);
    if (!out_) throw std::runtime_error("cannot write --out '" + path_ + "'");
    out_.precision(17);
  }
  return out_;
}

void AtomicFile::commit() {
  stream().flush();
  const bool ok = static_cast<bool>(out_);
  out_.close();
  if (!ok || std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    std::remove(tmp_.c_str());
    done_ = true;
    throw std::runtime_error("failed to write '" + path_ + "'");
  }
  done_ = true;
}

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

namespace {
volatile std::sig_atomic_t g_interrupted = 0;
extern "C" void on_signal(int) { g_interrupted = 1; }
}  // namespace

void install_interrupt_handler() {
  // SA_RESETHAND: the first Ctrl-C asks the run to stop and save; a second one kills it.
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool interrupted() { return g_interrupted != 0; }

void request_interrupt(bool on) { g_interrupted = on ? 1 : 0; }

StopHook stop_hook() {
  return [] { return interrupted(); };
}

std::string sanitize(const std::string& text) {
  std::string out;
  std::size_t run = 0;  // characters since the last space
  bool cut = false;     // inside a stretch already cut
  for (const char ch : text) {
    const auto u = static_cast<unsigned char>(ch);
    if (ch == ' ') {
      run = 0;
      cut = false;
      out += ch;
      continue;
    }
    if (cut) continue;
    if (++run > kMaxEcho) {
      out += "...";
      cut = true;
      continue;
    }
    if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out;
}

}  // namespace qbopt::cli
