/*
 * callsite.h - naming a Lua call stack without working out line numbers.
 *
 * KASAN and kmemleak record the call stack at every allocation and free.
 * Asking lua_getinfo for each frame's current line costs more than the
 * simulated allocation itself (the line is decoded from the function's line
 * table every time), so kmlab identifies a stack by the address of the
 * instruction each frame is executing instead, and builds the text of the
 * trace only the first time a stack is seen (KernelLua's CallTraceCache).
 *
 * That address (CallInfo.u.l.savedpc) is not in Lua's public API. Its place
 * is taken from the layout of struct CallInfo in Lua 5.4's lstate.h, which
 * 5.4.0 to 5.4.8 share:
 *
 *   StkId func; StkId top;              two pointers (5.4.6: StkIdRel, same size);
 *                                       func's slot starts with the closure's address
 *   CallInfo *previous, *next;          two pointers
 *   union { l: savedpc, trap, nextraargs;  c: k, old_errfunc, ctx } u;   3 words
 *   union { int funcidx; ... } u2;      an int
 *   short nresults;
 *   unsigned short callstatus;
 *
 * The call-status bits are not shared. From 5.4.2 (Debian 12 ships 5.4.4):
 * CIST_C (1<<1), CIST_HOOKED (1<<3), CIST_TAIL (1<<5), CIST_FIN (1<<7).
 * 5.4.0 and 5.4.1 have no CIST_FRESH, so every bit after CIST_C is one lower
 * (CIST_HOOKED 1<<2, CIST_TAIL 1<<4, CIST_FIN 1<<6), and the values below
 * would name their frames wrongly.
 *
 * kmlab_callsite_selftest checks the layout and every bit it trusts once
 * per process against what the library itself reports: the chain and the C
 * and tail-call bits against lua_getstack/lua_getinfo, CIST_HOOKED from
 * inside a count hook, CIST_FIN from inside a __gc finalizer, and that none
 * of the four is set where it must not be. If any check fails (5.4.0/5.4.1,
 * or another Lua), the host keeps using lua_getinfo. The self-test only
 * reads CallInfo records that lua_getstack or a hook handed out (and the
 * stack slot their first field, `func` in every 5.4, points to), so a wrong
 * layout cannot make it crash.
 *
 * Keys hold addresses, so they differ from run to run; what a report
 * prints does not (the text comes from lua_getinfo the first time).
 */
#ifndef KMLAB_CLUA_CALLSITE_H
#define KMLAB_CLUA_CALLSITE_H

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdint.h>
#include <string.h>

#define KMLAB_CI_FUNC 0
#define KMLAB_CI_PREVIOUS (2 * sizeof(void *))
#define KMLAB_CI_SAVEDPC (4 * sizeof(void *))
#define KMLAB_CI_CALLSTATUS (7 * sizeof(void *) + sizeof(int) + sizeof(short))
#define KMLAB_CIST_C (1 << 1)
#define KMLAB_CIST_HOOKED (1 << 3)
#define KMLAB_CIST_TAIL (1 << 5)
#define KMLAB_CIST_FIN (1 << 7)
/* The call-status bits that change how a frame is named in a trace. */
#define KMLAB_CIST_NAMING (KMLAB_CIST_C | KMLAB_CIST_HOOKED | KMLAB_CIST_TAIL | KMLAB_CIST_FIN)

static inline const char *kmlab_ci_previous(const char *ci) {
    const char *p;
    memcpy(&p, ci + KMLAB_CI_PREVIOUS, sizeof p);
    return p;
}

/* The running closure: the Value at the start of the function's stack slot. */
static inline uintptr_t kmlab_ci_closure(const char *ci) {
    const char *slot;
    uintptr_t closure;
    memcpy(&slot, ci + KMLAB_CI_FUNC, sizeof slot);
    memcpy(&closure, slot, sizeof closure);
    return closure;
}

static inline uintptr_t kmlab_ci_savedpc(const char *ci) {
    uintptr_t pc;
    memcpy(&pc, ci + KMLAB_CI_SAVEDPC, sizeof pc);
    return pc;
}

static inline unsigned short kmlab_ci_callstatus(const char *ci) {
    unsigned short s;
    memcpy(&s, ci + KMLAB_CI_CALLSTATUS, sizeof s);
    return s;
}

static inline uint64_t kmlab_fnv_mix(uint64_t h, uint64_t v) {
    return (h ^ v) * 0x100000001b3ULL;
}

/* Mixes into h the identity of L's stack from `level` outwards (at most
 * max_frames frames): for each frame, the instruction it is executing (a
 * Lua frame) and the call-status bits that change its name. Only after
 * kmlab_callsite_selftest succeeded. The instruction pins down the chunk,
 * the function and the line, and the caller's instruction pins down the
 * name Lua gives the callee. A Lua function called from C has no such
 * name: kmlab names it by the function itself (a handler's registered
 * name), so its closure is mixed in too. Equal keys mean equal trace text
 * as long as the functions stay alive (see kmlab_anchor_stack). */
