/* Provider tables: what each API call looks like, how its errors read, its
 * URLs, busy answers and credentials, as data. Lua-free. The binding
 * (lua_provider.c) validates arguments, builds requests and reads errors
 * from these; the engine (pl_engine.c) decides each operation's steps. */
#ifndef PL_PROVIDER_H
#define PL_PROVIDER_H
#include <stddef.h>

enum pl_where { PL_IN_BODY, PL_IN_PATH, PL_IN_QUERY };
enum pl_type {
  PL_T_STRING,
  PL_T_BOOL,
  PL_T_STRINGS, /* list of strings (each validated) */
  PL_T_LABELS,  /* list of {key=, value=} */
  PL_T_RULES,   /* Instaclustr firewall rules: list of {type=} */
  PL_T_TABLE,   /* a table, checked by the provider's own rules (spec.check) */
  PL_T_WHOLE    /* a whole number or a string: sent as the decimal string, checked as one */
};

typedef struct pl_param {
  const char *name;  /* key in the Lua arguments: the provider's name in snake_case */
  const char *field; /* provider's name; "a.b" nests in the body (network.uuid) */
  unsigned char where, type, required;
  const char *check;             /* validator (pl_valid_by_name) for each string, or NULL */
  unsigned short minlen, maxlen; /* string length bounds, 0 = none */
  const char *const *oneof;      /* allowed values, NULL-terminated, or NULL */
  const char *dflt;              /* sent when not given: a string as it is, "true"/"false" for a
                                    bool; NULL: nothing */
} pl_param;

typedef struct pl_op {
  const char *name;    /* "create_peering" */
  const char *service; /* sub-API the path is relative to ("" for the client's base) */
  const char *method;
  const char *path;          /* template; {name} is a PL_IN_PATH param's name */
  const pl_param *params;    /* ends with name == NULL */
  int ok[4];                 /* success statuses, 0-terminated */
  const char *wrap;          /* body wrapper object ("network_peering"), an XML body's root element, or NULL */
  const char *result;        /* where the object(s) are in the response: NULL = the body,
                          "peering", "network_peerings.network_peering", ... */
  const char *exclusive[2];  /* params that cannot be given together */
  const char *one_of[3];     /* at least one of these is required (NULL-terminated) */
  unsigned char idempotent;  /* safe to resend after an ambiguous failure */
  unsigned char missing_ok;  /* 404 counts as success (deletes) */
  unsigned char conflict_ok; /* 409 counts as success (firewall "already exists") */
} pl_op;

typedef struct pl_state_map {
  const char *status; /* the provider's word */
  const char *state;  /* canonical: pending, pending_acceptance, provisioning,
                         active, disabled, rejected, expired, failed,
                         deleting, deleted */
} pl_state_map;

/* Where a provider's error answer says what went wrong. Read by
 * lua_provider.c (core.error_info) from the decoded body: a path is dotted
 * field names, a number indexing a list from 1 ("errors.1.message"); "@name"
 * is the response header `name`; "a|b" is the first of the two that holds a
 * value of the right type (message and request id a string, code a string
 * or a number, details a table). The shapes are tried in order and the first
 * that gives a message or a code is the answer. */
enum pl_code_from {
  PL_CODE_WORD,    /* the code is the field's word as it is */
  PL_CODE_TYPE_URI /* RFC 9457 `type`: "...#ERROR_X" or "...#X" or "urn:P:errors:X" gives X */
};
/* A provider's error code word -> peerlua's code ("auth", "not_found", ...):
 * the word as it is, or "X*" for words that begin with X, "*X" that end
 * with it. The first that matches. */
typedef struct pl_code_map {
  const char *word, *code;
} pl_code_map;

typedef struct pl_error_shape {
  const char *content_type; /* the shape applies only when Content-Type holds this; NULL: always */
  unsigned char xml;        /* the body is XML (lua_xml.c's tables), not JSON */
  const char *message, *code, *request_id, *details; /* paths, or NULL */
  unsigned char code_from;                           /* enum pl_code_from */
  unsigned short text;      /* > 0: the message is the body's own text, cut to this many bytes */
  const char *hide;         /* with text: a body holding this word (any case) is not shown */
  const pl_code_map *codes; /* the code word's meaning, ending with word == NULL; NULL: the HTTP status's */
} pl_error_shape;

/* An answer that means "busy, try again" (the request was refused, not
 * carried out), or in pl_provider.stale "your credentials expired": the
 * operation ("*": any) and the status it answers so (0: any), and the
 * error's code word (the error shapes' code; NULL: any). */
typedef struct pl_busy {
  const char *op;
  int status;
  const char *word;
} pl_busy;

