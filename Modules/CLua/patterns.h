/*
 * patterns.h - Lua 5.4's pattern matching (string.find, match, gmatch,
 * gsub) with every step charged to the instruction budget.
 *
 * Lua's own matcher backtracks without bound inside one C call:
 * `("a"):rep(30000):find(".-.-.-.-b")` runs for hours and no hook can stop
 * it. This is an independent implementation of the same pattern language
 * (the reference manual, section 6.4.1) that counts its steps: every entry
 * into the matcher and every character an item or %b/%1 examines. The
 * steps are charged to the budget in batches (charge.h), so a backtracking
 * bomb ends with "instruction limit exceeded", or at Ctrl-C in the REPL.
 * Results and error messages are Lua 5.4's; a differential test in
 * Tests/LuaBridgeTests compares both on random patterns and subjects.
 */
#ifndef KMLAB_CLUA_PATTERNS_H
#define KMLAB_CLUA_PATTERNS_H

#include <ctype.h>
#include <stddef.h>
#include <string.h>
#include "charge.h"

#define KMLAB_PAT_MAXCAPTURES 32
#define KMLAB_PAT_MAXDEPTH 200 /* Lua's MAXCCALLS for the matcher */
#define KMLAB_CAP_UNFINISHED (-1)
#define KMLAB_CAP_POSITION (-2)
#define KMLAB_PAT_ESC '%'

typedef struct kmlab_matcher {
    const char *src_init, *src_end, *p_end;
    lua_State *L;
    int depth_left;
    int level;
    long long steps; /* not charged yet */
    struct { const char *init; ptrdiff_t len; } capture[KMLAB_PAT_MAXCAPTURES];
} kmlab_matcher;

static inline void kmlab_pat_step(kmlab_matcher *m, long long n) {
    m->steps += n * KMLAB_STEP_UNITS;
    if (m->steps >= KMLAB_CHARGE_BATCH) {
        long long s = m->steps;
        m->steps = 0;
        kmlab_charge(m->L, s);
    }
}

static inline void kmlab_pat_flush(kmlab_matcher *m) {
    long long s = m->steps;
    m->steps = 0;
    if (s > 0) kmlab_charge(m->L, s);
}

/* Where the single-character class starting at p ends. */
static inline const char *kmlab_pat_class_end(kmlab_matcher *m, const char *p) {
    char c = *p++;
    if (c == KMLAB_PAT_ESC) {
        if (p == m->p_end) luaL_error(m->L, "malformed pattern (ends with '%%')");
        return p + 1;
    }
    if (c == '[') {
        if (*p == '^') p++;
        /* The first character is a member even if it is ']'. */
        do {
            if (p == m->p_end) luaL_error(m->L, "malformed pattern (missing ']')");
            c = *p++;
            if (c == KMLAB_PAT_ESC && p < m->p_end) p++;
        } while (*p != ']');
        return p + 1;
    }
    return p;
}

static inline int kmlab_pat_class(int c, int cl) {
    int r;
    switch (tolower(cl)) {
    case 'a': r = isalpha(c); break;
    case 'c': r = iscntrl(c); break;
    case 'd': r = isdigit(c); break;
    case 'g': r = isgraph(c); break;
    case 'l': r = islower(c); break;
    case 'p': r = ispunct(c); break;
    case 's': r = isspace(c); break;
    case 'u': r = isupper(c); break;
    case 'w': r = isalnum(c); break;
    case 'x': r = isxdigit(c); break;
    case 'z': r = (c == 0); break; /* deprecated, still in 5.4 */
    default: return cl == c;
    }
    if (isupper(cl)) r = !r;
    return r != 0;
}

/* c against the set [..] from p (at '[') to last (at its ']'). */
static inline int kmlab_pat_set(int c, const char *p, const char *last) {
    int yes = 1;
    if (p[1] == '^') { yes = 0; p++; }
    while (++p < last) {
        if (*p == KMLAB_PAT_ESC) {
            p++;
            if (kmlab_pat_class(c, (unsigned char)*p)) return yes;
        } else if (p[1] == '-' && p + 2 < last) {
            p += 2;
            if ((unsigned char)p[-2] <= c && c <= (unsigned char)*p) return yes;
        } else if ((unsigned char)*p == c) {
            return yes;
        }
    }
    return !yes;
}