static inline uint64_t kmlab_stack_key(lua_State *L, int level, int max_frames, uint64_t h) {
    lua_Debug ar;
    if (max_frames <= 0 || !lua_getstack(L, level, &ar)) return h;
    const char *ci = (const char *)ar.i_ci;
    for (int n = 0; n < max_frames; n++) {
        const char *previous = kmlab_ci_previous(ci);
        if (previous == NULL) break; /* the base CallInfo is not a level */
        /* One multiply per frame (they are a serial chain: the key's cost):
         * the status bits go above the instruction address, which is a
         * user-space pointer (below 2^56 on x86_64 and arm64). */
        unsigned short status = kmlab_ci_callstatus(ci);
        uint64_t frame = (uint64_t)(status & KMLAB_CIST_NAMING) << 56;
        if (!(status & KMLAB_CIST_C)) {
            frame ^= (uint64_t)kmlab_ci_savedpc(ci);
            if (kmlab_ci_callstatus(previous) & KMLAB_CIST_C) /* called from C */
                h = kmlab_fnv_mix(h, (uint64_t)kmlab_ci_closure(ci));
        }
        h = kmlab_fnv_mix(h, frame);
        ci = previous;
    }
    return h;
}

/* Keeps the functions of L's stack from `level` outwards (at most
 * max_frames) alive in a registry table under `key`, so that while a cache
 * remembers a stack by its instruction addresses, no new function can be
 * given those addresses. `reset` starts an empty table (the cache was
 * emptied). Called from Swift (the allocator cannot fail there). Returns 0
 * when the stack has no room. */
static inline int kmlab_anchor_stack(lua_State *L, const void *key, int level, int max_frames, int reset) {
    lua_Debug ar;
    if (!lua_checkstack(L, 4)) return 0;
    if (reset || lua_rawgetp(L, LUA_REGISTRYINDEX, key) != LUA_TTABLE) {
        if (!reset) lua_pop(L, 1);
        lua_createtable(L, 0, 8);
        lua_pushvalue(L, -1);
        lua_rawsetp(L, LUA_REGISTRYINDEX, key);
    }
    for (int n = 0; n < max_frames && lua_getstack(L, level + n, &ar); n++) {
        lua_getinfo(L, "f", &ar);
        lua_pushboolean(L, 1);
        lua_rawset(L, -3);
    }
    lua_pop(L, 1);
    return 1;
}

/* ------------------------------------------------------------------ */
/* The self-test                                                        */
/* ------------------------------------------------------------------ */

typedef struct kmlab_callsite_probe_state {
    uintptr_t pc[6]; /* level 1's savedpc, by probe number */
    int ok;
    int hooked;      /* 1: CIST_HOOKED seen inside a hook; -1: not seen */
    int fin;         /* 1: CIST_FIN seen while a finalizer ran; -1: not seen */
} kmlab_callsite_probe_state;

/* Where the count hook finds the probe state (hooks have no upvalues). */
static const char kmlab_callsite_state_key = 0;

static inline kmlab_callsite_probe_state *kmlab_callsite_state(lua_State *L) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &kmlab_callsite_state_key);
    kmlab_callsite_probe_state *s = (kmlab_callsite_probe_state *)lua_touserdata(L, -1);
    lua_pop(L, 1);
    return s;
}

/* A count hook runs with CIST_HOOKED set on the frame it interrupted
 * (ldo.c, luaD_hook), which is the CallInfo the hook's lua_Debug names. */
static inline void kmlab_callsite_hook(lua_State *L, lua_Debug *ar) {
    kmlab_callsite_probe_state *s = kmlab_callsite_state(L);
    if (s != NULL && s->hooked == 0)
        s->hooked = (kmlab_ci_callstatus((const char *)ar->i_ci) & KMLAB_CIST_HOOKED) ? 1 : -1;
    lua_sethook(L, NULL, 0, 0);
}

/* A __gc finalizer: the frame that was running when the collector called it
 * carries CIST_FIN (lgc.c, GCTM); it is level 1, as seen from here. */
static inline int kmlab_callsite_gc(lua_State *L) {
    kmlab_callsite_probe_state *s = (kmlab_callsite_probe_state *)lua_touserdata(L, lua_upvalueindex(1));
    lua_Debug ar;
    if (s->fin == 0)
        s->fin = (lua_getstack(L, 1, &ar) && (kmlab_ci_callstatus((const char *)ar.i_ci) & KMLAB_CIST_FIN)) ? 1 : -1;
    return 0;
}

/* probe(i): checks the CallInfo chain, the C and tail-call bits against
 * lua_getstack/lua_getinfo at every level, and records level 1's savedpc. */
