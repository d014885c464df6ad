/* libcurl, libmicrohttpd, libcrypto, libhiredis and libexpat, opened on first use
 * instead of at start-up.
 *
 * Linking them costs about 4 ms of dynamic loading on every run (their own
 * dependency trees: TLS, LDAP, Kerberos, ...), three times the whole
 * start-up of lua5.4. So peerlua does not link them. A file that calls them
 * includes this header instead of <curl/curl.h> or <microhttpd.h>: each
 * function name becomes a call through a table filled by dlopen()/dlsym()
 * the first time pl_lazy_curl() or pl_lazy_mhd() runs, and the code reads
 * as ordinary libcurl or libmicrohttpd code. Call pl_lazy_curl() (or
 * pl_lazy_mhd()) and check it before the first call into the library.
 *
 * The tables are process-wide, written once under pthread_once and
 * read-only afterwards. */
#ifndef PL_LAZY_H
#define PL_LAZY_H

#define CURL_DISABLE_TYPECHECK /* the checking macros would hide our names */
#include <curl/curl.h>
#include <expat.h>
#include <hiredis/hiredis.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

/* clang-format off */
#define PL_CURL_FUNCTIONS(X)                                                      \
  X(curl_global_init) X(curl_version_info) X(curl_free) X(curl_easy_strerror)     \
  X(curl_easy_init) X(curl_easy_cleanup) X(curl_easy_reset) X(curl_easy_setopt)   \
  X(curl_easy_getinfo) X(curl_multi_init) X(curl_multi_cleanup)                   \
  X(curl_multi_setopt) X(curl_multi_add_handle) X(curl_multi_remove_handle)       \
  X(curl_multi_perform) X(curl_multi_poll) X(curl_multi_info_read)                \
  X(curl_slist_append) X(curl_slist_free_all) X(curl_url) X(curl_url_cleanup)     \
  X(curl_url_get) X(curl_url_set)

#define PL_MHD_FUNCTIONS(X)                                                       \
  X(MHD_start_daemon) X(MHD_stop_daemon) X(MHD_run) X(MHD_get_timeout)            \
  X(MHD_get_daemon_info) X(MHD_get_connection_info) X(MHD_get_connection_values)  \
  X(MHD_lookup_connection_value) X(MHD_suspend_connection)                        \
  X(MHD_resume_connection) X(MHD_queue_response) X(MHD_create_response_from_buffer) \
  X(MHD_create_response_from_callback) X(MHD_add_response_header)                 \
  X(MHD_destroy_response)

#define PL_EXPAT_FUNCTIONS(X)                                                     \
  X(XML_ParserCreate) X(XML_ParserFree) X(XML_SetUserData)                        \
  X(XML_SetElementHandler) X(XML_SetCharacterDataHandler)                         \
  X(XML_SetStartDoctypeDeclHandler) X(XML_StopParser) X(XML_Parse)                \
  X(XML_GetErrorCode) X(XML_ErrorString) X(XML_GetCurrentLineNumber)

/* clang-format on */
#define PL_CRYPTO_FUNCTIONS(X) X(EVP_sha256) X(EVP_Digest) X(HMAC)
#define PL_REDIS_FUNCTIONS(X)                                                                                          \
  X(redisConnectWithTimeout) X(redisSetTimeout) X(redisCommandArgv) X(freeReplyObject) X(redisFree)

#define PL_LAZY_FIELD(f) __typeof__(f) *f;
typedef struct pl_curl_api {
  PL_CURL_FUNCTIONS(PL_LAZY_FIELD)
} pl_curl_api;
typedef struct pl_mhd_api {
  PL_MHD_FUNCTIONS(PL_LAZY_FIELD)
} pl_mhd_api;
typedef struct pl_crypto_api {
  PL_CRYPTO_FUNCTIONS(PL_LAZY_FIELD)
} pl_crypto_api;
typedef struct pl_redis_api {
  PL_REDIS_FUNCTIONS(PL_LAZY_FIELD)
} pl_redis_api;
typedef struct pl_expat_api {
  PL_EXPAT_FUNCTIONS(PL_LAZY_FIELD)
} pl_expat_api;
#undef PL_LAZY_FIELD

/* Open the library once per process. NULL when it is usable, or a message
 * saying why not (for example, it is not installed). */
const char *pl_lazy_curl(void);
const char *pl_lazy_mhd(void);
const char *pl_lazy_crypto(void);
const char *pl_lazy_redis(void);
const char *pl_lazy_expat(void);

/* The tables; only valid after a successful pl_lazy_curl() / pl_lazy_mhd()
 * / pl_lazy_crypto() / pl_lazy_redis(). */
const pl_curl_api *pl_curl_fns(void);
const pl_mhd_api *pl_mhd_fns(void);
const pl_crypto_api *pl_crypto_fns(void);
const pl_redis_api *pl_redis_fns(void);
const pl_expat_api *pl_expat_fns(void);

