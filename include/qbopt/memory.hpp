#pragma once
// Memory estimates of the computations, checked against a budget before they start.
#include <cstddef>
#include <string>

namespace qbopt {

// What a computation will hold at its peak, and how that is made up (one line).
struct MemoryEstimate {
  std::size_t bytes = 0;
  std::string what;
};

// Memory the system can give without swapping: MemAvailable of /proc/meminfo, else the
// free physical pages (sysconf); 0 when neither is known.
std::size_t available_memory();
// "1.5 GiB", "200 MiB", "12 KiB", "512 B".
std::string format_bytes(std::size_t bytes);
// Parses "268435456", "256M", "1.5G", "512KiB" (binary units); throws std::invalid_argument
// naming `what` and the text.
std::size_t parse_bytes(const std::string& text, const std::string& what);

// simulate / state: the state, its successor, the model's `scratch_states`
// (ModelSpec::scratch_states) and the complex density matrix (16 N^2 bytes), plus E_k for
// every collision (8 bytes each) and `samples` sample points with their JSON.
MemoryEstimate simulate_memory(int N, long collisions, long samples = 0, int scratch_states = 0);
// `count` full states kept along a run (SimulateOptions::states_at): each state, plus its
// density matrix as JSON (2 N^2 numbers with their text).
MemoryEstimate states_memory(int N, long count);
// The Wigner function on nx x np points: coordinates, values and their JSON text.
MemoryEstimate wigner_memory(long nx, long np);
// A noise ensemble: per trajectory running at once (one per OpenMP thread), its perturbed
// one-qubit-per-collision schedule and a simulation.
MemoryEstimate noise_memory(int N, long collisions, int trajectories, int scratch_states = 0);

// Throws std::invalid_argument "needs about X (WHAT), more than BUDGET_NAME = Y" when the
// estimate exceeds the budget (0 = unknown budget: no check).
void check_memory(const MemoryEstimate& need, std::size_t budget, const std::string& budget_name);

}  // namespace qbopt
