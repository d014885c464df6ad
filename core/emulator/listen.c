/* The emulator's listening socket: --listen HOST:PORT parsed and bound. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "listen.h"

int pl_listen_split(const char *spec, char *host, size_t hostlen, char *port, size_t portlen, char *err,
                    size_t errlen) {
  const char *colon, *h = spec;
  size_t hl;
  if (spec[0] == '[') {
    const char *close = strchr(spec, ']');
    if (!close || close[1] != ':') goto bad;
    h = spec + 1;
    hl = (size_t)(close - h);
    colon = close + 1;
  } else {
    colon = strrchr(spec, ':');
    if (!colon) goto bad;
    hl = (size_t)(colon - spec);
  }
  const char *p = colon + 1;
  size_t pl = strlen(p);
  if (hl == 0 || pl == 0 || pl > 5 || strspn(p, "0123456789") != pl) goto bad;
  if (atol(p) > 65535) {
    snprintf(err, errlen, "port out of range in '%s' (0..65535)", spec);
    return -1;
  }
  if (hl >= hostlen || pl >= portlen) goto bad;
  memcpy(host, h, hl);
  host[hl] = '\0';
  memcpy(port, p, pl + 1);
  return 0;
bad:
  snprintf(err, errlen, "bad listen address '%s' (expected HOST:PORT, port 0..65535)", spec);
  return -1;
}

int pl_listen_bind(const char *spec, char *url, size_t urllen, int *family, char *err, size_t errlen) {
  char host[256], port[8];
  if (pl_listen_split(spec, host, sizeof host, port, sizeof port, err, errlen) != 0) return -1;
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  int rc = getaddrinfo(host, port, &hints, &res);
  if (rc != 0) {
    snprintf(err, errlen, "cannot resolve '%s': %s", host, gai_strerror(rc));
    return -1;
  }
  int fd = -1, saved = 0;
  for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
      saved = errno;
      continue;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ai->ai_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0) {
      *family = ai->ai_family;
      break;
    }
    saved = errno;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) {
    snprintf(err, errlen, "cannot listen on %s: %s", spec, strerror(saved ? saved : EADDRNOTAVAIL));
    return -1;
  }
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  char nhost[INET6_ADDRSTRLEN + 1], nport[8];
  if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0 ||
      getnameinfo((struct sockaddr *)&ss, sl, nhost, sizeof nhost, nport, sizeof nport,
                  NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
    snprintf(err, errlen, "cannot read the bound address of %s: %s", spec, strerror(errno));
    close(fd);
    return -1;
  }
  if (ss.ss_family == AF_INET6)
    snprintf(url, urllen, "http://[%s]:%s", nhost, nport);
  else
    snprintf(url, urllen, "http://%s:%s", nhost, nport);
  return fd;
}
