#include "config.hpp"

#include <toml++/toml.h>

#include <cstdint>
#include <fstream>
#include <iterator>
#include <qbopt/parameter.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <sstream>
#include <type_traits>
#include <stdexcept>
#include <vector>

namespace qbopt::cli {

namespace {

// The line of the first non-ASCII byte outside strings and comments (0 if none; a UTF-8 byte
// order mark at the start is allowed). TOML 1.0 allows non-ASCII text only in strings and
// comments, so such a file is invalid anyway; it is rejected before toml++ sees it because
// toml++ 3.3.0 (Debian) reaches __builtin_unreachable in is_non_ascii_horizontal_whitespace()
// for some of these code points (e.g. U+00E9, U+3042, U+FE7F outside a string).
std::size_t non_ascii_outside_strings(const std::string& text) {
  std::size_t i = text.rfind("\xEF\xBB\xBF", 0) == 0 ? 3 : 0, line = 1;
  const std::size_t n = text.size();
  auto starts = [&](const char* s) {
    return text.compare(i, std::char_traits<char>::length(s), s) == 0;
  };
  while (i < n) {
    const char ch = text[i];
    if (ch == '\n') {
      ++line, ++i;
    } else if (ch == '#') {  // comment: to the end of the line
      while (i < n && text[i] != '\n') ++i;
    } else if (starts("\"\"\"") || starts("'''")) {  // multi-line string
      const char q = ch;
      for (i += 3; i < n && !(text[i] == q && starts(q == '"' ? "\"\"\"" : "'''")); ++i) {
        if (text[i] == '\n') ++line;
        if (q == '"' && text[i] == '\\' && i + 1 < n && text[i + 1] != '\n') ++i;  // escape
      }
      // The closing run may hold up to two more quotes, which belong to the string.
      for (int k = 0; k < 5 && i < n && text[i] == q; ++k) ++i;
    } else if (ch == '"' || ch == '\'') {  // single-line string: ends at its quote or the line
      const char q = ch;
      for (++i; i < n && text[i] != q && text[i] != '\n'; ++i)
        if (q == '"' && text[i] == '\\' && i + 1 < n && text[i + 1] != '\n') ++i;
      if (i < n && text[i] == q) ++i;
    } else if (static_cast<unsigned char>(ch) >= 0x80) {
      return line;
    } else {
      ++i;
    }
  }
  return 0;
}

std::string scalar_text(const toml::node& v, const std::string& key) {
  std::ostringstream s;
  s.precision(17);
  if (auto x = v.as_floating_point())
    s << format_number(x->get());  // the shortest text that reads back as the value
  else if (auto i = v.as_integer())
    s << i->get();
  else if (auto b = v.as_boolean())
    s << (b->get() ? "true" : "false");
  else if (auto t = v.as_string())
    s << t->get();
  else
    throw std::invalid_argument("config key '" + key + "' must be a number, boolean or string");
  return s.str();
}

std::string batch_text(const toml::node& v) {
  if (v.is_string()) return v.as_string()->get();
  const toml::table* t = v.as_table();
  if (!t) throw std::invalid_argument("config 'batch' entries must be strings or tables");
  for (const auto& [k, _] : *t)
    if (k != "c" && k != "q" && k != "count" && k != "fixed")
      throw std::invalid_argument("config batch table has an unknown key '" + std::string(k.str()) +
                                  "' (known: c, q, count, fixed)");
  auto get = [&](const char* k) -> std::string {
    const toml::node* n = t->get(k);
    if (!n) throw std::invalid_argument(std::string("config batch table lacks '") + k + "'");
    return scalar_text(*n, std::string("batch.") + k);
  };
  std::string s = get("c") + "," + get("q") + "," + get("count");
  if (const toml::node* f = t->get("fixed")) {
    auto b = f->as_boolean();
    if (!b) throw std::invalid_argument("config batch 'fixed' must be true or false");
    s += b->get() ? ",fixed" : ",free";
  }
  return s;
}

}  // namespace

void apply_config(CLI::App& sub, const std::string& path) {
  // A directory, /dev/zero or a FIFO would make the parser fail oddly or read forever.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw std::invalid_argument("config '" + path + "' does not exist");
  if (!S_ISREG(st.st_mode))
    throw std::invalid_argument("config '" + path + "' is not a regular file");
  if (::access(path.c_str(), R_OK) != 0)
    throw std::invalid_argument("config '" + path + "' is not readable");
  if (path.size() > 5 && path.substr(path.size() - 5) == ".json") {
    std::ifstream in(path);
    if (!in) throw std::invalid_argument("cannot read config '" + path + "'");
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(in);
    } catch (const nlohmann::json::parse_error& e) {
      throw std::invalid_argument("config '" + path + "' is not valid JSON: " + e.what());
    }
    if (!j.is_object()) throw std::invalid_argument("config '" + path + "' must be a JSON object");
    if (j.contains("command")) {
      if (j["command"] != sub.get_name())
        throw std::invalid_argument("config '" + path + "' is for the command " +
                                    j["command"].dump() + ", not " + sub.get_name());
      j.erase("command");
    }
    apply_json(sub, j, "config '" + path + "'");
    return;
  }
  apply_table(sub, parse_toml_file(path, "config '" + path + "'"), "config '" + path + "'");
}

