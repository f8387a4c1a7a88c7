import Testing
@testable import LuaBridge

/// `next` and `pairs` visit keys in one fixed order (Modules/CLua/order.h):
/// numbers ascending, strings bytewise, false, true, then objects in order
/// of creation, whatever the hash seed and the addresses of this process.
@Suite struct KeyOrderTests {
    @Test(arguments: [LuaProfile.sandbox, .trusted])
    func nextAndPairsAgreeOnTheFixedOrder(profile: LuaProfile) throws {
        let s = try CapturedState(profile: profile)
        let v = s.values("""
        local a, b, c = {}, function() end, coroutine.create(function() end)
        local t = {[c] = "c", [b] = "b", [a] = "a", zeta = 1, alpha = 2, ["al"] = 3, [10] = 4, [-2] = 5,
                   [2.5] = 6, [true] = 7, [false] = 8, ["\\255"] = 9, [""] = 10}
        local viaNext, viaPairs = {}, {}
        local k = next(t)
        while k ~= nil do viaNext[#viaNext + 1] = tostring(t[k]); k = next(t, k) end
        for _, x in pairs(t) do viaPairs[#viaPairs + 1] = tostring(x) end
        return table.concat(viaNext, " "), table.concat(viaPairs, " ")
        """)
        #expect(v.count == 2)
        #expect(v.first == .string(Array("5 6 4 10 3 2 1 9 8 7 a b c".utf8)))
        #expect(v.last == v.first)
    }

    /// A random table, filled and emptied in random order: a traversal
    /// visits every live key once, in increasing order, and clearing the
    /// visited key (the usual idiom) is allowed.
    @Test(arguments: [11, 12, 13])
    func traversalsVisitEveryLiveKeyOnceInOrder(seed: Int) throws {
        let s = try CapturedState()
        let v = s.values("""
        math.randomseed(\(seed))
        local t, objs = {}, {}
        for i = 1, 300 do
          local r = math.random(4)
          if r == 1 then t[math.random(-50, 50)] = i
          elseif r == 2 then t["s" .. math.random(100)] = i
          elseif r == 3 then local o = {} objs[#objs + 1] = o t[o] = i
          else t[math.random(-50, 50) + 0.5] = i end
          if math.random(5) == 1 then local k = next(t) if k ~= nil then t[k] = nil end end
        end
        local count = 0 for _ in next, t do count = count + 1 end
        local seen, n, prevRank, prev = {}, 0, -1, nil
        local function rank(k) local ty = type(k) return ty == "number" and 0 or ty == "string" and 1 or 3 end
        for k in pairs(t) do
          assert(not seen[k], "visited twice")
          seen[k] = true; n = n + 1
          local r = rank(k)
          assert(r >= prevRank, "rank went down")
          if r == prevRank and r < 3 then assert(prev < k, "not ascending") end
          prevRank, prev = r, k
          t[k] = nil
        end
        return n == count and next(t) == nil
        """)
        #expect(v == [.boolean(true)], "\(String(describing: s.failure("error()")))")
    }

    @Test func anUnknownKeyIsAnError() throws {
        let s = try CapturedState()
        #expect(s.failure("next({}, 'x')")?.message.contains("invalid key to 'next'") == true)
        #expect(s.failure("for k in pairs(5) do end")?.message.contains("table expected, got number") == true)
    }

    @Test func pairsHonoursPairsMetamethod() throws {
        let s = try CapturedState()
        let v = s.values("""
        local t = setmetatable({}, {__pairs = function(t) return function(_, k) if k == nil then return 1, "one" end end, t, nil end})
        local out = {} for k, x in pairs(t) do out[#out + 1] = k .. x end
        return table.concat(out)
        """)
        #expect(v == [.string(Array("1one".utf8))])
    }

    /// Light C functions (the standard library's) have no allocation and so
    /// no creation number; they are ordered by the number the state gave
    /// them at set-up (library functions by their sorted names), never by
    /// code address, which address randomisation changes from run to run.
    @Test(arguments: [LuaProfile.sandbox, .trusted])
    func libraryFunctionsAsKeysFollowTheirNames(profile: LuaProfile) throws {
        let s = try CapturedState(profile: profile)
        let v = s.values("""
        local names = {[table.insert] = "table.insert", [print] = "print", [string.len] = "string.len",
                       [math.abs] = "math.abs", [select] = "select", [assert] = "assert",
                       [utf8.codes("")] = "codes-iterator", [ipairs({})] = "ipairs-iterator", [{}] = "table"}
        local out = {}
        for _, name in pairs(names) do out[#out + 1] = name end
        local viaNext, k = {}, next(names)
        while k ~= nil do viaNext[#viaNext + 1] = names[k]; k = next(names, k) end
        return table.concat(out, " "), table.concat(viaNext, " ")
        """)
        // The table (an object with a creation number) first, then the
        // functions in the order set-up numbered them: globals and library
        // fields by sorted name, then the iterators calls hand out.
        #expect(v.first == .string(Array("table assert math.abs print select string.len table.insert ipairs-iterator codes-iterator".utf8)))
        #expect(v.last == v.first)
    }
}
