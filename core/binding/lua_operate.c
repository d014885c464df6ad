/* One provider operation, from its first attempt to its result: the loop
 * that carries out the engine's steps (core/engine/pl_engine.c). It waits
 * for the throttle, has the request authorized, sends it, asks the
 * provider's rules about a failed answer, reconciles an ambiguous create
 * by listing, and builds the failure the engine gave up with. What it asks
 * of Lua is the provider's knowledge (its hooks, lua/peerlua/providers/),
 * never a decision: the engine makes those, from the C tables.
 *
 *   core.operate(state, opname, req, helpers, transport)
 *       -> value[, how] | nil, err
 *   state      a client's state (lua/peerlua/client.lua): spec, engine,
 *              name, timeout, transport options, throttle_key, shared
 *   req        core.prepare's request, encoded (url, body_text), with
 *              args and on_send
 *   helpers    {sleep =, find_created = f(state, args) -> found | nil, err,
 *              failure = f(state, opname, resp, terr, retryable) -> err,
 *              token = f(state) -> true | nil, err: the provider's token
 *              (pl_token) fetched, when no authorize hook says otherwise}
 *   transport  the function that makes one attempt (core.http_send)
 *
 * how is "missing", "exists", "reconciled" or "settled" when the result is
 * not the answer's body. Whether a failed answer is "busy" (refused, not
 * carried out) or means made or gone already, the engine reads from the
 * provider's table, by status and the error's code word; where the word
 * covers more than the request, the provider's confirm hook says.
 *
 * Every call into Lua is a lua_callk with this loop as its continuation:
 * a hook, the throttle's wait and the transfer may suspend the task, and
 * the operation goes on where it stopped when the task resumes. Its state
 * sits in stack slots, so it needs no context. */
#include <string.h>
#include <time.h>

#include "pl_lua.h"
#include "pl_retry.h"

enum {
  A_STATE = 1,
  A_OP,
  A_REQ,
  A_HELP,
  A_SEND,
  S_SPEC,    /* state.spec: the provider's hooks */
  S_ENGINE,  /* state.engine */
  S_RUN,     /* engine:start(opname, class) */
  S_RESP,    /* the last answer, or nil */
  S_TERR,    /* the last transport error, or nil */
  S_LISTERR, /* why listing to reconcile a create failed, or nil */
  S_STATE    /* this loop's own state (op_state), the last slot */
};

/* Where the loop is: each phase after a call is named for what the call
 * was; its results are on top of the stack. */
enum phase {
  P_STEP,        /* carry out s->next */
  P_TRACED,      /* failure(...) for the --trace line of a retry */
  P_BACKOFF,     /* sleep the retry's delay */
  P_RESERVE,     /* engine:reserve(class) */
  P_RESERVED,    /* -> wait[, why] */
  P_REPORTED,    /* shared:report(why) */
  P_AUTHORIZE,   /* the throttle's wait is over: headers, spec.authorize */
  P_AUTHORIZED,  /* -> true | nil, err */
  P_SEND,        /* on_send() ran: the attempt */
  P_ANSWERED,    /* -> resp | nil, terr */
  P_WORD,        /* the error's code word, for the busy rules */
  P_RETRY_AFTER, /* how long the answer asks to wait */
  P_ANSWER,      /* tell the engine */
  P_DECODED,     /* spec.decode or resp:json() -> body | nil, why */
  P_FOUND,       /* find_created -> found | nil, err */
  P_SETTLED,     /* spec.settled -> body | nil */
  P_CONFIRMED,   /* spec.confirm -> whether the error word means done */
  P_REAUTHED,    /* spec.reauthorize -> refreshed */
  P_FAILED       /* failure(...) -> the error to return */
};

typedef struct op_state {
  enum phase phase;
  pl_next next;     /* the engine's last step */
  pl_answer answer; /* the answer being put together for it */
  int ok;           /* the answer is one of the operation's successes */
  int decoder;      /* the provider decodes its answers (spec.decode), not JSON */
  double wait;      /* the throttle's wait */
} op_state;

/* [-0, +1] state.spec[name] (a hook), or nil. */
static int hook(lua_State *L, const char *name) {
  return lua_getfield(L, S_SPEC, name) != LUA_TNIL;
}

