/*
 * order.h - `next` and `pairs` in an order that is the same on every run.
 *
 * Lua's own `next` walks a table's hash part, whose layout depends on the
 * string hash seed (randomised per process) and on object addresses (ASLR),
 * so a script that depends on it prints differently from run to run. Here
 * both visit keys in one fixed order:
 *
 *   numbers (ascending), strings (bytewise, then by length), false, true,
 *   then every other object in order of creation
 *
 * "Creation" is the allocator's serial number in the block header (shim.h),
 * a function of the script alone. Light C functions (the standard library's,
 * which have no block) come last, by a registration number given when the
 * state is built (kmlab_register_cfunctions: the library functions by
 * their sorted names), never by code address, which differs from run to
 * run under address randomisation. One the registration missed (none is
 * known) would still fall back to its address.
 *
 * A pure array (no hash part) is already in that order: it is traversed
 * by lua_next itself. Other tables' sorted keys are cached (a weak-keyed
 * registry table maps the table to its entry, see below) while the keys do
 * not change: `pairs(t)` and `next(t, nil)` check the entry in one pass and
 * sort only when the keys changed; pairs's iterator keeps its position, and
 * a `next(t, k)` is a lookup. As in Lua, keys added during a traversal may
 * be missed; keys cleared during it are skipped. Sorting is charged to the
 * instruction budget (n log n units) and the check n units, so a loop of
 * `next(t)` on a large table meets the budget.
 */
#ifndef KMLAB_CLUA_ORDER_H
#define KMLAB_CLUA_ORDER_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "charge.h"

/* The creation number of the object whose block starts at `obj`, or 0 if
 * no header is found there. */
static inline unsigned long long kmlab_block_serial(const void *obj) {
    if (obj == NULL) return 0;
    const kmlab_block_header *h = (const kmlab_block_header *)obj - 1;
    return h->magic == KMLAB_BLOCK_MAGIC ? h->serial : 0;
}

/* Where the blocks of threads and of user-value-less userdata start,
 * measured on this Lua (the offsets are private to its implementation). */
static inline int kmlab_order_selftest_unprotected(lua_State *L) {
    kmlab_budget *b = kmlab_getbudget(L);
    b->thread_offset = -1;
    b->udata_offset = -1;
    /* A thread is the lua_State after LUA_EXTRASPACE bytes of its block
     * (its stack is allocated after it, so last_block cannot tell). */
    unsigned long long before = b->alloc_serial;
    lua_State *co = lua_newthread(L);
    unsigned long long serial = kmlab_block_serial((char *)co - LUA_EXTRASPACE);
    if (serial > before && serial <= b->alloc_serial) b->thread_offset = LUA_EXTRASPACE;
    lua_pop(L, 1);
    void *u = lua_newuserdatauv(L, 8, 0);
    char *block = (char *)b->last_block;
    if (block != NULL && (char *)u >= block && (char *)u - block < 256) b->udata_offset = (long)((char *)u - block);
    lua_pop(L, 1);
    return 0;
}

static inline int kmlab_order_selftest(lua_State *L) {
    lua_pushcfunction(L, kmlab_order_selftest_unprotected);
    return kmlab_pcall(L, 0, 0, 0);
}

enum { KMLAB_RANK_NUMBER, KMLAB_RANK_STRING, KMLAB_RANK_BOOLEAN, KMLAB_RANK_OBJECT, KMLAB_RANK_OTHER };

typedef struct kmlab_order_key {
    int rank;
    int is_integer;
    lua_Integer i;
    lua_Number n;
    const char *s;              /* strings */
    size_t len;
    unsigned long long serial;  /* objects: creation number */
    uintptr_t address;          /* last resort, for ties only */
    lua_Integer index;          /* position in the unsorted key list */
} kmlab_order_key;

/* The registration number of the light C function at `idx`, or the
 * largest number when it was never registered (then the address decides). */
