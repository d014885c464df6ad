#include "pl_valid.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

static int all(const char *s, size_t len, int (*pred)(int)) {
  for (size_t i = 0; i < len; i++)
    if (!pred((unsigned char)s[i])) return 0;
  return 1;
}

static int is_lower_hex(int c) {
  return isdigit(c) || (c >= 'a' && c <= 'f');
}
static int is_lower_alpha(int c) {
  return c >= 'a' && c <= 'z';
}
static int is_upper_alpha(int c) {
  return c >= 'A' && c <= 'Z';
}

const char *pl_valid_uuid(const char *s, size_t len) {
  static const char *const rule = "must be a UUID (8-4-4-4-12 hexadecimal digits)";
  if (len != 36) return rule;
  for (size_t i = 0; i < 36; i++) {
    int dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i])) return rule;
  }
  return NULL;
}

const char *pl_valid_hex32(const char *s, size_t len) {
  if (len != 32 || !all(s, len, is_lower_hex)) return "must be 32 lower-case hexadecimal digits";
  return NULL;
}

const char *pl_valid_nonempty(const char *s, size_t len) {
  (void)s;
  return len ? NULL : "must not be empty";
}

const char *pl_valid_segment(const char *s, size_t len) {
  if (len == 0) return "must not be empty";
  if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
    return "must not be '.' or '..' (it would name another path)";
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return "must not hold control characters";
  return NULL;
}

/* Parse "addr/prefix"; family AF_INET, AF_INET6 or 0 for either. */
static const char *cidr(const char *s, size_t len, int family) {
  const char *rule =
      family == AF_INET ? "must be an IPv4 CIDR block like 10.0.0.0/16" : "must be a CIDR block like 10.0.0.0/16";
  char addr[64];
  unsigned char bin[16];
  const char *slash = memchr(s, '/', len);
  if (!slash || (size_t)(slash - s) >= sizeof addr) return rule;
  size_t alen = (size_t)(slash - s), plen = len - alen - 1;
  memcpy(addr, s, alen);
  addr[alen] = '\0';
  int v4 = inet_pton(AF_INET, addr, bin) == 1;
  int v6 = !v4 && inet_pton(AF_INET6, addr, bin) == 1;
  if (!(v4 && family != AF_INET6) && !(v6 && family != AF_INET)) return rule;
  if (plen == 0 || plen > 3 || !all(slash + 1, plen, isdigit) || (plen > 1 && slash[1] == '0')) return rule;
  int prefix = 0;
  for (size_t i = 0; i < plen; i++) prefix = prefix * 10 + (slash[1 + i] - '0');
  int bits = v4 ? 32 : 128;
  if (prefix > bits) return v4 ? "prefix length must be 0 to 32" : "prefix length must be 0 to 128";
  /* host bits must be zero: 10.0.0.1/16 is an address, not a block */
  for (int b = prefix; b < bits; b++)
    if (bin[b / 8] & (0x80 >> (b % 8))) return "host bits must be zero (e.g. 10.0.0.0/16, not 10.0.0.1/16)";
  return NULL;
}

const char *pl_valid_cidr(const char *s, size_t len) {
  return cidr(s, len, 0);
}
const char *pl_valid_cidr4(const char *s, size_t len) {
  return cidr(s, len, AF_INET);
}

/* An EC2 resource id: prefix, then 8 (older) or 17 lower-case hexadecimal
 * digits (EC2 User Guide, "Resource IDs": the longer form since 2018). */
static int ec2_id(const char *s, size_t len, const char *prefix) {
  size_t n = strlen(prefix);
  return len > n && memcmp(s, prefix, n) == 0 && (len - n == 8 || len - n == 17) && all(s + n, len - n, is_lower_hex);
}

