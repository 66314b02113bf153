#include <graft/error.h>
#include <graft/value.h>

#include <cmath>
#include <cstdlib>
#include <cstdio>

namespace graft {

std::string SourceLocation::str() const {
  if (file.empty()) return {};
  if (line <= 0) return file;
  if (column <= 0) return cat(file, ':', line);
  return cat(file, ':', line, ':', column);
}

Value::Value(const std::vector<std::string>& v) : data_(Array{}) {
  auto& a = std::get<Array>(data_);
  for (const auto& s : v) a.emplace_back(s);
}
Value::Value(const std::vector<double>& v) : data_(Array{}) {
  auto& a = std::get<Array>(data_);
  for (double s : v) a.emplace_back(s);
}
Value::Value(const std::vector<int64_t>& v) : data_(Array{}) {
  auto& a = std::get<Array>(data_);
  for (int64_t s : v) a.emplace_back(s);
}

const char* Value::type_name(Type t) {
  switch (t) {
    case Type::null: return "null";
    case Type::boolean: return "boolean";
    case Type::integer: return "integer";
    case Type::floating: return "float";
    case Type::string: return "string";
    case Type::array: return "array";
    case Type::object: return "table";
  }
  return "?";
}

namespace {
[[noreturn]] void type_mismatch(const Value& v, const char* expected) {
  std::string where = v.location().str();
  throw ConfigError(cat(where.empty() ? "" : where + ": ", "expected ", expected, ", got ", v.type_name()));
}
}  // namespace

bool Value::as_bool() const {
  if (!is_bool()) type_mismatch(*this, "boolean");
  return std::get<bool>(data_);
}
int64_t Value::as_int() const {
  if (is_int()) return std::get<int64_t>(data_);
  if (type() == Type::floating) {
    double d = std::get<double>(data_);
    if (std::floor(d) == d && std::abs(d) < 9.0e18) return static_cast<int64_t>(d);
  }
  type_mismatch(*this, "integer");
}
double Value::as_double() const {
  if (is_int()) return static_cast<double>(std::get<int64_t>(data_));
  if (type() == Type::floating) return std::get<double>(data_);
  type_mismatch(*this, "number");
}
const std::string& Value::as_string() const {
  if (!is_string()) type_mismatch(*this, "string");
  return std::get<std::string>(data_);
}
const Value::Array& Value::as_array() const {
  if (!is_array()) type_mismatch(*this, "array");
  return std::get<Array>(data_);
}
Value::Array& Value::as_array() {
  if (!is_array()) type_mismatch(*this, "array");
  return std::get<Array>(data_);
}
const Value::Object& Value::as_object() const {
  if (!is_object()) type_mismatch(*this, "table");
  return std::get<Object>(data_);
}
Value::Object& Value::as_object() {
  if (!is_object()) type_mismatch(*this, "table");
  return std::get<Object>(data_);
}

const Value* Value::find(std::string_view key) const {
  if (!is_object()) return nullptr;
  for (const auto& [k, v] : std::get<Object>(data_))
    if (k == key) return &v;
  return nullptr;
}
Value* Value::find(std::string_view key) {
  if (!is_object()) return nullptr;
  for (auto& [k, v] : std::get<Object>(data_))
    if (k == key) return &v;
  return nullptr;
}
const Value& Value::at(std::string_view key) const {
  const Value* v = find(key);
  if (!v) {
    std::string where = loc_.str();
    throw ConfigError(cat(where.empty() ? "" : where + ": ", "missing key '", key, "'"));
  }
  return *v;
}
Value& Value::set(std::string key, Value v) {
  if (is_null()) data_ = Object{};
  auto& o = as_object();
  for (auto& [k, old] : o)
    if (k == key) {
      old = std::move(v);
      return old;
    }
  o.emplace_back(std::move(key), std::move(v));
  return o.back().second;
}
bool Value::erase(std::string_view key) {
  if (!is_object()) return false;
  auto& o = std::get<Object>(data_);
  for (auto it = o.begin(); it != o.end(); ++it)
    if (it->first == key) {
      o.erase(it);
      return true;
    }
  return false;
}
void Value::push_back(Value v) {
  if (is_null()) data_ = Array{};
  as_array().push_back(std::move(v));
}
size_t Value::size() const {
  if (is_array()) return std::get<Array>(data_).size();
  if (is_object()) return std::get<Object>(data_).size();
  return 0;
}

int64_t Value::get_int(std::string_view key, int64_t dflt) const {
  const Value* v = find(key);
  return v && !v->is_null() ? v->as_int() : dflt;
}
double Value::get_double(std::string_view key, double dflt) const {
  const Value* v = find(key);
  return v && !v->is_null() ? v->as_double() : dflt;
}
std::string Value::get_string(std::string_view key, const std::string& dflt) const {
  const Value* v = find(key);
  return v && !v->is_null() ? v->as_string() : dflt;
}
bool Value::get_bool(std::string_view key, bool dflt) const {
  const Value* v = find(key);
  return v && !v->is_null() ? v->as_bool() : dflt;
}

namespace {
void escape(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

void dump(const Value& v, std::string& out, int indent, int depth) {
  auto newline = [&](int d) {
    if (indent < 0) return;
    out += '\n';
    out.append(static_cast<size_t>(indent * d), ' ');
  };
  switch (v.type()) {
    case Value::Type::null: out += "null"; break;
    case Value::Type::boolean: out += v.as_bool() ? "true" : "false"; break;
    case Value::Type::integer: out += std::to_string(v.as_int()); break;
    case Value::Type::floating: {
      double d = v.as_double();
      if (!std::isfinite(d)) {
        out += "null";
      } else {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.17g", d);
        // shortest representation that round-trips
        for (int p = 1; p <= 17; ++p) {
          char b2[32];
          std::snprintf(b2, sizeof b2, "%.*g", p, d);
          if (std::strtod(b2, nullptr) == d) {
            std::snprintf(buf, sizeof buf, "%s", b2);
            break;
          }
        }
        std::string s = buf;
        if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
        out += s;
      }
      break;
    }
    case Value::Type::string: escape(out, v.as_string()); break;
    case Value::Type::array: {
      const auto& a = v.as_array();
      out += '[';
      for (size_t i = 0; i < a.size(); ++i) {
        if (i) out += indent < 0 ? "," : ",";
        newline(depth + 1);
        dump(a[i], out, indent, depth + 1);
      }
      if (!a.empty()) newline(depth);
      out += ']';
      break;
    }
    case Value::Type::object: {
      const auto& o = v.as_object();
      out += '{';
      for (size_t i = 0; i < o.size(); ++i) {
        if (i) out += ",";
        newline(depth + 1);
        escape(out, o[i].first);
        out += indent < 0 ? ":" : ": ";
        dump(o[i].second, out, indent, depth + 1);
      }
      if (!o.empty()) newline(depth);
      out += '}';
      break;
    }
  }
}
}  // namespace

std::string Value::dump_json(int indent) const {
  std::string out;
  dump(*this, out, indent, 0);
  return out;
}

}  // namespace graft
