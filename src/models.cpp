#include <qbopt/models.hpp>
#include <stdexcept>

namespace qbopt {

// Each model's source file defines its entry; registering a model is one line below.
ModelEntry micromaser_entry();
ModelEntry lossy_micromaser_entry();

const std::vector<ModelEntry>& model_registry() {
  static const std::vector<ModelEntry> registry = {
      micromaser_entry(),
      lossy_micromaser_entry(),
  };
  return registry;
}

const ModelEntry& find_model(const std::string& name) {
  std::string known;
  for (const auto& e : model_registry()) {
    if (e.spec.name == name) return e;
    known += (known.empty() ? "" : ", ") + e.spec.name;
  }
  throw std::invalid_argument("unknown model '" + name + "' (known: " + known + ")");
}

ModelConfig::ModelConfig(const std::string& name, int nc)
    : entry_(&find_model(name)), nc_(0), values_(entry_->spec.defaults()) {
  set_nc(nc);
}

void ModelConfig::set_nc(int nc) {
  if (nc < 2 || nc > kMaxLevels)
    throw std::invalid_argument("nc must be in [2, " + std::to_string(kMaxLevels) + "], got " +
                                std::to_string(nc));
  nc_ = nc;
}

double ModelConfig::get(const std::string& parameter) const {
  const int i = spec().parameter_index(parameter);
  if (i < 0)
    throw std::invalid_argument("model '" + name() + "' has no parameter '" + parameter + "'");
  return values_[i];
}

namespace {
int index_or_throw(const ModelSpec& spec, const std::string& parameter) {
  const int i = spec.parameter_index(parameter);
  if (i >= 0) return i;
  std::string known;
  for (const auto& p : spec.parameters) known += (known.empty() ? "" : ", ") + p.name;
  throw std::invalid_argument("model '" + spec.name + "' has no parameter '" + parameter +
                              "' (known: " + known + ")");
}
}  // namespace

void ModelConfig::set(const std::string& parameter, double value) {
  const int i = index_or_throw(spec(), parameter);
  spec().parameters[i].check(value);
  values_[i] = value;
}

void ModelConfig::set_text(const std::string& parameter, const std::string& text) {
  const int i = index_or_throw(spec(), parameter);
  values_[i] = spec().parameters[i].parse(text);
}

void ModelConfig::set_assignment(const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw std::invalid_argument("--param '" + assignment + "' must be NAME=VALUE");
  if (assignment.find_first_not_of(" \t", eq + 1) == std::string::npos)
    throw std::invalid_argument("--param '" + assignment + "': missing value after '='");
  try {
    set_text(assignment.substr(0, eq), assignment.substr(eq + 1));
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("--param '" + assignment + "': " + e.what());
  }
}

std::unique_ptr<CollisionModel> ModelConfig::make() const { return make(values_); }

std::unique_ptr<CollisionModel> ModelConfig::make(const std::vector<double>& values) const {
  if (values.size() != values_.size())
    throw std::invalid_argument("model '" + name() + "' takes " + std::to_string(values_.size()) +
                                " parameters, got " + std::to_string(values.size()));
  for (std::size_t i = 0; i < values.size(); ++i) spec().parameters[i].check(values[i]);
  return entry_->make(nc_, values);
}

}  // namespace qbopt