const char *pl_valid_aws_vpc(const char *s, size_t len) {
  return ec2_id(s, len, "vpc-") ? NULL : "must be an AWS VPC id: vpc- and 8 or 17 lower-case hexadecimal digits";
}
const char *pl_valid_aws_pcx(const char *s, size_t len) {
  return ec2_id(s, len, "pcx-") ? NULL
                                : "must be a VPC peering connection id: pcx- and 8 or 17 lower-case hexadecimal digits";
}
const char *pl_valid_aws_rtb(const char *s, size_t len) {
  return ec2_id(s, len, "rtb-") ? NULL : "must be a route table id: rtb- and 8 or 17 lower-case hexadecimal digits";
}
const char *pl_valid_aws_sg(const char *s, size_t len) {
  return ec2_id(s, len, "sg-") ? NULL : "must be a security group id: sg- and 8 or 17 lower-case hexadecimal digits";
}

/* arn:aws:iam::123456789012:role/NAME (IAM User Guide, "IAM identifiers":
 * a role name of up to 64 of [A-Za-z0-9+=,.@_-], after an optional path). */
const char *pl_valid_aws_role_arn(const char *s, size_t len) {
  static const char *const rule = "must be an IAM role ARN like arn:aws:iam::123456789012:role/NAME";
  static const char prefix[] = "arn:aws:iam::";
  size_t n = sizeof prefix - 1;
  if (len < n + 12 + 6 || memcmp(s, prefix, n) != 0 || !all(s + n, 12, isdigit)) return rule;
  if (memcmp(s + n + 12, ":role/", 6) != 0) return rule;
  const char *name = s + n + 18;
  size_t nlen = len - n - 18;
  if (nlen == 0 || nlen > 512 || name[nlen - 1] == '/') return rule;
  for (size_t i = 0; i < nlen; i++)
    if (!isalnum((unsigned char)name[i]) && (name[i] == '\0' || !strchr("+=,.@_-/", name[i]))) return rule;
  return NULL;
}

const char *pl_valid_aws_account(const char *s, size_t len) {
  if (len == 12 && all(s, len, isdigit)) return NULL;
  return "must be a 12-digit AWS account id";
}

/* AWS names a region {area}-{direction}-{n}: the areas are those of the
 * partitions' regionRegex (the aws partition's "^(us|eu|ap|sa|ca|me|af|il|mx)
 * -\w+-\d+$", then cn, us-gov, us-iso ...), the directions every middle
 * word of the regions they list (aws-sdk-js-v3
 * packages/util-endpoints/src/lib/aws/partitions.json). The regex takes any
 * word in the middle; keeping to these is a model, one that catches a typo
 * (us-eest-1) before a vendor is asked for a peering in a region that is
 * not there, while a new region (ap-southeast-8) still passes.
 * Instaclustr writes the same names in upper case with '_' (US_EAST_1:
 * providers.md 1.2). */
static const char *const region_areas[] = {"us",      "eu",      "ap",      "sa",      "ca",     "me",
                                           "af",      "il",      "mx",      "cn",      "us-gov", "us-iso",
                                           "us-isob", "us-isof", "eu-isoe", "eusc-de", NULL};
static const char *const region_directions[] = {"east",      "west",      "north",     "south",     "central",
                                                "northeast", "northwest", "southeast", "southwest", NULL};
#define DIRECTIONS (sizeof region_directions / sizeof *region_directions - 1)
/* NEAR9 below names each direction: one rule per direction, and one naming none */
_Static_assert(DIRECTIONS == 9, "NEAR9 names every direction of region_directions");
#define AREAS "us, eu, ap, sa, ca, me, af, il, mx or cn"
/* a rule, then that rule naming each direction in turn, in region_directions' order */
#define NEAR9(R, a, b, c, d, e, f, g, h, i)                                                                            \
  {                                                                                                                    \
    R " (did you mean " a "?)", R " (did you mean " b "?)", R " (did you mean " c "?)", R " (did you mean " d "?)",    \
        R " (did you mean " e "?)", R " (did you mean " f "?)", R " (did you mean " g "?)",                            \
        R " (did you mean " h "?)", R " (did you mean " i "?)", R                                                      \
  }

