/* The emulator's listening socket (listen.c). */
#ifndef PL_LISTEN_H
#define PL_LISTEN_H
#include <stddef.h>

/* Split "HOST:PORT" or "[V6]:PORT"; 0 ok, -1 with a message in err. */
int pl_listen_split(const char *spec, char *host, size_t hostlen, char *port, size_t portlen, char *err, size_t errlen);
/* Bind and listen (non-blocking, close-on-exec); returns the socket, sets
 * url ("http://HOST:PORT" with the port bound) and family, or -1 with a
 * message in err. */
int pl_listen_bind(const char *spec, char *url, size_t urllen, int *family, char *err, size_t errlen);

#endif
