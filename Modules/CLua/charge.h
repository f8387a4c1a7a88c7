/*
 * charge.h - charging host work done inside C library functions to the
 * script's instruction budget.
 *
 * The count hook only runs between VM instructions. A single call of a C
 * library function (string.rep, a pattern match, table.move) can do
 * unbounded work without executing one instruction, so the hook never sees
 * it. The bounded replacements in bounded.h call kmlab_charge as they go:
 * one "instruction" per unit of work (a matcher step, a table element, a
 * few bytes copied), so a script meets its budget (or Ctrl-C) in the middle
 * of such a call just as it would in a Lua loop.
 */
#ifndef KMLAB_CLUA_CHARGE_H
#define KMLAB_CLUA_CHARGE_H

#include "shim.h"

/* Adds `units` to the instruction count and raises, exactly as the count
 * hook does, when a budget is exceeded or Ctrl-C was pressed. Only called
 * from C functions that Lua called (never with Swift frames above). */
static inline void kmlab_charge(lua_State *L, long long units) {
    kmlab_budget *b = kmlab_getbudget(L);
    if (units > 0 && !b->exceeded) {
        /* Saturate: a charge computed from a huge length must not wrap. */
        if (b->instr_used > (long long)(((unsigned long long)1 << 62)) - units) b->instr_used = (long long)1 << 62;
        else b->instr_used += units;
    }
    kmlab_check_budget(L, b);
}

/* Calls the original library function below its `nargs` arguments (a
 * wrapper's upvalue). Called from a C wrapper, the original could not name
 * itself in an argument error ("bad argument #2 to '?'") nor give the
 * script's line, so such errors are raised again from the wrapper's frame,
 * exactly as Lua words them; with `where`, any other error message of the
 * original (one that ran no Lua code) gets the caller's position too. */
static inline void kmlab_call_original(lua_State *L, int nargs, int nresults, int where) {
    int status = lua_pcall(L, nargs, nresults, 0);
    if (status == LUA_OK) return;
    if (status == LUA_ERRRUN && lua_type(L, -1) == LUA_TSTRING) {
        const char *msg = lua_tostring(L, -1);
        int arg = 0, used = 0;
        if (sscanf(msg, "bad argument #%d to '?' (%n", &arg, &used) == 1 && used > 0) {
            size_t len = strlen(msg);
            if (len > (size_t)used && msg[len - 1] == ')') {
                lua_pushlstring(L, msg + used, len - (size_t)used - 1);
                luaL_argerror(L, arg, lua_tostring(L, -1));
            }
        }
        if (where) {
            luaL_where(L, 1);
            lua_insert(L, -2);
            lua_concat(L, 2);
        }
    }
    lua_error(L);
}

/* Bytes copied per charged unit: memcpy moves about this many bytes in the
 * time the VM runs one instruction. */
#define KMLAB_BYTES_PER_UNIT 64

/* Units per element a table function reads or writes (lua_geti/lua_seti,
 * possibly through a C metamethod, cost about ten VM instructions), and per
 * step of the pattern matcher. */
#define KMLAB_ELEMENT_UNITS 10
#define KMLAB_STEP_UNITS 2

/* Work accumulated between charges (a charge per matcher step would cost
 * more than the step). */
#define KMLAB_CHARGE_BATCH 4096

#endif /* KMLAB_CLUA_CHARGE_H */
