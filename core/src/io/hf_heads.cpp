// Head selection for HF *For<Task> checkpoints (problem_type qualifiers).
#include <graft/core/hf_heads.h>

namespace graft::core {

std::string hf_problem_type(const Value& config) {
  if (const Value* p = config.find("problem_type"); p && p->is_string() && !p->as_string().empty())
    return p->as_string();
  int64_t n = -1;
  if (const Value* nl = config.find("num_labels"); nl && nl->is_int()) n = nl->as_int();
  else if (const Value* m = config.find("id2label"); m && m->is_object()) n = static_cast<int64_t>(m->size());
  return n == 1 ? "regression" : "";
}

const Registered<HeadEntry>* head_for_hf_checkpoint(const Registry& registry, const std::string& suffix,
                                                    const Value& config) {
  const std::string problem = hf_problem_type(config);
  if (!problem.empty()) {
    const std::string qualified = suffix + "[problem_type=" + problem + "]";
    for (const auto& name : registry.names(ComponentKind::head)) {
      const auto* h = registry.find_head(name);
      if (!h || h->entry.name != name) continue;
      for (const auto& s : h->entry.hf_names)
        if (s == qualified) return h;
    }
  }
  return registry.head_for_hf_suffix(suffix);
}

}  // namespace graft::core
