#pragma once
// Typed field access for tokenizer.json objects; errors name the file and the dotted field.
#include <graft/error.h>

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace graft::core::tok {

inline const nlohmann::json* jmember(const nlohmann::json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

inline bool jbool(const nlohmann::json& obj, const char* key, bool dflt, const std::string& path,
                  const std::string& where) {
  const auto* v = jmember(obj, key);
  if (!v || v->is_null()) return dflt;
  if (!v->is_boolean())
    throw FormatError(cat(path, ": field '", where, key, "' must be a boolean, got ", v->type_name()));
  return v->get<bool>();
}

inline int64_t jint(const nlohmann::json& obj, const char* key, int64_t dflt, const std::string& path,
                    const std::string& where) {
  const auto* v = jmember(obj, key);
  if (!v || v->is_null()) return dflt;
  if (!v->is_number_integer())
    throw FormatError(cat(path, ": field '", where, key, "' must be an integer, got ", v->type_name()));
  return v->get<int64_t>();
}

inline std::string jstr(const nlohmann::json& obj, const char* key, const std::string& dflt, const std::string& path,
                        const std::string& where) {
  const auto* v = jmember(obj, key);
  if (!v || v->is_null()) return dflt;
  if (!v->is_string())
    throw FormatError(cat(path, ": field '", where, key, "' must be a string, got ", v->type_name()));
  return v->get<std::string>();
}

}  // namespace graft::core::tok