/* What a region breaks, in one form's words: its whole form, its area, and
 * its direction (near[i]: naming region_directions[i] as the one meant;
 * near[9]: naming none). */
typedef struct region_rules {
  const char *form, *area;
  const char *const *near;
} region_rules;

/* region(s, len, upper, rules) -> NULL, or the rule s breaks */
static const char *region(const char *s, size_t len, int upper, const region_rules *r) {
  char low[40];
  if (len < 4 || len >= sizeof low) return r->form;
  for (size_t i = 0; i < len; i++) {
    int c = (unsigned char)s[i];
    if (c == (upper ? '_' : '-'))
      c = '-';
    else if (!(isdigit(c) || (upper ? is_upper_alpha(c) : is_lower_alpha(c))))
      return r->form;
    low[i] = (char)tolower(c);
  }
  low[len] = 0;
  char *num = strrchr(low, '-');
  if (!num || num == low || !num[1] || strlen(num + 1) > 2) return r->form;
  for (const char *d = num + 1; *d; d++)
    if (!isdigit((unsigned char)*d)) return r->form;
  *num = 0;
  char *dir = strrchr(low, '-');
  if (!dir || dir == low || !dir[1]) return r->form;
  *dir++ = 0;
  size_t i = 0, n = DIRECTIONS;
  while (region_areas[i] && strcmp(region_areas[i], low) != 0) i++;
  if (!region_areas[i]) return r->area;
  for (i = 0; i < n; i++)
    if (strcmp(region_directions[i], dir) == 0) return NULL;
  const char *w = pl_nearest(dir, strlen(dir), region_directions);
  for (i = 0; i < n && region_directions[i] != w; i++) {
  }
  return r->near[i];
}

const char *pl_valid_aws_region(const char *s, size_t len) {
#define AWS_RULE "must be an AWS region like us-east-1"
  static const char *const near[] =
      NEAR9(AWS_RULE ": its middle word is east, west, north, south, central, or two of them (southeast)", "east",
            "west", "north", "south", "central", "northeast", "northwest", "southeast", "southwest");
  static const region_rules rules = {
      AWS_RULE, AWS_RULE ": it begins with " AREAS " (or us-gov, us-iso, us-isob, us-isof, eu-isoe, eusc-de)", near};
  return region(s, len, 0, &rules);
}

const char *pl_valid_ic_region(const char *s, size_t len) {
#define IC_RULE "must be an Instaclustr region like US_EAST_1 (an AWS region in upper case, with '_')"
  static const char *const near[] =
      NEAR9(IC_RULE ": its middle word is EAST, WEST, NORTH, SOUTH, CENTRAL, or two of them (SOUTHEAST)", "EAST",
            "WEST", "NORTH", "SOUTH", "CENTRAL", "NORTHEAST", "NORTHWEST", "SOUTHEAST", "SOUTHWEST");
  static const region_rules rules = {IC_RULE, IC_RULE ": it begins with US, EU, AP, SA, CA, ME, AF, IL, MX or CN",
                                     near};
  return region(s, len, 1, &rules);
}

/* A Huawei region goes into a host name (cs.{region}.myhuaweicloud.com), so
 * it must be one DNS label: cn-north-4, ap-southeast-1, eu-west-101 (the
 * regions of developer.huaweicloud.com/intl/en-us/endpoint). */