static inline int kmlab_pat_single(kmlab_matcher *m, const char *s, const char *p, const char *ep) {
    if (s >= m->src_end) return 0;
    int c = (unsigned char)*s;
    switch (*p) {
    case '.': return 1;
    case KMLAB_PAT_ESC: return kmlab_pat_class(c, (unsigned char)p[1]);
    case '[': return kmlab_pat_set(c, p, ep - 1);
    default: return (unsigned char)*p == c;
    }
}

static const char *kmlab_pat_match(kmlab_matcher *m, const char *s, const char *p);

static inline int kmlab_pat_capture_index(kmlab_matcher *m, int l) {
    l -= '1';
    if (l < 0 || l >= m->level || m->capture[l].len == KMLAB_CAP_UNFINISHED)
        return luaL_error(m->L, "invalid capture index %%%d", l + 1);
    return l;
}

static inline const char *kmlab_pat_balance(kmlab_matcher *m, const char *s, const char *p) {
    if (p >= m->p_end - 1) luaL_error(m->L, "malformed pattern (missing arguments to '%%b')");
    if (s >= m->src_end || *s != *p) return NULL;
    char open = p[0], close = p[1];
    int depth = 1;
    const char *start = s;
    const char *found = NULL;
    while (++s < m->src_end) {
        if (*s == close) {
            if (--depth == 0) { found = s + 1; break; }
        } else if (*s == open) {
            depth++;
        }
    }
    kmlab_pat_step(m, s - start);
    return found;
}

static inline const char *kmlab_pat_max_expand(kmlab_matcher *m, const char *s, const char *p, const char *ep) {
    ptrdiff_t i = 0;
    while (kmlab_pat_single(m, s + i, p, ep)) i++;
    kmlab_pat_step(m, i);
    for (; i >= 0; i--) {
        const char *r = kmlab_pat_match(m, s + i, ep + 1);
        if (r != NULL) return r;
    }
    return NULL;
}

static inline const char *kmlab_pat_min_expand(kmlab_matcher *m, const char *s, const char *p, const char *ep) {
    for (;;) {
        const char *r = kmlab_pat_match(m, s, ep + 1);
        if (r != NULL) return r;
        if (!kmlab_pat_single(m, s, p, ep)) return NULL;
        s++;
    }
}

static inline const char *kmlab_pat_open(kmlab_matcher *m, const char *s, const char *p, ptrdiff_t what) {
    if (m->level >= KMLAB_PAT_MAXCAPTURES) luaL_error(m->L, "too many captures");
    m->capture[m->level].init = s;
    m->capture[m->level].len = what;
    m->level++;
    const char *r = kmlab_pat_match(m, s, p);
    if (r == NULL) m->level--;
    return r;
}

static inline const char *kmlab_pat_close(kmlab_matcher *m, const char *s, const char *p) {
    int l = m->level - 1;
    while (l >= 0 && m->capture[l].len != KMLAB_CAP_UNFINISHED) l--;
    if (l < 0) luaL_error(m->L, "invalid pattern capture");
    m->capture[l].len = s - m->capture[l].init;
    const char *r = kmlab_pat_match(m, s, p);
    if (r == NULL) m->capture[l].len = KMLAB_CAP_UNFINISHED;
    return r;
}

static inline const char *kmlab_pat_backref(kmlab_matcher *m, const char *s, int l) {
    l = kmlab_pat_capture_index(m, l);
    size_t len = (size_t)m->capture[l].len;
    kmlab_pat_step(m, (long long)(len / KMLAB_BYTES_PER_UNIT));
    if ((size_t)(m->src_end - s) >= len && memcmp(m->capture[l].init, s, len) == 0) return s + len;
    return NULL;
}