toml::table parse_toml_file(const std::string& path, const std::string& origin) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument("cannot read " + origin);
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (const std::size_t line = non_ascii_outside_strings(text))
    throw std::invalid_argument(origin + " is not valid TOML: a non-ASCII character outside a "
                                "string or comment (line " + std::to_string(line) + ")");
  try {
    return toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    std::ostringstream s;
    s << origin << " is not valid TOML: " << e.description() << " (line "
      << e.source().begin.line << ")";
    throw std::invalid_argument(s.str());
  }
}

void apply_json(CLI::App& sub, const nlohmann::json& options, const std::string& origin) {
  nlohmann::json o = options;
  o.erase("qbopt_version");
  toml::table t;
  try {
    t = to_toml(o);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(origin + ": " + e.what());
  }
  apply_table(sub, t, origin);
}

nlohmann::json to_json(const toml::table& t) {
  auto value = [](auto&& self, const toml::node& n) -> nlohmann::json {
    if (auto x = n.as_floating_point()) return x->get();
    if (auto i = n.as_integer()) return i->get();
    if (auto b = n.as_boolean()) return b->get();
    if (auto s = n.as_string()) return s->get();
    if (auto a = n.as_array()) {
      nlohmann::json j = nlohmann::json::array();
      for (const auto& e : *a) j.push_back(self(self, e));
      return j;
    }
    if (auto tb = n.as_table()) {
      nlohmann::json j = nlohmann::json::object();
      for (const auto& [k, v] : *tb) j[std::string(k.str())] = self(self, v);
      return j;
    }
    throw std::invalid_argument("dates and times are not configuration values");
  };
  return value(value, t);
}

namespace {

toml::array to_toml_array(const nlohmann::json& j);
toml::table to_toml_table(const nlohmann::json& j);

// Hands the TOML value of `j` to `put` (integers stay integers).
template <class Put>
void put_value(const nlohmann::json& j, Put&& put) {
  if (j.is_number_integer())
    put(j.get<std::int64_t>());
  else if (j.is_number())
    put(j.get<double>());
  else if (j.is_boolean())
    put(j.get<bool>());
  else if (j.is_string())
    put(j.get<std::string>());
  else if (j.is_array())
    put(to_toml_array(j));
  else if (j.is_object())
    put(to_toml_table(j));
  else
    throw std::invalid_argument("null is not a configuration value");
}

toml::array to_toml_array(const nlohmann::json& j) {
  toml::array a;
  for (const auto& e : j) put_value(e, [&](auto&& v) { a.push_back(std::move(v)); });
  return a;
}

toml::table to_toml_table(const nlohmann::json& j) {
  toml::table t;
  for (const auto& [k, v] : j.items())
    put_value(v, [&, key = k](auto&& x) { t.insert_or_assign(key, std::move(x)); });
  return t;
}

}  // namespace

toml::table to_toml(const nlohmann::json& object) {
  if (!object.is_object()) throw std::invalid_argument("a configuration must be an object");
  return to_toml_table(object);
}

void apply_table(CLI::App& sub, const toml::table& tbl, const std::string& origin) {
  const std::string path = origin;  // error messages below name the origin
  for (const auto& [k, v] : tbl) {
    std::string key(k.str());
    if (key == "model" && v.is_table()) {
      // [model] name = "lossy", then its parameters: --model NAME and --param KEY=VALUE.
      CLI::Option* model = sub.get_option_no_throw("--model");
      CLI::Option* param = sub.get_option_no_throw("--param");
      if (!model || !param)
        throw std::invalid_argument(path + ": this command takes no [model] table");
      for (const auto& [pk, pv] : *v.as_table()) {
        const std::string name(pk.str());
        const std::string text = scalar_text(pv, "model." + name);
        if (name == "name") {
          if (model->count() == 0) model->add_result(text);
        } else {
          // A --param on the command line for the same name overrides the file.
          bool overridden = false;
          for (const auto& r : param->results())
            if (r.rfind(name + "=", 0) == 0) overridden = true;
          if (!overridden) param->add_result(name + "=" + text);
        }
      }
      // A table of parameters alone ([sweep.model] g = [...]) keeps the model named elsewhere.
      if (model->count() > 0) model->run_callback();
      param->run_callback();
      continue;
    }
    for (char& ch : key)
      if (ch == '_') ch = '-';
    CLI::Option* opt = sub.get_option_no_throw("--" + key);
    if (!opt || key == "help")
      throw std::invalid_argument(path + ": unknown key '" + std::string(k.str()) + "'");
    if (opt->count() > 0) continue;  // the command line overrides the file
    // A flag takes only true or false (free_g = 5 or strict = "yes" are mistakes, not true).
    if (opt->get_expected_max() == 0 && !v.is_boolean())
      throw std::invalid_argument("config '" + path + "': key '" + std::string(k.str()) +
                                  "' must be true or false");
    std::vector<std::string> values;
    const toml::array* arr = v.as_array();
    if (arr && opt->get_expected_max() == 1) {
      // A list option (--wigner, --g-range, --at, --states-at) takes one text: k1,k2,...
      std::string text;
      for (const auto& e : *arr) text += (text.empty() ? "" : ",") + scalar_text(e, key);
      values.push_back(text);
    } else if (arr) {
      for (const auto& e : *arr)
        values.push_back(key == "batch" ? batch_text(e) : scalar_text(e, key));
    } else {
      values.push_back(key == "batch" ? batch_text(v) : scalar_text(v, key));
    }
    for (const auto& s : values) opt->add_result(s);
    try {
      opt->run_callback();
    } catch (const CLI::Error& e) {
      throw std::invalid_argument(path + ": key '" + std::string(k.str()) + "': " + e.what());
    }
  }
}

}  // namespace qbopt::cli
