#include <charconv>
#include <cmath>
#include <qbopt/parameter.hpp>
#include <stdexcept>

namespace qbopt {

std::string format_number(double x) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, x);
  return std::string(buf, r.ptr);
}

double parse_number(const std::string& text, const std::string& what) {
  std::size_t a = 0, e = text.size();
  while (a < e && std::isspace(static_cast<unsigned char>(text[a]))) ++a;
  while (e > a && std::isspace(static_cast<unsigned char>(text[e - 1]))) --e;
  double v = 0;
  const auto r = std::from_chars(text.data() + a, text.data() + e, v);
  if (a != e && r.ec == std::errc::result_out_of_range && r.ptr == text.data() + e)
    throw std::invalid_argument(what + " '" + text + "' is out of the range of double");
  if (a == e || r.ec != std::errc() || r.ptr != text.data() + e)
    throw std::invalid_argument(what + " '" + text + "' is not a number");
  return v;
}

void ParameterSpec::check(double value, const std::string& what) const {
  if (is_choice()) {
    if (value >= 0 && value < static_cast<double>(choices.size()) && value == std::floor(value))
      return;
    std::string all;
    for (const auto& c : choices) all += (all.empty() ? "" : " | ") + c;
    throw std::invalid_argument(what + " " + name + " must be one of " + all + ", got " +
                                format_number(value));
  }
  if (!(std::isfinite(value) && value >= lower && value <= upper))
    throw std::invalid_argument(what + " " + name + " must be in [" + format_number(lower) + ", " +
                                format_number(upper) + "], got " + format_number(value));
}

double ParameterSpec::parse(const std::string& text, const std::string& what) const {
  if (is_choice()) {
    for (std::size_t i = 0; i < choices.size(); ++i)
      if (text == choices[i]) return static_cast<double>(i);
    std::string all;
    for (const auto& c : choices) all += (all.empty() ? "" : " | ") + c;
    throw std::invalid_argument(what + " " + name + " must be one of " + all + ", got '" + text +
                                "'");
  }
  const double v = parse_number(text, what + " " + name);
  check(v, what);
  return v;
}

std::string ParameterSpec::format(double value) const {
  if (is_choice() && value >= 0 && value < static_cast<double>(choices.size()))
    return choices[static_cast<std::size_t>(value)];
  return format_number(value);
}

int ModelSpec::control_index(const std::string& n) const {
  for (std::size_t i = 0; i < controls.size(); ++i)
    if (controls[i].name == n) return static_cast<int>(i);
  return -1;
}

int ModelSpec::parameter_index(const std::string& n) const {
  for (std::size_t i = 0; i < parameters.size(); ++i)
    if (parameters[i].name == n) return static_cast<int>(i);
  return -1;
}

std::vector<double> ModelSpec::defaults() const {
  std::vector<double> v;
  for (const auto& p : parameters) v.push_back(p.default_value);
  return v;
}

}  // namespace qbopt
