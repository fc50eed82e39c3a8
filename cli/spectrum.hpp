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

// Validates (std::invalid_argument naming the flag), computes the spectrum of the model's step
// with the fixed qubit, prints a summary and writes the JSON. Returns the exit code.
int run_spectrum(const SpectrumOptions& options);

}  // namespace qbopt::cli