static const char *kmlab_pat_match(kmlab_matcher *m, const char *s, const char *p) {
    if (m->depth_left-- == 0) luaL_error(m->L, "pattern too complex");
    kmlab_pat_step(m, 1);
    while (p != m->p_end) {
        const char *ep;
        switch (*p) {
        case '(':
            s = p[1] == ')' ? kmlab_pat_open(m, s, p + 2, KMLAB_CAP_POSITION)
                            : kmlab_pat_open(m, s, p + 1, KMLAB_CAP_UNFINISHED);
            goto done;
        case ')':
            s = kmlab_pat_close(m, s, p + 1);
            goto done;
        case '$':
            if (p + 1 != m->p_end) goto item;
            s = (s == m->src_end) ? s : NULL;
            goto done;
        case KMLAB_PAT_ESC:
            switch (p[1]) {
            case 'b':
                s = kmlab_pat_balance(m, s, p + 2);
                if (s == NULL) goto done;
                p += 4;
                continue;
            case 'f': {
                p += 2;
                if (*p != '[') luaL_error(m->L, "missing '[' after '%%f' in pattern");
                ep = kmlab_pat_class_end(m, p);
                int before = (s == m->src_init) ? 0 : (unsigned char)s[-1];
                int here = (s < m->src_end) ? (unsigned char)*s : 0;
                if (!kmlab_pat_set(before, p, ep - 1) && kmlab_pat_set(here, p, ep - 1)) {
                    p = ep;
                    continue;
                }
                s = NULL;
                goto done;
            }
            case '0': case '1': case '2': case '3': case '4':
            case '5': case '6': case '7': case '8': case '9':
                s = kmlab_pat_backref(m, s, (unsigned char)p[1]);
                if (s == NULL) goto done;
                p += 2;
                continue;
            default:
                goto item;
            }
        default:
        item:
            ep = kmlab_pat_class_end(m, p);
            if (!kmlab_pat_single(m, s, p, ep)) {
                if (*ep == '*' || *ep == '?' || *ep == '-') {
                    p = ep + 1;
                    continue;
                }
                s = NULL;
                goto done;
            }
            switch (*ep) {
            case '?': {
                const char *r = kmlab_pat_match(m, s + 1, ep + 1);
                if (r != NULL) { s = r; goto done; }
                p = ep + 1;
                continue;
            }
            case '+': s = kmlab_pat_max_expand(m, s + 1, p, ep); goto done;
            case '*': s = kmlab_pat_max_expand(m, s, p, ep); goto done;
            case '-': s = kmlab_pat_min_expand(m, s, p, ep); goto done;
            default:
                s++;
                p = ep;
                continue;
            }
        }
    }
done:
    m->depth_left++;
    return s;
}

static inline void kmlab_pat_start(kmlab_matcher *m, lua_State *L, const char *s, size_t ls, const char *p, size_t lp) {
    m->L = L;
    m->src_init = s;
    m->src_end = s + ls;
    m->p_end = p + lp;
    m->steps = 0;
    m->level = 0;
    m->depth_left = KMLAB_PAT_MAXDEPTH;
}

static inline void kmlab_pat_restart(kmlab_matcher *m) {
    m->level = 0;
    m->depth_left = KMLAB_PAT_MAXDEPTH;
}

/* Pushes capture i (or the whole match s..e when there are none). */
static inline void kmlab_pat_push_capture(kmlab_matcher *m, int i, const char *s, const char *e) {
    if (i >= m->level) {
        if (i != 0) luaL_error(m->L, "invalid capture index %%%d", i + 1);
        lua_pushlstring(m->L, s, (size_t)(e - s));
        return;
    }
    ptrdiff_t len = m->capture[i].len;
    if (len == KMLAB_CAP_UNFINISHED) luaL_error(m->L, "unfinished capture");
    if (len == KMLAB_CAP_POSITION)
        lua_pushinteger(m->L, (lua_Integer)(m->capture[i].init - m->src_init) + 1);
    else
        lua_pushlstring(m->L, m->capture[i].init, (size_t)len);
}

static inline int kmlab_pat_push_captures(kmlab_matcher *m, const char *s, const char *e) {
    int n = (m->level == 0 && s != NULL) ? 1 : m->level;
    luaL_checkstack(m->L, n, "too many captures");
    for (int i = 0; i < n; i++) kmlab_pat_push_capture(m, i, s, e);
    return n;
}

/* string.find's position rule: 1-based, negative from the end, clamped. */
static inline size_t kmlab_pat_position(lua_Integer pos, size_t len) {
    if (pos > 0) return (size_t)pos;
    if (pos == 0) return 1;
    if (pos < -(lua_Integer)len) return 1;
    return len + (size_t)pos + 1;
}

