/* Field validators and path templates for the provider operation tables.
 * Lua-free. Each validator returns NULL when the value is acceptable, or a
 * short rule text ("must be a UUID (8-4-4-4-12 hex digits)") otherwise. */
#ifndef PL_VALID_H
#define PL_VALID_H
#include <stddef.h>
#include "pl_buf.h"

typedef const char *(*pl_validator)(const char *s, size_t len);

const char *pl_valid_uuid(const char *s, size_t len);
const char *pl_valid_cidr(const char *s, size_t len);        /* IPv4 a.b.c.d/n or IPv6 x::/n */
const char *pl_valid_cidr4(const char *s, size_t len);       /* IPv4 only */
const char *pl_valid_aws_vpc(const char *s, size_t len);     /* vpc- + 8 or 17 hex */
const char *pl_valid_aws_account(const char *s, size_t len); /* 12 digits */
const char *pl_valid_aws_region(const char *s, size_t len);  /* us-east-1 */
const char *pl_valid_aws_pcx(const char *s, size_t len);     /* pcx- + 8 or 17 hex */
const char *pl_valid_aws_rtb(const char *s, size_t len);     /* rtb- + 8 or 17 hex */
const char *pl_valid_aws_sg(const char *s, size_t len);      /* sg- + 8 or 17 hex */
const char *pl_valid_aws_role_arn(const char *s, size_t len);
const char *pl_valid_ic_region(const char *s, size_t len); /* US_EAST_1 */
const char *pl_valid_hex32(const char *s, size_t len);     /* Huawei project / tenant id */
const char *pl_valid_nonempty(const char *s, size_t len);
const char *pl_valid_hw_region(const char *s, size_t len); /* cn-north-4: one DNS label */
const char *pl_valid_hw_limit(const char *s, size_t len);  /* "0".."2000" */
/* What every path value must be, whatever its own rule: not ".", "..", and
 * no control characters (the rest is percent-encoded by pl_path_expand). */
const char *pl_valid_segment(const char *s, size_t len);

/* Look a validator up by name ("uuid", "cidr", ...); NULL if unknown. */
pl_validator pl_valid_by_name(const char *name);

/* Expand "/a/{x}/b/{y}" into out, taking each {name}'s value from
 * lookup(name, namelen, ud) (NULL: missing). Values are percent-encoded as
 * path segments; a value pl_valid_segment refuses counts as bad. Returns 0,
 * or -1 with the missing or bad name in *bad (pointing into tmpl) and its
 * length in *badlen. */
typedef const char *(*pl_path_lookup)(const char *name, size_t len, void *ud);
int pl_path_expand(const char *tmpl, pl_path_lookup lookup, void *ud, pl_buf *out, const char **bad, size_t *badlen);

/* The word of words (NULL-ended) nearest s[0..len), letters compared
 * without case, if it is at most two edits away (a letter inserted,
 * deleted or changed) and s is not itself one of them; else the one word
 * that s (3 letters or more) begins up to an underscore ("cidr":
 * cidr_block); else NULL. For "did you mean" in messages. */
const char *pl_nearest(const char *s, size_t len, const char *const *words);

#endif
