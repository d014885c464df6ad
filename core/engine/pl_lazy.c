/* Opening libcurl, libmicrohttpd, libcrypto, libhiredis and libexpat on first use: see pl_lazy.h. */
#define PL_LAZY_IMPL
#include "pl_lazy.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

typedef struct lazy_lib {
  pthread_once_t once;
  const char *error; /* NULL once loaded */
  char msg[256];
} lazy_lib;

static pl_curl_api curl_api;
static lazy_lib curl_lib = {PTHREAD_ONCE_INIT, "libcurl is not loaded", ""};
static pl_mhd_api mhd_api;
static lazy_lib mhd_lib = {PTHREAD_ONCE_INIT, "libmicrohttpd is not loaded", ""};
static pl_crypto_api crypto_api;
static lazy_lib crypto_lib = {PTHREAD_ONCE_INIT, "libcrypto is not loaded", ""};
static pl_redis_api redis_api;
static lazy_lib redis_lib = {PTHREAD_ONCE_INIT, "libhiredis is not loaded", ""};
static pl_expat_api expat_api;
static lazy_lib expat_lib = {PTHREAD_ONCE_INIT, "libexpat is not loaded", ""};

/* dlopen soname; NULL on failure with the reason in lib->msg. */
static void *open_lib(lazy_lib *lib, const char *soname) {
  void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char *why = dlerror();
    snprintf(lib->msg, sizeof lib->msg, "cannot load %s: %s", soname, why ? why : "unknown error");
    lib->error = lib->msg;
  }
  return h;
}

static int missing(lazy_lib *lib, const char *soname, const char *name) {
  snprintf(lib->msg, sizeof lib->msg, "%s has no %s (too old?)", soname, name);
  lib->error = lib->msg;
  return -1;
}

/* POSIX's way of storing dlsym's result in a function pointer. */
#define RESOLVE(lib, so, api, f)                                                                                       \
  if (!(*(void **)&(api)->f = dlsym(h, #f))) return missing(lib, so, #f);

static int resolve_curl(void *h) {
#define X(f) RESOLVE(&curl_lib, "libcurl.so.4", &curl_api, f)
  PL_CURL_FUNCTIONS(X)
#undef X
  return 0;
}

static int resolve_mhd(void *h) {
#define X(f) RESOLVE(&mhd_lib, "libmicrohttpd.so.12", &mhd_api, f)
  PL_MHD_FUNCTIONS(X)
#undef X
  return 0;
}

static int resolve_crypto(void *h) {
#define X(f) RESOLVE(&crypto_lib, "libcrypto.so.3", &crypto_api, f)
  PL_CRYPTO_FUNCTIONS(X)
#undef X
  return 0;
}

static int resolve_redis(void *h) {
#define X(f) RESOLVE(&redis_lib, "libhiredis.so.0.14", &redis_api, f)
  PL_REDIS_FUNCTIONS(X)
#undef X
  return 0;
}

static int resolve_expat(void *h) {
#define X(f) RESOLVE(&expat_lib, "libexpat.so.1", &expat_api, f)
  PL_EXPAT_FUNCTIONS(X)
#undef X
  return 0;
}

static void load_curl(void) {
  void *h = open_lib(&curl_lib, "libcurl.so.4");
  if (!h || resolve_curl(h) != 0) return;
  /* process-wide and not thread-safe: exactly once, here */
  if (curl_api.curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    snprintf(curl_lib.msg, sizeof curl_lib.msg, "libcurl failed to initialise");
    curl_lib.error = curl_lib.msg;
    return;
  }
  curl_lib.error = NULL;
}

static void load_mhd(void) {
  void *h = open_lib(&mhd_lib, "libmicrohttpd.so.12");
  if (h && resolve_mhd(h) == 0) mhd_lib.error = NULL;
}

static void load_crypto(void) {
  void *h = open_lib(&crypto_lib, "libcrypto.so.3");
  if (h && resolve_crypto(h) == 0) crypto_lib.error = NULL;
}

static void load_redis(void) {
  void *h = open_lib(&redis_lib, "libhiredis.so.0.14");
  if (h && resolve_redis(h) == 0) redis_lib.error = NULL;
}

static void load_expat(void) {
  void *h = open_lib(&expat_lib, "libexpat.so.1");
  if (h && resolve_expat(h) == 0) expat_lib.error = NULL;
}

const char *pl_lazy_expat(void) {
  pthread_once(&expat_lib.once, load_expat);
  return expat_lib.error;
}

const char *pl_lazy_redis(void) {
  pthread_once(&redis_lib.once, load_redis);
  return redis_lib.error;
}

const char *pl_lazy_crypto(void) {
  pthread_once(&crypto_lib.once, load_crypto);
  return crypto_lib.error;
}

const char *pl_lazy_curl(void) {
  pthread_once(&curl_lib.once, load_curl);
  return curl_lib.error;
}

const char *pl_lazy_mhd(void) {
  pthread_once(&mhd_lib.once, load_mhd);
  return mhd_lib.error;
}

const pl_curl_api *pl_curl_fns(void) {
  return &curl_api;
}
const pl_mhd_api *pl_mhd_fns(void) {
  return &mhd_api;
}
const pl_crypto_api *pl_crypto_fns(void) {
  return &crypto_api;
}
const pl_redis_api *pl_redis_fns(void) {
  return &redis_api;
}
const pl_expat_api *pl_expat_fns(void) {
  return &expat_api;
}