const char *pl_valid_hw_region(const char *s, size_t len) {
  int ok = len >= 2 && len <= 63 && is_lower_alpha((unsigned char)s[0]) && s[len - 1] != '-';
  for (size_t i = 0; ok && i < len; i++)
    ok = is_lower_alpha((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-';
  return ok ? NULL : "must be a Huawei region like cn-north-4 (lower-case letters, digits and '-')";
}

/* Huawei list page size: a whole number 0..2000 (ListVpcPeerings, limit) */
const char *pl_valid_hw_limit(const char *s, size_t len) {
  static const char *const rule = "must be a whole number from 0 to 2000";
  if (len == 0 || len > 4) return rule;
  unsigned n = 0;
  for (size_t i = 0; i < len; i++) {
    if (!isdigit((unsigned char)s[i])) return rule;
    n = n * 10 + (unsigned)(s[i] - '0');
  }
  return n <= 2000 ? NULL : rule;
}

pl_validator pl_valid_by_name(const char *name) {
  static const struct {
    const char *name;
    pl_validator fn;
  } table[] = {
      {"uuid", pl_valid_uuid},
      {"cidr", pl_valid_cidr},
      {"cidr4", pl_valid_cidr4},
      {"aws_vpc", pl_valid_aws_vpc},
      {"aws_account", pl_valid_aws_account},
      {"aws_region", pl_valid_aws_region},
      {"aws_pcx", pl_valid_aws_pcx},
      {"aws_rtb", pl_valid_aws_rtb},
      {"aws_sg", pl_valid_aws_sg},
      {"aws_role_arn", pl_valid_aws_role_arn},
      {"ic_region", pl_valid_ic_region},
      {"hex32", pl_valid_hex32},
      {"nonempty", pl_valid_nonempty},
      {"hw_region", pl_valid_hw_region},
      {"hw_limit", pl_valid_hw_limit},
      {NULL, NULL},
  };
  for (int i = 0; table[i].name; i++)
    if (strcmp(table[i].name, name) == 0) return table[i].fn;
  return NULL;
}

static int add_segment(pl_buf *out, const char *v) {
  static const char hex[] = "0123456789ABCDEF";
  for (; *v; v++) {
    unsigned char c = (unsigned char)*v;
    if (isalnum(c) || strchr("-._~", c)) {
      if (pl_buf_add(out, v, 1)) return -1;
    } else {
      char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
      if (pl_buf_add(out, esc, 3)) return -1;
    }
  }
  return 0;
}

int pl_path_expand(const char *tmpl, pl_path_lookup lookup, void *ud, pl_buf *out, const char **bad, size_t *badlen) {
  pl_buf_reset(out);
  for (const char *p = tmpl; *p;) {
    const char *open = strchr(p, '{');
    if (!open) return pl_buf_addstr(out, p);
    const char *close = strchr(open, '}');
    if (!close) return pl_buf_addstr(out, p);
    if (pl_buf_add(out, p, (size_t)(open - p))) return -1;
    size_t nlen = (size_t)(close - open - 1);
    const char *v = lookup(open + 1, nlen, ud);
    if (!v || pl_valid_segment(v, strlen(v))) {
      *bad = open + 1;
      *badlen = nlen;
      return -1;
    }
    if (add_segment(out, v)) return -1;
    p = close + 1;
  }
  if (!out->data) pl_buf_add(out, "", 0);
  return 0;
}

/* Edit distance of a[0..la) and b[0..lb), letters without case; 99 past 32 letters. */
static size_t edits(const char *a, size_t la, const char *b, size_t lb) {
  size_t row[33];
  if (la > 32 || lb > 32) return 99;
  for (size_t j = 0; j <= lb; j++) row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t up = row[j], best = diag + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[lb];
}

const char *pl_nearest(const char *s, size_t len, const char *const *words) {
  const char *best = NULL;
  size_t bd = 3;
  for (const char *const *w = words; *w; w++) {
    size_t d = edits(s, len, *w, strlen(*w));
    if (d < bd) bd = d, best = *w;
  }
  if (best) return bd > 0 || memcmp(best, s, len) != 0 ? best : NULL; /* 0 edits: the same length */
  /* else the one word that s begins, up to an underscore: "cidr" for cidr_block */
  for (const char *const *w = words; len >= 3 && *w; w++) {
    if (strncasecmp(*w, s, len) != 0 || (*w)[len] != '_') continue;
    if (best) return NULL; /* two such: neither is the one meant */
    best = *w;
  }
  return best;
}
