/*
 * bounded.h - replacements for the standard library functions whose single
 * call can do unbounded work without running a VM instruction.
 *
 * Each one behaves as Lua 5.4's own (same results, same error messages)
 * but charges its work to the instruction budget as it goes (charge.h):
 *
 *   string.rep      one unit per 64 bytes of result; ("", 2^63-1) is O(1)
 *   table.insert,   ten units per element moved: a __len that claims 2^62
 *   table.remove    elements meets the budget instead of spinning forever
 *   table.move      ten units per element (done in slices by the original)
 *   table.concat    ten units per element (an __index such as table.concat
 *                   itself returns "" forever without running Lua code)
 *   table.sort      10*n*log2(n) units up front, before the original sorts
 *   load            one unit per 64 bytes of a string chunk, before parsing
 *
 * The pattern functions are in patterns.h. string.format is in
 * determinism.h (it must not print addresses).
 */
#ifndef KMLAB_CLUA_BOUNDED_H
#define KMLAB_CLUA_BOUNDED_H

#include <limits.h>
#include "charge.h"
#include "patterns.h"

/* Lua's limit for string.rep's result (lstrlib's MAXSIZE on 64-bit). */
#define KMLAB_REP_MAXSIZE ((size_t)INT_MAX)
/* Elements per slice of table.move and per charge of the element loops. */
#define KMLAB_TABLE_SLICE 1024

static inline int kmlab_str_rep(lua_State *L) {
    size_t l, lsep;
    const char *s = luaL_checklstring(L, 1, &l);
    lua_Integer n = luaL_checkinteger(L, 2);
    const char *sep = luaL_optlstring(L, 3, "", &lsep);
    if (n <= 0 || (l == 0 && lsep == 0)) {
        lua_pushliteral(L, "");
        return 1;
    }
    if (l + lsep < l || l + lsep > KMLAB_REP_MAXSIZE / (size_t)n)
        return luaL_error(L, "resulting string too large");
    size_t total = (size_t)n * l + (size_t)(n - 1) * lsep;
    /* Charged before the buffer exists: a result the budget cannot pay for
     * is refused without allocating or copying anything. One the memory
     * budget cannot hold fails at the allocation below first, without
     * charge: "memory limit" is the truer verdict for it. */
    kmlab_budget *budget = kmlab_getbudget(L);
    int fits = budget->mem_limit == 0 || (budget->mem_used <= budget->mem_limit && total <= budget->mem_limit - budget->mem_used);
    if (fits) kmlab_charge(L, 1 + (long long)(total / KMLAB_BYTES_PER_UNIT));
    luaL_Buffer b;
    char *p = luaL_buffinitsize(L, &b, total);
    while (n-- > 1) {
        memcpy(p, s, l);
        p += l;
        if (lsep > 0) {
            memcpy(p, sep, lsep);
            p += lsep;
        }
    }
    memcpy(p, s, l);
    luaL_pushresultsize(&b, total);
    return 1;
}

/* Lua's checktab: a table, or something whose metatable has the fields
 * the operation needs. */
enum { KMLAB_TAB_R = 1, KMLAB_TAB_W = 2, KMLAB_TAB_L = 4, KMLAB_TAB_RW = 3 };

static inline int kmlab_tab_has(lua_State *L, const char *key, int n) {
    lua_pushstring(L, key);
    return lua_rawget(L, -n) != LUA_TNIL;
}

static inline void kmlab_tab_check(lua_State *L, int arg, int what) {
    if (lua_type(L, arg) == LUA_TTABLE) return;
    int n = 1;
    if (lua_getmetatable(L, arg) &&
        (!(what & KMLAB_TAB_R) || kmlab_tab_has(L, "__index", ++n)) &&
        (!(what & KMLAB_TAB_W) || kmlab_tab_has(L, "__newindex", ++n)) &&
        (!(what & KMLAB_TAB_L) || kmlab_tab_has(L, "__len", ++n))) {
        lua_pop(L, n);
    } else {
        luaL_checktype(L, arg, LUA_TTABLE);
    }
}

static inline lua_Integer kmlab_tab_len(lua_State *L, int arg, int what) {
    kmlab_tab_check(L, arg, what | KMLAB_TAB_L);
    return luaL_len(L, arg);
}

