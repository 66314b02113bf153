#pragma once
// graft::Value: a JSON/TOML-like tree that carries where each node came from. Core builds it
// from TOML recipes, JSON files (config.json, tokenizer_config.json) and inference requests;
// plugins read options, HF configs and raw records through it and return predictions in it.
#include <graft/export.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace graft {

/// Where a value was read from: "recipe.toml:12:5" or "config.json" (line 0 = unknown).
struct SourceLocation {
  std::string file;
  int64_t line = 0;
  int64_t column = 0;
  GRAFT_SDK_API std::string str() const;  ///< "file:line:col", "file:line" or "file"
};

class GRAFT_SDK_API Value {
 public:
  enum class Type { null, boolean, integer, floating, string, array, object };
  using Array = std::vector<Value>;
  /// Keys keep insertion order (the order of the file) for faithful round trips.
  using Object = std::vector<std::pair<std::string, Value>>;

  Value() = default;
  Value(std::nullptr_t) {}
  Value(bool b) : data_(b) {}
  Value(int v) : data_(int64_t{v}) {}
  Value(int64_t v) : data_(v) {}
  Value(uint64_t v) : data_(static_cast<int64_t>(v)) {}
  Value(double v) : data_(v) {}
  Value(const char* s) : data_(std::string(s)) {}
  Value(std::string s) : data_(std::move(s)) {}
  Value(std::string_view s) : data_(std::string(s)) {}
  Value(Array a) : data_(std::move(a)) {}
  Value(Object o) : data_(std::move(o)) {}
  Value(const std::vector<std::string>& v);
  Value(const std::vector<double>& v);
  Value(const std::vector<int64_t>& v);

  static Value object() { return Value(Object{}); }
  static Value array() { return Value(Array{}); }

  Type type() const { return static_cast<Type>(data_.index()); }
  static const char* type_name(Type t);  ///< "string", "integer", "table" ...
  const char* type_name() const { return type_name(type()); }
  bool is_null() const { return type() == Type::null; }
  bool is_bool() const { return type() == Type::boolean; }
  bool is_int() const { return type() == Type::integer; }
  bool is_number() const { return type() == Type::integer || type() == Type::floating; }
  bool is_string() const { return type() == Type::string; }
  bool is_array() const { return type() == Type::array; }
  bool is_object() const { return type() == Type::object; }

  /// Typed access; throw ConfigError naming the location and the expected type on mismatch.
  bool as_bool() const;
  int64_t as_int() const;
  double as_double() const;  ///< integers convert
  const std::string& as_string() const;
  const Array& as_array() const;
  Array& as_array();
  const Object& as_object() const;
  Object& as_object();

  /// Object access. find() returns nullptr when missing (or when this is not an object).
  const Value* find(std::string_view key) const;
  Value* find(std::string_view key);
  bool contains(std::string_view key) const { return find(key) != nullptr; }
  /// Throws ConfigError "<loc>: missing key 'k'" when absent.
  const Value& at(std::string_view key) const;
  /// Inserts (or replaces) a key, keeping order.
  Value& set(std::string key, Value v);
  bool erase(std::string_view key);
  /// Array append.
  void push_back(Value v);
  size_t size() const;  ///< elements of an array/object, 0 otherwise

  /// Convenience getters with defaults (for configs like config.json).
  int64_t get_int(std::string_view key, int64_t dflt) const;
  double get_double(std::string_view key, double dflt) const;
  std::string get_string(std::string_view key, const std::string& dflt) const;
  bool get_bool(std::string_view key, bool dflt) const;

  const SourceLocation& location() const { return loc_; }
  Value& with_location(SourceLocation loc) { loc_ = std::move(loc); return *this; }

  /// Compact JSON (indent < 0) or pretty JSON. Non-finite doubles print as null.
  std::string dump_json(int indent = -1) const;

  bool operator==(const Value& o) const { return data_ == o.data_; }

 private:
  std::variant<std::monostate, bool, int64_t, double, std::string, Array, Object> data_;
  SourceLocation loc_;
};

}  // namespace graft
