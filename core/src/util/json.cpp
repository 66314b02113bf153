#include <graft/core/files.h>
#include <graft/core/json.h>
#include <graft/error.h>

#include <nlohmann/json.hpp>

namespace graft::core {
namespace {

using ordered = nlohmann::ordered_json;

Value to_value(const ordered& j, const std::string& source) {
  Value v;
  switch (j.type()) {
    case ordered::value_t::null: v = Value(); break;
    case ordered::value_t::boolean: v = Value(j.get<bool>()); break;
    case ordered::value_t::number_integer: v = Value(j.get<int64_t>()); break;
    case ordered::value_t::number_unsigned: v = Value(static_cast<int64_t>(j.get<uint64_t>())); break;
    case ordered::value_t::number_float: v = Value(j.get<double>()); break;
    case ordered::value_t::string: v = Value(j.get<std::string>()); break;
    case ordered::value_t::array: {
      Value::Array a;
      a.reserve(j.size());
      for (const auto& e : j) a.push_back(to_value(e, source));
      v = Value(std::move(a));
      break;
    }
    case ordered::value_t::object: {
      Value::Object o;
      o.reserve(j.size());
      for (auto it = j.begin(); it != j.end(); ++it) o.emplace_back(it.key(), to_value(it.value(), source));
      v = Value(std::move(o));
      break;
    }
    default: v = Value(); break;
  }
  v.with_location(SourceLocation{source, 0, 0});
  return v;
}

}  // namespace

Value parse_json(const std::string& text, const std::string& source) {
  try {
    return to_value(ordered::parse(text), source);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is 1-based position of the error; compute line/column for the message.
    size_t byte = e.byte > 0 ? e.byte - 1 : 0;
    int64_t line = 1, col = 1;
    for (size_t i = 0; i < byte && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    std::string what = e.what();
    auto pos = what.find("parse error");
    throw FormatError(cat(source, ":", line, ":", col, ": invalid JSON: ", pos == std::string::npos ? what : what.substr(pos)));
  }
}

Value read_json_file(const std::string& path) {
  std::string text;
  try {
    text = read_file(path);
  } catch (const DataError& e) {
    throw FormatError(e.what());
  }
  return parse_json(text, path);
}

void write_json_file(const std::string& path, const Value& v) { write_file_atomic(path, v.dump_json(2) + "\n"); }

}  // namespace graft::core
