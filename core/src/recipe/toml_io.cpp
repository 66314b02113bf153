// TOML ↔ graft::Value (toml++ stays in this file), and `--set` overrides.
#include <graft/core/files.h>
#include <graft/core/recipe.h>
#include <graft/error.h>

#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <sstream>

namespace graft::core {
namespace {

SourceLocation location_of(const toml::node& n, const std::string& source) {
  const auto& b = n.source().begin;
  return SourceLocation{source, static_cast<int64_t>(b.line), static_cast<int64_t>(b.column)};
}

bool before(const toml::source_position& a, const toml::source_position& b) {
  return a.line != b.line ? a.line < b.line : a.column < b.column;
}

Value convert(const toml::node& n, const std::string& source) {
  Value v;
  switch (n.type()) {
    case toml::node_type::table: {
      const auto& t = *n.as_table();
      std::vector<std::pair<const toml::key*, const toml::node*>> items;
      for (auto&& [k, child] : t) items.emplace_back(&k, &child);
      // toml++ keeps keys sorted; graft keeps the order of the file.
      std::stable_sort(items.begin(), items.end(), [](const auto& a, const auto& b) {
        return before(a.first->source().begin, b.first->source().begin);
      });
      v = Value::object();
      for (const auto& [k, child] : items) v.set(std::string(k->str()), convert(*child, source));
      break;
    }
    case toml::node_type::array: {
      v = Value::array();
      for (const auto& e : *n.as_array()) v.push_back(convert(e, source));
      break;
    }
    case toml::node_type::string: v = Value(n.as_string()->get()); break;
    case toml::node_type::integer: v = Value(n.as_integer()->get()); break;
    case toml::node_type::floating_point: v = Value(n.as_floating_point()->get()); break;
    case toml::node_type::boolean: v = Value(n.as_boolean()->get()); break;
    default: {  // dates and times: kept as their TOML text
      std::ostringstream os;
      if (auto* d = n.as_date()) os << *d;
      else if (auto* t = n.as_time()) os << *t;
      else if (auto* dt = n.as_date_time()) os << *dt;
      v = Value(os.str());
    }
  }
  v.with_location(location_of(n, source));
  return v;
}

// --- writer ---------------------------------------------------------------------------------

bool bare_key(const std::string& k) {
  return !k.empty() && std::all_of(k.begin(), k.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string key_text(const std::string& k) { return bare_key(k) ? k : quoted(k); }

std::string float_text(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d);
  std::string s(buf, r.ptr);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

bool is_table_array(const Value& v) {
  if (!v.is_array() || v.size() == 0) return false;
  for (const auto& e : v.as_array())
    if (!e.is_object()) return false;
  return true;
}

std::string inline_value(const Value& v) {
  switch (v.type()) {
    case Value::Type::null: return "\"\"";
    case Value::Type::boolean: return v.as_bool() ? "true" : "false";
    case Value::Type::integer: return std::to_string(v.as_int());
    case Value::Type::floating: return float_text(v.as_double());
    case Value::Type::string: return quoted(v.as_string());
    case Value::Type::array: {
      std::string out = "[";
      bool first = true;
      for (const auto& e : v.as_array()) {
        if (e.is_null()) continue;
        out += (first ? "" : ", ") + inline_value(e);
        first = false;
      }
      return out + "]";
    }
    case Value::Type::object: {
      if (v.size() == 0) return "{}";
      std::string out = "{ ";
      bool first = true;
      for (const auto& [k, e] : v.as_object()) {
        if (e.is_null()) continue;
        out += (first ? "" : ", ") + key_text(k) + " = " + inline_value(e);
        first = false;
      }
      return out + " }";
    }
  }
  return "\"\"";
}

void emit_table(std::string& out, const std::string& path, const Value& table, bool array_element) {
  std::string body;
  for (const auto& [k, v] : table.as_object()) {
    if (v.is_null() || (v.is_object() && v.size() > 0) || is_table_array(v)) continue;
    body += key_text(k) + " = " + inline_value(v) + "\n";
  }
  if (!path.empty()) {
    bool has_subtables = false;
    for (const auto& [k, v] : table.as_object())
      if ((v.is_object() && v.size() > 0) || is_table_array(v)) has_subtables = true;
    // a table with only sub-tables needs no header of its own (unless it is an array element)
    if (array_element || !body.empty() || !has_subtables) {
      if (!out.empty()) out += "\n";
      out += array_element ? "[[" + path + "]]\n" : "[" + path + "]\n";
    }
  }
  out += body;
  for (const auto& [k, v] : table.as_object()) {
    std::string sub = path.empty() ? key_text(k) : path + "." + key_text(k);
    if (v.is_object() && v.size() > 0) emit_table(out, sub, v, false);
  }
  for (const auto& [k, v] : table.as_object()) {
    std::string sub = path.empty() ? key_text(k) : path + "." + key_text(k);
    if (is_table_array(v))
      for (const auto& e : v.as_array()) emit_table(out, sub, e, true);
  }
}

}  // namespace

Value parse_toml(const std::string& text, const std::string& source) {
  try {
    toml::table t = toml::parse(std::string_view(text), std::string_view(source));
    return convert(t, source).with_location(SourceLocation{source, 0, 0});
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    SourceLocation loc{source, static_cast<int64_t>(b.line), static_cast<int64_t>(b.column)};
    throw ConfigError(cat(loc.str(), ": TOML syntax error: ", e.description()));
  }
}

Value read_toml_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw ConfigError(cat(path, ": no such file"));
  if (std::filesystem::is_directory(path, ec)) throw ConfigError(cat(path, ": is a directory, expected a TOML file"));
  std::string text;
  try {
    text = read_file(path);
  } catch (const Error& e) {
    throw ConfigError(e.what());
  }
  return parse_toml(text, path);
}

std::string to_toml(const Value& table) {
  if (!table.is_object()) throw ConfigError(cat("to_toml: expected a table, got ", table.type_name()));
  std::string out;
  emit_table(out, "", table, false);
  return out;
}

// --- overrides ---------------------------------------------------------------------------------

namespace {
struct PathStep {
  std::string key;      ///< set for a key step
  int64_t index = -1;   ///< >= 0 for an [N] step
};

std::vector<PathStep> parse_key_path(const std::string& path, const std::string& assignment) {
  std::vector<PathStep> steps;
  size_t i = 0;
  auto bad = [&](const std::string& why) -> ConfigError {
    return ConfigError(cat("--set '", assignment, "': ", why));
  };
  while (i < path.size()) {
    if (path[i] == '[') {
      size_t close = path.find(']', i);
      if (close == std::string::npos) throw bad("missing ']' in the key");
      std::string num = path.substr(i + 1, close - i - 1);
      if (num.empty() || !std::all_of(num.begin(), num.end(), ::isdigit))
        throw bad(cat("expected an index like [0], got [", num, "]"));
      if (steps.empty()) throw bad("a key cannot start with an index");
      steps.push_back(PathStep{"", std::stoll(num)});
      i = close + 1;
      if (i < path.size() && path[i] == '.') {
        ++i;
        if (i == path.size()) throw bad("the key ends with '.'");
      }
      continue;
    }
    size_t end = path.find_first_of(".[", i);
    if (end == std::string::npos) end = path.size();
    std::string key = path.substr(i, end - i);
    if (!bare_key(key)) throw bad(cat("'", key, "' is not a valid key (letters, digits, '_' and '-')"));
    steps.push_back(PathStep{key, -1});
    i = end;
    if (i < path.size() && path[i] == '.') {
      ++i;
      if (i == path.size()) throw bad("the key ends with '.'");
    }
  }
  if (steps.empty()) throw bad("expected KEY=VALUE, e.g. training.epochs=2");
  return steps;
}

std::string a_type(const Value& v) {
  std::string t = v.type_name();
  return std::string((t == "integer" || t == "array") ? "an " : "a ") + t;
}

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
  return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
}
}  // namespace

void apply_override(Value& root, const std::string& assignment) {
  size_t eq = assignment.find('=');
  if (eq == std::string::npos)
    throw ConfigError(cat("--set '", assignment, "': expected KEY=VALUE, e.g. training.epochs=2"));
  std::string path = trim(assignment.substr(0, eq));
  std::string text = trim(assignment.substr(eq + 1));
  auto steps = parse_key_path(path, assignment);
  SourceLocation loc{cat("--set ", assignment), 0, 0};

  Value value;
  try {
    std::string doc = "v = " + text;
    toml::table t = toml::parse(std::string_view(doc), std::string_view("--set"));
    value = convert(*t.get("v"), loc.file);
  } catch (const toml::parse_error&) {
    value = Value(text);  // a bare word: a string
  }
  // every node of the new value points at the --set argument
  std::function<void(Value&)> relocate = [&](Value& v) {
    v.with_location(loc);
    if (v.is_array())
      for (auto& e : v.as_array()) relocate(e);
    if (v.is_object())
      for (auto& [k, e] : v.as_object()) relocate(e);
  };
  relocate(value);

  if (!root.is_object()) root = Value::object();
  Value* cur = &root;
  std::string walked;
  for (size_t s = 0; s < steps.size(); ++s) {
    const bool last = s + 1 == steps.size();
    const auto& st = steps[s];
    if (st.index < 0) {
      if (cur->is_null()) *cur = Value::object().with_location(loc);
      if (!cur->is_object())
        throw ConfigError(cat("--set '", assignment, "': ", walked, " is ", a_type(*cur), ", not a table"));
      walked += (walked.empty() ? "" : ".") + st.key;
      if (last) {
        cur->set(st.key, value);
        return;
      }
      Value* next = cur->find(st.key);
      if (!next) next = &cur->set(st.key, steps[s + 1].index >= 0 ? Value::array() : Value::object());
      cur = next;
    } else {
      if (!cur->is_array())
        throw ConfigError(cat("--set '", assignment, "': ", walked, " is ", a_type(*cur), ", not an array"));
      auto& arr = cur->as_array();
      const size_t n = arr.size();
      if (static_cast<size_t>(st.index) > n || (static_cast<size_t>(st.index) == n && last))
        throw ConfigError(cat("--set '", assignment, "': ", walked, " has ", n, " element", n == 1 ? "" : "s",
                              ", so [", st.index, "] does not exist"));
      walked += cat("[", st.index, "]");
      if (static_cast<size_t>(st.index) == n) arr.push_back(Value::object().with_location(loc));
      if (last) {
        arr[st.index] = value;
        return;
      }
      cur = &arr[st.index];
    }
  }
}

}  // namespace graft::core