static inline unsigned long long kmlab_cfunction_number(lua_State *L, int idx) {
    idx = lua_absindex(L, idx);
    unsigned long long n = ~0ULL;
    if (lua_getfield(L, LUA_REGISTRYINDEX, "kmlab.cfuncs") == LUA_TTABLE) {
        lua_pushvalue(L, idx);
        if (lua_rawget(L, -2) == LUA_TNUMBER) n = (unsigned long long)lua_tointeger(L, -1);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return n;
}

static inline int kmlab_cmp_cstrings(const void *x, const void *y) {
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* Numbers the light C function on top (popping it) unless it has one. */
static inline void kmlab_register_one(lua_State *L, int registry) {
    if (lua_iscfunction(L, -1) && lua_getupvalue(L, -1, 1) == NULL) {
        lua_pushvalue(L, -1);
        if (lua_rawget(L, registry) == LUA_TNIL) {
            lua_Integer next = (lua_Integer)lua_rawlen(L, registry) + 1;
            lua_pop(L, 1);
            lua_pushvalue(L, -1);
            lua_pushinteger(L, next);
            lua_rawset(L, registry);
            /* The inverse too, so the next number is the table's length. */
            lua_pushvalue(L, -1);
            lua_rawseti(L, registry, next);
        } else {
            lua_pop(L, 1);
        }
    } else if (lua_iscfunction(L, -1)) {
        lua_pop(L, 1); /* the upvalue lua_getupvalue pushed */
    }
    lua_pop(L, 1);
}

/* Numbers the light C functions that are the fields of the table at `t`
 * (string keys only), in sorted key order; with `depth`, the tables among
 * them too. */
static inline void kmlab_register_fields(lua_State *L, int t, int registry, int depth) {
    t = lua_absindex(L, t);
    lua_Integer n = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) { lua_pop(L, 1); if (lua_type(L, -1) == LUA_TSTRING) n++; }
    const char **names = (const char **)lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof(char *), 0);
    int keep = lua_gettop(L); /* the userdata; the key strings stay alive in t */
    lua_Integer i = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) == LUA_TSTRING && i < n) names[i++] = lua_tostring(L, -1);
    }
    qsort(names, (size_t)i, sizeof *names, kmlab_cmp_cstrings);
    for (lua_Integer j = 0; j < i; j++) {
        lua_getfield(L, t, names[j]);
        if (lua_type(L, -1) == LUA_TTABLE && depth > 0 && !lua_rawequal(L, -1, t)) {
            kmlab_register_fields(L, -1, registry, depth - 1);
            lua_pop(L, 1);
        } else {
            kmlab_register_one(L, registry);
        }
    }
    lua_settop(L, keep - 1);
}

/* Pushes the first result of calling global `lib`.`fn` (or global `fn`)
 * with the given string argument or an empty table, then registers it. */
static inline void kmlab_register_result(lua_State *L, int registry, const char *lib, const char *fn, const char *arg, int flag) {
    lua_pushglobaltable(L);
    if (lib != NULL && lua_getfield(L, -1, lib) != LUA_TTABLE) { lua_settop(L, registry); return; }
    if (lua_getfield(L, -1, fn) != LUA_TFUNCTION) { lua_settop(L, registry); return; }
    if (arg != NULL) lua_pushstring(L, arg); else lua_newtable(L);
    lua_pushboolean(L, flag);
    if (lua_pcall(L, 2, 1, 0) == LUA_OK) kmlab_register_one(L, registry);
    lua_settop(L, registry);
}

