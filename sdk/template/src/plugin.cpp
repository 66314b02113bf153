// The plugin's one entry point: its descriptor and what it registers.
#include <graft/plugin.h>

#include "exact_match.h"

namespace hello {
void register_components(graft::Registrar& r) {
  r.metric<ExactMatch, ExactMatchOptions>("exact_match", "Fraction of predictions equal to the gold value", {"em"});
}
}  // namespace hello

GRAFT_PLUGIN(hello_metric, "0.1.0", "bundle", "Template plugin: an exact-match metric", hello::register_components)