/* t.name as a string, or NULL  [-0, +0]; the string is anchored by t. */
static const char *field_str(lua_State *L, int t, const char *name) {
  const char *v = lua_getfield(L, t, name) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
  lua_pop(L, 1);
  return v;
}

/* [-0, +4] spec[name] and what it is asked about an answer (state,
 * opname, resp): 1; or 0, nothing pushed, when the provider has no such
 * hook. */
static int hook_on_answer(lua_State *L, const char *name) {
  if (!hook(L, name)) return lua_pop(L, 1), 0;
  lua_pushvalue(L, A_STATE);
  lua_pushvalue(L, A_OP);
  lua_pushvalue(L, S_RESP);
  return 1;
}

static int drive(lua_State *L, int status, lua_KContext kc);

/* Call the function below nargs arguments; the loop goes on at then, with
 * nres results on top (also when the callee suspends the task). */
#define CALL(nargs, nres, then) (s->phase = (then), lua_callk(L, (nargs), (nres), 0, drive))

/* [-0, +1] The failure helper with its arguments pushed: 5 values to call. */
static void push_failure(lua_State *L, int retryable) {
  lua_getfield(L, A_HELP, "failure");
  lua_pushvalue(L, A_STATE);
  lua_pushvalue(L, A_OP);
  lua_pushvalue(L, S_RESP);
  lua_pushvalue(L, S_TERR);
  lua_pushboolean(L, retryable);
}

/* [-0, +2] Sleep seconds with the helper (the task's timer). */
static void push_sleep(lua_State *L, double seconds) {
  lua_getfield(L, A_HELP, "sleep");
  lua_pushnumber(L, seconds);
}

/* The facts of a transport error at idx: worth another attempt unless it
 * is the request's own fault or says it is not; a timeout costs the retry
 * budget twice (pl_retry.h). */
static void transport_answer(lua_State *L, int idx, pl_answer *a) {
  memset(a, 0, sizeof *a);
  a->retry_after = -1;
  a->transport_retryable = 1;
  if (lua_type(L, idx) != LUA_TTABLE) return;
  const char *code = field_str(L, idx, "code");
  lua_getfield(L, idx, "retryable");
  int refused = lua_isboolean(L, -1) && !lua_toboolean(L, -1);
  lua_pop(L, 1);
  a->transport_retryable = !(code && strcmp(code, "invalid") == 0) && !refused;
  a->timed_out = code && strcmp(code, "timeout") == 0;
}

/* [-0, +0] The opts table of one attempt at the top: the request's parts,
 * the client's timeout and transport options, the engine (whose held
 * header is added in C) and the signing the request asks for. */
static void push_attempt(lua_State *L) {
  lua_createtable(L, 0, 12);
  static const char *const from_req[][2] = {
      {"method", "method"}, {"url", "url"}, {"headers", "headers"}, {"body", "body_text"}, {"sign", "sign"}};
  for (size_t i = 0; i < sizeof from_req / sizeof *from_req; i++) {
    lua_getfield(L, A_REQ, from_req[i][1]);
    lua_setfield(L, -2, from_req[i][0]);
  }
  lua_getfield(L, A_STATE, "timeout");
  lua_setfield(L, -2, "timeout");
  lua_pushvalue(L, S_ENGINE);
  lua_setfield(L, -2, "auth");
  if (lua_getfield(L, A_STATE, "transport") == LUA_TTABLE) { /* insecure, tls_verify, ca_file, max_body */
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_settable(L, -5);
    }
  }
  lua_pop(L, 1);
}

/* The --trace line of a throttle wait, under the key it waited on: the
 * class's (req.throttle) or the client's. */
static void trace_wait(lua_State *L, FILE *f, double wait) {
  if (!f) return;
  int t = lua_getfield(L, A_REQ, "throttle") == LUA_TTABLE ? lua_gettop(L) : A_STATE;
  const char *key = field_str(L, t, "throttle_key");
  fprintf(f, "peerlua: throttle %s wait %.3fs\n", key ? key : "?", wait);
  fflush(f);
  lua_pop(L, 1);
}

/* The answer's HTTP status, 0 when there is none (a transport error). */
static lua_Integer resp_status(lua_State *L) {
  if (lua_type(L, S_RESP) != LUA_TTABLE) return 0;
  lua_getfield(L, S_RESP, "status");
  lua_Integer status = lua_tointeger(L, -1);
  lua_pop(L, 1);
  return status;
}