#ifndef PL_LAZY_IMPL
/* curl.h wraps these three to count their arguments; ours replace them */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_multi_setopt
#define PL_LAZY_CURL_NAME(f)     (pl_curl_fns()->f)
#define curl_global_init         PL_LAZY_CURL_NAME(curl_global_init)
#define curl_version_info        PL_LAZY_CURL_NAME(curl_version_info)
#define curl_free                PL_LAZY_CURL_NAME(curl_free)
#define curl_easy_strerror       PL_LAZY_CURL_NAME(curl_easy_strerror)
#define curl_easy_init           PL_LAZY_CURL_NAME(curl_easy_init)
#define curl_easy_cleanup        PL_LAZY_CURL_NAME(curl_easy_cleanup)
#define curl_easy_reset          PL_LAZY_CURL_NAME(curl_easy_reset)
#define curl_easy_setopt         PL_LAZY_CURL_NAME(curl_easy_setopt)
#define curl_easy_getinfo        PL_LAZY_CURL_NAME(curl_easy_getinfo)
#define curl_multi_init          PL_LAZY_CURL_NAME(curl_multi_init)
#define curl_multi_cleanup       PL_LAZY_CURL_NAME(curl_multi_cleanup)
#define curl_multi_setopt        PL_LAZY_CURL_NAME(curl_multi_setopt)
#define curl_multi_add_handle    PL_LAZY_CURL_NAME(curl_multi_add_handle)
#define curl_multi_remove_handle PL_LAZY_CURL_NAME(curl_multi_remove_handle)
#define curl_multi_perform       PL_LAZY_CURL_NAME(curl_multi_perform)
#define curl_multi_poll          PL_LAZY_CURL_NAME(curl_multi_poll)
#define curl_multi_info_read     PL_LAZY_CURL_NAME(curl_multi_info_read)
#define curl_slist_append        PL_LAZY_CURL_NAME(curl_slist_append)
#define curl_slist_free_all      PL_LAZY_CURL_NAME(curl_slist_free_all)
#define curl_url                 PL_LAZY_CURL_NAME(curl_url)
#define curl_url_cleanup         PL_LAZY_CURL_NAME(curl_url_cleanup)
#define curl_url_get             PL_LAZY_CURL_NAME(curl_url_get)
#define curl_url_set             PL_LAZY_CURL_NAME(curl_url_set)

#define PL_LAZY_MHD_NAME(f)               (pl_mhd_fns()->f)
#define MHD_start_daemon                  PL_LAZY_MHD_NAME(MHD_start_daemon)
#define MHD_stop_daemon                   PL_LAZY_MHD_NAME(MHD_stop_daemon)
#define MHD_run                           PL_LAZY_MHD_NAME(MHD_run)
#define MHD_get_timeout                   PL_LAZY_MHD_NAME(MHD_get_timeout)
#define MHD_get_daemon_info               PL_LAZY_MHD_NAME(MHD_get_daemon_info)
#define MHD_get_connection_info           PL_LAZY_MHD_NAME(MHD_get_connection_info)
#define MHD_get_connection_values         PL_LAZY_MHD_NAME(MHD_get_connection_values)
#define MHD_lookup_connection_value       PL_LAZY_MHD_NAME(MHD_lookup_connection_value)
#define MHD_suspend_connection            PL_LAZY_MHD_NAME(MHD_suspend_connection)
#define MHD_resume_connection             PL_LAZY_MHD_NAME(MHD_resume_connection)
#define MHD_queue_response                PL_LAZY_MHD_NAME(MHD_queue_response)
#define MHD_create_response_from_buffer   PL_LAZY_MHD_NAME(MHD_create_response_from_buffer)
#define MHD_create_response_from_callback PL_LAZY_MHD_NAME(MHD_create_response_from_callback)
#define MHD_add_response_header           PL_LAZY_MHD_NAME(MHD_add_response_header)
#define MHD_destroy_response              PL_LAZY_MHD_NAME(MHD_destroy_response)

#define EVP_sha256 (pl_crypto_fns()->EVP_sha256)
#define EVP_Digest (pl_crypto_fns()->EVP_Digest)
#define HMAC       (pl_crypto_fns()->HMAC)

#define redisConnectWithTimeout (pl_redis_fns()->redisConnectWithTimeout)
#define redisSetTimeout         (pl_redis_fns()->redisSetTimeout)
#define redisCommandArgv        (pl_redis_fns()->redisCommandArgv)
#define freeReplyObject         (pl_redis_fns()->freeReplyObject)
#define redisFree               (pl_redis_fns()->redisFree)

#define XML_ParserCreate               (pl_expat_fns()->XML_ParserCreate)
#define XML_ParserFree                 (pl_expat_fns()->XML_ParserFree)
#define XML_SetUserData                (pl_expat_fns()->XML_SetUserData)
#define XML_SetElementHandler          (pl_expat_fns()->XML_SetElementHandler)
#define XML_SetCharacterDataHandler    (pl_expat_fns()->XML_SetCharacterDataHandler)
#define XML_SetStartDoctypeDeclHandler (pl_expat_fns()->XML_SetStartDoctypeDeclHandler)
#define XML_StopParser                 (pl_expat_fns()->XML_StopParser)
#define XML_Parse                      (pl_expat_fns()->XML_Parse)
#define XML_GetErrorCode               (pl_expat_fns()->XML_GetErrorCode)
#define XML_ErrorString                (pl_expat_fns()->XML_ErrorString)
#define XML_GetCurrentLineNumber       (pl_expat_fns()->XML_GetCurrentLineNumber)
#endif

#endif