static inline int kmlab_register_cfunctions_unprotected(lua_State *L) {
    if (lua_getfield(L, LUA_REGISTRYINDEX, "kmlab.cfuncs") != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, "kmlab.cfuncs");
    }
    int registry = lua_gettop(L);
    lua_pushglobaltable(L);
    kmlab_register_fields(L, -1, registry, 1);
    lua_settop(L, registry);
    /* Iterators that only a call hands out. */
    kmlab_register_result(L, registry, NULL, "pairs", NULL, 0);
    kmlab_register_result(L, registry, NULL, "ipairs", NULL, 0);
    kmlab_register_result(L, registry, "utf8", "codes", "", 0);
    kmlab_register_result(L, registry, "utf8", "codes", "", 1);
    return 0;
}

/* Gives every light C function the state can reach a number (once its
 * libraries are in place; again later to number new ones). */
static inline int kmlab_register_cfunctions(lua_State *L) {
    lua_pushcfunction(L, kmlab_register_cfunctions_unprotected);
    return kmlab_pcall(L, 0, 0, 0);
}

static inline void kmlab_order_describe(lua_State *L, int idx, kmlab_order_key *k) {
    kmlab_budget *b = kmlab_getbudget(L);
    const void *p = lua_topointer(L, idx);
    memset(k, 0, sizeof *k);
    k->address = (uintptr_t)p;
    switch (lua_type(L, idx)) {
    case LUA_TNUMBER:
        k->rank = KMLAB_RANK_NUMBER;
        k->is_integer = lua_isinteger(L, idx);
        if (k->is_integer) k->i = lua_tointeger(L, idx); else k->n = lua_tonumber(L, idx);
        return;
    case LUA_TSTRING:
        k->rank = KMLAB_RANK_STRING;
        k->s = lua_tolstring(L, idx, &k->len);
        return;
    case LUA_TBOOLEAN:
        k->rank = KMLAB_RANK_BOOLEAN;
        k->i = lua_toboolean(L, idx);
        return;
    case LUA_TTABLE:
        k->rank = KMLAB_RANK_OBJECT;
        k->serial = kmlab_block_serial(p);
        return;
    case LUA_TFUNCTION:
        if (lua_iscfunction(L, idx) && lua_getupvalue(L, idx, 1) == NULL) {
            k->rank = KMLAB_RANK_OTHER; /* a light C function: no block */
            k->serial = kmlab_cfunction_number(L, idx);
            return;
        }
        if (lua_iscfunction(L, idx)) lua_pop(L, 1); /* the upvalue lua_getupvalue pushed */
        k->rank = KMLAB_RANK_OBJECT;
        k->serial = kmlab_block_serial(p);
        return;
    case LUA_TTHREAD:
        k->rank = KMLAB_RANK_OBJECT;
        if (b->thread_offset >= 0) k->serial = kmlab_block_serial((const char *)p - b->thread_offset);
        return;
    case LUA_TUSERDATA:
        k->rank = KMLAB_RANK_OBJECT;
        if (b->udata_offset >= 0) {
            if (lua_getiuservalue(L, idx, 1) == LUA_TNONE)
                k->serial = kmlab_block_serial((const char *)p - b->udata_offset);
            lua_pop(L, 1);
        }
        return;
    default:
        k->rank = KMLAB_RANK_OTHER;
        return;
    }
}

static inline int kmlab_order_cmp_bytes(const char *a, size_t la, const char *b, size_t lb) {
    size_t m = la < lb ? la : lb;
    int c = m ? memcmp(a, b, m) : 0;
    if (c != 0) return c;
    return la < lb ? -1 : la > lb;
}

static inline int kmlab_order_compare(const void *x, const void *y) {
    const kmlab_order_key *a = (const kmlab_order_key *)x, *b = (const kmlab_order_key *)y;
    if (a->rank != b->rank) return a->rank < b->rank ? -1 : 1;
    switch (a->rank) {
    case KMLAB_RANK_NUMBER: {
        if (a->is_integer && b->is_integer) return a->i < b->i ? -1 : a->i > b->i;
        /* Mixed or float keys (never NaN, never a float with an integer value). */
        long double av = a->is_integer ? (long double)a->i : (long double)a->n;
        long double bv = b->is_integer ? (long double)b->i : (long double)b->n;
        if (av != bv) return av < bv ? -1 : 1;
        return a->is_integer ? -1 : 1;
    }
    case KMLAB_RANK_STRING:
        return kmlab_order_cmp_bytes(a->s, a->len, b->s, b->len);
    case KMLAB_RANK_BOOLEAN:
        return (int)(a->i - b->i);
    default: {
        if (a->serial != b->serial) return a->serial < b->serial ? -1 : 1;
        if (a->address != b->address) return a->address < b->address ? -1 : 1;
        return 0;
    }
    }
}

