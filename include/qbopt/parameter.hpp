#pragma once
// Named parameters of a battery model: per-qubit controls and global parameters, each with a
// default, bounds and one line of documentation. The CLI, TOML, Python and the optimizer read
// these specs; none of them knows a model's parameters by heart.
#include <string>
#include <vector>

namespace qbopt {

struct ParameterSpec {
  std::string name;
  double default_value = 0.0;
  double lower = 0.0, upper = 0.0;  // inclusive bounds
  std::string doc;                  // one line, with units
  // A named choice (e.g. arrivals = regular | poisson): the value is the index into `choices`.
  std::vector<std::string> choices = {};
  // Controls only: when a qubit does not carry this control, the model's global parameter
  // of this name applies (the micromaser's g). Required controls (c, q) have none.
  bool optional = false;

  // Throws std::invalid_argument "<what> NAME must be in [lo, hi], got V".
  void check(double value, const std::string& what = "parameter") const;
  // A number, or one of `choices`; throws std::invalid_argument naming the text.
  double parse(const std::string& text, const std::string& what = "parameter") const;
  // The choice word, or the shortest round-trip number.
  std::string format(double value) const;
  bool is_choice() const { return !choices.empty(); }
};

// What a battery model declares about itself.
struct ModelSpec {
  std::string name;  // registry key ("micromaser", "lossy")
  std::string doc;   // one line
  std::vector<ParameterSpec> controls;    // per qubit; controls[0] = c, controls[1] = q
  std::vector<ParameterSpec> parameters;  // global
  // Full states (State::bytes) that one thread running the model's apply() or pullback()
  // keeps as scratch, for the memory estimates (plan_gradient, simulate_memory).
  int scratch_states = 0;

  // Index of a control / parameter by name, or -1.
  int control_index(const std::string& name) const;
  int parameter_index(const std::string& name) const;
  // Default values of the global parameters, in order.
  std::vector<double> defaults() const;
};

// Shortest text that reads back as x (0.1, not 0.10000000000000001).
std::string format_number(double x);
// A decimal number with nothing else but surrounding spaces; throws std::invalid_argument
// "<what> 'TEXT' is not a number" (or "... is out of the range of double").
double parse_number(const std::string& text, const std::string& what);

}  // namespace qbopt
