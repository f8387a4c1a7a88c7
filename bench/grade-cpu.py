#!/usr/bin/env python3
"""CPU time of grading against starting lua5.4, per submission (issue 18).

   swift build -c release && bench/grade-cpu.py [LESSON] [N] [ROUNDS] KMLAB [KMLAB...]

bench/grade.sh times `kmlab grade` by the wall clock, which a shared machine
under load makes meaningless. This measures CPU time instead (user + system
of the child, from wait4): one `kmlab grade-worker` process grades N copies
of lesson LESSON's reference solution (default lesson 1, N = 100), all as
learner seed 0, fed the worker protocol on stdin exactly as `kmlab grade`
feeds it; next to it, `lua5.4 FILE` runs once per copy (the loop
bench/grade.sh compares against). Every KMLAB given (a build before and
after a change) and the loop run in alternating order, ROUNDS times
(default 5); each figure is the median, per submission. A worker's results
must give every copy full marks, else the script stops. The ratio is the
loop's CPU time over the worker's: above 1, grading costs less CPU than
starting lua5.4 per file.
"""
import glob, os, re, resource, statistics, subprocess, sys, tempfile

LESSON = int(sys.argv[1]) if len(sys.argv) > 1 else 1
N = int(sys.argv[2]) if len(sys.argv) > 2 else 100
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 5
BINARIES = sys.argv[4:] or [".build/release/kmlab"]

os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
lesson_file = glob.glob("lessons/%02d-*.lua" % LESSON)[0]
solution_file = glob.glob("lessons/solutions/%02d-*.lua" % LESSON)[0]
lesson = open(lesson_file, "rb").read()
solution = open(solution_file, "rb").read()


def cpu(argv, stdin=None, env=None):
    """Runs argv; returns (CPU seconds of the child, its stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(argv, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), p.stdout


# The worker protocol (Sources/Lessons/Batch/WorkerProtocol.swift): the
# lesson, then one job per submission.
name = ("@" + lesson_file).encode()
jobs = b"lesson %d %d\n" % (len(name), len(lesson)) + name + lesson
for i in range(N):
    sid = b"s%05d.lua" % i
    jobs += b"job %d %d %d\n" % (i, len(sid), len(solution)) + sid + solution
SCORE = re.compile(rb'"score":(\d+),"max_score":(\d+)')
# As `kmlab grade` starts its workers (WorkerProcess.environment).
env = dict(os.environ, GLIBC_TUNABLES="glibc.malloc.tcache_count=4096")

with tempfile.TemporaryDirectory() as d:
    files = []
    for i in range(N):
        path = os.path.join(d, "s%05d.lua" % i)
        with open(path, "wb") as f:
            f.write(solution)
        files.append(path)
    loop_script = os.path.join(d, "loop.sh")
    with open(loop_script, "w") as f:
        f.write('for f in "$@"; do lua5.4 "$f" >/dev/null 2>&1; done\n')

    times = {b: [] for b in BINARIES}
    loop = []
    for _ in range(ROUNDS):
        for b in BINARIES:
            t, out = cpu([b, "grade-worker", "--max-instructions", "20000000", "--max-memory", str(64 << 20),
                          "--variant-seed", "0"], stdin=jobs, env=env)
            results = [l for l in out.split(b"\n") if b'"result":' in l]
            perfect = [l for l in results if all(a == b for a, b in SCORE.findall(l))]
            if len(results) != N or len(perfect) != N:
                sys.exit("%s: %d results, %d with full marks, of %d" % (b, len(results), len(perfect), N))
            times[b].append(t / N)
        t, _ = cpu(["sh", loop_script] + files)
        loop.append(t / N)

    lua = statistics.median(loop)
    print("lesson %d, %d submissions, %d rounds (CPU time per submission, median)" % (LESSON, N, ROUNDS))
    print("  lua5.4 once per file: %.2f ms" % (lua * 1000))
    for b in BINARIES:
        m = statistics.median(times[b])
        print("  %s grade-worker: %.2f ms (loop / worker = %.2fx)" % (b, m * 1000, lua / m))
