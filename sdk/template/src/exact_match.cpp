#include "exact_match.h"

#include <graft/error.h>

#include <cctype>

namespace hello {
namespace {
std::string normalized(const graft::Value& v, bool ignore_case) {
  if (!v.is_string()) return v.dump_json();
  std::string s = v.as_string();
  if (ignore_case)
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return "\"" + s;
}
}  // namespace

graft::Value ExactMatch::compute(const graft::MetricInput& input) const {
  if (input.gold.size() != input.pred.size())
    throw graft::DataError(graft::cat("exact_match: ", input.gold.size(), " gold values but ", input.pred.size(),
                                      " predictions"));
  size_t hits = 0;
  for (size_t i = 0; i < input.gold.size(); ++i)
    if (normalized(input.gold[i], options_.ignore_case) == normalized(input.pred[i], options_.ignore_case)) ++hits;
  graft::Value out = graft::Value::object();
  out.set(options_.key, input.gold.empty() ? 0.0 : static_cast<double>(hits) / static_cast<double>(input.gold.size()));
  return out;
}

}  // namespace hello
