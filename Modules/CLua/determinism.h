/*
 * determinism.h - string.format without heap addresses.
 *
 * Lua's string.format prints `%p` as the value's address and `%s` of a
 * table, function, thread or userdata through luaL_tolstring ("table:
 * 0x55d0c...") : different on every run (ASLR), and a leak of the host's
 * address space to the script. This wrapper rewrites those arguments
 * before the original string.format (upvalue 1) sees them:
 *
 *   %s of such a value   its deterministic tostring (shim.h's kmlab_tostring)
 *   %p of any object     its number, as tostring shows it ("0x00000001");
 *                        values that are not objects stay "(null)" as in Lua
 *
 * Only the arguments (and `p` of a plain %p or %-NNp into `s`) change; the
 * original does all formatting and all error checking.
 */
#ifndef KMLAB_CLUA_DETERMINISM_H
#define KMLAB_CLUA_DETERMINISM_H

#include "charge.h"

static inline int kmlab_is_object(int t) {
    return t == LUA_TTABLE || t == LUA_TFUNCTION || t == LUA_TTHREAD || t == LUA_TUSERDATA ||
           t == LUA_TLIGHTUSERDATA || t == LUA_TSTRING;
}

static inline int kmlab_format(lua_State *L) {
    size_t lf;
    const char *fmt = luaL_checklstring(L, 1, &lf);
    int top = lua_gettop(L);
    int arg = 1;
    int rewrite = 0; /* some %p becomes %s */
    for (size_t i = 0; i < lf; i++) {
        if (fmt[i] != '%') continue;
        if (++i < lf && fmt[i] == '%') continue;
        size_t spec = i;
        while (i < lf && strchr("-+ #0123456789.", fmt[i]) != NULL && fmt[i] != 0) i++;
        if (i >= lf) break;
        arg++;
        if (arg > top) break; /* the original reports the missing argument */
        char conv = fmt[i];
        int t = lua_type(L, arg);
        if (conv == 's' && kmlab_is_object(t) && t != LUA_TSTRING) {
            lua_pushcfunction(L, kmlab_tostring);
            lua_pushvalue(L, arg);
            lua_call(L, 1, 1);
            lua_replace(L, arg);
        } else if (conv == 'p' && kmlab_is_object(t)) {
            /* Lua accepts only '-' and a width for %p; others stay as they
             * are, for the original to reject. */
            int plain = 1;
            for (size_t k = spec; k < i; k++)
                if (fmt[k] == '.' || (fmt[k] != '-' && (fmt[k] < '0' || fmt[k] > '9'))) plain = 0;
            if (plain) {
                char hex[32];
                snprintf(hex, sizeof hex, "0x%08llx", (unsigned long long)kmlab_object_id(L, arg));
                lua_pushstring(L, hex);
                lua_replace(L, arg);
                rewrite = 1;
            }
        }
    }
    if (rewrite) {
        /* The same format with every plain %p of an object as %s. */
        luaL_Buffer b;
        luaL_buffinit(L, &b);
        arg = 1;
        for (size_t i = 0; i < lf; i++) {
            luaL_addchar(&b, fmt[i]);
            if (fmt[i] != '%') continue;
            if (i + 1 < lf && fmt[i + 1] == '%') { luaL_addchar(&b, '%'); i++; continue; }
            size_t spec = i + 1, j = spec;
            while (j < lf && strchr("-+ #0123456789.", fmt[j]) != NULL && fmt[j] != 0) j++;
            if (j >= lf) continue;
            arg++;
            luaL_addlstring(&b, fmt + spec, j - spec);
            char conv = fmt[j];
            if (conv == 'p' && arg <= top && lua_type(L, arg) == LUA_TSTRING) {
                int plain = 1;
                for (size_t k = spec; k < j; k++)
                    if (fmt[k] == '.' || (fmt[k] != '-' && (fmt[k] < '0' || fmt[k] > '9'))) plain = 0;
                if (plain) conv = 's';
            }
            luaL_addchar(&b, conv);
            i = j;
        }
        luaL_pushresult(&b);
        lua_replace(L, 1);
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    kmlab_call_original(L, top, 1, 1);
    return 1;
}

static inline int kmlab_install_format_unprotected(lua_State *L) {
    lua_pushglobaltable(L);
    if (lua_getfield(L, -1, "string") == LUA_TTABLE) {
        lua_getfield(L, -1, "format");
        lua_pushcclosure(L, kmlab_format, 1);
        lua_setfield(L, -2, "format");
    }
    return 0;
}

static inline int kmlab_install_format(lua_State *L) {
    lua_pushcfunction(L, kmlab_install_format_unprotected);
    return kmlab_pcall(L, 0, 0, 0);
}

#endif /* KMLAB_CLUA_DETERMINISM_H */
