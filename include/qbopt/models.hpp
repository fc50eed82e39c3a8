#pragma once
// Battery models by name: the registry from which the CLI, TOML files, Python and the
// optimizer build models. Adding a model = one source file + one line in src/models.cpp
// (docs/models.md).
#include <functional>
#include <memory>
#include <qbopt/model.hpp>
#include <string>
#include <vector>

namespace qbopt {

// Upper bound on the Fock truncation N: a state takes about 8 (N+2)^2 bytes (200 MB at N = 5000).
inline constexpr int kMaxLevels = 5000;

struct ModelEntry {
  ModelSpec spec;
  // Builds the model on N levels with global parameter values in spec order (already checked).
  std::function<std::unique_ptr<CollisionModel>(int N, const std::vector<double>& values)> make;
};

// Every registered model, in registration order.
const std::vector<ModelEntry>& model_registry();
// Throws std::invalid_argument "unknown model 'X' (known: micromaser, lossy)".
const ModelEntry& find_model(const std::string& name);

// A model by name with its truncation N and the values of its global parameters: a plain
// value that can be copied, printed and rebuilt (the optimizer rebuilds it when a global
// parameter such as g is free).
class ModelConfig {
 public:
  // Defaults of the named model; throws std::invalid_argument for an unknown name.
  explicit ModelConfig(const std::string& name = "micromaser", int nc = 150);

  const ModelSpec& spec() const { return entry_->spec; }
  const std::string& name() const { return entry_->spec.name; }
  int nc() const { return nc_; }
  const std::vector<double>& values() const { return values_; }
  double get(const std::string& parameter) const;

  // Throw std::invalid_argument naming the model, the parameter and the value.
  void set_nc(int nc);
  void set(const std::string& parameter, double value);
  void set_text(const std::string& parameter, const std::string& text);  // number or choice
  // "NAME=VALUE" (the CLI's --param).
  void set_assignment(const std::string& assignment);

  std::unique_ptr<CollisionModel> make() const;
  std::unique_ptr<CollisionModel> make(const std::vector<double>& values) const;

 private:
  const ModelEntry* entry_;
  int nc_;
  std::vector<double> values_;
};

}  // namespace qbopt