/* An error answer that means the change is made already (a create) or
 * gone already (a delete): the operation, the error's code word and what
 * it means. With confirm, only when the provider's confirm rule says so
 * (the word covers more than this request: spec.confirm). */
enum pl_done_how { PL_DONE_EXISTS = 1, PL_DONE_MISSING };
typedef struct pl_done {
  const char *op, *word;
  unsigned char how; /* enum pl_done_how */
  unsigned char confirm;
} pl_done;

/* How a listed peering is the one a create's arguments ask for (the
 * reconcile after an ambiguous create, ensure_peering): every pair agrees.
 * arg is a path in the arguments, field one in the peering, each read as
 * the error shapes' paths are ("a.b", "a|b": the first there). Both must
 * be there and the same, unless a flag says when the pair is not
 * compared. */
enum {
  PL_MATCH_IF_ARG = 1,  /* not compared when the arguments lack it */
  PL_MATCH_IF_FIELD = 2 /* not compared when the peering lacks it */
};
typedef struct pl_match {
  const char *arg, *field;
  unsigned char flags;
} pl_match;

/* A field a peering cannot change in place: a match (pl_match) that
 * differs in it is a conflict, not the peering asked for. Compared when
 * both the arguments and the peering have it. */
typedef struct pl_fixed {
  const char *arg, *field; /* paths, as pl_match's */
  const char *what;        /* as the conflict says it, with its verb: "CIDR block is" */
  unsigned char set;       /* a set of strings (one, a list, or {cidrs = list}): compared sorted */
} pl_fixed;

/* How ensure_peering, and the reconcile after an ambiguous create, find
 * the peering a create's arguments ask for: list_peerings given the scope
 * (these of the create's arguments, by the same names); a listed peering
 * in a gone state does not count; of the rest, the one every match pair
 * agrees with. The scope and the match arguments not flagged
 * PL_MATCH_IF_ARG name it (the key ensure_peering's lock is taken on). */
typedef struct pl_find {
  const char *scope[3];  /* NULL-terminated */
  const char *gone[3];   /* canonical states, NULL-terminated */
  const pl_match *match; /* ends with arg == NULL */
  const pl_fixed *fixed; /* ends with arg == NULL; NULL: none */
} pl_find;

/* A change refused with 409 may be made already (an earlier attempt
 * landed): read it with op `read` (the same arguments) and it is made when
 * the object's `field` is `want`. */
typedef struct pl_settled {
  const char *op, *read, *field, *want;
} pl_settled;

/* A list that comes in pages. op given arg is that page only; without it
 * the client reads every page, asking for the next with arg set to
 *   PL_PAGE_OFFSET: the page's offset (at; 0 when absent) plus its items,
 *     while that is below the total (total);
 *   PL_PAGE_MARKER: the value of arg in the query of the link whose rel is
 *     "next", in the list of {rel, href} at `at`. */
enum pl_page_how { PL_PAGE_OFFSET = 1, PL_PAGE_MARKER };
typedef struct pl_pages {
  const char *op;
  unsigned char how; /* enum pl_page_how */
  const char *arg, *at, *total;
} pl_pages;

/* The header every request carries, made from the credentials in C (it is
 * never a Lua string): by the first row whose fields are all given. */
enum pl_auth_how {
  PL_AUTH_BASIC = 1, /* "Basic " and base64 of "user:secret" (RFC 7617) */
  PL_AUTH_TOKEN      /* prefix and the token */
};
typedef struct pl_auth {
  unsigned char how;  /* enum pl_auth_how; 0 ends the rows */
  const char *user;   /* BASIC: the user field, which names the credential */
  const char *secret; /* the secret field: BASIC's password, TOKEN's token */
  const char *prefix; /* TOKEN: what goes before it ("Bearer ") */
} pl_auth;

/* A token the client fetches (OAuth2 client credentials, an IAM token)
 * with a request whose body holds the secret (sealed in C: core.seal). The
 * answer is read here (core.take_token); the token goes straight to the
 * client's engine as a header, to be fetched again once PL_TOKEN_EARLY of
 * its life is gone. */
#define PL_TOKEN_EARLY 0.9
typedef struct pl_token {
  const char *url;      /* the token endpoint; NULL: the provider's own rule (Huawei's IAM host) */
  const char *sim_path; /* where the emulator answers it, under its URL; NULL: with url */
  int ok[3];            /* the answer's success statuses, 0-terminated */
  const char *value;    /* where the answer holds the token: body paths, "@name" a header */
  const char *header;   /* the request header it is carried in */
  const char *prefix;   /* what goes before it there ("Bearer "), or "" */
  const char *lifetime; /* body paths of its lifetime in seconds, or NULL */
  double life;          /* its lifetime in seconds where the answer does not say */
  const char *message;  /* body paths of why a fetch was refused, or NULL */
  const char *what;     /* what a refusal says could not be got: "an access token" */
} pl_token;

