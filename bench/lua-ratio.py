#!/usr/bin/env python3
"""Pure Lua under `kmlab run` against lua5.4 on the same scripts (issue 18).

   swift build -c release && bench/lua-ratio.py [KMLAB] [ROUNDS] [SCALES]

Each workload (a plain loop, function calls, table writes and reads, string
building, and the sandbox's own pairs, xpcall and setmetatable) is written to
a script with a size N and run by `lua5.4 FILE N` and by `kmlab run FILE N`
(the sandbox, kmlab run's default budgets) in alternating order, ROUNDS
times; each figure is the median of the processes' CPU time (user + system,
from wait4), so a slow moment of a shared machine lands on both sides. The
ratio is printed twice: whole processes, and with each side's empty-script
start-up (measured the same way) taken off, which is the cost of the script
itself. SCALES (default 1,10,50) multiplies every workload's base size:
the script length.
"""
import os, statistics, subprocess, sys, tempfile

KMLAB = sys.argv[1] if len(sys.argv) > 1 else ".build/release/kmlab"
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 5
SCALES = [int(x) for x in (sys.argv[3] if len(sys.argv) > 3 else "1,10,50").split(",")]

# name -> (base N, script body using N = tonumber(arg[1]) or select(1, ...))
WORKLOADS = {
    "loop": (1_000_000, "local s = 0 for i = 1, N do s = s + i % 7 end print(s)"),
    "calls": (300_000, "local function f(a, b) return a + b end local s = 0 for i = 1, N do s = f(s, i) end print(s)"),
    "tables": (100_000, "local t = {} for i = 1, N do t[i] = {x = i, y = i * 2} end local s = 0 for i = 1, N do s = s + t[i].x + t[i].y end print(s)"),
    "strings": (100_000, "local parts = {} for i = 1, N do parts[#parts + 1] = ('%d:%s'):format(i, ('x'):rep(i % 10)) end print(#table.concat(parts, ','))"),
    "pairs-array": (300, "local t = {} for i = 1, 1000 do t[i] = i end local s = 0 for r = 1, N do for k, v in pairs(t) do s = s + v end end print(s)"),
    "pairs-1000-strings": (300, "local t = {} for i = 1, 1000 do t['key' .. i] = i end local s = 0 for r = 1, N do for k, v in pairs(t) do s = s + v end end print(s)"),
    "pairs-5-keys": (60_000, "local t = {a = 1, b = 2, c = 3, d = 4, e = 5} local s = 0 for r = 1, N do for k, v in pairs(t) do s = s + v end end print(s)"),
    "xpcall": (300_000, "local function f(x) return x + 1 end local h = function(m) return m end local s = 0 for i = 1, N do local ok, v = xpcall(f, h, i) s = s + v end print(s)"),
    "setmetatable": (300_000, "local mt = {__index = {}} local s = 0 for i = 1, N do local t = setmetatable({}, mt) s = s + 1 end print(s)"),
}
# The loop again under exact counting (a budget under 10^8 instructions, as
# `kmlab check` and `kmlab grade` count): the hooked cost. Sizes past the
# budget are skipped.
EXACT = ("loop-exact-counting", 1_000_000, WORKLOADS["loop"][1], ["--max-instructions", "99999999"], 20_000_000)


def cpu_seconds(argv):
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    if p.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({p.returncode}): {err}")
    return usage.ru_utime + usage.ru_stime


def main():
    with tempfile.TemporaryDirectory() as d:
        empty = os.path.join(d, "empty.lua")
        open(empty, "w").close()
        lua_start, kmlab_start = [], []
        for _ in range(max(ROUNDS, 9)):
            lua_start.append(cpu_seconds(["lua5.4", empty]))
            kmlab_start.append(cpu_seconds([KMLAB, "run", empty]))
        ls, ks = statistics.median(lua_start), statistics.median(kmlab_start)
        print(f"start-up (empty script): lua5.4 {ls * 1000:.1f} ms, kmlab run {ks * 1000:.1f} ms CPU")
        runs = [(name, base, body, [], None) for name, (base, body) in WORKLOADS.items()] + [EXACT]
        for name, base, body, extra, most in runs:
            path = os.path.join(d, name + ".lua")
            with open(path, "w") as f:
                f.write("local N = math.tointeger(tonumber((...))) or 1\n" + body + "\n")
            cells = []
            for scale in SCALES:
                if most is not None and base * scale > most:
                    continue
                n = str(base * scale)
                lua, km = [], []
                for r in range(ROUNDS):
                    order = [("lua", ["lua5.4", path, n]), ("kmlab", [KMLAB, "run", *extra, path, n])]
                    if r % 2:
                        order.reverse()
                    for who, argv in order:
                        (lua if who == "lua" else km).append(cpu_seconds(argv))
                l, k = statistics.median(lua), statistics.median(km)
                net = (k - ks) / (l - ls) if l - ls > 0.001 else float("nan")
                cells.append(f"x{scale}: lua5.4 {l * 1000:.0f} ms, kmlab {k * 1000:.0f} ms, {k / l:.2f}x ({net:.2f}x without start-up)")
            print(f"{name}: " + "; ".join(cells))
            sys.stdout.flush()


main()
