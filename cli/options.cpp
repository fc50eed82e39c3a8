#include "options.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <functional>
#include <limits>
#include <qbopt/parameter.hpp>
#include <stdexcept>

namespace qbopt::cli {

namespace {

std::string trim(const std::string& s) {
  std::size_t a = 0, e = s.size();
  while (a < e && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (e > a && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(a, e - a);
}

// An integer of type T written in decimal, nothing else; "" naming the problem when it is.
template <class T>
std::string integer_error(const std::string& text) {
  const std::string t = trim(text);
  T v{};
  const auto r = std::from_chars(t.data(), t.data() + t.size(), v);
  if (!t.empty() && r.ec == std::errc::result_out_of_range && r.ptr == t.data() + t.size())
    return "'" + text + "' is out of the range of " +
           (std::is_signed_v<T> ? std::string("a 64-bit integer")
                                : std::string("a 64-bit unsigned integer (0 .. 2^64-1)"));
  if (t.empty() || r.ec != std::errc() || r.ptr != t.data() + t.size())
    return "'" + text + "' is not " +
           (std::is_signed_v<T> ? std::string("an integer") : std::string("a non-negative integer"));
  return "";
}

// A decimal number (parse_number's rules), nothing else; "" naming the problem when it is.
std::string number_error(const std::string& text) {
  try {
    parse_number(text, "value");
    return "";
  } catch (const std::invalid_argument& e) {
    return std::string(e.what()).substr(6);  // without "value "
  }
}

// The comma-separated entries of `text`, each passed to `check` (which returns "" or the
// problem); throws "FLAG 'TEXT': PROBLEM".
std::vector<std::string> list_entries(const std::string& text, const std::string& flag,
                                      const std::function<std::string(const std::string&)>& check) {
  auto fail = [&](const std::string& why) {
    return std::invalid_argument(flag + " '" + text + "': " + why);
  };
  if (trim(text).empty()) throw fail("the list is empty");
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = text.find(',', start);
    const std::string e = text.substr(start, comma == std::string::npos ? std::string::npos
                                                                         : comma - start);
    if (trim(e).empty()) throw fail("entry " + std::to_string(out.size() + 1) + " is empty");
    if (const std::string why = check(e); !why.empty()) throw fail(why);
    out.push_back(e);
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

int edit_distance(const std::string& a, const std::string& b) {
  std::vector<int> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = static_cast<int>(j);
  for (std::size_t i = 1; i <= a.size(); ++i) {
    int diag = row[0];
    row[0] = static_cast<int>(i);
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const int up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
      diag = up;
    }
  }
  return row[b.size()];
}

void check_options_of(CLI::App& app) {
  const CLI::Validator real([](std::string& s) { return number_error(s); }, "", "number");
  const CLI::Validator integer([](std::string& s) { return integer_error<long long>(s); }, "",
                               "integer");
  const CLI::Validator natural(
      [](std::string& s) { return integer_error<unsigned long long>(s); }, "", "natural");
  for (CLI::Option* opt : app.get_options()) {
    if (opt->get_expected_max() == 0) continue;  // flags
    const std::string type = opt->get_type_name();
    if (type.rfind("FLOAT", 0) == 0)
      opt->check(real);
    else if (type.rfind("UINT", 0) == 0)
      opt->check(natural);
    else if (type.rfind("INT", 0) == 0)
      opt->check(integer);
  }
  for (CLI::App* sub : app.get_subcommands(std::function<bool(CLI::App*)>{}))
    check_options_of(*sub);
}

}  // namespace

void check_numeric_options(CLI::App& app) { check_options_of(app); }

std::vector<double> number_list(const std::string& text, const std::string& flag) {
  std::vector<double> v;
  for (const auto& e : list_entries(text, flag, number_error)) v.push_back(parse_number(e, flag));
  return v;
}

std::vector<long> integer_list(const std::string& text, const std::string& flag) {
  std::vector<long> v;
  for (const auto& e : list_entries(text, flag, integer_error<long long>))
    v.push_back(static_cast<long>(std::stoll(trim(e))));
  return v;
}

std::string did_you_mean(CLI::App& app, const std::vector<std::string>& args) {
  CLI::App* sub = &app;
  for (const auto& a : args)
    for (CLI::App* s : app.get_subcommands(std::function<bool(CLI::App*)>{}))
      if (sub == &app && s->get_name() == a) sub = s;
  // The first --word that is none of the subcommand's options.
  for (const auto& a : args) {
    if (a.rfind("--", 0) != 0 || a == "--") continue;
    const std::string word = a.substr(0, a.find('='));
    if (sub->get_option_no_throw(word)) continue;
    std::string best;
    int best_d = std::numeric_limits<int>::max();
    for (const CLI::Option* o : sub->get_options())
      for (const auto& name : o->get_lnames()) {
        const int d = edit_distance(word.substr(2), name);
        if (d < best_d) best_d = d, best = "--" + name;
      }
    // Beyond 3 edits (or half the word) the guess is more confusing than helpful.
    if (!best.empty() && best_d <= std::min<int>(3, static_cast<int>(word.size()) / 2))
      return " (did you mean " + best + "?)";
    return "";
  }
  return "";
}

}  // namespace qbopt::cli
