/*
 * sandbox.h - the sandbox's own xpcall and setmetatable, in C.
 *
 * Both were Lua wrappers in the sandbox prelude; a wrapper written in Lua
 * costs a Lua call, and xpcall's packed its results in a table on every
 * call. Here they cost what the library functions do.
 *
 *  - xpcall calls its message handler after unwinding, as an ordinary call:
 *    a handler runs while Lua is raising an error with hooks disabled when
 *    that error came from a hook, so one that loops would escape the
 *    instruction budget. (There is no debug library in the sandbox, so
 *    nothing a handler could inspect at the error site is lost.) Both calls
 *    are protected calls with continuations, so the function and the
 *    handler may yield, as under Lua's own xpcall.
 *  - setmetatable refuses a metatable with __gc: a finalizer would run
 *    learner code at arbitrary moments.
 */
#ifndef KMLAB_CLUA_SANDBOX_H
#define KMLAB_CLUA_SANDBOX_H

#include "shim.h"

/* After the handler: the stack is [true, handler, its result]. */
static inline int kmlab_xpcall_handled(lua_State *L, int status, lua_KContext ctx) {
    (void)status; (void)ctx;
    lua_pushboolean(L, 0);
    lua_replace(L, 2);
    return 2;
}

/* After the function: [true, handler, results...] or [true, handler, error]. */
static inline int kmlab_xpcall_done(lua_State *L, int status, lua_KContext ctx) {
    (void)ctx;
    if (status == LUA_OK || status == LUA_YIELD) {
        lua_remove(L, 2);
        return lua_gettop(L);
    }
    lua_pushvalue(L, 2);
    lua_insert(L, -2);
    int handled = lua_pcallk(L, 1, 1, 0, 0, kmlab_xpcall_handled);
    return kmlab_xpcall_handled(L, handled, 0);
}

/* xpcall(f, handler, ...) */
static inline int kmlab_xpcall(lua_State *L) {
    if (lua_gettop(L) < 2) lua_settop(L, 2);
    int nargs = lua_gettop(L) - 2;
    lua_pushboolean(L, 1);
    lua_insert(L, 1);          /* true, f, handler, args */
    lua_pushvalue(L, 2);
    lua_copy(L, 3, 2);
    lua_replace(L, 3);         /* true, handler, f, args */
    int status = lua_pcallk(L, nargs, LUA_MULTRET, 0, 0, kmlab_xpcall_done);
    return kmlab_xpcall_done(L, status, 0);
}

/* setmetatable(t, mt): lbaselib.c's, refusing __gc first. */
static inline int kmlab_sandbox_setmetatable(lua_State *L) {
    int t = lua_type(L, 2);
    if (t == LUA_TTABLE) {
        lua_pushliteral(L, "__gc");
        int gc = lua_rawget(L, 2);
        lua_pop(L, 1);
        if (gc != LUA_TNIL) return luaL_error(L, "setmetatable: __gc metamethods are not available in the sandbox");
    }
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_argexpected(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table");
    if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL)
        return luaL_error(L, "cannot change a protected metatable");
    lua_settop(L, 2);
    lua_setmetatable(L, 1);
    return 1;
}

static inline int kmlab_install_sandbox_functions_unprotected(lua_State *L) {
    lua_pushglobaltable(L);
    lua_pushcfunction(L, kmlab_xpcall);
    lua_setfield(L, -2, "xpcall");
    lua_pushcfunction(L, kmlab_sandbox_setmetatable);
    lua_setfield(L, -2, "setmetatable");
    return 0;
}

static inline int kmlab_install_sandbox_functions(lua_State *L) {
    lua_pushcfunction(L, kmlab_install_sandbox_functions_unprotected);
    return kmlab_pcall(L, 0, 0, 0);
}

#endif /* KMLAB_CLUA_SANDBOX_H */
