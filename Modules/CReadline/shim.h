/*
 * shim.h - GNU readline and history for the kmlab REPL.
 * readline's headers need stdio.h first; the variables it exports
 * (rl_attempted_completion_function, ...) get small setters here so Swift
 * never has to take the address of a C global.
 */
#ifndef KMLAB_CREADLINE_SHIM_H
#define KMLAB_CREADLINE_SHIM_H

#include <stdio.h>
#include <stdlib.h>
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
static inline const char *kmlab_rl_line_buffer(void) { return rl_line_buffer; }
static inline void kmlab_rl_set_name(const char *name) { rl_readline_name = name; }
static inline void kmlab_rl_set_catch_signals(int on) { rl_catch_signals = on; }

#endif
