/* The REPL: lua.c's read-eval-print loop (multi-line input, =expr, _PROMPT)
 * with libedit line editing, a history file, completion of table fields,
 * and results printed by peerlua.pretty. Each line runs as a task. On a
 * pipe it reads plain lines, so it can be driven by tests. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
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
  char *histfile; /* NULL: no history */
} repl;

static repl *the_repl; /* for libedit's completion callback */

/* ---- input ------------------------------------------------------------- */

static const char *prompt(lua_State *L, int first) {
  const char *name = first ? "_PROMPT" : "_PROMPT2";
  lua_getglobal(L, name);
  const char *p = lua_tostring(L, -1);
  if (!p) p = first ? "> " : ">> ";
  lua_pop(L, 1); /* a string in _PROMPT stays alive while the global holds it */
  return p;
}

/* [-0, +1] Read a line (without its newline), "=expr" rewritten as
 * "return expr" on the first line. Returns 0 at end of input. */
static int pushline(repl *r, int first) {
  lua_State *L = r->L;
  const char *p = prompt(L, first);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  if (r->tty) {
    char *line = readline(p);
    if (!line) return 0;
    luaL_addstring(&b, line);
    free(line);
  } else {
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
      return 0;
    }
  }
  luaL_pushresult(&b);
  const char *s = lua_tostring(L, -1);
  if (first && s[0] == '=') {
    lua_pushfstring(L, "return %s", s + 1);
    lua_remove(L, -2);
  }
  return 1;
}

static void remember(repl *r, const char *line) {
  if (!r->tty || !line[0]) return;
  add_history(line);
  if (r->histfile) write_history(r->histfile);
}

static int incomplete(lua_State *L, int status) {
  if (status != LUA_ERRSYNTAX) return 0;
  size_t len;
  const char *msg = lua_tolstring(L, -1, &len);
  static const char eof[] = "<eof>";
  return len >= sizeof eof - 1 && strcmp(msg + len - (sizeof eof - 1), eof) == 0;
}

/* [-1, +1] With the line at the top, try it as an expression ("return line"). */
static int addreturn(repl *r) {
  lua_State *L = r->L;
  const char *line = lua_tostring(L, -1);
  const char *ret = lua_pushfstring(L, "return %s;", line);
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

/* [-1, +1] Read more lines while the chunk at the top is incomplete. */
static int multiline(repl *r) {
  lua_State *L = r->L;
  for (;;) {
    size_t len;
    const char *line = lua_tolstring(L, -1, &len);
    int status = luaL_loadbuffer(L, line, len, "=stdin");
    if (!incomplete(L, status) || !pushline(r, 0)) {
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

/* [-0, +1] The next chunk (or an error message). Returns -1 at end of input. */
static int loadline(repl *r) {
  if (!pushline(r, 1)) return -1;
  int status = addreturn(r);
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

/* [-0, +1] A table of the candidates completing text ("a.b.c", "s:m"):
 * the string keys of the value named before the last '.' or ':' (and of
 * its __index tables) that start with the part after it. */
static void candidates(lua_State *L, const char *text) {
  lua_newtable(L);
  int out = lua_gettop(L);
  const char *sep = strpbrk(text, ".:"), *last = NULL;
  for (const char *p = sep; p; p = strpbrk(p + 1, ".:")) last = p;
  lua_pushglobaltable(L);
  for (const char *p = text; last && p < last;) {
    const char *end = strpbrk(p, ".:");
    if (!lua_istable(L, -1) || end == p) goto done;
    lua_pushlstring(L, p, (size_t)(end - p));
    lua_rawget(L, -2);
    lua_remove(L, -2);
    p = end + 1;
  }
  const char *partial = last ? last + 1 : text;
  size_t plen = strlen(partial), head = (size_t)(partial - text);
  for (int depth = 0; depth < 8 && !lua_isnil(L, -1); depth++) {
    if (lua_istable(L, -1)) {
      lua_pushnil(L);
      while (lua_next(L, -2)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING) continue;
        const char *k = lua_tostring(L, -1);
        if (strncmp(k, partial, plen) != 0) continue;
        lua_pushfstring(L, "%s%s", lua_pushlstring(L, text, head), k);
        lua_remove(L, -2);
        lua_rawseti(L, out, (lua_Integer)lua_rawlen(L, out) + 1);
      }
    }
    if (!lua_getmetatable(L, -1)) break; /* follow __index tables (methods) */
    lua_getfield(L, -1, "__index");
    lua_remove(L, -2);
    lua_remove(L, -2);
  }
done:
  lua_settop(L, out);
}

static char *generator(const char *text, int state) {
  static lua_Integer next;
  lua_State *L = the_repl->L;
  if (state == 0) {
    candidates(L, text);
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
  repl r = {L, isatty(STDIN_FILENO), NULL};
  the_repl = &r;
  lua_getglobal(L, "require");
  lua_pushliteral(L, "peerlua.pretty");
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) lua_pushnil(L); /* plain tostring then */
  lua_setfield(L, LUA_REGISTRYINDEX, REPL_PRETTY_KEY);
  if (r.tty) {
    rl_readline_name = "peerlua";
    rl_basic_word_break_characters = " \t\n\"\\'`@$><=;|&{(,)[]+-*/%^~#";
    rl_attempted_completion_function = complete;
    stifle_history(REPL_HISTORY_MAX);
    if ((r.histfile = history_path())) read_history(r.histfile);
  }
  int status;
  while ((status = loadline(&r)) != -1) {
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