static inline int kmlab_tab_insert(lua_State *L) {
    lua_Integer pos;
    lua_Integer e = kmlab_tab_len(L, 1, KMLAB_TAB_RW);
    e = (lua_Integer)((lua_Unsigned)e + 1u); /* first empty slot */
    switch (lua_gettop(L)) {
    case 2:
        pos = e;
        break;
    case 3: {
        pos = luaL_checkinteger(L, 2);
        luaL_argcheck(L, (lua_Unsigned)pos - 1u < (lua_Unsigned)e, 2, "position out of bounds");
        long long moved = 0;
        for (lua_Integer i = e; i > pos; i--) {
            lua_geti(L, 1, i - 1);
            lua_seti(L, 1, i);
            if (++moved == KMLAB_TABLE_SLICE) { kmlab_charge(L, moved * KMLAB_ELEMENT_UNITS); moved = 0; }
        }
        kmlab_charge(L, moved * KMLAB_ELEMENT_UNITS);
        break;
    }
    default:
        return luaL_error(L, "wrong number of arguments to 'insert'");
    }
    lua_seti(L, 1, pos);
    return 0;
}

static inline int kmlab_tab_remove(lua_State *L) {
    lua_Integer size = kmlab_tab_len(L, 1, KMLAB_TAB_RW);
    lua_Integer pos = luaL_optinteger(L, 2, size);
    if (pos != size)
        luaL_argcheck(L, (lua_Unsigned)pos - 1u <= (lua_Unsigned)size, 1, "position out of bounds");
    lua_geti(L, 1, pos);
    long long moved = 0;
    for (; pos < size; pos++) {
        lua_geti(L, 1, pos + 1);
        lua_seti(L, 1, pos);
        if (++moved == KMLAB_TABLE_SLICE) { kmlab_charge(L, moved * KMLAB_ELEMENT_UNITS); moved = 0; }
    }
    kmlab_charge(L, moved * KMLAB_ELEMENT_UNITS);
    lua_pushnil(L);
    lua_seti(L, 1, pos);
    return 1;
}

static inline void kmlab_concat_field(lua_State *L, luaL_Buffer *b, lua_Integer i) {
    lua_geti(L, 1, i);
    if (!lua_isstring(L, -1))
        luaL_error(L, "invalid value (%s) at index %I in table for 'concat'", luaL_typename(L, -1), (LUAI_UACINT)i);
    luaL_addvalue(b);
}

static inline int kmlab_tab_concat(lua_State *L) {
    luaL_Buffer b;
    lua_Integer last = kmlab_tab_len(L, 1, KMLAB_TAB_R);
    size_t lsep;
    const char *sep = luaL_optlstring(L, 2, "", &lsep);
    lua_Integer i = luaL_optinteger(L, 3, 1);
    last = luaL_optinteger(L, 4, last);
    luaL_buffinit(L, &b);
    long long done = 0;
    for (; i < last; i++) {
        kmlab_concat_field(L, &b, i);
        luaL_addlstring(&b, sep, lsep);
        if (++done == KMLAB_TABLE_SLICE) { kmlab_charge(L, done * KMLAB_ELEMENT_UNITS); done = 0; }
    }
    if (i == last) kmlab_concat_field(L, &b, i);
    kmlab_charge(L, done * KMLAB_ELEMENT_UNITS);
    luaL_pushresult(&b);
    return 1;
}

/* table.move(a1, f, e, t [, a2]): the original (upvalue 1) does the work,
 * KMLAB_TABLE_SLICE elements per call, each slice charged. Slices run in
 * the order the original would copy elements (backwards when the ranges
 * overlap with t > f), so the result is the same. */
