#!/usr/bin/env bash
# Run the tests of what fgvis takes from tfjs's internals (the gradient filter, the
# kernel patches, the tape clean-up, explain's run) against other tfjs versions.
#
#   bash scripts/test-tfjs-versions.sh                # the oldest and the newest supported tfjs
#   bash scripts/test-tfjs-versions.sh oldest         # one of them (CI: the newest is the lockfile's)
#   bash scripts/test-tfjs-versions.sh 4.10.0 4.22.0  # any versions (outside the range: refused, by design)
#
# For each version: tfjs-core, -converter, -layers, -backend-cpu and -backend-wasm at that
# version are installed from the npm registry into a temporary folder; a temporary copy of
# the repository (src, test and configs, with node_modules linked to this one's except
# @tensorflow) runs the suites below with those packages. Nothing here is changed.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"

# The supported range is package.json's peerDependencies["@tensorflow/tfjs-core"]; its ends
# are SUPPORTED_TFJS in src/util/tfjs-version.ts.
read -r oldest newest < <(node -e "
  const s = require('fs').readFileSync('src/util/tfjs-version.ts', 'utf8');
  const m = /SUPPORTED_TFJS = \{ oldest: '([^']+)', newest: '([^']+)' \}/.exec(s);
  if (!m) { console.error('SUPPORTED_TFJS not found in src/util/tfjs-version.ts'); process.exit(1); }
  console.log(m[1], m[2]);")
versions=()
for a in "$@"; do
  case "$a" in oldest) versions+=("$oldest") ;; newest) versions+=("$newest") ;; *) versions+=("$a") ;; esac
done
if [ ${#versions[@]} -eq 0 ]; then versions=("$oldest" "$newest"); fi

# The suites that exercise tfjs internals, on the cpu and wasm backends.
# FGVIS_TFJS_SUITES overrides the list (space-separated paths).
read -r -a SUITES <<< "${FGVIS_TFJS_SUITES:-test/filter test/kernels test/core/defense.test.ts test/core/explain.test.ts test/package/tfjs-version.test.ts}"
PACKAGES=(tfjs-core tfjs-converter tfjs-layers tfjs-backend-cpu tfjs-backend-wasm)

work="$(mktemp -d "${TMPDIR:-/tmp}/fgvis-tfjs-versions-XXXXXX")"
trap 'rm -rf "$work"' EXIT
summary=()
status=0
for v in "${versions[@]}"; do
  echo "=== tfjs $v"
  deps="$work/deps-$v"
  copy="$work/repo-$v"
  mkdir -p "$deps" "$copy/node_modules"
  if ! (cd "$deps" && echo '{"private":true}' > package.json &&
    npm install --no-audit --no-fund --loglevel=error $(printf '@tensorflow/%s@'"$v"' ' "${PACKAGES[@]}") >/dev/null); then
    summary+=("tfjs $v: not installable (every package at that version is needed)")
    status=1
    continue
  fi
  # The repository's files, and its node_modules with @tensorflow swapped for this version's.
  cp -r src test package.json tsconfig.json vitest.config.ts "$copy/"
  for entry in node_modules/* node_modules/.bin; do
    case "$(basename "$entry")" in @tensorflow) ;; *) ln -s "$repo/$entry" "$copy/node_modules/" ;; esac
  done
  mkdir -p "$copy/node_modules/@tensorflow"
  for p in "$deps"/node_modules/@tensorflow/*; do ln -s "$p" "$copy/node_modules/@tensorflow/"; done
  installed="$(node -p "require('$deps/node_modules/@tensorflow/tfjs-core/package.json').version")"
  if (cd "$copy" && FGVIS_EXPECT_TFJS="$installed" node_modules/.bin/vitest run "${SUITES[@]}" 2>&1 | tee "$work/log-$v" | tail -n 8); then
    counts="$(sed 's/\x1b\[[0-9;]*m//g' "$work/log-$v" | grep -Eo 'Tests +[0-9]+ passed.*' | head -n 1 | tr -s ' ' || true)"
    summary+=("tfjs $installed: passed (${counts:-see the output above})")
  else
    echo "--- failures with tfjs $installed:"
    sed 's/\x1b\[[0-9;]*m//g' "$work/log-$v" | grep -E '^ *(FAIL|×)|Error:' | sort -u | head -n 60 || true
    summary+=("tfjs $installed: FAILED (see the output above)")
    status=1
  fi
done
echo
echo "tfjs versions tested (${SUITES[*]}; cpu and wasm):"
printf '  %s\n' "${summary[@]}"
exit $status
