/* The REPL: lua.c's read-eval-print loop (multi-line input, =expr, _PROMPT)
 * with libedit line editing, a history file, completion of table fields,
 * and results printed by peerlua.pretty. Each line runs as a task. On a
 * pipe it reads plain lines, so it can be driven by tests. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <editline/readline.h>

#include "host.h"
#include "lauxlib.h"

#define REPL_HISTORY_MAX 1000
#define REPL_PRETTY_KEY  "peerlua.repl.pretty"

typedef struct repl {
  lua_State *L;
  int tty;
  int eq;         /* the chunk's first line was "=expr" (pushed as "expr") */
  char *histfile; /* NULL: no history */
} repl;

static repl *the_repl; /* for libedit's completion callback */

enum { LINE_EOF = 0, LINE_OK = 1, LINE_INTERRUPTED = 2 }; /* pushline */
enum { LOAD_EOF = -1, LOAD_INTERRUPTED = -2 };            /* loadline, beside Lua's */

/* ---- input ------------------------------------------------------------- */

static const char *prompt(lua_State *L, int first) {
  const char *name = first ? "_PROMPT" : "_PROMPT2";
  lua_getglobal(L, name);
  const char *p = lua_tostring(L, -1);
  if (!p) p = first ? "> " : ">> ";
  lua_pop(L, 1); /* a string in _PROMPT stays alive while the global holds it */
  return p;
}

/* ---- reading a line on a terminal -------------------------------------- */

/* libedit's callback interface under our own poll(), so that Ctrl-C (SIGINT,
 * caught without SA_RESTART) ends the wait for input: the typed line is
 * dropped and the REPL goes on, as in bash and python. */
static volatile sig_atomic_t prompt_sigint;
static char *typed_line;
static int typed_done;

static void on_prompt_sigint(int sig) {
  (void)sig;
  prompt_sigint = 1;
}

static void on_line(char *line) {
  typed_line = line; /* NULL: Ctrl-D on an empty line */
  typed_done = 1;
  rl_callback_handler_remove();
}

/* A line (malloc'd) and LINE_OK, or NULL and LINE_EOF or LINE_INTERRUPTED. */
static int tty_readline(const char *p, char **out) {
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_prompt_sigint;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old);
  prompt_sigint = 0;
  typed_done = 0;
  typed_line = NULL;
  rl_callback_handler_install(p, on_line);
  while (!typed_done && !prompt_sigint) {
    struct pollfd in = {STDIN_FILENO, POLLIN, 0};
    int n = poll(&in, 1, -1);
    if (n > 0 && (in.revents & (POLLHUP | POLLERR | POLLNVAL)))
      break; /* the terminal went away (hung up, SIGHUP ignored): end of input */
    if (n > 0 && !prompt_sigint)
      rl_callback_read_char();
    else if (n < 0 && errno != EINTR)
      break;
  }
  int how = typed_done ? (typed_line ? LINE_OK : LINE_EOF) : prompt_sigint ? LINE_INTERRUPTED : LINE_EOF;
  if (!typed_done) {
    rl_callback_handler_remove();
    fputs(prompt_sigint ? "^C\n" : "\n", stdout);
    fflush(stdout);
  }
  sigaction(SIGINT, &old, NULL);
  *out = typed_line;
  return how;
}

/* [-0, +1] Read a line (without its newline; a first line's "=" dropped,
 * r->eq set). Returns LINE_OK, or LINE_EOF or LINE_INTERRUPTED (Ctrl-C)
 * with nothing pushed. */
static int pushline(repl *r, int first) {
  lua_State *L = r->L;
  const char *p = prompt(L, first);
  luaL_Buffer b;
  if (r->tty) {
    char *line;
    int how = tty_readline(p, &line);
    if (how != LINE_OK) return how;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, line);
    free(line);
  } else {
    luaL_buffinit(L, &b);
    fputs(p, stdout);
    fflush(stdout);
    int c, any = 0;
    while ((c = getchar()) != EOF && c != '\n') {
      luaL_addchar(&b, (char)c);
      any = 1;
    }
    if (c == EOF && !any) {
      luaL_pushresult(&b);
      lua_pop(L, 1);
      return LINE_EOF;
    }
  }
  luaL_pushresult(&b);
  const char *s = lua_tostring(L, -1);
  if (first) r->eq = s[0] == '=';
  if (first && r->eq) {
    lua_pushstring(L, s + 1);
    lua_remove(L, -2);
  }
  return LINE_OK;
}

/* Add the chunk to the history as it was typed ("=expr", not "return expr"). */
static void remember(repl *r, const char *chunk) {
  if (!r->tty || !chunk[0]) return;
  if (r->eq) {
    static const char ret[] = "return ";
    if (strncmp(chunk, ret, sizeof ret - 1) == 0) chunk += sizeof ret - 1;
    lua_pushfstring(r->L, "=%s", chunk);
    add_history(lua_tostring(r->L, -1));
    lua_pop(r->L, 1);
  } else {
    add_history(chunk);
  }
  if (r->histfile) write_history(r->histfile);
}

