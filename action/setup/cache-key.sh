#!/usr/bin/env bash
# The cache key of keywarden's installed dependencies (action.yml): runner OS and architecture, the
# Node ABI the re2 addon is built for, and a hash of the Action's own files (a new ref, a new key).
# hashFiles() cannot be used: it only reads the workspace, and the Action lives outside it.
set -euo pipefail
cd "${GITHUB_ACTION_PATH:?GITHUB_ACTION_PATH is not set}"
abi=$(node -p 'process.versions.modules')
sources=$(find . \( -name node_modules -o -name dist -o -name .git \) -prune -o -type f -print0 \
  | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-24)
echo "key=keywarden-deps-${RUNNER_OS:-unknown}-${RUNNER_ARCH:-unknown}-node-abi${abi}-${sources}" >> "${GITHUB_OUTPUT:?}"