/* --- Pure arrays ---------------------------------------------------------
 * A table whose hash part is empty holds only keys 1..n of its array part,
 * and Lua's own traversal visits those in ascending order: the fixed order
 * already. Such a table is iterated with lua_next itself, sorting nothing
 * and caching nothing. Whether the hash part is empty is not in Lua's API:
 * it is read from struct Table (lobject.h, the same in 5.4.0 to 5.4.7:
 * CommonHeader {next, tt, marked}, flags, lsizenode, alimit, array, node,
 * lastfree, ...), where an empty hash part is the shared dummy node and
 * `lastfree` is NULL (ltable.c's isdummy). kmlab_array_selftest checks that
 * reading against tables of known shape once per state; if it fails, every
 * table takes the general path. */
#define KMLAB_TABLE_ARRAY (2 * sizeof(void *))
#define KMLAB_TABLE_NODE (3 * sizeof(void *))
#define KMLAB_TABLE_LASTFREE (4 * sizeof(void *))

static inline const void *kmlab_table_field(const void *t, size_t offset) {
    const void *p;
    memcpy(&p, (const char *)t + offset, sizeof p);
    return p;
}

/* Whether the table at `idx` has no hash part (only trusted after the
 * self-test: b->array_layout_ok). */
static inline int kmlab_is_pure_array(lua_State *L, int idx) {
    return kmlab_getbudget(L)->array_layout_ok == 1 &&
           kmlab_table_field(lua_topointer(L, idx), KMLAB_TABLE_LASTFREE) == NULL;
}

static inline int kmlab_array_selftest_unprotected(lua_State *L) {
    kmlab_budget *b = kmlab_getbudget(L);
    b->array_layout_ok = -1;
    if (lua_version(L) < 504 || lua_version(L) >= 505) return 0;
    int ok = 1;
    /* {}: no array, dummy hash. */
    lua_createtable(L, 0, 0);
    const void *t = lua_topointer(L, -1);
    ok &= kmlab_table_field(t, KMLAB_TABLE_ARRAY) == NULL && kmlab_table_field(t, KMLAB_TABLE_LASTFREE) == NULL &&
          kmlab_table_field(t, KMLAB_TABLE_NODE) != NULL;
    const void *dummy = kmlab_table_field(t, KMLAB_TABLE_NODE);
    lua_pop(L, 1);
    /* An array of 5 filled in order, then by appends to 9: no hash part. */
    lua_createtable(L, 5, 0);
    for (int i = 1; i <= 9; i++) { lua_pushboolean(L, 1); lua_rawseti(L, -2, i); }
    t = lua_topointer(L, -1);
    ok &= kmlab_table_field(t, KMLAB_TABLE_ARRAY) != NULL && kmlab_table_field(t, KMLAB_TABLE_LASTFREE) == NULL &&
          kmlab_table_field(t, KMLAB_TABLE_NODE) == dummy;
    lua_Integer expect = 1;
    lua_pushnil(L);
    while (lua_next(L, -2)) { lua_pop(L, 1); ok &= lua_isinteger(L, -1) && lua_tointeger(L, -1) == expect; expect++; }
    ok &= expect == 10;
    /* A string key gives it a hash part. */
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "x");
    ok &= kmlab_table_field(t, KMLAB_TABLE_LASTFREE) != NULL && kmlab_table_field(t, KMLAB_TABLE_NODE) != dummy;
    lua_pop(L, 1);
    /* A presized hash part, empty or not. */
    lua_createtable(L, 0, 3);
    t = lua_topointer(L, -1);
    ok &= kmlab_table_field(t, KMLAB_TABLE_ARRAY) == NULL && kmlab_table_field(t, KMLAB_TABLE_LASTFREE) != NULL;
    lua_pop(L, 1);
    if (ok) b->array_layout_ok = 1;
    return 0;
}