static inline int kmlab_callsite_probe(lua_State *L) {
    kmlab_callsite_probe_state *s = (kmlab_callsite_probe_state *)lua_touserdata(L, lua_upvalueindex(1));
    lua_Integer i = lua_tointeger(L, 1);
    lua_Debug ar;
    if (!lua_getstack(L, 1, &ar)) { s->ok = 0; return 0; }
    const char *ci = (const char *)ar.i_ci;
    if (i >= 1 && i <= 5) s->pc[i] = kmlab_ci_savedpc(ci);
    /* Level 1 is a Lua function: its closure as lua_getinfo "f" finds it. */
    if (!lua_getinfo(L, "f", &ar)) { s->ok = 0; return 0; }
    if ((uintptr_t)lua_topointer(L, -1) != kmlab_ci_closure(ci)) s->ok = 0;
    lua_pop(L, 1);
    if (!lua_getstack(L, 1, &ar)) { s->ok = 0; return 0; }
    for (int level = 1; level < 64; level++) {
        if (!lua_getstack(L, level, &ar)) {
            if (kmlab_ci_previous(ci) != NULL) s->ok = 0; /* base CallInfo expected */
            return 0;
        }
        if ((const char *)ar.i_ci != ci || kmlab_ci_previous(ci) == NULL) { s->ok = 0; return 0; }
        if (!lua_getinfo(L, "St", &ar)) { s->ok = 0; return 0; }
        unsigned short status = kmlab_ci_callstatus(ci);
        int is_c = strcmp(ar.what, "C") == 0;
        if (((status & KMLAB_CIST_C) != 0) != is_c) s->ok = 0;
        if (((status & KMLAB_CIST_TAIL) != 0) != (ar.istailcall != 0)) s->ok = 0;
        /* No frame of the probes' stacks is in a hook or calling a finalizer. */
        if (status & (KMLAB_CIST_HOOKED | KMLAB_CIST_FIN)) s->ok = 0;
        ci = kmlab_ci_previous(ci);
    }
    s->ok = 0; /* deeper than the test stack can be */
    return 0;
}

static inline int kmlab_callsite_selftest_body(lua_State *L) {
    kmlab_callsite_probe_state *s = (kmlab_callsite_probe_state *)lua_touserdata(L, 1);
    luaL_requiref(L, "_G", luaopen_base, 1);
    lua_pop(L, 1);
    static const char chunk[] =
        "local probe, gc = ...\n"
        "local function g(i) probe(i) end\n"      /* probes 1-3: one instruction */
        "local function t(i) return g(i) end\n"   /* a tail call on the stack */
        "for i = 1, 2 do t(i) end\n"
        "pcall(g, 3)\n"                            /* a C frame on the stack */
        "probe(4)\n"
        "probe(5)\n"                              /* two instructions apart */
        "setmetatable({}, {__gc = gc})\n"
        "collectgarbage()\n";                     /* runs gc, under CIST_FIN */
    if (luaL_loadbufferx(L, chunk, sizeof chunk - 1, "=selftest", "t") != LUA_OK) return 0;
    lua_pushlightuserdata(L, s);
    lua_pushcclosure(L, kmlab_callsite_probe, 1);
    lua_pushlightuserdata(L, s);
    lua_pushcclosure(L, kmlab_callsite_gc, 1);
    lua_call(L, 2, 0);
    /* CIST_HOOKED: a count hook fires on the first instruction of a chunk. */
    lua_pushlightuserdata(L, s);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &kmlab_callsite_state_key);
    static const char hooked[] = "local x = 1\nx = x + 1\n";
    if (luaL_loadbufferx(L, hooked, sizeof hooked - 1, "=selftest", "t") != LUA_OK) return 0;
    lua_sethook(L, kmlab_callsite_hook, LUA_MASKCOUNT, 1);
    lua_call(L, 0, 0);
    lua_sethook(L, NULL, 0, 0);
    return 0;
}

/* 1 when kmlab_stack_key may be used with this Lua library. */
static inline int kmlab_callsite_selftest(void) {
#if LUA_VERSION_NUM == 504
    kmlab_callsite_probe_state s;
    memset(&s, 0, sizeof s);
    s.ok = 1;
    lua_State *L = luaL_newstate();
    if (L == NULL) return 0;
    lua_pushcfunction(L, kmlab_callsite_selftest_body);
    lua_pushlightuserdata(L, &s);
    int status = lua_pcall(L, 1, 0, 0);
    lua_close(L);
    if (status != LUA_OK || !s.ok || s.hooked != 1 || s.fin != 1) return 0;
    if (s.pc[1] == 0 || s.pc[1] != s.pc[2] || s.pc[1] != s.pc[3]) return 0;
    uintptr_t lo = s.pc[4] < s.pc[5] ? s.pc[4] : s.pc[5], hi = s.pc[4] < s.pc[5] ? s.pc[5] : s.pc[4];
    if (lo == 0 || hi - lo == 0 || hi - lo > 256 || (hi - lo) % 4 != 0) return 0;
    return 1;
#else
    return 0;
#endif
}

#endif /* KMLAB_CLUA_CALLSITE_H */