static int incomplete(lua_State *L, int status) {
  if (status != LUA_ERRSYNTAX) return 0;
  size_t len;
  const char *msg = lua_tolstring(L, -1, &len);
  static const char eof[] = "<eof>";
  return len >= sizeof eof - 1 && strcmp(msg + len - (sizeof eof - 1), eof) == 0;
}

/* [-1, +1] With the line at the top, try it as an expression: "return line",
 * after a to-be-closed local so that the return is no tail call (Lua makes
 * none inside one). A tail call would drop the line's frame, and an error a
 * function raises at its caller's line (error(msg, 2), a peerlua client's
 * misuse) would then name no line at all. */
static int addreturn(repl *r) {
  lua_State *L = r->L;
  const char *line = lua_tostring(L, -1);
  const char *ret = lua_pushfstring(L, "local peerlua_line_ <close> = nil; return %s;", line);
  int status = luaL_loadbuffer(L, ret, strlen(ret), "=stdin");
  if (status == LUA_OK) {
    remember(r, line);
    lua_remove(L, -2); /* the "return" string */
    lua_remove(L, -2); /* the line */
  } else {
    lua_pop(L, 2); /* error and "return" string */
  }
  return status;
}

/* [-1, +1] Read more lines while the chunk at the top is incomplete.
 * After Ctrl-C on a ">>" line: [-1, +0] and LOAD_INTERRUPTED. */
static int multiline(repl *r) {
  lua_State *L = r->L;
  for (;;) {
    size_t len;
    const char *line = lua_tolstring(L, -1, &len);
    int status = luaL_loadbuffer(L, line, len, "=stdin"), more = LINE_EOF;
    if (incomplete(L, status) && (more = pushline(r, 0)) == LINE_INTERRUPTED) {
      lua_pop(L, 2); /* the error message and the chunk so far */
      return LOAD_INTERRUPTED;
    }
    if (more != LINE_OK) {
      remember(r, line);
      lua_remove(L, -2);
      return status;
    }
    lua_remove(L, -2); /* the error message */
    lua_pushliteral(L, "\n");
    lua_insert(L, -2);
    lua_concat(L, 3);
  }
}

/* [-0, +1] The next chunk (or an error message) and its load status;
 * [-0, +0] and LOAD_EOF at end of input, LOAD_INTERRUPTED after Ctrl-C. */
static int loadline(repl *r) {
  lua_State *L = r->L;
  int how = pushline(r, 1);
  if (how != LINE_OK) return how == LINE_EOF ? LOAD_EOF : LOAD_INTERRUPTED;
  int status = addreturn(r);
  if (status != LUA_OK && r->eq) { /* "=expr" over several lines */
    lua_pushliteral(L, "return ");
    lua_insert(L, -2);
    lua_concat(L, 2);
  }
  if (status != LUA_OK) status = multiline(r);
  return status;
}

/* ---- output ------------------------------------------------------------ */

/* Print the values above base, rendered by peerlua.pretty, tab-separated. */
static void print_results(lua_State *L, int base) {
  int n = lua_gettop(L) - base;
  for (int i = 1; i <= n; i++) {
    int v = base + i;
    const char *s;
    if (lua_type(L, v) == LUA_TSTRING) {
      s = lua_tostring(L, v);
      lua_pushvalue(L, v);
    } else {
      lua_getfield(L, LUA_REGISTRYINDEX, REPL_PRETTY_KEY);
      lua_pushvalue(L, v);
      if (lua_pcall(L, 1, 1, 0) != LUA_OK || !(s = lua_tostring(L, -1))) s = luaL_tolstring(L, v, NULL);
    }
    fputs(s, stdout);
    fputs(i < n ? "\t" : "\n", stdout);
    lua_pop(L, 1);
  }
  fflush(stdout);
  lua_settop(L, base);
}

/* ---- completion -------------------------------------------------------- */

/* Add k to the candidates table out if it starts with partial. */
static void offer(lua_State *L, int out, const char *text, size_t head, const char *partial, size_t plen) {
  if (lua_type(L, -1) != LUA_TSTRING) return;
  const char *k = lua_tostring(L, -1);
  if (strncmp(k, partial, plen) != 0) return;
  lua_pushlstring(L, text, head);
  lua_pushstring(L, k);
  lua_concat(L, 2);
  lua_rawseti(L, out, (lua_Integer)lua_rawlen(L, out) + 1);
}

/* lua_CFunction(text) -> the candidates completing text ("a.b.c", "s:m"),
 * run under pcall since a field on the way may be a loader or __index.
 * The names come from the value named before the last '.' or ':': its
 * metatable's __complete (a list of names, or a function(v) returning
 * one) when it has one, as peerlua's module and clients do, else its
 * string keys and those of its __index tables. */