/* [-1, +2] nil and the failure on top, with what the engine gave up for
 * said in its message. */
static int give_up(lua_State *L, const op_state *s) {
  int e = lua_gettop(L);
  if (lua_type(L, e) == LUA_TTABLE && s->next.why != PL_WHY_ANSWER) {
    lua_getfield(L, e, "message");
    if (s->next.why == PL_WHY_LIST) { /* cannot tell whether it was created: no second one */
      lua_pushstring(L,
                     resp_status(L) == 409 ? "; and listing to check whether an earlier attempt created it failed: "
                                           : "; and listing to check whether it was created failed: ");
      if (lua_type(L, S_LISTERR) != LUA_TTABLE || lua_getfield(L, S_LISTERR, "message") == LUA_TNIL) {
        if (lua_type(L, S_LISTERR) == LUA_TTABLE) lua_pop(L, 1);
        luaL_tolstring(L, S_LISTERR, NULL);
      } else {
        luaL_tolstring(L, -1, NULL);
        lua_remove(L, -2);
      }
    } else {
      lua_pushinteger(L, s->next.attempts);
      lua_setfield(L, e, "attempts");
      if (s->next.why == PL_WHY_BUDGET)
        lua_pushliteral(L, " (no retry: too many retries on this account lately)");
      else
        lua_pushfstring(L, " (gave up after %d attempt%s)", s->next.attempts, s->next.attempts == 1 ? "" : "s");
    }
    lua_concat(L, s->next.why == PL_WHY_LIST ? 3 : 2);
    lua_setfield(L, e, "message");
    lua_pushboolean(L, 1);
    lua_setfield(L, e, "retryable");
  }
  lua_pushnil(L);
  lua_insert(L, e);
  return 2;
}

/* [-0, +2] value and how: the result of the operation. */
static int result(lua_State *L, int value, const char *how) {
  lua_pushvalue(L, value);
  if (!how) return 1;
  lua_pushstring(L, how);
  return 2;
}

