#pragma once
// The data root of recipes (`graft train --data-dir DIR`, else $GRAFT_DATA). Recipes stay
// portable: a relative path in a task's processor table that does not exist next to the recipe
// is looked up under the data root (`train = "conll2003-en/eng.train"`), and `{data}` in any
// string of a recipe stands for the root explicitly (`train = "{data}/conll2003-en/eng.train"`).
#include <graft/options.h>
#include <graft/value.h>

#include <string>

namespace graft::core {

/// Sets the data root for this process (the CLI's --data-dir); "" = fall back to $GRAFT_DATA.
void set_data_root(const std::string& dir);
/// The data root: set_data_root's value, else $GRAFT_DATA, else "".
std::string data_root();
/// On a parsed recipe: replaces every "{data}" in its strings by the data root (a string that
/// uses it while no root is set is reported to `diag`), then makes each relative path of the
/// tasks' processor tables absolute under the data root when it exists there and not under
/// `base_dir` (the recipe's directory).
void expand_data_root(Value& recipe, const std::string& base_dir, Diagnostics& diag);

}  // namespace graft::core
