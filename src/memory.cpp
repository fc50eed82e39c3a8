#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <qbopt/memory.hpp>
#include <qbopt/parameter.hpp>
#include <qbopt/schedule.hpp>
#include <qbopt/simulate.hpp>
#include <qbopt/state.hpp>
#include <sstream>
#include <stdexcept>
#ifdef _OPENMP
#include <omp.h>
#endif

namespace qbopt {

std::size_t available_memory() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  std::size_t kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit)
    if (key == "MemAvailable:") return kib * 1024;
  const long pages = ::sysconf(_SC_AVPHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<std::size_t>(pages) * static_cast<std::size_t>(page)
                               : 0;
}

std::string format_bytes(std::size_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.3g %s", v, units[u]);
  return buf;
}

std::size_t parse_bytes(const std::string& text, const std::string& what) {
  std::size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
    ++i;
  std::string unit = text.substr(i);
  if (!unit.empty() && unit.back() == 'B') unit.pop_back();
  if (unit.size() == 2 && unit[1] == 'i') unit.pop_back();  // KiB = K
  double scale = 0;
  if (unit.empty()) scale = 1;
  else if (unit == "K" || unit == "k") scale = 1024.0;
  else if (unit == "M") scale = 1024.0 * 1024;
  else if (unit == "G") scale = 1024.0 * 1024 * 1024;
  else if (unit == "T") scale = 1024.0 * 1024 * 1024 * 1024;
  double v = -1;
  if (scale > 0 && i > 0) {
    try {
      v = parse_number(text.substr(0, i), what);
    } catch (const std::invalid_argument&) {
      v = -1;
    }
  }
  // Below 1 MiB nothing useful runs; above 2^60 bytes is a typo.
  if (!(v >= 0) || v * scale < 1024.0 * 1024 || v * scale > std::ldexp(1.0, 60))
    throw std::invalid_argument(what + " '" + text +
                                "' must be a size between 1M and 2^60 bytes, e.g. 512M or 8G");
  return static_cast<std::size_t>(v * scale);
}

MemoryEstimate simulate_memory(int N, long n, long samples, int scratch_states) {
  const std::size_t states = (2 + static_cast<std::size_t>(std::max(0, scratch_states))) *
                                 State::bytes(N) +
                             16 * static_cast<std::size_t>(N) * N;
  const std::size_t traj = sizeof(double) * static_cast<std::size_t>(n + 1);
  // A Sample, and its 5 numbers as JSON values (16 bytes) with ~25 characters of text each.
  const std::size_t per_sample = sizeof(Sample) + 5 * (16 + 25);
  const std::size_t samp = per_sample * static_cast<std::size_t>(std::max(0L, samples));
  std::string what = std::to_string(2 + std::max(0, scratch_states)) + " states of " +
                     format_bytes(State::bytes(N)) + ", rho, and " +
                     format_bytes(traj) + " of E_k for " + std::to_string(n) + " collisions";
  if (samples > 0)
    what += ", " + std::to_string(samples) + " samples (" + format_bytes(samp) + ")";
  return {states + traj + samp, what};
}

MemoryEstimate states_memory(int N, long count) {
  // The kept state, and rho's 2 N^2 numbers as JSON values (16 bytes) with ~25 characters of
  // text each (the document is built, then written).
  const std::size_t NN = static_cast<std::size_t>(N) * static_cast<std::size_t>(N);
  const std::size_t per = State::bytes(N) + 2 * NN * (16 + 25);
  const std::size_t c = static_cast<std::size_t>(std::max(0L, count));
  return {per * c, std::to_string(count) + " states kept and written (" + format_bytes(per) + " each)"};
}

MemoryEstimate wigner_memory(long nx, long np) {
  // x, p and W per point in the kernel, W again as a matrix, and ~40 bytes of JSON each.
  const std::size_t per_point = 4 * sizeof(double) + 40;
  const std::size_t pts = static_cast<std::size_t>(nx) * static_cast<std::size_t>(np);
  return {pts * per_point, std::to_string(nx) + " x " + std::to_string(np) + " Wigner grid"};
}

MemoryEstimate noise_memory(int N, long n, int trajectories, int scratch_states) {
  int threads = 1;
#ifdef _OPENMP
  threads = omp_get_max_threads();
#endif
  const int at_once = std::max(1, std::min(threads, trajectories));
  const MemoryEstimate one = simulate_memory(N, n, 0, scratch_states);
  const std::size_t per = one.bytes + sizeof(Batch) * static_cast<std::size_t>(n);
  return {per * static_cast<std::size_t>(at_once),
          std::to_string(at_once) + " trajectories at once, each " + format_bytes(per) +
              " (its per-collision schedule and simulation)"};
}

void check_memory(const MemoryEstimate& need, std::size_t budget, const std::string& name) {
  if (budget == 0 || need.bytes <= budget) return;
  throw std::invalid_argument("needs about " + format_bytes(need.bytes) + " (" + need.what +
                              "), more than " + name + " = " + format_bytes(budget));
}

}  // namespace qbopt