static inline int kmlab_array_selftest(lua_State *L) {
    lua_pushcfunction(L, kmlab_array_selftest_unprotected);
    return kmlab_pcall(L, 0, 0, 0);
}

/* --- The order cache ---------------------------------------------------
 * registry["kmlab.order"] is a weak-keyed table mapping a table to its
 * entry {sorted keys, key -> position (made when first needed), keys in
 * lua_next's order, count}. Lua's traversal order depends only on the keys
 * and the table's history, so while the keys do not change, a traversal
 * yields the keys of the entry in the same order: pairs checks that in one
 * pass (no sort, no allocation) and sorts again only when it differs. */
enum { KMLAB_ENTRY_SORTED = 1, KMLAB_ENTRY_POSITIONS = 2, KMLAB_ENTRY_TRAVERSAL = 3, KMLAB_ENTRY_COUNT = 4 };

/* Pushes the cache table (the registry's weak-keyed map). */
static inline void kmlab_order_caches(lua_State *L) {
    if (lua_getfield(L, LUA_REGISTRYINDEX, "kmlab.order") == LUA_TTABLE) return;
    lua_pop(L, 1);
    lua_newtable(L);
    lua_newtable(L);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, "kmlab.order");
}

/* Pushes table 1's cache entry, or nil. */
static inline int kmlab_order_cached(lua_State *L) {
    kmlab_order_caches(L);
    lua_pushvalue(L, 1);
    int type = lua_rawget(L, -2);
    lua_remove(L, -2);
    return type;
}

/* Whether the entry at `entry` still lists table 1's keys in the order a
 * traversal visits them now. */
static inline int kmlab_order_still_valid(lua_State *L, int entry) {
    lua_rawgeti(L, entry, KMLAB_ENTRY_COUNT);
    lua_Integer n = lua_tointeger(L, -1);
    lua_pop(L, 1);
    kmlab_charge(L, n);
    lua_rawgeti(L, entry, KMLAB_ENTRY_TRAVERSAL);
    int traversal = lua_gettop(L);
    lua_Integer i = 0;
    int same = 1;
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        lua_pop(L, 1);
        i++;
        if (i > n || lua_rawgeti(L, traversal, i) == LUA_TNIL || !lua_rawequal(L, -1, -2)) {
            same = 0;
            break;
        }
        lua_pop(L, 1);
    }
    lua_settop(L, traversal - 1);
    return same && i == n;
}

/* Sorts the keys of the table at index 1 and caches them; pushes the cache
 * entry. */
