/*
 * pristine.h - the grading driver's pristine globals, in C.
 *
 * Every grading state starts by copying its globals into `P`, the
 * environment lesson code runs in, with a copy of every library table, and
 * by remembering each library table's contents so that the learner's
 * changes can be undone before a check runs (Sources/Lessons/GradingDriver).
 * Written in Lua, the copies were a fifth of a grading state's set-up and
 * the undoing a tenth of a task; here they are plain table walks with
 * presized tables. Both are lua_CFunctions, called protected (they
 * allocate), with raw access only: no metamethod of a learner runs.
 */
#ifndef KMLAB_CLUA_PRISTINE_H
#define KMLAB_CLUA_PRISTINE_H

#include <lua.h>
#include <lauxlib.h>
#include <string.h>

/* Entries of the table at `idx` (raw traversal). */
static inline int kmlab_count_entries(lua_State *L, int idx) {
    int n = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        n++;
        lua_pop(L, 1);
    }
    return n;
}

/* Returns P, a copy of the globals in which every table but _G is itself
 * copied (P._G is P), and `saved`, a list of {table, copy of its contents}
 * for those tables, in the globals' traversal order. */
static inline int kmlab_pristine_globals(lua_State *L) {
    lua_settop(L, 0);
    lua_pushglobaltable(L);                                  /* 1: G */
    lua_createtable(L, 0, kmlab_count_entries(L, 1) + 1);    /* 2: P */
    lua_newtable(L);                                         /* 3: saved */
    int saved = 0;
    lua_pushnil(L);
    while (lua_next(L, 1)) {                                 /* 4: key, 5: value */
        int is_G = lua_type(L, 4) == LUA_TSTRING && strcmp(lua_tostring(L, 4), "_G") == 0;
        if (lua_type(L, 5) == LUA_TTABLE && !is_G) {
            int n = kmlab_count_entries(L, 5);
            lua_createtable(L, 0, n);                        /* 6: copy (for P) */
            lua_createtable(L, 0, n);                        /* 7: original contents */
            lua_pushnil(L);
            while (lua_next(L, 5)) {                         /* 8: k, 9: v */
                lua_pushvalue(L, 8);
                lua_pushvalue(L, 9);
                lua_rawset(L, 6);
                lua_pushvalue(L, 8);
                lua_insert(L, 9);                            /* 8: k, 9: k, 10: v */
                lua_rawset(L, 7);
            }
            lua_createtable(L, 2, 0);                        /* 8: {table, original} */
            lua_pushvalue(L, 5);
            lua_rawseti(L, 8, 1);
            lua_pushvalue(L, 7);
            lua_rawseti(L, 8, 2);
            lua_rawseti(L, 3, ++saved);
            lua_pop(L, 1);                                   /* the original */
            lua_pushvalue(L, 4);
            lua_insert(L, 6);                                /* 6: key, 7: copy */
            lua_rawset(L, 2);
        } else {
            lua_pushvalue(L, 4);
            lua_pushvalue(L, 5);
            lua_rawset(L, 2);
        }
        lua_pop(L, 1);                                       /* the value; the key stays for lua_next */
    }
    lua_pushliteral(L, "_G");
    lua_pushvalue(L, 2);
    lua_rawset(L, 2);
    return 2;                                                /* P, saved */
}

/* restore(saved): every saved table back as it was: keys added since are
 * removed, the original entries written back (raw). */
static inline int kmlab_restore_saved(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    lua_Integer count = (lua_Integer)lua_rawlen(L, 1);
    for (lua_Integer i = 1; i <= count; i++) {
        lua_settop(L, 1);
        if (lua_rawgeti(L, 1, i) != LUA_TTABLE) continue;    /* 2: pair */
        lua_rawgeti(L, 2, 1);                                /* 3: the table */
        lua_rawgeti(L, 2, 2);                                /* 4: its original contents */
        if (lua_type(L, 3) != LUA_TTABLE || lua_type(L, 4) != LUA_TTABLE) continue;
        lua_newtable(L);                                     /* 5: keys added since */
        int extra = 0;
        lua_pushnil(L);
        while (lua_next(L, 3)) {                             /* 6: k, 7: v */
            lua_pop(L, 1);
            lua_pushvalue(L, 6);
            if (lua_rawget(L, 4) == LUA_TNIL) {
                lua_pushvalue(L, 6);
                lua_rawseti(L, 5, ++extra);
            }
            lua_pop(L, 1);
        }
        for (int j = 1; j <= extra; j++) {
            lua_rawgeti(L, 5, j);
            lua_pushnil(L);
            lua_rawset(L, 3);
        }
        lua_pushnil(L);
        while (lua_next(L, 4)) {                             /* 6: k, 7: v */
            lua_pushvalue(L, 6);
            lua_insert(L, 7);                                /* 6: k, 7: k, 8: v */
            lua_rawset(L, 3);
        }
    }
    return 0;
}

static inline lua_CFunction kmlab_pristine_globals_function(void) { return kmlab_pristine_globals; }
static inline lua_CFunction kmlab_restore_saved_function(void) { return kmlab_restore_saved; }

#endif /* KMLAB_CLUA_PRISTINE_H */
