/* Validators with good and bad values, and path templates. */
#include <string.h>

#include "check.h"
#include "pl_valid.h"

#define OK(fn, s)  CHECK(fn(s, strlen(s)) == NULL)
#define BAD(fn, s) CHECK(fn(s, strlen(s)) != NULL)

static const char *lookup(const char *name, size_t len, void *ud) {
  const char *const *kv = ud;
  for (; kv[0]; kv += 2)
    if (strlen(kv[0]) == len && memcmp(kv[0], name, len) == 0) return kv[1];
  return NULL;
}

int main(void) {
  OK(pl_valid_uuid, "aabc665c-8916-40ae-978c-96d39a3a1364");
  OK(pl_valid_uuid, "AABC665C-8916-40AE-978C-96D39A3A1364");
  BAD(pl_valid_uuid, "aabc665c891640ae978c96d39a3a1364");
  BAD(pl_valid_uuid, "aabc665c-8916-40ae-978c-96d39a3a136");
  BAD(pl_valid_uuid, "gabc665c-8916-40ae-978c-96d39a3a1364");
  BAD(pl_valid_uuid, "");

  OK(pl_valid_cidr, "10.0.0.0/16");
  OK(pl_valid_cidr, "0.0.0.0/0");
  OK(pl_valid_cidr, "192.168.1.7/32");
  OK(pl_valid_cidr, "fd00::/8");
  BAD(pl_valid_cidr, "10.0.0.1/16"); /* host bits set */
  BAD(pl_valid_cidr, "10.0.0.0/33");
  BAD(pl_valid_cidr, "10.0.0.0/016");
  BAD(pl_valid_cidr, "10.0.0.0");
  BAD(pl_valid_cidr, "10.0.0/16");
  BAD(pl_valid_cidr, "256.0.0.0/8");
  BAD(pl_valid_cidr, "10.0.0.0/");
  BAD(pl_valid_cidr, "/16");
  BAD(pl_valid_cidr4, "fd00::/8");

  OK(pl_valid_aws_vpc, "vpc-aabb1122");
  OK(pl_valid_aws_vpc, "vpc-0123456789abcdef0");
  BAD(pl_valid_aws_vpc, "vpc-AABB1122");
  BAD(pl_valid_aws_vpc, "vpc-aabb112");
  BAD(pl_valid_aws_vpc, "vpc-123abc456"); /* 9 digits */
  BAD(pl_valid_aws_vpc, "subnet-aabb1122");

  OK(pl_valid_aws_account, "123888456789");
  BAD(pl_valid_aws_account, "12388845678");
  BAD(pl_valid_aws_account, "12388845678a");

  OK(pl_valid_aws_region, "us-east-1");
  OK(pl_valid_aws_region, "ap-southeast-2");
  OK(pl_valid_aws_region, "us-gov-west-1");
  BAD(pl_valid_aws_region, "US_EAST_1");
  BAD(pl_valid_aws_region, "us-east");
  BAD(pl_valid_aws_region, "useast1");
  BAD(pl_valid_aws_region, "us-east-1-");
  OK(pl_valid_aws_region, "mx-central-1");
  OK(pl_valid_aws_region, "eusc-de-east-1");
  OK(pl_valid_aws_region, "ap-southeast-8"); /* a region not yet named keeps AWS's words */
  BAD(pl_valid_aws_region, "xx-east-1");     /* no such area */
  BAD(pl_valid_aws_region, "us-east-123");
  /* a typo of the middle word, with the word it was likely meant to be */
  CHECK(strstr(pl_valid_aws_region("us-eest-1", 9), "(did you mean east?)") != NULL);
  CHECK(strstr(pl_valid_aws_region("eu-centrl-1", 11), "(did you mean central?)") != NULL);
  CHECK(strstr(pl_valid_aws_region("eu-zzzzzzz-1", 12), "did you mean") == NULL);
  CHECK(strstr(pl_valid_aws_region("xx-east-1", 9), "it begins with us, eu") != NULL);

  OK(pl_valid_ic_region, "US_WEST_2");
  OK(pl_valid_ic_region, "AP_SOUTHEAST_1");
  BAD(pl_valid_ic_region, "us-west-2");
  BAD(pl_valid_ic_region, "US_WEST");
  BAD(pl_valid_ic_region, "US-WEST-2");
  BAD(pl_valid_ic_region, "US_WEST_2a");
  CHECK(strstr(pl_valid_ic_region("US_WSET_2", 9), "(did you mean WEST?)") != NULL);

  OK(pl_valid_hex32, "8185f87d043f4519a68420a282b5e2fa");
  BAD(pl_valid_hex32, "8185f87d043f4519a68420a282b5e2f");
  BAD(pl_valid_hex32, "8185F87D043F4519A68420A282B5E2FA");

  OK(pl_valid_hw_limit, "0");
  OK(pl_valid_hw_limit, "2000");
  BAD(pl_valid_hw_limit, "2001");
  BAD(pl_valid_hw_limit, "");
  BAD(pl_valid_hw_limit, "-1");
  BAD(pl_valid_hw_limit, "10000");
  BAD(pl_valid_hw_limit, "1.5");
  CHECK(pl_valid_by_name("hw_limit") == pl_valid_hw_limit);
  CHECK(pl_valid_by_name("uuid") == pl_valid_uuid);
  CHECK(pl_valid_by_name("nope") == NULL);

  pl_buf out;
  pl_buf_init(&out);
  const char *kv[] = {"cdc", "aabc665c-8916-40ae-978c-96d39a3a1364", "id", "a b/c", NULL, NULL};
  const char *bad = NULL;
  size_t badlen = 0;
  CHECK(pl_path_expand("/provisioning/v1/vpc-peering/{cdc}/{id}", lookup, (void *)kv, &out, &bad, &badlen) == 0);
  CHECK(strcmp(out.data, "/provisioning/v1/vpc-peering/aabc665c-8916-40ae-978c-96d39a3a1364/a%20b%2Fc") == 0);
  CHECK(pl_path_expand("/x/{missing}/y", lookup, (void *)kv, &out, &bad, &badlen) == -1);
  CHECK(badlen == 7 && strncmp(bad, "missing", 7) == 0);
  CHECK(pl_path_expand("/plain", lookup, (void *)kv, &out, &bad, &badlen) == 0 && strcmp(out.data, "/plain") == 0);
  pl_buf_free(&out);

  /* did you mean: two edits at most, letters without case, not the word itself */
  static const char *const words[] = {"CASSANDRA", "KAFKA", "dry-run", "json", NULL};
  const char *near = pl_nearest("CASANDRA", 8, words);
  CHECK(near && strcmp(near, "CASSANDRA") == 0);
  near = pl_nearest("kafak", 5, words); /* two changes */
  CHECK(near && strcmp(near, "KAFKA") == 0);
  near = pl_nearest("dryrun", 6, words);
  CHECK(near && strcmp(near, "dry-run") == 0);
  CHECK(pl_nearest("KAFKA", 5, words) == NULL);   /* a word of the list: nothing to suggest */
  CHECK(pl_nearest("REDIS", 5, words) == NULL);   /* near none */
  CHECK(pl_nearest("jsonxyz", 7, words) == NULL); /* three edits */
  CHECK(pl_nearest("CASANDR", 4, words) == NULL); /* only len letters count: "CASA" */
  /* the word s begins, up to an underscore, when it is the only one */
  static const char *const args[] = {"cidr_block", "cluster_id", "cluster_name", "vpc_id", NULL};
  near = pl_nearest("cidr", 4, args);
  CHECK(near && strcmp(near, "cidr_block") == 0);
  CHECK(pl_nearest("cluster", 7, args) == NULL); /* two words begin so */
  CHECK(pl_nearest("vp", 2, args) == NULL);      /* too short to say */
  return check_report("valid");
}