static inline void kmlab_order_build(lua_State *L) {
    lua_Integer n = 0;
    lua_pushnil(L);
    while (lua_next(L, 1)) { lua_pop(L, 1); n++; }
    long long units = 1;
    for (lua_Integer m = n; m > 0; m >>= 1) units += n;
    kmlab_charge(L, units);
    int base = lua_gettop(L);
    int size = (int)(n < INT_MAX ? n : INT_MAX);
    lua_createtable(L, 4, 0);                                                  /* base+1: entry */
    lua_createtable(L, size, 0);                                               /* base+2: keys in traversal order */
    kmlab_order_key *keys = (kmlab_order_key *)lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof(kmlab_order_key), 0); /* base+3 */
    lua_Integer i = 0;
    int sorted = 1;
    lua_pushnil(L);
    while (lua_next(L, 1) && i < n) {
        lua_pop(L, 1);
        i++;
        lua_pushvalue(L, -1);
        lua_rawseti(L, base + 2, i);
        kmlab_order_describe(L, -1, &keys[i - 1]);
        keys[i - 1].index = i;
        if (i > 1 && sorted && kmlab_order_compare(&keys[i - 2], &keys[i - 1]) >= 0) sorted = 0;
    }
    lua_settop(L, base + 3);
    n = i;
    lua_pushvalue(L, base + 2);
    lua_rawseti(L, base + 1, KMLAB_ENTRY_TRAVERSAL);
    lua_pushinteger(L, n);
    lua_rawseti(L, base + 1, KMLAB_ENTRY_COUNT);
    if (sorted) {
        /* Already in order (an array part, or keys inserted in order). */
        lua_pushvalue(L, base + 2);
    } else {
        qsort(keys, (size_t)n, sizeof *keys, kmlab_order_compare);
        lua_createtable(L, size, 0);
        for (lua_Integer j = 1; j <= n; j++) {
            lua_rawgeti(L, base + 2, keys[j - 1].index);
            lua_rawseti(L, -2, j);
        }
    }
    lua_rawseti(L, base + 1, KMLAB_ENTRY_SORTED);
    kmlab_order_caches(L);
    lua_pushvalue(L, 1);
    lua_pushvalue(L, base + 1);
    lua_rawset(L, -3);
    lua_settop(L, base + 1);
}

/* Pushes a cache entry for table 1 that matches its keys now. */
static inline void kmlab_order_current(lua_State *L) {
    if (kmlab_order_cached(L) == LUA_TTABLE && kmlab_order_still_valid(L, lua_gettop(L))) return;
    lua_pop(L, 1);
    kmlab_order_build(L);
}

/* The position of the value on top in the entry at `entry` (0 if it is not
 * a key there); pops it. Makes the entry's key -> position map on first use. */
static inline lua_Integer kmlab_order_position(lua_State *L, int entry) {
    if (lua_rawgeti(L, entry, KMLAB_ENTRY_POSITIONS) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_rawgeti(L, entry, KMLAB_ENTRY_COUNT);
        lua_Integer n = lua_tointeger(L, -1);
        lua_pop(L, 1);
        lua_rawgeti(L, entry, KMLAB_ENTRY_SORTED);
        lua_createtable(L, 0, (int)(n < INT_MAX ? n : INT_MAX));
        for (lua_Integer j = 1; j <= n; j++) {
            lua_rawgeti(L, -2, j);
            lua_pushinteger(L, j);
            lua_rawset(L, -3);
        }
        lua_remove(L, -2);
        lua_pushvalue(L, -1);
        lua_rawseti(L, entry, KMLAB_ENTRY_POSITIONS);
    }
    lua_rotate(L, -2, 1);   /* positions, key */
    lua_Integer pos = lua_rawget(L, -2) == LUA_TNUMBER ? lua_tointeger(L, -1) : 0;
    lua_pop(L, 2);
    return pos;
}

/* The key after position `pos` (0: before the first) in the sorted keys
 * at `sorted` whose value in table 1 is not nil: pushes key and value and
 * returns 2 (setting *at to its position), or pushes nil and returns 1. */
static inline int kmlab_order_step(lua_State *L, int sorted, lua_Integer pos, lua_Integer *at) {
    for (lua_Integer j = pos + 1;; j++) {
        if (lua_rawgeti(L, sorted, j) == LUA_TNIL) {
            *at = j;
            return 1;
        }
        lua_pushvalue(L, -1);
        if (lua_rawget(L, 1) != LUA_TNIL) {
            *at = j;
            return 2;
        }
        lua_pop(L, 2);
    }
}

