#include <charconv>
#include <cmath>
#include <qbopt/schedule.hpp>
#include <sstream>
#include <stdexcept>

namespace qbopt {

namespace {
// Shortest text that reads back as x (-0.1, not -0.10000000000000001).
std::string fmt(double x) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, x);
  return std::string(buf, r.ptr);
}
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

Batch parse_batch(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) parts.push_back(item);
  if (!text.empty() && text.back() == ',') parts.push_back("");
  auto bad = [&](const std::string& why) {
    return std::invalid_argument("malformed --batch '" + text + "': " + why);
  };
  if (parts.size() < 3 || parts.size() > 4) throw bad("expected c,q,count[,fixed]");
  auto number = [&](const std::string& s, const char* name) {
    // Decimal numbers only (no hex, no trailing text); surrounding spaces are allowed.
    std::size_t a = 0, e = s.size();
    while (a < e && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
    while (e > a && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
    double v = 0;
    const auto r = std::from_chars(s.data() + a, s.data() + e, v);
    if (a == e || r.ec != std::errc() || r.ptr != s.data() + e)
      throw bad(std::string(name) + " '" + s + "' is not a number");
    return v;
  };
  Batch b;
  b.qubit.c = number(parts[0], "c");
  b.qubit.q = number(parts[1], "q");
  double cnt = number(parts[2], "count");
  if (cnt != std::floor(cnt) || cnt < 1 || cnt > static_cast<double>(Schedule::kMaxCollisions))
    throw bad("count '" + parts[2] + "' must be an integer in [1, 1e8]");
  b.count = static_cast<long>(cnt);
  if (parts.size() == 4) {
    if (parts[3] == "fixed")
      b.fixed = true;
    else if (parts[3] == "free")
      b.fixed = false;
    else
      throw bad("fourth field '" + parts[3] + "' must be 'fixed' or 'free'");
  }
  try {
    b.qubit.validate();
  } catch (const std::invalid_argument& e) {
    throw bad(e.what());
  }
  return b;
}

}  // namespace qbopt
