#include "spectrum.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <qbopt/micromaser.hpp>
#include <qbopt/version.hpp>
#include <stdexcept>

#include "io.hpp"
#include "json_io.hpp"

namespace qbopt::cli {

using json = nlohmann::json;

void check_spectrum(const SpectrumOptions& o) {
  const int nc = o.model.nc();
  const long n = static_cast<long>(nc) * (nc + 1) / 2;
  if (o.count < 1 || o.count > n - 2)
    throw std::invalid_argument("--count must be in [1, " + std::to_string(n - 2) + "], got " +
                                std::to_string(o.count));
}

Spectrum compute_spectrum(const SpectrumOptions& o) {
  check_spectrum(o);
  SpectrumSettings st;
  st.count = o.count;
  st.should_stop = stop_hook();  // Ctrl-C: Interrupted, exit 130 with no output (main.cpp)
  // The adaptor: the library sees the model only through these callbacks.
  const auto model = o.model.make();
  const Qubit& qubit = o.qubit;
  const LinearMap phi = [&](const State& in, State& out) { model->apply(qubit, in, out); };
  return spectrum(phi, o.model.nc(), st);
}

json spectrum_document(const SpectrumOptions& o, const Spectrum& s) {
  json out = spectrum_json(s);
  out["config"] = spectrum_config(o.model, o.qubit, o.count);
  return out;
}

int run_spectrum(const SpectrumOptions& o) {
  check_spectrum(o);
  const int nc = o.model.nc();
  std::unique_ptr<AtomicFile> file;
  if (!o.out.empty()) {
    if (o.out.size() < 5 || o.out.substr(o.out.size() - 5) != ".json")
      throw std::invalid_argument("--out '" + o.out + "' must end in .json");
    file = std::make_unique<AtomicFile>(o.out);  // fails now if unwritable
  }
  const auto t0 = std::chrono::steady_clock::now();
  const Spectrum s = compute_spectrum(o);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::printf("%4s %22s %22s %14s\n", "k", "Re lambda", "Im lambda", "|lambda|");
  for (std::size_t k = 0; k < s.eigenvalues.size(); ++k)
    std::printf("%4zu %22.15f %22.15f %14.12f\n", k, s.eigenvalues[k].real(),
                s.eigenvalues[k].imag(), std::abs(s.eigenvalues[k]));
  if (s.lifetime)
    std::printf("lifetime %.6g collisions\n", *s.lifetime);
  else
    std::printf("lifetime: no decaying mode among the %zu eigenvalues\n", s.eigenvalues.size());
  for (const auto& ss : s.steady_states)
    std::printf("steady state (lambda = %.15f): E %.6f  W %.6f  P %.6f\n", ss.eigenvalue.real(),
                ss.energy, ss.ergotropy, ss.purity);
  std::printf("%ld applications of the map at N = %d in %.3f s%s\n", s.matvecs, nc, secs,
              s.converged ? "" : " (NOT converged)");
  if (file) {
    file->stream() << spectrum_document(o, s).dump(1) << '\n';
    file->commit();
  }
  return s.converged ? 0 : 1;
}

}  // namespace qbopt::cli
