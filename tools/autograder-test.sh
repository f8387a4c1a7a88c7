#!/usr/bin/env bash
# The Gradescope bundle end to end: make it with the static kmlab, unpack it
# into a scratch /autograder layout, and run run_autograder for a few uploads
# with the Swift toolchain out of reach (env -i, PATH=/usr/bin:/bin, no
# LD_LIBRARY_PATH). Usage: tools/autograder-test.sh BUILD_KMLAB STATIC_KMLAB
# (`make autograder-test` runs it). Prints the time of one run.
set -euo pipefail
kmlab="$1"
static="$2"
here="$(cd "$(dirname "$0")/.." && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

if ldd "$static" | grep -E 'libswift|libFoundation|lib_FoundationICU|libdispatch|libBlocksRuntime'; then
  echo "FAIL: $static links the Swift runtime dynamically"; exit 1
fi
"$kmlab" autograder gradescope --lesson 1 --binary "$static" -o "$scratch/autograder.zip"

run_upload() {  # name, then files to copy into the upload as name=path pairs
  local name="$1"; shift
  local root="$scratch/$name"
  mkdir -p "$root/source" "$root/submission" "$root/results"
  (cd "$root/source" && unzip -q "$scratch/autograder.zip")
  for pair in "$@"; do cp "${pair#*=}" "$root/submission/${pair%%=*}"; done
  cp "$root/source/run_autograder" "$root/run_autograder"
  local start end
  start=$(date +%s%N)
  env -i PATH=/usr/bin:/bin LD_LIBRARY_PATH= AUTOGRADER_ROOT="$root" bash "$root/run_autograder" > "$root/stdout.txt"
  end=$(date +%s%N)
  echo "$name: run_autograder took $(( (end - start) / 1000000 )) ms"
  test -s "$root/results/results.json" || { echo "FAIL: $name wrote no results.json"; exit 1; }
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("  score", d["score"], "tests", len(d["tests"]))' "$root/results/results.json"
}

solution="$here/lessons/solutions/01-first-allocations.lua"
wrong="$(ls "$here"/lessons/wrong/01-*.lua | head -1)"
run_upload full answers.lua="$solution"
python3 - "$scratch/full/results/results.json" "$here/lessons/solutions/01-first-allocations.lua" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["score"] == sum(t["max_score"] for t in d["tests"]), d
PY
run_upload copy answers.lua="$solution" copy.lua="$solution"
python3 - "$scratch/copy/results/results.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["score"] == sum(t["max_score"] for t in d["tests"]), "a copy must not add points"
assert "copy.lua" in d["output"], d["output"]
PY
run_upload wrong answers.lua="$wrong"
run_upload none README.md="$here/README.md"
python3 - "$scratch/none/results/results.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["score"] == 0 and "no .lua file" in d["output"], d
PY
echo "autograder-test: OK"
