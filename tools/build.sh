#!/usr/bin/env bash
# Incremental build of the shared build/ tree, serialized with a lock so that several
# engineers (or editor sessions) building at once do not overload the 2-core machine or
# corrupt ninja's state. Usage: tools/build.sh [targets...]   (no targets = everything)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f build/build.ninja ] || cmake --preset default >/dev/null
exec flock /tmp/graft-build.lock ninja -C build "$@"
