/*
 * shim.h - GNU readline and history for the kmlab REPL, and the REPL's
 * SIGINT handler.
 *
 * readline's headers need stdio.h first; the variables it exports
 * (rl_attempted_completion_function, ...) get small setters here so Swift
 * never has to take the address of a C global.
 *
 * Ctrl-C: the REPL reads lines through readline's callback interface in a
 * select() loop (kmlab_rl_read), so that a SIGINT at the prompt interrupts
 * select() and the loop can clear the line and return, with no longjmp.
 * The handler itself only sets sig_atomic_t flags (async-signal-safe): one
 * for the prompt, and the Lua state's interrupt flag when a statement runs.
 */
#ifndef KMLAB_CREADLINE_SHIM_H
#define KMLAB_CREADLINE_SHIM_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <signal.h>
#include <unistd.h>
#include <sys/select.h>
#include <readline/readline.h>
#include <readline/history.h>

typedef char **(*kmlab_rl_completion_fn)(const char *text, int start, int end);

static inline void kmlab_rl_set_completion(kmlab_rl_completion_fn fn) {
    rl_attempted_completion_function = fn;
}
/* Do not fall back to file-name completion when ours finds nothing. */
static inline void kmlab_rl_disable_default_completion(void) {
    rl_attempted_completion_over = 1;
}
static inline void kmlab_rl_set_word_break_characters(const char *chars) {
    rl_completer_word_break_characters = (char *)chars;
}
static inline void kmlab_rl_set_append_character(int c) { rl_completion_append_character = c; }
static inline const char *kmlab_rl_line_buffer(void) { return rl_line_buffer; }
static inline void kmlab_rl_set_name(const char *name) { rl_readline_name = name; }
static inline void kmlab_rl_set_catch_signals(int on) { rl_catch_signals = on; }

/* ---- SIGINT ---------------------------------------------------------- */

/* The state below is shared by the signal handler and the prompt loop, so
 * there must be one copy of it in the program. A `static` in this header
 * would give one copy per object file that uses it, and Swift's release
 * builds inline across files (the handler then set one copy while the
 * prompt loop read another: Ctrl-C did nothing). Weak definitions are
 * merged into one by the linker. */
#define KMLAB_SHARED __attribute__((weak))

/* Set by the handler; the prompt loop clears it. */
KMLAB_SHARED volatile sig_atomic_t kmlab_sigint_seen = 0;
/* While a statement runs: the Lua state's interrupt flag (LuaState.interruptFlag). */
KMLAB_SHARED volatile sig_atomic_t *volatile kmlab_sigint_target = NULL;

static inline void kmlab_sigint_handler(int sig) {
    (void)sig;
    kmlab_sigint_seen = 1;
    volatile sig_atomic_t *t = kmlab_sigint_target;
    if (t != NULL) *t = 1;
}

/* Installs the handler without SA_RESTART, so select() returns EINTR. */
static inline void kmlab_sigint_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = kmlab_sigint_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    sigaction(SIGINT, &sa, NULL);
}

static inline void kmlab_sigint_set_target(volatile sig_atomic_t *flag) { kmlab_sigint_target = flag; }
static inline int kmlab_sigint_take(void) {
    int s = kmlab_sigint_seen;
    kmlab_sigint_seen = 0;
    return s;
}

/* ---- reading a line -------------------------------------------------- */

KMLAB_SHARED char *kmlab_rl_line = NULL;
KMLAB_SHARED int kmlab_rl_done = 0;

static inline void kmlab_rl_line_handler(char *line) {
    kmlab_rl_line = line;
    kmlab_rl_done = 1;
    rl_callback_handler_remove();
}

enum { KMLAB_RL_EOF = 0, KMLAB_RL_LINE = 1, KMLAB_RL_INTERRUPTED = 2 };

/* Reads one line with editing, history and completion. Returns
 * KMLAB_RL_LINE (*out is malloc'd; free it), KMLAB_RL_EOF (Ctrl-D on an
 * empty line, or end of input) or KMLAB_RL_INTERRUPTED (Ctrl-C: the line
 * was discarded, "^C" and a newline were shown). */
static inline int kmlab_rl_read(const char *prompt, char **out) {
    *out = NULL;
    kmlab_rl_done = 0;
    kmlab_rl_line = NULL;
    kmlab_sigint_seen = 0;
    rl_callback_handler_install(prompt, kmlab_rl_line_handler);
    int fd = fileno(rl_instream ? rl_instream : stdin);
    while (!kmlab_rl_done) {
        fd_set fds;
        FD_ZERO(&fds);
        FD_SET(fd, &fds);
        int r = select(fd + 1, &fds, NULL, NULL, NULL);
        if (kmlab_sigint_seen) {
            kmlab_sigint_seen = 0;
            rl_free_line_state();
            rl_callback_sigcleanup();
            rl_replace_line("", 0);
            fputs("^C\n", rl_outstream ? rl_outstream : stdout);
            fflush(rl_outstream ? rl_outstream : stdout);
            rl_callback_handler_remove();
            return KMLAB_RL_INTERRUPTED;
        }
        if (r < 0) {
            if (errno == EINTR) continue;
            rl_callback_handler_remove();
            return KMLAB_RL_EOF;
        }
        if (FD_ISSET(fd, &fds)) rl_callback_read_char();
    }
    *out = kmlab_rl_line;
    return kmlab_rl_line ? KMLAB_RL_LINE : KMLAB_RL_EOF;
}

/* Builds readline's completion result: out[0] is what replaces the word
 * (the matches' common prefix), then the matches, then NULL. Strings are
 * copied with malloc (readline frees them). */
static inline char **kmlab_rl_matches(const char *const *matches, int count, const char *common) {
    if (count <= 0) return NULL;
    char **out = (char **)malloc(sizeof(char *) * (size_t)(count + 2));
    if (out == NULL) return NULL;
    out[0] = strdup(common);
    int n = 1;
    if (count > 1) {
        for (int i = 0; i < count; i++) out[n++] = strdup(matches[i]);
    }
    out[n] = NULL;
    return out;
}

#endif
