#!/bin/sh
# Throughput of `kmlab grade` (issue 7): grades N copies (default 1000) of
# lesson LESSON's reference solution (default 1) with 2 workers, and times a loop that
# merely starts lua5.4 once per file on the same files. Prints the median
# of ROUNDS rounds of each, submissions per second, and the peak RSS of any
# worker (from wait4, printed by --timings).
#
#   swift build -c release && bench/grade.sh [KMLAB] [ROUNDS] [N] [LESSON]
set -eu
cd "$(dirname "$0")/.."
KMLAB=${1:-.build/release/kmlab}
ROUNDS=${2:-5}
N=${3:-1000}
LESSON=${4:-1}
solution=$(ls lessons/solutions/"$(printf %02d "$LESSON")"-*.lua)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT INT TERM
mkdir "$dir/class"
i=0
while [ "$i" -lt "$N" ]; do
  cp "$solution" "$dir/class/s$(printf %05d "$i").lua"
  i=$((i + 1))
done

now() { date +%s%N; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

: > "$dir/grade.ms"
: > "$dir/lua.ms"
: > "$dir/rss"
r=0
while [ "$r" -lt "$ROUNDS" ]; do
  t0=$(now)
  # Every copy is the one reference solution: all graded as the lesson as
  # written (learner seed 0), which is what it answers.
  KMLAB_VARIANT_SEED=0 "$KMLAB" grade --lesson "$LESSON" "$dir/class" --jobs 2 --quiet --timings --format json \
    --out "$dir/report.json" --results "$dir/results.jsonl" 2> "$dir/stderr"
  t1=$(now)
  echo $(( (t1 - t0) / 1000000 )) >> "$dir/grade.ms"
  sed -n 's/.*peak worker RSS \([0-9]*\) MiB.*/\1/p' "$dir/stderr" >> "$dir/rss"
  full=$(grep -c '"score":\([0-9]*\),"max_score":\1,"status"' "$dir/report.json" || true)
  [ "$full" -eq "$N" ] || { echo "only $full of $N got full marks" >&2; exit 1; }
  t0=$(now)
  for f in "$dir"/class/*.lua; do lua5.4 "$f"; done
  t1=$(now)
  echo $(( (t1 - t0) / 1000000 )) >> "$dir/lua.ms"
  r=$((r + 1))
done

g=$(median < "$dir/grade.ms")
l=$(median < "$dir/lua.ms")
rss=$(sort -n "$dir/rss" | tail -1)
echo "kmlab grade, lesson $LESSON, $N submissions, 2 workers: median $g ms ($(( N * 1000 / (g > 0 ? g : 1) )) submissions/s; goal >= 300/s)"
echo "lua5.4 once per file, $N files:          median $l ms ($(( N * 1000 / (l > 0 ? l : 1) )) files/s; goal: kmlab at least as fast)"
echo "peak RSS of a worker: $rss MiB (goal < 150 MiB)"
echo "rounds: grade $(tr '\n' ' ' < "$dir/grade.ms")ms; lua $(tr '\n' ' ' < "$dir/lua.ms")ms"