/* next(t [, k]) */
static inline int kmlab_next(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 2);
    if (kmlab_is_pure_array(L, 1)) {
        if (lua_next(L, 1)) return 2;
        lua_pushnil(L);
        return 1;
    }
    lua_Integer at = 0;
    if (lua_isnil(L, 2)) {
        kmlab_order_current(L);
        lua_rawgeti(L, 3, KMLAB_ENTRY_SORTED);
        return kmlab_order_step(L, 4, 0, &at);
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        lua_settop(L, 2);
        if (attempt == 0) kmlab_order_cached(L);
        else kmlab_order_build(L);
        if (lua_type(L, 3) == LUA_TTABLE) {
            lua_pushvalue(L, 2);
            lua_Integer pos = kmlab_order_position(L, 3);
            if (pos > 0) {
                lua_rawgeti(L, 3, KMLAB_ENTRY_SORTED);
                return kmlab_order_step(L, 4, pos, &at);
            }
        }
    }
    return luaL_error(L, "invalid key to 'next'");
}

/* The iterator pairs returns for a table with a hash part: upvalues are the
 * sorted keys, the position of the key returned last, and the table. A call
 * with that table and that key (a for loop's) steps on from the position;
 * any other call is an ordinary next. */
static inline int kmlab_ordered_iterator(lua_State *L) {
    lua_settop(L, 2);
    int sorted = lua_upvalueindex(1), cursor = lua_upvalueindex(2);
    lua_Integer pos = lua_tointeger(L, cursor);
    int ours = lua_rawequal(L, 1, lua_upvalueindex(3));
    if (ours) {
        if (lua_isnil(L, 2)) {
            pos = 0;
        } else {
            ours = pos > 0 && lua_rawgeti(L, sorted, pos) != LUA_TNIL && lua_rawequal(L, -1, 2);
            lua_settop(L, 2);
        }
    }
    if (!ours) return kmlab_next(L);
    lua_Integer at = pos;
    int n = kmlab_order_step(L, sorted, pos, &at);
    lua_pushinteger(L, at);
    lua_replace(L, cursor);
    return n;
}

/* The iterator pairs returns for a pure array, or for what is not a table
 * (whose first call then fails as Lua's does): next. */
static inline int kmlab_pairs_next(lua_State *L) {
    return kmlab_next(L);
}

/* pairs(t): __pairs as Lua's, else the ordered iterator. */
static inline int kmlab_pairs(lua_State *L) {
    luaL_checkany(L, 1);
    if (luaL_getmetafield(L, 1, "__pairs") != LUA_TNIL) {
        lua_pushvalue(L, 1);
        lua_call(L, 1, 3);
        return 3;
    }
    lua_settop(L, 1);
    if (lua_type(L, 1) == LUA_TTABLE && !kmlab_is_pure_array(L, 1)) {
        kmlab_order_current(L);
        lua_rawgeti(L, 2, KMLAB_ENTRY_SORTED);
        lua_pushinteger(L, 0);
        lua_pushvalue(L, 1);
        lua_pushcclosure(L, kmlab_ordered_iterator, 3);
    } else {
        lua_pushcfunction(L, kmlab_pairs_next);
    }
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

static inline int kmlab_install_order_unprotected(lua_State *L) {
    lua_pushglobaltable(L);
    lua_pushcfunction(L, kmlab_next);
    lua_setfield(L, -2, "next");
    lua_pushcfunction(L, kmlab_pairs);
    lua_setfield(L, -2, "pairs");
    return 0;
}

/* Measures the block offsets, checks the table layout and installs next
 * and pairs. */
static inline int kmlab_install_order(lua_State *L) {
    int status = kmlab_order_selftest(L);
    if (status != LUA_OK) return status;
    status = kmlab_array_selftest(L);
    if (status != LUA_OK) return status;
    lua_pushcfunction(L, kmlab_install_order_unprotected);
    return kmlab_pcall(L, 0, 0, 0);
}

#endif /* KMLAB_CLUA_ORDER_H */
