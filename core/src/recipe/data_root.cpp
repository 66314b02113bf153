#include <graft/core/data_root.h>

#include <graft/error.h>

#include <cstdlib>
#include <filesystem>

namespace graft::core {

namespace {

std::string& explicit_root() {
  static std::string root;
  return root;
}

void expand(Value& v, const std::string& root, Diagnostics& diag, const std::string& path) {
  if (v.is_string()) {
    const std::string& s = v.as_string();
    if (s.find("{data}") == std::string::npos) return;
    if (root.empty()) {
      diag.error(path, cat("'", s, "' uses {data} but no data root is set: pass --data-dir DIR or set GRAFT_DATA"),
                 v.location());
      return;
    }
    std::string out;
    size_t pos = 0;
    while (true) {
      size_t at = s.find("{data}", pos);
      out += s.substr(pos, at == std::string::npos ? std::string::npos : at - pos);
      if (at == std::string::npos) break;
      out += root;
      pos = at + 6;
    }
    SourceLocation loc = v.location();
    v = Value(out);
    v.with_location(loc);
  } else if (v.is_array()) {
    auto& a = v.as_array();
    for (size_t i = 0; i < a.size(); ++i) expand(a[i], root, diag, cat(path, "[", i, "]"));
  } else if (v.is_object()) {
    for (auto& [k, x] : v.as_object()) expand(x, root, diag, path.empty() ? k : path + "." + k);
  }
}

}  // namespace

void set_data_root(const std::string& dir) { explicit_root() = dir; }

std::string data_root() {
  std::string root = explicit_root();
  if (root.empty())
    if (const char* env = std::getenv("GRAFT_DATA")) root = env;
  if (root.empty()) return root;
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(root, ec);
  return ec ? root : abs.lexically_normal().string();
}

void expand_data_root(Value& recipe, const std::string& base_dir, Diagnostics& diag) {
  const std::string root = data_root();
  expand(recipe, root, diag, "");
  if (root.empty() || !recipe.is_object()) return;
  Value* tasks = recipe.find("tasks");
  if (!tasks || !tasks->is_array()) return;
  namespace fs = std::filesystem;
  for (auto& task : tasks->as_array()) {
    Value* proc = task.is_object() ? task.find("processor") : nullptr;
    if (!proc || !proc->is_object()) continue;
    for (auto& [key, v] : proc->as_object()) {
      if (key == "type" || !v.is_string() || v.as_string().empty()) continue;
      const fs::path p(v.as_string());
      if (p.is_absolute()) continue;
      std::error_code ec;
      if (fs::exists(fs::path(base_dir) / p, ec)) continue;
      const fs::path under_root = fs::path(root) / p;
      if (!fs::exists(under_root, ec)) continue;
      SourceLocation loc = v.location();
      v = Value(under_root.lexically_normal().string());
      v.with_location(loc);
    }
  }
}

}  // namespace graft::core
