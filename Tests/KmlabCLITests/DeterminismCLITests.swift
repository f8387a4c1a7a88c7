import Foundation
import Testing

/// The same script gives the same stdout and stderr, byte for byte, and the
/// same batch graded twice gives the same report in every format, whatever
/// the environment, the working directory and the address-space layout
/// (`setarch -R` turns randomisation off for one of the runs, when the
/// machine has it).
@Suite struct DeterminismCLITests {
    struct Output: Equatable {
        var status: Int32
        var stdout: Data
        var stderr: Data
    }

    /// Runs kmlab in `directory` with exactly `environment`, optionally
    /// under `setarch -R`.
    static func run(_ arguments: [String], in directory: URL, environment: [String: String],
                    noRandomisation: Bool) throws -> Output {
        let p = Process()
        if noRandomisation {
            p.executableURL = URL(fileURLWithPath: setarch ?? "/usr/bin/setarch")
            p.arguments = ["-R", KmlabProcess.binary.path] + arguments
        } else {
            p.executableURL = KmlabProcess.binary
            p.arguments = arguments
        }
        p.currentDirectoryURL = directory
        p.environment = environment
        let outFile = directory.appendingPathComponent(".out-\(UUID().uuidString)")
        let errFile = directory.appendingPathComponent(".err-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: outFile.path, contents: nil)
        FileManager.default.createFile(atPath: errFile.path, contents: nil)
        p.standardOutput = try FileHandle(forWritingTo: outFile)
        p.standardError = try FileHandle(forWritingTo: errFile)
        p.standardInput = FileHandle(forReadingAtPath: "/dev/null")
        try p.run()
        p.waitUntilExit()
        defer {
            try? FileManager.default.removeItem(at: outFile)
            try? FileManager.default.removeItem(at: errFile)
        }
        return Output(status: p.terminationStatus, stdout: try Data(contentsOf: outFile), stderr: try Data(contentsOf: errFile))
    }

    static let setarch: String? = ["/usr/bin/setarch", "/bin/setarch"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    /// Two surroundings that must not matter: directory path, environment
    /// (extra variables, locale, time zone, terminal size) and, for the
    /// second when `setarch` exists, address randomisation off.
    static func surroundings(_ scratch: ScratchDirectory) throws -> [(dir: URL, env: [String: String], noASLR: Bool)] {
        let a = scratch.url.appendingPathComponent("a")
        let b = scratch.url.appendingPathComponent("b/a much longer directory name/with spaces")
        for d in [a, b] { try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true) }
        let envA = ["PATH": "/usr/bin:/bin", "HOME": a.path, "XDG_STATE_HOME": a.path + "/state", "LC_ALL": "C"]
        var envB = ["PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": b.path, "XDG_STATE_HOME": b.path + "/state",
                    "LC_ALL": "C.UTF-8", "TZ": "Pacific/Chatham", "COLUMNS": "37", "LINES": "5",
                    "TERM": "xterm-256color", "KMLAB_UNRELATED": String(repeating: "n", count: 5000)]
        for i in 0..<50 { envB["NOISE_\(i)"] = String(i) }
        return [(a, envA, false), (b, envB, false), (b, envB, setarch != nil)]
    }

    static let script = """
    local t, f, co = {}, function() end, coroutine.create(function() end)
    print(t, f, co, print, string.len, tostring(t), string.format("%p %p %s %s", t, print, f, string.rep))
    local mixed = {[print] = 1, [string.len] = 2, [t] = 3, [f] = 4, x = 5, [2] = 6, [1.5] = 7, [true] = 8,
                   [table.insert] = 9, [co] = 10, [math.huge] = 11, [""] = 12}
    for k, v in pairs(mixed) do print(type(k), v) end
    local k = next(mixed) while k ~= nil do io_write = (io_write or "") .. tostring(mixed[k]) .. "," k = next(mixed, k) end
    print(io_write)
    print(collectgarbage("count"), os.clock(), os.clock())
    local names = {}
    for i = 1, 2000 do names["n" .. i] = {i} if i % 3 == 0 then names["n" .. (i - 1)] = nil end end
    local objs = {}
    for i = 1, 500 do objs[{}] = i if i % 4 == 0 then local j = next(objs) objs[j] = nil end end
    local order = {} for key in pairs(names) do order[#order + 1] = key if #order == 20 then break end end
    print(table.concat(order, " "), collectgarbage("count"))
    local p = kmalloc(64, GFP_KERNEL)
    kfree(p)
    for i = 1, 50 do pcall(kfree, p) end
    local q = kmalloc(128, GFP_KERNEL)
    q = nil
    cat("/sys/kernel/debug/kmemleak")
    cat("/proc/meminfo")
    print(collectgarbage("count"), os.clock())
    local ok, e = pcall(function() local s = {} for i = 1, 1e7 do s[#s + 1] = {i} end end)
    print(ok, e, collectgarbage("count")) -- not reached: the memory budget ends the script
    """

    @Test func aScriptPrintsTheSameInEverySurrounding() throws {
        let scratch = try ScratchDirectory()
        var outputs: [Output] = []
        for (dir, env, noASLR) in try Self.surroundings(scratch) {
            try Data(Self.script.utf8).write(to: dir.appendingPathComponent("det.lua"))
            outputs.append(try Self.run(["run", "--max-memory", "16M", "det.lua"], in: dir, environment: env, noRandomisation: noASLR))
        }
        let first = try #require(outputs.first)
        let text = String(decoding: first.stdout, as: UTF8.self)
        // It did exercise what it should.
        #expect(text.contains("table: 0x00000001"))
        let errors = String(decoding: first.stderr, as: UTF8.self)
        #expect(errors.contains("memory limit exceeded"), "\(errors)")
        #expect(errors.contains("double-free"))
        #expect(text.contains("unreferenced object"))
        for (i, o) in outputs.enumerated().dropFirst() {
            #expect(o.status == first.status, "run \(i)")
            #expect(o.stdout == first.stdout, "stdout of run \(i):\n\(String(decoding: o.stdout, as: UTF8.self))\nfirst:\n\(text)")
            #expect(o.stderr == first.stderr, "stderr of run \(i)")
        }
    }

    @Test func aBatchGradesToTheSameReportInEveryFormat() throws {
        let scratch = try ScratchDirectory()
        let reference = GradeFixtures.reference
        let submissions = [
            "alice.lua": reference,
            "bob.lua": "local t = {} for k in pairs({[print] = 1, [{}] = 2, x = 3}) do t[#t + 1] = tostring(k) end\n"
                + "print(table.concat(t, ' '), collectgarbage('count'), os.clock())\n" + reference,
            "carol.lua": "local p = kmalloc(32, GFP_KERNEL) kfree(p) for i = 1, 200 do pcall(kfree, p) end\n"
                + "print(string.format('%p', {}), collectgarbage('count'))\n",
            "dave.lua": "this is not lua",
            "erin.lua": "local s = {} while true do s[#s + 1] = string.rep('x', 1000) end",
        ]
        var reports: [[String: Data]] = []
        for (dir, env, noASLR) in try Self.surroundings(scratch) {
            let subs = dir.appendingPathComponent("class")
            try FileManager.default.createDirectory(at: subs, withIntermediateDirectories: true)
            for (name, text) in submissions { try Data(text.utf8).write(to: subs.appendingPathComponent(name)) }
            let results = dir.appendingPathComponent("results-\(reports.count).jsonl").path
            let graded = try Self.run(["grade", "--lesson", "1", "--quiet", "--jobs", "2", "--timeout", "60"]
                                      + GradeFixtures.budgets + ["--results", results, "--format", "json", "class"],
                                      in: dir, environment: env, noRandomisation: noASLR)
            #expect(graded.status == 0, "\(String(decoding: graded.stderr, as: UTF8.self))")
            var byFormat: [String: Data] = ["graded json": graded.stdout]
            let formats: [[String]] = [["--format", "text"], ["--format", "json"], ["--format", "csv"],
                                       ["--format", "csv", "--csv-style", "canvas"],
                                       ["--format", "csv", "--csv-style", "moodle", "--csv-bom"],
                                       ["--format", "junit"], ["--format", "gradescope"], ["--format", "prairielearn"]]
            for format in formats {
                let r = try Self.run(["grade", "--merge", "--quiet"] + format + [results], in: dir, environment: env,
                                     noRandomisation: noASLR)
                #expect(r.status == 0, "\(format): \(String(decoding: r.stderr, as: UTF8.self))")
                byFormat[format.joined(separator: " ")] = r.stdout
            }
            reports.append(byFormat)
        }
        let first = try #require(reports.first)
        #expect(first.count == 9)
        #expect(first.values.allSatisfy { !$0.isEmpty })
        for (i, other) in reports.enumerated().dropFirst() {
            for (format, data) in first {
                #expect(other[format] == data, "\(format) differs in run \(i):\n\(String(decoding: other[format] ?? Data(), as: UTF8.self))\nfirst:\n\(String(decoding: data, as: UTF8.self))")
            }
        }
    }
}