/* A credential or setting a client reads: from its option `field`, else
 * the environment (env, the first set wins), else the profile file's key
 * "<provider>.<field>" (lua/peerlua/credentials.lua). */
enum {
  PL_CRED_NEED = 1,   /* required (a provider with a rule of its own says when instead) */
  PL_CRED_SECRET = 2, /* part of a secret: given in part, the emulator's account is not used */
  PL_CRED_SETTING = 4 /* not a secret (a region): still read from the environment and the profile
                         when the options give the rest */
};
typedef struct pl_cred {
  const char *field;
  const char *env[3]; /* NULL-terminated */
  unsigned char flags;
} pl_cred;

/* How a service of a provider's (an operation's `service`) writes its
 * request bodies when they are not JSON (lua_wire.c): a Query API's form
 * (AWS's EC2 and STS) names its version; an XML body (Route 53) is the
 * operation's `wrap` element in this namespace. */
typedef struct pl_service {
  const char *name;          /* "ec2" */
  const char *query_version; /* the Query API version its forms name ("2016-11-15"), or NULL */
  const char *xmlns;         /* the namespace of its XML bodies, or NULL */
} pl_service;

typedef struct pl_provider {
  const char *name;
  const char *api;              /* API generation ("v1", "v2") or "" */
  const pl_op *ops;             /* ends with name == NULL */
  const pl_state_map *states;   /* ends with status == NULL */
  const char *id_field;         /* where a peering's id is */
  const char *status_field;     /* where its status is */
  const char *reason_field;     /* where it says why it stopped (a wait's error), or NULL */
  double rate, burst;           /* default throttle */
  const pl_error_shape *errors; /* ends with an all-NULL shape; NULL: the provider's parse_error reads them */
  const char *base_url;         /* the real API's, "{region}" where the client's region goes */
  const char *sim_prefix;       /* where the emulator answers this API, under its URL */
  const pl_busy *busy;          /* ends with op == NULL; NULL: none */
  const pl_cred *creds;         /* ends with field == NULL; NULL: the provider reads its own (AWS's chain) */
  const pl_done *done;          /* ends with op == NULL; NULL: none */
  const pl_find *find;          /* NULL: no listed peering is the one (AWS creates none) */
  const pl_settled *settled;    /* ends with op == NULL; NULL: none */
  const pl_pages *pages;        /* ends with op == NULL; NULL: no list comes in pages */
  const pl_busy *stale;         /* besides a 401, the answers to expired credentials (refreshed once, sent
                                   again); ends with op == NULL; NULL: none */
  const char *retry_in;         /* a 429 whose body says how long to wait says it after these words */
  const pl_token *token;        /* NULL: no token is fetched */
  const pl_auth *auth;          /* NULL: none made from the credentials (a token fetched, signing) */
  const char *source[2];        /* a header every request names the client in: {name, value}, or none */
  const pl_service *services;   /* its services whose bodies are not JSON, ends with name == NULL; NULL: none */
} pl_provider;

/* Whether status, with the error's code word (NULL: none), answered to op
 * is one of the provider's "busy" answers. */
int pl_provider_busy(const pl_provider *p, const pl_op *op, int status, const char *word);

/* Whether status, with that code word, answered to op says the credentials
 * expired (besides a 401, which always does). */
int pl_provider_stale(const pl_provider *p, const pl_op *op, int status, const char *word);

/* The seconds to wait that a 429's body of len bytes says (its retry_in
 * words, then a whole number and "s"), at most PL_RETRY_SAID_MAX; -1: it
 * says none. */
#define PL_RETRY_SAID_MAX 300
double pl_provider_retry_said(const pl_provider *p, int status, const char *body, size_t len);

/* The provider's rule for an error answer with that code word to op, or NULL. */
const pl_done *pl_provider_done(const pl_provider *p, const pl_op *op, const char *word);

/* Table of every provider and API generation, ending with name == NULL. */
extern const pl_provider pl_providers[];

/* Instaclustr firewall rule types (NULL-terminated): an open list, see
 * lua_provider.c. */
extern const char *const pl_firewall_types[];

const pl_provider *pl_provider_find(const char *name, const char *api);
const pl_op *pl_op_find(const pl_provider *p, const char *op);
/* Canonical state of a provider status word (case-sensitive), or "unknown". */
const char *pl_provider_state(const pl_provider *p, const char *status);

#endif
