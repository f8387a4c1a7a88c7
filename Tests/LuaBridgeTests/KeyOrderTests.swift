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

/// The order cache (Modules/CLua/order.h): a table's sorted keys are reused
/// while its keys do not change, pure arrays are never sorted, and every
/// traversal still follows the table's keys as they are now.
@Suite struct KeyOrderCacheTests {
    /// Random keys added and removed between traversals: each traversal
    /// (pairs, next, and a pairs iterator called by hand) gives exactly the
    /// live keys, in the fixed order, as sorting them afresh would.
    @Test(arguments: [1, 2, 3, 4])
    func everyTraversalSeesTheKeysAsTheyAreNow(seed: Int) throws {
        let s = try CapturedState()
        let v = s.values("""
        math.randomseed(\(seed))
        local function rank(k) local ty = type(k) return ty == "number" and 0 or ty == "string" and 1 or ty == "boolean" and 2 or 3 end
        local idx, made = {}, 0
        local function name(k) return type(k) == "table" and ("o" .. idx[k]) or tostring(k) end
        local function sorted(t)
          local ks = {}
          for k in next, t do ks[#ks + 1] = k end
          table.sort(ks, function(a, b)
            local ra, rb = rank(a), rank(b)
            if ra ~= rb then return ra < rb end
            if ra == 2 then return (not a) and b end
            if ra == 3 then return idx[a] < idx[b] end
            return a < b
          end)
          for i, k in ipairs(ks) do ks[i] = name(k) end
          return table.concat(ks, " ")
        end
        local t = {}
        for round = 1, 60 do
          for _ = 1, math.random(0, 8) do
            local r = math.random(6)
            if r == 1 then t[math.random(1, 40)] = round
            elseif r == 2 then t["k" .. math.random(30)] = round
            elseif r == 3 then local o = {} made = made + 1 idx[o] = made t[o] = round
            elseif r == 4 then t[math.random(2) == 1] = round
            elseif r == 5 then t[math.random(-5, 5) + 0.25] = round
            else local k = next(t) if k ~= nil then t[k] = nil end end
          end
          if math.random(4) == 1 then for k in pairs(t) do t[k] = nil end end
          local viaPairs, viaNext, viaHand = {}, {}, {}
          for k in pairs(t) do viaPairs[#viaPairs + 1] = name(k) end
          local k = next(t) while k ~= nil do viaNext[#viaNext + 1] = name(k) k = next(t, k) end
          local f, st = pairs(t) local h = f(st, nil) while h ~= nil do viaHand[#viaHand + 1] = name(h) h = f(st, h) end
          local want = sorted(t)
          assert(table.concat(viaPairs, " ") == want, "pairs: " .. table.concat(viaPairs, " ") .. " vs " .. want)
          assert(table.concat(viaNext, " ") == want, "next: " .. table.concat(viaNext, " "))
          assert(table.concat(viaHand, " ") == want, "by hand: " .. table.concat(viaHand, " "))
        end
        return true
        """)
        #expect(v == [.boolean(true)], "\(String(describing: s.failure("error()")))")
    }

    /// Pure arrays (holes included) come out in index order, and one that
    /// gains a string key mid-way through its life is ordered with it.
    @Test func arraysComeOutInIndexOrder() throws {
        let s = try CapturedState()
        #expect(s.values("""
        local t = {}
        for i = 1, 100 do t[i] = i end
        t[50], t[99] = nil, nil
        local out = {}
        for k, v in pairs(t) do assert(k == v) out[#out + 1] = k end
        assert(#out == 98 and out[1] == 1 and out[49] == 49 and out[50] == 51 and out[98] == 100)
        t.x, t[0], t[-1] = "x", 0, -1
        out = {}
        for k in pairs(t) do out[#out + 1] = tostring(k) end
        return out[1] .. " " .. out[2] .. " " .. out[3] .. " " .. out[#out]
        """) == [.string(Array("-1 0 1 x".utf8))])
    }

    /// A pairs iterator asked for a key it did not just return, or for
    /// another table, answers as next does.
    @Test func thePairsIteratorAnswersAnyKey() throws {
        let s = try CapturedState()
        #expect(s.values("""
        local t = {c = 3, a = 1, b = 2, d = 4}
        local f, st = pairs(t)
        local k1 = f(st, nil)
        local k2 = f(st, "c")
        local k3 = f({z = 1, y = 2}, nil)
        local k4 = f(st, "a")
        return k1 .. k2 .. k3 .. k4
        """) == [.string(Array("adyb".utf8))])
    }
}
