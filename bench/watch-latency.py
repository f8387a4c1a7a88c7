#!/usr/bin/env python3
"""Time from a save to the new verdict in `kmlab watch` (issue 16).

Starts `kmlab watch 1 FILE` with stdout on a pipe (each screen then starts
with a newline instead of clearing the terminal), saves the answers file as
editors do (a new file renamed over the old one), alternating a version
scoring 2/12 and the reference solution scoring 12/12, and times each save
until the screen with the new score has been read. Prints the median,
minimum and maximum over ROUNDS saves, for inotify and for --poll.

    swift build -c release && bench/watch-latency.py [KMLAB] [ROUNDS]
"""
import os, select, statistics, subprocess, sys, tempfile, time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
kmlab = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(root, ".build/release/kmlab")
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 20
solution = open(os.path.join(root, "lessons/solutions/01-first-allocations.lua")).read()
versions = [("answers = {q1 = 128}\n", "score 2/12"), (solution, "score 12/12")]


def measure(poll):
    with tempfile.TemporaryDirectory() as d:
        answers = os.path.join(d, "answers-01-first-allocations.lua")
        open(answers, "w").write("answers = {}\n")
        env = dict(os.environ, XDG_STATE_HOME=d)
        args = [kmlab, "watch", "1", answers] + (["--poll"] if poll else [])
        p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=d)
        seen = b""

        def wait_for(text):
            nonlocal seen
            while text.encode() not in seen:
                r, _, _ = select.select([p.stdout], [], [], 10)
                if not r:
                    raise SystemExit("no verdict after 10 s")
                seen += os.read(p.stdout.fileno(), 65536)
            seen = b""

        wait_for("score 0/12")
        times = []
        for i in range(rounds):
            source, expected = versions[i % 2]
            tmp = answers + ".tmp"
            open(tmp, "w").write(source)
            start = time.monotonic()
            os.rename(tmp, answers)
            wait_for(expected)
            times.append((time.monotonic() - start) * 1000)
            time.sleep(0.05)
        p.stdin.write(b"q")
        p.stdin.close()
        p.wait(timeout=10)
        return times


for poll in (False, True):
    t = measure(poll)
    print(f"{'--poll ' if poll else 'inotify'}  save to verdict: median {statistics.median(t):.0f} ms, "
          f"min {min(t):.0f} ms, max {max(t):.0f} ms over {len(t)} saves")