static inline int kmlab_tab_move(lua_State *L) {
    lua_Integer f = luaL_checkinteger(L, 2);
    lua_Integer e = luaL_checkinteger(L, 3);
    lua_Integer t = luaL_checkinteger(L, 4);
    int tt = !lua_isnoneornil(L, 5) ? 5 : 1;
    kmlab_tab_check(L, 1, KMLAB_TAB_R);
    kmlab_tab_check(L, tt, KMLAB_TAB_W);
    if (e >= f) {
        luaL_argcheck(L, f > 0 || e < LUA_MAXINTEGER + f, 3, "too many elements to move");
        lua_Integer n = e - f + 1;
        luaL_argcheck(L, t <= LUA_MAXINTEGER - n + 1, 4, "destination wrap around");
        int backwards = !(t > e || t <= f || (tt != 1 && !lua_compare(L, 1, tt, LUA_OPEQ)));
        lua_Integer slices = (n - 1) / KMLAB_TABLE_SLICE + 1;
        for (lua_Integer k = 0; k < slices; k++) {
            lua_Integer j = backwards ? slices - 1 - k : k;
            lua_Integer off = j * KMLAB_TABLE_SLICE;
            lua_Integer len = n - off < KMLAB_TABLE_SLICE ? n - off : KMLAB_TABLE_SLICE;
            kmlab_charge(L, len * KMLAB_ELEMENT_UNITS);
            lua_pushvalue(L, lua_upvalueindex(1));
            lua_pushvalue(L, 1);
            lua_pushinteger(L, f + off);
            lua_pushinteger(L, f + off + len - 1);
            lua_pushinteger(L, t + off);
            lua_pushvalue(L, tt);
            kmlab_call_original(L, 5, 0, 0);
        }
    }
    lua_pushvalue(L, tt);
    return 1;
}

/* table.sort: the original (upvalue 1), after charging n*log2(n). */
static inline int kmlab_tab_sort(lua_State *L) {
    lua_Integer n = kmlab_tab_len(L, 1, KMLAB_TAB_RW);
    if (n > 1) {
        luaL_argcheck(L, n < INT_MAX, 1, "array too big");
        long long units = 0;
        for (lua_Integer m = n; m > 0; m >>= 1) units += n;
        kmlab_charge(L, units * KMLAB_ELEMENT_UNITS);
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    kmlab_call_original(L, lua_gettop(L) - 1, 0, 0);
    return 0;
}

/* load: the original (upvalue 1), after charging a string chunk's parse. */
static inline int kmlab_load(lua_State *L) {
    if (lua_type(L, 1) == LUA_TSTRING) {
        size_t len = 0;
        (void)lua_tolstring(L, 1, &len);
        kmlab_charge(L, 1 + (long long)(len / KMLAB_BYTES_PER_UNIT));
    }
    int n = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    kmlab_call_original(L, n, LUA_MULTRET, 0);
    return lua_gettop(L);
}

/* Replaces table[name] with f, giving f the original as upvalue 1. Runs
 * protected (kmlab_install_bounded). */
static inline void kmlab_wrap_field(lua_State *L, int table, const char *name, lua_CFunction f) {
    lua_getfield(L, table, name);
    lua_pushcclosure(L, f, 1);
    lua_setfield(L, table, name);
}

static inline void kmlab_set_field(lua_State *L, int table, const char *name, lua_CFunction f) {
    lua_pushcfunction(L, f);
    lua_setfield(L, table, name);
}

static inline int kmlab_install_bounded_unprotected(lua_State *L) {
    lua_pushglobaltable(L);
    int g = lua_gettop(L);
    if (lua_getfield(L, g, "string") == LUA_TTABLE) {
        int s = lua_gettop(L);
        kmlab_set_field(L, s, "rep", kmlab_str_rep);
        kmlab_set_field(L, s, "find", kmlab_str_find);
        kmlab_set_field(L, s, "match", kmlab_str_match);
        kmlab_set_field(L, s, "gmatch", kmlab_str_gmatch);
        kmlab_set_field(L, s, "gsub", kmlab_str_gsub);
    }
    lua_settop(L, g);
    if (lua_getfield(L, g, "table") == LUA_TTABLE) {
        int t = lua_gettop(L);
        kmlab_set_field(L, t, "insert", kmlab_tab_insert);
        kmlab_set_field(L, t, "remove", kmlab_tab_remove);
        kmlab_set_field(L, t, "concat", kmlab_tab_concat);
        kmlab_wrap_field(L, t, "move", kmlab_tab_move);
        kmlab_wrap_field(L, t, "sort", kmlab_tab_sort);
    }
    lua_settop(L, g);
    kmlab_wrap_field(L, g, "load", kmlab_load);
    return 0;
}

/* Installs the replacements over the opened libraries. */
static inline int kmlab_install_bounded(lua_State *L) {
    lua_pushcfunction(L, kmlab_install_bounded_unprotected);
    return kmlab_pcall(L, 0, 0, 0);
}

#endif /* KMLAB_CLUA_BOUNDED_H */
