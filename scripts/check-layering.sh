#!/usr/bin/env bash
# Fails when an #include runs up a layer or crosses a forbidden edge (docs/architecture.md).
#
# Each library folder may include only the folders listed for it below (and itself); liburing is
# included only in ring/; JSON (nlohmann) only in node/ and above. Run by `make test` (ctest
# `layering`) and so by .ci/run. Usage: scripts/check-layering.sh [repository root]
set -euo pipefail
cd "${1:-$(dirname "$0")/..}"

declare -A allowed=(
  [ring]="ring"
  [wire]="ring wire"
  [overlay]="ring wire overlay"
  [tracker]="ring wire tracker"
  [tunnel]="ring wire overlay tunnel"
  [strategies]="ring wire overlay tunnel strategies"
  [node]="ring wire overlay tracker tunnel strategies node"
  [testbed]="ring wire overlay tracker tunnel strategies node testbed"
  [tools]="ring wire overlay tracker tunnel strategies node testbed tools"
)
# Layers that may include <nlohmann/json.hpp>: node/ reads the configuration (the only JSON
# reader) and renders the statistics (node/stats_text.h).
json_layers="node testbed tools"

failures=0
fail() {
  echo "layering: $1" >&2
  failures=$((failures + 1))
}

for layer in "${!allowed[@]}"; do
  [[ -d "$layer" ]] || continue
  while IFS= read -r -d '' file; do
    while IFS=: read -r line include; do
      target="${include%%/*}"
      if [[ "$include" == liburing* && "$layer" != ring ]]; then
        fail "$file:$line includes <$include>: only ring/ may use liburing"
      elif [[ "$include" == nlohmann/* && " $json_layers " != *" $layer "* ]]; then
        fail "$file:$line includes <$include>: only $json_layers may use JSON"
      elif [[ -n "${allowed[$target]+set}" && " ${allowed[$layer]} " != *" $target "* ]]; then
        fail "$file:$line includes \"$include\": $layer/ may include only ${allowed[$layer]}"
      fi
    done < <(grep -n -o -E '^[[:space:]]*#[[:space:]]*include[[:space:]]*["<][^">]+' "$file" |
             sed -E 's@^([0-9]+):.*["<]([^">]+)$@\1:\2@')
  done < <(find "$layer" -type f \( -name '*.h' -o -name '*.cpp' \) -print0)
done

if ((failures > 0)); then
  echo "layering: $failures forbidden include(s); see docs/architecture.md" >&2
  exit 1
fi
echo "layering: ok"
