#include <charconv>
#include <cmath>
#include <qbopt/schedule.hpp>
#include <sstream>
#include <stdexcept>

namespace qbopt {

namespace {
std::string fmt(double x) { return format_number(x); }
}  // namespace

void Qubit::validate() const {
  if (!std::isfinite(c) || c < 0.0 || c > 1.0)
    throw std::invalid_argument("c must be in [0, 1], got " + fmt(c));
  if (!std::isfinite(q) || q < 0.0 || q > 1.0)
    throw std::invalid_argument("q must be in [0, 1], got " + fmt(q));
}

Schedule::Schedule(std::vector<Batch> batches) : batches_(std::move(batches)) {}

Schedule Schedule::per_collision(const std::vector<Qubit>& qubits) {
  std::vector<Batch> b;
  b.reserve(qubits.size());
  for (const auto& q : qubits) b.push_back({q, 1, false});
  return Schedule(std::move(b));
}

long Schedule::collisions() const {
  long n = 0;
  for (const auto& b : batches_) n += b.count;
  return n;
}

double Schedule::mean_c() const {
  double s = 0;
  for (const auto& b : batches_) s += b.qubit.c * static_cast<double>(b.count);
  return s / static_cast<double>(collisions());
}

double Schedule::mean_q() const {
  double s = 0;
  for (const auto& b : batches_) s += b.qubit.q * static_cast<double>(b.count);
  return s / static_cast<double>(collisions());
}

void Schedule::validate() const {
  if (batches_.empty()) throw std::invalid_argument("schedule has no batch");
  for (std::size_t i = 0; i < batches_.size(); ++i) {
    try {
      batches_[i].qubit.validate();
      if (batches_[i].count < 1 || batches_[i].count > kMaxCollisions)
        throw std::invalid_argument("count must be in [1, 1e8], got " +
                                    std::to_string(batches_[i].count));
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("batch " + std::to_string(i + 1) + ": " + e.what());
    }
  }
  if (collisions() > kMaxCollisions)
    throw std::invalid_argument("the schedule has " + std::to_string(collisions()) +
                                " collisions, more than the limit of 1e8");
}

void Schedule::validate(const ModelSpec& spec) const {
  validate();
  for (std::size_t b = 0; b < batches_.size(); ++b) {
    const Qubit& qb = batches_[b].qubit;
    for (int i = 2; i < kMaxControls; ++i) {
      if (!qb.carries(i)) continue;
      if (i >= static_cast<int>(spec.controls.size()))
        throw std::invalid_argument("batch " + std::to_string(b + 1) + ": model '" + spec.name +
                                    "' has no control " + std::to_string(i));
      try {
        spec.controls[i].check(qb.control(i), "control");
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument("batch " + std::to_string(b + 1) + ": " + e.what());
      }
    }
  }
}

Batch parse_batch(const std::string& text, const ModelSpec& spec) {
  std::vector<std::string> parts;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) parts.push_back(item);
  if (!text.empty() && text.back() == ',') parts.push_back("");
  auto bad = [&](const std::string& why) {
    return std::invalid_argument("malformed --batch '" + text + "': " + why);
  };
  auto trim = [](std::string s) {
    std::size_t a = 0, e = s.size();
    while (a < e && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
    while (e > a && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
    return s.substr(a, e - a);
  };
  for (auto& p : parts) p = trim(p);
  auto number = [&](const std::string& s, const std::string& name) {
    // Decimal numbers only (no hex, no trailing text).
    try {
      return parse_number(s, name);
    } catch (const std::invalid_argument& e) {
      throw bad(e.what());
    }
  };
  auto count_of = [&](const std::string& s) {
    const double cnt = number(s, "count");
    if (cnt != std::floor(cnt) || cnt < 1 || cnt > static_cast<double>(Schedule::kMaxCollisions))
      throw bad("count '" + s + "' must be an integer in [1, 1e8]");
    return static_cast<long>(cnt);
  };
  auto flag = [&](const std::string& s, Batch& b) {
    if (s == "fixed")
      b.fixed = true;
    else if (s == "free")
      b.fixed = false;
    else
      return false;
    return true;
  };
  Batch b;
  if (!parts.empty() && parts[0].find('=') != std::string::npos) {
    // Keyword form: NAME=VALUE for count and the model's controls, plus a bare fixed/free.
    bool have_c = false, have_q = false, have_count = false;
    for (const auto& p : parts) {
      const auto eq = p.find('=');
      if (eq == std::string::npos) {
        if (!flag(p, b)) throw bad("'" + p + "' must be NAME=VALUE, 'fixed' or 'free'");
        continue;
      }
      const std::string key = trim(p.substr(0, eq)), value = p.substr(eq + 1);
      if (key == "count") {
        b.count = count_of(trim(value));
        have_count = true;
        continue;
      }
      const int i = spec.control_index(key);
      if (i < 0) {
        std::string known = "count";
        for (const auto& c : spec.controls) known += ", " + c.name;
        throw bad("unknown field '" + key + "' (known: " + known + ")");
      }
      const double v = number(trim(value), key);
      b.qubit.set_control(i, v);
      if (i == 0) have_c = true;
      if (i == 1) have_q = true;
      if (i >= 2) {
        try {
          spec.controls[i].check(v, "control");
        } catch (const std::invalid_argument& e) {
          throw bad(e.what());
        }
      }
    }
    if (!have_c || !have_q || !have_count) throw bad("c=, q= and count= are required");
    try {
      b.qubit.validate();
    } catch (const std::invalid_argument& e) {
      throw bad(e.what());
    }
    return b;
  }
  if (parts.size() < 3 || parts.size() > 4)
    throw bad("expected c,q,count[,fixed] or c=..,q=..,count=..[,fixed]");
  b.qubit.c = number(parts[0], "c");
  b.qubit.q = number(parts[1], "q");
  b.count = count_of(parts[2]);
  if (parts.size() == 4 && !flag(parts[3], b))
    throw bad("fourth field '" + parts[3] + "' must be 'fixed' or 'free'");
  try {
    b.qubit.validate();
  } catch (const std::invalid_argument& e) {
    throw bad(e.what());
  }
  return b;
}

}  // namespace qbopt