static int drive(lua_State *L, int status, lua_KContext kc) {
  (void)status;
  (void)kc;
  op_state *s = lua_touserdata(L, S_STATE);
  pl_ctx *ctx = pl_ctx_up(L);
  luaL_checkstack(L, 12, NULL); /* above S_STATE: a call's function and arguments, give_up's parts */
  for (;;) {
    switch (s->phase) {
      case P_STEP:
        switch (s->next.step) {
          case PL_STEP_SEND:
            if (s->next.retry == 0) {
              s->phase = P_RESERVE;
            } else { /* a retry, after the backoff */
              pl_loop_stats(ctx->loop)->retries++;
              if (!pl_loop_trace(ctx->loop)) {
                s->phase = P_BACKOFF;
                continue;
              }
              push_failure(L, 1);
              CALL(5, 1, P_TRACED);
            }
            continue;
          case PL_STEP_DONE: {
            /* an empty answer is a bare "done" from a JSON API (204, or a
             * 200 without a body); an API with a decoder always answers a
             * document */
            int decoder = s->decoder = hook(L, "decode");
            lua_getfield(L, S_RESP, "body");
            int empty = lua_type(L, -1) == LUA_TSTRING && lua_rawlen(L, -1) == 0;
            lua_pop(L, 1);
            if (empty && !decoder) {
              lua_pushboolean(L, 1);
              return 1;
            }
            if (decoder) {
              lua_pushvalue(L, A_STATE);
              lua_pushvalue(L, S_RESP);
              CALL(2, 2, P_DECODED);
            } else {
              lua_pop(L, 1);
              lua_getfield(L, S_RESP, "json");
              lua_pushvalue(L, S_RESP);
              CALL(1, 2, P_DECODED);
            }
            continue;
          }
          case PL_STEP_MISSING:
          case PL_STEP_EXISTS:
            lua_pushboolean(L, 1);
            lua_pushstring(L, pl_step_name(s->next.step));
            return 2;
          case PL_STEP_ASK_RECONCILE: /* an ambiguous create: it may have happened; look before sending again */
            lua_getfield(L, A_HELP, "find_created");
            lua_pushvalue(L, A_STATE);
            lua_getfield(L, A_REQ, "args");
            CALL(2, 2, P_FOUND);
            continue;
          case PL_STEP_ASK_SETTLED:
            if (hook(L, "settled")) {
              lua_pushvalue(L, A_STATE);
              lua_pushvalue(L, A_OP);
              lua_getfield(L, A_REQ, "args");
              CALL(3, 1, P_SETTLED);
            } else {
              s->phase = P_SETTLED; /* its nil: not settled */
            }
            continue;
          case PL_STEP_ASK_CONFIRM: /* without a confirm hook: no */
            if (hook_on_answer(L, "confirm")) {
              lua_getfield(L, A_REQ, "args");
              CALL(4, 1, P_CONFIRMED);
            } else {
              lua_pushnil(L);
              s->phase = P_CONFIRMED;
            }
            continue;
          case PL_STEP_ASK_REAUTH:
            if (hook(L, "reauthorize")) {
              lua_pushvalue(L, A_STATE);
              lua_pushvalue(L, S_RESP);
              CALL(2, 1, P_REAUTHED);
            } else if (pl_run_provider(L, S_RUN)->token) {
              /* a fetched token (pl_token): dropped, so that the next
               * attempt fetches a fresh one; worth that attempt when one
               * was held, or when the answer says it expired (the table's
               * stale rules: another call may have dropped it already) */
              int held = pl_engine_drop(L, S_ENGINE);
              lua_pushboolean(L, held || s->next.stale);
              s->phase = P_REAUTHED;
            } else { /* nothing to refresh */
              s->phase = P_REAUTHED;
            }
            continue;
          case PL_STEP_FAIL:
            push_failure(L, 0);
            CALL(5, 1, P_FAILED);
            continue;
          default: return luaL_error(L, "peerlua: the engine answered %s", pl_step_name(s->next.step));
        }
      case P_TRACED: {
        FILE *f = pl_loop_trace(ctx->loop);
        const char *why = lua_type(L, -1) == LUA_TTABLE ? field_str(L, -1, "message") : lua_tostring(L, -1);
        lua_getfield(L, A_STATE, "name");
        if (f) {
          fprintf(f, "peerlua: retry %s %s attempt %d in %.3fs: %s\n", lua_tostring(L, -1), lua_tostring(L, A_OP),
                  s->next.retry, s->next.wait, why ? why : "");
          fflush(f);
        }
        lua_settop(L, S_STATE);
        s->phase = P_BACKOFF;
        continue;
      }
      case P_BACKOFF:
        push_sleep(L, s->next.wait);
        CALL(1, 0, P_RESERVE);
        continue;
      case P_RESERVE: /* the engine's throttle: this process's, or the shared one on Redis */
        lua_getfield(L, S_ENGINE, "reserve");
        lua_pushvalue(L, S_ENGINE);
        if (lua_getfield(L, A_REQ, "throttle") == LUA_TTABLE) { /* a class of its own (EC2's buckets) */
          lua_getfield(L, -1, "class");
          lua_remove(L, -2);
        }
        CALL(2, 2, P_RESERVED);
        continue;
      case P_RESERVED: /* wait, and why when Redis could not be used and it throttled here */
        s->wait = lua_tonumber(L, -2);
        lua_remove(L, -2);
        if (lua_getfield(L, A_STATE, "shared") == LUA_TNIL) {
          lua_settop(L, S_STATE);
          s->phase = P_REPORTED;
          continue;
        }
        lua_getfield(L, -1, "report");
        lua_insert(L, -3); /* report why shared */
        lua_insert(L, -2); /* report shared why */
        CALL(2, 0, P_REPORTED);
        continue;
      case P_REPORTED:
        if (s->wait > 0) {
          pl_loop_stats(ctx->loop)->throttle_waits++;
          trace_wait(L, pl_loop_trace(ctx->loop), s->wait);
          push_sleep(L, s->wait);
          CALL(1, 0, P_AUTHORIZE);
        } else {
          s->phase = P_AUTHORIZE;
        }
        continue;
      case P_AUTHORIZE:
        lua_createtable(L, 0, 4);
        if (lua_getfield(L, A_REQ, "accept") == LUA_TNIL) {
          lua_pop(L, 1);
          lua_pushliteral(L, "application/json");
        }
        lua_setfield(L, -2, "Accept");
        if (lua_getfield(L, A_REQ, "body_text") != LUA_TNIL) {
          if (lua_getfield(L, A_REQ, "content_type") == LUA_TNIL) {
            lua_pop(L, 1);
            lua_pushliteral(L, "application/json");
          }
          lua_setfield(L, -3, "Content-Type");
        }
        lua_pop(L, 1);
        const pl_provider *pv = pl_run_provider(L, S_RUN);
        if (pv->source[0]) lua_pushstring(L, pv->source[1]), lua_setfield(L, -2, pv->source[0]);
        lua_setfield(L, A_REQ, "headers");
        if (hook(L, "authorize")) {
          lua_pushvalue(L, A_STATE);
          lua_pushvalue(L, A_REQ);
          CALL(2, 2, P_AUTHORIZED);
        } else if (pv->token && !pl_engine_fresh(L, S_ENGINE)) { /* a fetched token (pl_token) due: fetched */
          lua_pop(L, 1);
          lua_getfield(L, A_HELP, "token");
          lua_pushvalue(L, A_STATE);
          CALL(1, 2, P_AUTHORIZED);
        } else { /* the engine's header is all (pl_auth, or a token held) */
          lua_pop(L, 1);
          lua_pushboolean(L, 1);
          lua_pushnil(L);
          s->phase = P_AUTHORIZED;
        }
        continue;
      case P_AUTHORIZED:
        if (!lua_toboolean(L, -2)) { /* nil, err: the attempt failed before it left, as a transport error */
          lua_pushnil(L);
          lua_insert(L, -2);
          s->phase = P_ANSWERED;
          continue;
        }
        lua_settop(L, S_STATE);
        if (lua_getfield(L, A_REQ, "on_send") == LUA_TNIL) {
          lua_pop(L, 1);
          s->phase = P_SEND;
        } else {
          CALL(0, 0, P_SEND);
        }
        continue;
      case P_SEND: /* built here from checked parts: sent without http.request's checks */
        lua_pushvalue(L, A_SEND);
        push_attempt(L);
        CALL(1, 2, P_ANSWERED);
        continue;
      case P_ANSWERED:
        lua_replace(L, S_TERR);
        lua_replace(L, S_RESP);
        lua_settop(L, S_STATE);
        if (lua_type(L, S_RESP) != LUA_TTABLE) {
          transport_answer(L, S_TERR, &s->answer);
          s->phase = P_ANSWER;
          continue;
        }
        memset(&s->answer, 0, sizeof s->answer);
        s->answer.retry_after = -1;
        lua_getfield(L, S_RESP, "status");
        s->answer.status = (int)lua_tointeger(L, -1);
        lua_pop(L, 1);
        s->ok = pl_run_ok(L, S_RUN, s->answer.status);
        s->phase = P_WORD;
        continue;
      case P_WORD:
        /* the string stays alive after the pop: the info is cached in a
         * table weak by its answer, which S_RESP holds until P_ANSWER */
        s->phase = P_RETRY_AFTER;
        if (s->ok) continue;
        lua_getfield(L, A_STATE, "name");
        lua_getfield(L, A_STATE, "api");
        pl_push_error_info(L, lua_tostring(L, -2), lua_isstring(L, -1) ? lua_tostring(L, -1) : "", S_RESP);
        if (lua_type(L, -1) == LUA_TTABLE) s->answer.word = field_str(L, -1, "code_word");
        lua_settop(L, S_STATE);
        continue;
      case P_RETRY_AFTER:
        s->phase = P_ANSWER;
        if (s->ok) continue;
        /* seconds to wait from a Retry-After header, or what the answer's
         * body says when the header is absent (the table's retry_in) */
        lua_getfield(L, S_RESP, "headers");
        double delay = -1;
        if (lua_type(L, -1) == LUA_TTABLE && lua_getfield(L, -1, "retry-after") == LUA_TSTRING) {
          if (pl_retry_after_parse(lua_tostring(L, -1), (double)time(NULL), &delay) != 0) delay = -1;
        } else if (lua_getfield(L, S_RESP, "body") == LUA_TSTRING) {
          size_t len;
          const char *body = lua_tolstring(L, -1, &len);
          delay = pl_provider_retry_said(pl_run_provider(L, S_RUN), s->answer.status, body, len);
        }
        if (delay >= 0) s->answer.retry_after = delay;
        lua_settop(L, S_STATE);
        continue;
      case P_ANSWER: /* a 429 or 503 pauses the whole key: the engine does it, on Redis too when shared */
        s->next = pl_run_answer(L, S_RUN, &s->answer);
        s->answer.word = NULL;
        s->phase = P_STEP;
        continue;
      case P_DECODED:
        if (!lua_isnil(L, -2)) return result(L, -2, NULL);
        pl_push_error(
            L, "provider",
            lua_pushfstring(L, "%s%s", s->decoder ? "" : "response is not JSON: ", luaL_tolstring(L, -1, NULL)));
        lua_getfield(L, A_STATE, "name");
        lua_setfield(L, -2, "provider");
        lua_pushvalue(L, A_OP);
        lua_setfield(L, -2, "op");
        lua_getfield(L, S_RESP, "status");
        lua_setfield(L, -2, "http_status");
        lua_pushboolean(L, 0);
        lua_setfield(L, -2, "retryable");
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
      case P_FOUND: {
        int found = lua_toboolean(L, -2);
        lua_pushvalue(L, -1);
        lua_replace(L, S_LISTERR);
        s->next = pl_run_told(L, S_RUN, found ? PL_TOLD_YES : lua_toboolean(L, -1) ? PL_TOLD_FAILED : PL_TOLD_NO);
        if (s->next.step == PL_STEP_RECONCILED) return result(L, -2, "reconciled");
        lua_settop(L, S_STATE);
        s->phase = P_STEP;
        continue;
      }
      case P_SETTLED:
        s->next = pl_run_told(L, S_RUN, lua_toboolean(L, -1) ? PL_TOLD_YES : PL_TOLD_NO);
        if (s->next.step == PL_STEP_SETTLED) return result(L, -1, "settled");
        lua_settop(L, S_STATE);
        s->phase = P_STEP;
        continue;
      case P_CONFIRMED:
        s->next = pl_run_told(L, S_RUN, lua_toboolean(L, -1) ? PL_TOLD_YES : PL_TOLD_NO);
        lua_settop(L, S_STATE);
        s->phase = P_STEP;
        continue;
      case P_REAUTHED:
        s->next = pl_run_told(L, S_RUN, lua_toboolean(L, -1) ? PL_TOLD_YES : PL_TOLD_NO);
        lua_settop(L, S_STATE);
        s->phase = P_STEP;
        continue;
      case P_FAILED: return give_up(L, s);
    }
  }
}