static inline int kmlab_pat_has_specials(const char *p, size_t lp) {
    for (size_t i = 0; i < lp; i++)
        if (p[i] != 0 && strchr("^$*+?.([%-", p[i]) != NULL) return 1;
    return 0;
}

/* A plain substring search, charged per candidate compared. */
static inline const char *kmlab_pat_plain(lua_State *L, const char *s, size_t ls, const char *p, size_t lp) {
    if (lp == 0) return s;
    if (lp > ls) return NULL;
    const char *end = s + (ls - lp) + 1; /* past the last possible start */
    long long owed = 0;
    while (s < end) {
        const char *hit = (const char *)memchr(s, *p, (size_t)(end - s));
        if (hit == NULL) break;
        owed += KMLAB_STEP_UNITS + (long long)((hit - s) + lp) / KMLAB_BYTES_PER_UNIT;
        if (owed >= KMLAB_CHARGE_BATCH) { kmlab_charge(L, owed); owed = 0; }
        if (memcmp(hit + 1, p + 1, lp - 1) == 0) { kmlab_charge(L, owed); return hit; }
        s = hit + 1;
    }
    kmlab_charge(L, owed);
    return NULL;
}

static inline int kmlab_pat_find_aux(lua_State *L, int find) {
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = kmlab_pat_position(luaL_optinteger(L, 3, 1), ls) - 1;
    if (init > ls) {
        luaL_pushfail(L);
        return 1;
    }
    if (find && (lua_toboolean(L, 4) || !kmlab_pat_has_specials(p, lp))) {
        const char *hit = kmlab_pat_plain(L, s + init, ls - init, p, lp);
        if (hit != NULL) {
            lua_pushinteger(L, (lua_Integer)(hit - s) + 1);
            lua_pushinteger(L, (lua_Integer)(hit - s + lp));
            return 2;
        }
    } else {
        kmlab_matcher m;
        const char *s1 = s + init;
        int anchor = (*p == '^');
        if (anchor) { p++; lp--; }
        kmlab_pat_start(&m, L, s, ls, p, lp);
        do {
            kmlab_pat_restart(&m);
            const char *e = kmlab_pat_match(&m, s1, p);
            if (e != NULL) {
                kmlab_pat_flush(&m);
                if (find) {
                    lua_pushinteger(L, (lua_Integer)(s1 - s) + 1);
                    lua_pushinteger(L, (lua_Integer)(e - s));
                    return kmlab_pat_push_captures(&m, NULL, 0) + 2;
                }
                return kmlab_pat_push_captures(&m, s1, e);
            }
        } while (s1++ < m.src_end && !anchor);
        kmlab_pat_flush(&m);
    }
    luaL_pushfail(L);
    return 1;
}

static inline int kmlab_str_find(lua_State *L) { return kmlab_pat_find_aux(L, 1); }
static inline int kmlab_str_match(lua_State *L) { return kmlab_pat_find_aux(L, 0); }

/* gmatch's iterator state, a full userdata kept as upvalue 3 (the subject
 * and pattern strings are upvalues 1 and 2, so they stay alive). */
typedef struct kmlab_gmatch_state {
    const char *src;
    const char *last;
    kmlab_matcher m;
} kmlab_gmatch_state;

static inline int kmlab_gmatch_next(lua_State *L) {
    kmlab_gmatch_state *g = (kmlab_gmatch_state *)lua_touserdata(L, lua_upvalueindex(3));
    size_t lp;
    const char *p = lua_tolstring(L, lua_upvalueindex(2), &lp);
    g->m.L = L;
    for (const char *src = g->src; src <= g->m.src_end; src++) {
        kmlab_pat_restart(&g->m);
        const char *e = kmlab_pat_match(&g->m, src, p);
        if (e != NULL && e != g->last) {
            g->src = g->last = e;
            kmlab_pat_flush(&g->m);
            return kmlab_pat_push_captures(&g->m, src, e);
        }
    }
    kmlab_pat_flush(&g->m);
    return 0;
}

static inline int kmlab_str_gmatch(lua_State *L) {
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = kmlab_pat_position(luaL_optinteger(L, 3, 1), ls) - 1;
    lua_settop(L, 2);
    kmlab_gmatch_state *g = (kmlab_gmatch_state *)lua_newuserdatauv(L, sizeof(kmlab_gmatch_state), 0);
    if (init > ls) init = ls + 1;
    kmlab_pat_start(&g->m, L, s, ls, p, lp);
    g->src = s + init;
    g->last = NULL;
    lua_pushcclosure(L, kmlab_gmatch_next, 3);
    return 1;
}

