// Reader, writer and schema collector over Options::visit — the one definition of every option.
#include <graft/core/options_io.h>
#include <graft/core/registry.h>
#include <graft/error.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

namespace graft::core {
namespace {

std::string quote(const std::string& s) { return "'" + s + "'"; }

std::string number_text(double d) {
  if (std::floor(d) == d && std::abs(d) < 1e15) return std::to_string(static_cast<int64_t>(d));
  std::ostringstream os;
  os.precision(17);
  os << d;
  // shortest round trip is nicer; fall back to %g for the common short values
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", d);
  if (std::strtod(buf, nullptr) == d) return buf;
  return os.str();
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

// "a value in [0, 1]", "a value >= 1", "a value <= 5"
std::string range_text(const Check& c) {
  if (c.min && c.max) return cat("a value in [", number_text(*c.min), ", ", number_text(*c.max), "]");
  if (c.min) return cat("a value >= ", number_text(*c.min));
  return cat("a value <= ", number_text(*c.max));
}

class Reader final : public OptionVisitor {
 public:
  Reader(const Value& table, Diagnostics& diag) : table_(table), diag_(diag) {}
  std::set<std::string> visited;
  std::vector<std::string> keys;

  void field(const FieldMeta& m, bool& v) override {
    if (const Value* x = lookup(m)) {
      if (x->is_bool()) v = x->as_bool();
      else mismatch(m.key, *x, "boolean");
    }
  }
  void field(const FieldMeta& m, int64_t& v) override {
    if (const Value* x = lookup(m)) {
      if (!x->is_int()) return mismatch(m.key, *x, "integer");
      if (check_number(m, m.key, *x, static_cast<double>(x->as_int()))) v = x->as_int();
    }
  }
  void field(const FieldMeta& m, double& v) override {
    if (const Value* x = lookup(m)) {
      if (!x->is_number()) return mismatch(m.key, *x, "number");
      if (check_number(m, m.key, *x, x->as_double())) v = x->as_double();
    }
  }
  void field(const FieldMeta& m, std::string& v) override {
    if (const Value* x = lookup(m)) {
      if (!x->is_string()) return mismatch(m.key, *x, "string");
      if (check_choice(m, m.key, *x)) v = x->as_string();
    }
  }
  void field(const FieldMeta& m, std::vector<std::string>& v) override {
    read_list(m, v, "array of strings", [&](const std::string& key, const Value& e, std::string& out) {
      if (!e.is_string()) return mismatch(key, e, "string"), false;
      if (!check_choice(m, key, e)) return false;
      out = e.as_string();
      return true;
    });
  }
  void field(const FieldMeta& m, std::vector<int64_t>& v) override {
    read_list(m, v, "array of integers", [&](const std::string& key, const Value& e, int64_t& out) {
      if (!e.is_int()) return mismatch(key, e, "integer"), false;
      if (!check_number(m, key, e, static_cast<double>(e.as_int()))) return false;
      out = e.as_int();
      return true;
    });
  }
  void field(const FieldMeta& m, std::vector<double>& v) override {
    read_list(m, v, "array of numbers", [&](const std::string& key, const Value& e, double& out) {
      if (!e.is_number()) return mismatch(key, e, "number"), false;
      if (!check_number(m, key, e, e.as_double())) return false;
      out = e.as_double();
      return true;
    });
  }
  void field(const FieldMeta& m, Value& v) override {
    if (const Value* x = lookup(m)) v = *x;
  }

 private:
  const Value* lookup(const FieldMeta& m) {
    if (visited.insert(m.key).second) keys.push_back(m.key);
    const Value* x = table_.is_object() ? table_.find(m.key) : nullptr;
    if (x && x->is_null()) x = nullptr;  // JSON null = not given
    if (!x && m.required)
      diag_.error(m.key, m.doc.empty() ? "missing required key" : cat("missing required key (", m.doc, ")"),
                  table_.location());
    return x;
  }
  void mismatch(const std::string& key, const Value& x, const char* expected) {
    std::string got = x.type_name();
    if (x.is_string()) got += cat(" \"", x.as_string(), "\"");
    diag_.error(key, cat("expected ", expected, ", got ", got), x.location());
  }
  bool check_number(const FieldMeta& m, const std::string& key, const Value& x, double d) {
    const Check& c = m.check;
    if ((c.min && d < *c.min) || (c.max && d > *c.max) || std::isnan(d)) {
      diag_.error(key, cat("expected ", range_text(c), ", got ", number_text(d)), x.location());
      return false;
    }
    return true;
  }
  bool check_choice(const FieldMeta& m, const std::string& key, const Value& x) {
    const auto& choices = m.check.choices;
    if (choices.empty() || std::find(choices.begin(), choices.end(), x.as_string()) != choices.end()) return true;
    std::string msg = cat("\"", x.as_string(), "\" is not one of: ", join(choices, ", "));
    std::string guess = did_you_mean(x.as_string(), choices);
    if (!guess.empty()) msg += cat("; did you mean \"", guess, "\"?");
    diag_.error(key, msg, x.location());
    return false;
  }
  template <class T, class Fn>
  void read_list(const FieldMeta& m, std::vector<T>& v, const char* what, Fn&& element) {
    const Value* x = lookup(m);
    if (!x) return;
    if (!x->is_array()) return mismatch(m.key, *x, what);
    std::vector<T> out;
    bool ok = true;
    const auto& arr = x->as_array();
    for (size_t i = 0; i < arr.size(); ++i) {
      T t{};
      if (element(cat(m.key, "[", i, "]"), arr[i], t)) out.push_back(std::move(t));
      else ok = false;
    }
    if (ok) v = std::move(out);
  }

  const Value& table_;
  Diagnostics& diag_;
};

class Writer final : public OptionVisitor {
 public:
  Value out = Value::object();
  void field(const FieldMeta& m, bool& v) override { out.set(m.key, v); }
  void field(const FieldMeta& m, int64_t& v) override { out.set(m.key, v); }
  void field(const FieldMeta& m, double& v) override { out.set(m.key, v); }
  void field(const FieldMeta& m, std::string& v) override { out.set(m.key, v); }
  void field(const FieldMeta& m, std::vector<std::string>& v) override { out.set(m.key, Value(v)); }
  void field(const FieldMeta& m, std::vector<int64_t>& v) override { out.set(m.key, Value(v)); }
  void field(const FieldMeta& m, std::vector<double>& v) override { out.set(m.key, Value(v)); }
  void field(const FieldMeta& m, Value& v) override {
    if (!v.is_null()) out.set(m.key, v);
  }
};

class Describer final : public OptionVisitor {
 public:
  std::vector<FieldSchema> fields;
  void field(const FieldMeta& m, bool& v) override { add(m, "boolean", v); }
  void field(const FieldMeta& m, int64_t& v) override { add(m, "integer", v); }
  void field(const FieldMeta& m, double& v) override { add(m, "float", v); }
  void field(const FieldMeta& m, std::string& v) override { add(m, "string", v); }
  void field(const FieldMeta& m, std::vector<std::string>& v) override { add(m, "array of strings", Value(v)); }
  void field(const FieldMeta& m, std::vector<int64_t>& v) override { add(m, "array of integers", Value(v)); }
  void field(const FieldMeta& m, std::vector<double>& v) override { add(m, "array of floats", Value(v)); }
  void field(const FieldMeta& m, Value& v) override { add(m, "any", v); }

 private:
  void add(const FieldMeta& m, const char* type, Value dflt) {
    fields.push_back(FieldSchema{m.key, type, m.doc, m.required, std::move(dflt), m.check});
  }
};

}  // namespace

void read_options(OptionsBase& options, const Value& table, Diagnostics& diag, const ReadMode& mode) {
  const size_t before = diag.count();
  if (!table.is_null() && !table.is_object()) {
    diag.error("", cat("expected a table, got ", table.type_name()), table.location());
    return;
  }
  Reader reader(table, diag);
  options.visit(reader);
  if (table.is_object() && !mode.allow_unknown) {
    std::vector<std::string> known = reader.keys;
    std::sort(known.begin(), known.end());
    for (const auto& [key, value] : table.as_object()) {
      if (reader.visited.count(key) ||
          std::find(mode.extra_keys.begin(), mode.extra_keys.end(), key) != mode.extra_keys.end())
        continue;
      std::string msg = cat("unknown key ", quote(key));
      std::string guess = did_you_mean(key, known);
      if (!guess.empty()) msg += cat("; did you mean ", quote(guess), "?");
      msg += cat(" (known keys: ", known.empty() ? "none" : join(known, ", "), ")");
      diag.error(key, msg, value.location());
    }
  }
  if (diag.count() == before) options.check(diag);
}

Value write_options(OptionsBase& options) {
  Writer w;
  options.visit(w);
  return std::move(w.out);
}

std::vector<FieldSchema> describe_options(OptionsBase& options) {
  Describer d;
  options.visit(d);
  return std::move(d.fields);
}

}  // namespace graft::core