static int candidates(lua_State *L) {
  const char *text = lua_tostring(L, 1);
  lua_newtable(L);
  int out = lua_gettop(L);
  const char *last = NULL;
  for (const char *p = strpbrk(text, ".:"); p; p = strpbrk(p + 1, ".:")) last = p;
  lua_pushglobaltable(L);
  for (const char *p = text; last && p < last;) {
    const char *end = strpbrk(p, ".:");
    if (lua_isnil(L, -1) || end == p) return 1;
    lua_pushlstring(L, p, (size_t)(end - p));
    lua_gettable(L, -2); /* may load a lazy module (peerlua.bulk.), or raise */
    lua_remove(L, -2);
    p = end + 1;
  }
  const char *partial = last ? last + 1 : text;
  size_t plen = strlen(partial), head = (size_t)(partial - text);
  if (luaL_getmetafield(L, -1, "__complete") != LUA_TNIL) {
    if (lua_isfunction(L, -1)) {
      lua_pushvalue(L, -2);
      lua_call(L, 1, 1);
    }
    if (lua_istable(L, -1))
      for (lua_Integer i = 1; lua_rawgeti(L, -1, i) != LUA_TNIL; i++) {
        offer(L, out, text, head, partial, plen);
        lua_pop(L, 1);
      }
    lua_settop(L, out);
    return 1;
  }
  for (int depth = 0; depth < 8 && !lua_isnil(L, -1); depth++) {
    if (lua_istable(L, -1)) {
      lua_pushnil(L);
      while (lua_next(L, -2)) {
        lua_pop(L, 1);
        offer(L, out, text, head, partial, plen);
      }
    }
    if (!lua_getmetatable(L, -1)) break; /* follow __index tables (methods) */
    lua_getfield(L, -1, "__index");
    lua_remove(L, -2);
    lua_remove(L, -2);
  }
  lua_settop(L, out);
  return 1;
}

static char *generator(const char *text, int state) {
  static lua_Integer next;
  lua_State *L = the_repl->L;
  if (state == 0) {
    lua_pushcfunction(L, candidates);
    lua_pushstring(L, text);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK || !lua_istable(L, -1)) {
      lua_pop(L, 1);
      lua_newtable(L); /* a field that raised: nothing to offer */
    }
    lua_setfield(L, LUA_REGISTRYINDEX, "peerlua.repl.completions");
    next = 1;
  }
  lua_getfield(L, LUA_REGISTRYINDEX, "peerlua.repl.completions");
  lua_rawgeti(L, -1, next++);
  const char *s = lua_tostring(L, -1);
  char *copy = s ? strdup(s) : NULL;
  lua_pop(L, 2);
  return copy;
}

static char **complete(const char *text, int start, int end) {
  (void)start, (void)end;
  rl_completion_append_character = '\0';
  return rl_completion_matches(text, generator);
}

/* ---- history file ------------------------------------------------------ */

/* $PEERLUA_HISTFILE, else ~/.local/state/peerlua/history (directories made
 * private), or NULL when there is no home. */
static char *history_path(void) {
  const char *env = getenv("PEERLUA_HISTFILE"), *home = getenv("HOME");
  if (env) return *env ? strdup(env) : NULL;
  if (!home || !*home) return NULL;
  static const char *const dirs[] = {"/.local", "/.local/state", "/.local/state/peerlua"};
  size_t n = strlen(home);
  char *path = malloc(n + sizeof "/.local/state/peerlua/history");
  if (!path) return NULL;
  for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
    sprintf(path, "%s%s", home, dirs[i]);
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
      free(path);
      return NULL;
    }
  }
  strcat(path, "/history");
  return path;
}

/* ---- the loop ---------------------------------------------------------- */

void host_repl(lua_State *L) {
  repl r = {L, isatty(STDIN_FILENO), 0, NULL};
  the_repl = &r;
  lua_getglobal(L, "require");
  lua_pushliteral(L, "peerlua.pretty");
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) lua_pushnil(L); /* plain tostring then */
  lua_setfield(L, LUA_REGISTRYINDEX, REPL_PRETTY_KEY);
  if (r.tty) {
    rl_readline_name = "peerlua";
    rl_basic_word_break_characters = " \t\n\"\\'`@$><=;|&{(,)[]+-*/%^~#";
    rl_attempted_completion_function = complete;
    rl_catch_signals = 0; /* SIGINT at the prompt is ours (tty_readline) */
    stifle_history(REPL_HISTORY_MAX);
    if ((r.histfile = history_path())) read_history(r.histfile);
  }
  int status;
  while ((status = loadline(&r)) != LOAD_EOF) {
    if (status == LOAD_INTERRUPTED) continue; /* Ctrl-C: a fresh prompt */
    int base = lua_gettop(L) - 1;
    if (status == LUA_OK) status = host_call(L, 0, LUA_MULTRET);
    if (status == LUA_OK)
      print_results(L, base);
    else
      host_report(L, status);
    lua_settop(L, base);
  }
  if (r.tty) putchar('\n');
  fflush(stdout);
  free(r.histfile);
  the_repl = NULL;
}
