#pragma once
// `qbopt spectrum`: leading eigenvalues, lifetime and steady states of one collision map.
#include <nlohmann/json.hpp>
#include <qbopt/models.hpp>
#include <qbopt/spectrum.hpp>
#include <string>
#include <vector>

namespace qbopt::cli {

// Flags of the subcommand (model selection is wired on main: --model/--param).
struct SpectrumOptions {
  ModelConfig model;  // any registered model with its parameters
  Qubit qubit;        // the qubit of every step
  int count = SpectrumSettings{}.count;
  std::string out;  // .json, optional
};

// Throws std::invalid_argument naming the flag when an option is out of range.
void check_spectrum(const SpectrumOptions& options);
// The spectrum of the model's step with the fixed qubit.
Spectrum compute_spectrum(const SpectrumOptions& options);
// The JSON document `qbopt spectrum --out` writes (and a sweep's spectrum task returns).
nlohmann::json spectrum_document(const SpectrumOptions& options, const Spectrum& s);

// Validates, computes, prints a summary and writes the JSON. Returns the exit code.
int run_spectrum(const SpectrumOptions& options);

}  // namespace qbopt::cli
