#!/bin/sh
# Regenerates docs/recipes.md from the option schemas of every registered component.
# usage: tools/gen_recipe_docs.sh [BUILD_DIR]   (default: build)
# The graft of BUILD_DIR loads the plugins built beside it; nothing else is searched.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$root/build"}
graft="$build/bin/graft"
if [ ! -x "$graft" ]; then
  echo "gen_recipe_docs: $graft not found; build the 'graft' target and the plugins first" >&2
  exit 1
fi
env -u GRAFT_PLUGIN_PATH "$graft" --log-level warn recipe docs --output "$root/docs/recipes.md"
echo "wrote $root/docs/recipes.md"
