#!/usr/bin/env bash
# Installs keywarden inside the Action's own directory (GITHUB_ACTION_PATH, the checked-out action
# ref), for action.yml. re2 is a native addon and cannot be bundled into one JS file, so the Action
# runs from this directory with its own node_modules, cached between runs by action.yml.
#   - a ref that ships dist/ (a release): production dependencies only;
#   - a ref without it (a branch, a sha): all dependencies, build, then drop the dev ones.
# Install scripts are off for every package except re2's (prebuilt binary download, else node-gyp),
# which package.json's allowScripts names as the one that needs it.
set -euo pipefail
cd "${GITHUB_ACTION_PATH:?GITHUB_ACTION_PATH is not set}"
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false npm_config_progress=false

if [ -f dist/cli/main.js ] && [ -f dist/rules/builtin.json ]; then
  npm ci --omit=dev --ignore-scripts --no-audit --no-fund
  npm rebuild re2
else
  npm ci --ignore-scripts --no-audit --no-fund
  npm rebuild re2
  npm run build
  npm prune --omit=dev --ignore-scripts --no-audit --no-fund
fi
node bin/keywarden.js --version