/* Appends repl (a string, argument 3) with %0-%9 and %% expanded. */
static inline void kmlab_gsub_add_string(kmlab_matcher *m, luaL_Buffer *b, const char *s, const char *e) {
    lua_State *L = m->L;
    size_t l;
    const char *r = lua_tolstring(L, 3, &l);
    const char *pct;
    kmlab_pat_step(m, (long long)(l / KMLAB_BYTES_PER_UNIT));
    while ((pct = (const char *)memchr(r, KMLAB_PAT_ESC, l)) != NULL) {
        luaL_addlstring(b, r, (size_t)(pct - r));
        pct++;
        if (*pct == KMLAB_PAT_ESC) {
            luaL_addchar(b, *pct);
        } else if (*pct == '0') {
            luaL_addlstring(b, s, (size_t)(e - s));
        } else if (isdigit((unsigned char)*pct)) {
            kmlab_pat_push_capture(m, *pct - '1', s, e);
            luaL_tolstring(L, -1, NULL); /* a position capture becomes its number's text */
            lua_remove(L, -2);
            luaL_addvalue(b);
        } else {
            luaL_error(L, "invalid use of '%c' in replacement string", KMLAB_PAT_ESC);
        }
        l -= (size_t)(pct + 1 - r);
        r = pct + 1;
    }
    luaL_addlstring(b, r, l);
}

/* Appends the replacement for the match s..e; returns whether it changed
 * anything (false when a function or table gave false or nil). */
static inline int kmlab_gsub_add(kmlab_matcher *m, luaL_Buffer *b, const char *s, const char *e, int tr) {
    lua_State *L = m->L;
    if (tr == LUA_TFUNCTION) {
        lua_pushvalue(L, 3);
        int n = kmlab_pat_push_captures(m, s, e);
        lua_call(L, n, 1);
    } else if (tr == LUA_TTABLE) {
        kmlab_pat_push_capture(m, 0, s, e);
        lua_gettable(L, 3);
    } else {
        kmlab_gsub_add_string(m, b, s, e);
        return 1;
    }
    if (!lua_toboolean(L, -1)) {
        lua_pop(L, 1);
        luaL_addlstring(b, s, (size_t)(e - s));
        return 0;
    }
    if (!lua_isstring(L, -1))
        return luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
    luaL_addvalue(b);
    return 1;
}

static inline int kmlab_str_gsub(lua_State *L) {
    size_t srcl, lp;
    const char *src = luaL_checklstring(L, 1, &srcl);
    const char *p = luaL_checklstring(L, 2, &lp);
    const char *last = NULL;
    int tr = lua_type(L, 3);
    lua_Integer max_s = luaL_optinteger(L, 4, (lua_Integer)srcl + 1);
    int anchor = (*p == '^');
    lua_Integer n = 0;
    int changed = 0;
    kmlab_matcher m;
    luaL_Buffer b;
    luaL_argexpected(L, tr == LUA_TNUMBER || tr == LUA_TSTRING || tr == LUA_TFUNCTION || tr == LUA_TTABLE,
                     3, "string/function/table");
    luaL_buffinit(L, &b);
    if (anchor) { p++; lp--; }
    kmlab_pat_start(&m, L, src, srcl, p, lp);
    while (n < max_s) {
        kmlab_pat_restart(&m);
        const char *e = kmlab_pat_match(&m, src, p);
        if (e != NULL && e != last) {
            n++;
            changed = kmlab_gsub_add(&m, &b, src, e, tr) | changed;
            src = last = e;
        } else if (src < m.src_end) {
            luaL_addchar(&b, *src++);
        } else {
            break;
        }
        if (anchor) break;
    }
    kmlab_pat_flush(&m);
    if (!changed) {
        lua_pushvalue(L, 1);
    } else {
        luaL_addlstring(&b, src, (size_t)(m.src_end - src));
        luaL_pushresult(&b);
    }
    lua_pushinteger(L, n);
    return 2;
}

#endif /* KMLAB_CLUA_PATTERNS_H */