static int l_operate(lua_State *L) {
  luaL_checktype(L, A_STATE, LUA_TTABLE);
  luaL_checkstring(L, A_OP);
  luaL_checktype(L, A_REQ, LUA_TTABLE);
  luaL_checktype(L, A_HELP, LUA_TTABLE);
  luaL_checkany(L, A_SEND);
  lua_settop(L, A_SEND);
  lua_getfield(L, A_STATE, "spec");   /* S_SPEC */
  lua_getfield(L, A_STATE, "engine"); /* S_ENGINE */
  lua_getfield(L, S_ENGINE, "start"); /* S_RUN: engine:start(opname[, class]) */
  lua_pushvalue(L, S_ENGINE);
  lua_pushvalue(L, A_OP);
  if (lua_getfield(L, A_REQ, "throttle") == LUA_TTABLE) {
    lua_getfield(L, -1, "class");
    lua_remove(L, -2);
  }
  lua_call(L, 3, 1);
  lua_pushnil(L); /* S_RESP */
  lua_pushnil(L); /* S_TERR */
  lua_pushnil(L); /* S_LISTERR */
  op_state *s = lua_newuserdatauv(L, sizeof *s, 0);
  memset(s, 0, sizeof *s);
  s->phase = P_STEP;
  s->next.step = PL_STEP_SEND; /* the engine's first step: send at once */
  return drive(L, LUA_OK, 0);
}

void pl_open_operate(lua_State *L, int ctxidx) {
  lua_pushvalue(L, ctxidx);
  lua_pushcclosure(L, l_operate, 1);
  lua_setfield(L, -2, "operate");
}
