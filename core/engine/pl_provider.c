/* The providers' operations as data. Sources: shared/seeds/ and
 * shared/providers.md (section numbers below). */
#include "pl_provider.h"

#include <ctype.h>
#include <string.h>

/* The tables below are laid out by hand, a row per operation or field. */
/* clang-format off */
#define END {NULL, NULL, 0, 0, 0, NULL, 0, 0, NULL, NULL}
#define PATH(n, f, chk) {n, f, PL_IN_PATH, PL_T_STRING, 1, chk, 0, 0, NULL, NULL}

static const char *const configured_status[] = {"active", "disabled", NULL};
/* Firewall rule types: the union of FirewallRuleTypesV2 in the Instaclustr
 * API v2 OpenAPI spec (shared/reference/instaclustr_api_v2_openapi.yaml, the
 * spec of instaclustr/operator's mock server) and the allowed values of
 * `type` in instaclustr/terraform-provider-instaclustr
 * docs/resources/cluster_network_firewall_rule_v2.md, which adds CADENCE_HTTP_API,
 * CLICKHOUSE and CLICKHOUSE_WEB. An open list: a well-formed type not here is
 * sent when written "raw:TYPE" (lua_provider.c). */
const char *const pl_firewall_types[] = {
  "APACHE_ZOOKEEPER", "CADENCE", "CADENCE_GRPC", "CADENCE_HTTP_API", "CADENCE_WEB", "CASSANDRA",
  "CASSANDRA_CQL", "CLICKHOUSE", "CLICKHOUSE_WEB", "COUCHBASE", "COUCHBASE_MEMCACHED_SSL",
  "DEBEZIUM_CONNECTOR_CASSANDRA_KAFKA", "DEBEZIUM_CONNECTOR_CASSANDRA_SCHEMA", "ELASTICSEARCH", "KAFKA",
  "KAFKA_CONNECT", "KAFKA_ENCRYPTION", "KAFKA_MTLS", "KAFKA_NO_ENCRYPTION", "KAFKA_PRIVATE_PLAINTEXT_LISTENER",
  "KAFKA_PRIVATE_SASL_PLAINTEXT_LISTENER", "KAFKA_PRIVATE_SSL_LISTENER", "KAFKA_PUBLIC_PLAINTEXT_LISTENER",
  "KAFKA_PUBLIC_SASL_PLAINTEXT_LISTENER", "KAFKA_PUBLIC_SSL_LISTENER", "KAFKA_REST_PROXY", "KAFKA_SCHEMA_REGISTRY",
  "KARAPACE_REST_PROXY", "KARAPACE_SCHEMA_REGISTRY", "MONGODB", "OPENSEARCH", "OPENSEARCH_DASHBOARDS", "PGBOUNCER",
  "POSTGRESQL", "REDIS", "SEARCH_DASHBOARDS", "SECURE_APACHE_ZOOKEEPER", "SHOTOVER_PROXY", "SPARK",
  "SPARK_JOBSERVER", NULL};
/* ---- Instaclustr v1 (seed 000, providers.md 1.2, 1.3) ------------------- */

#define IC1_PEERING "/provisioning/v1/vpc-peering/{cluster_data_centre_id}"
#define IC1_FIREWALL "/provisioning/v1/{cluster_id}/firewallRules/"

static const pl_param ic1_create[] = {
  PATH("cluster_data_centre_id", "clusterDataCentreId", "uuid"),
  {"peer_account_id", "peerAccountId", PL_IN_BODY, PL_T_STRING, 1, "aws_account", 0, 0, NULL, NULL},
  {"peer_vpc_id", "peerVpcId", PL_IN_BODY, PL_T_STRING, 1, "aws_vpc", 0, 0, NULL, NULL},
  {"peer_subnet", "peerSubnet", PL_IN_BODY, PL_T_STRING, 0, "cidr4", 0, 0, NULL, NULL},
  {"peer_subnets", "peerSubnets", PL_IN_BODY, PL_T_STRINGS, 0, "cidr4", 0, 0, NULL, NULL},
  {"peer_region", "peerRegion", PL_IN_BODY, PL_T_STRING, 0, "ic_region", 0, 0, NULL, NULL},
  {"add_network_to_firewall_rules", "addNetworkToFirewallRules", PL_IN_BODY, PL_T_BOOL, 0, NULL, 0, 0, NULL, NULL},
  END};
static const pl_param ic1_one[] = {
  PATH("cluster_data_centre_id", "clusterDataCentreId", "uuid"),
  PATH("vpc_peering_connection_id", "vpcPeeringConnectionId", "uuid"), END};
static const pl_param ic1_list[] = {PATH("cluster_data_centre_id", "clusterDataCentreId", "uuid"), END};
static const pl_param ic1_update[] = {
  PATH("cluster_data_centre_id", "clusterDataCentreId", "uuid"),
  PATH("vpc_peering_connection_id", "vpcPeeringConnectionId", "uuid"),
  {"peer_subnets", "peerSubnets", PL_IN_BODY, PL_T_STRINGS, 1, "cidr4", 0, 0, NULL, NULL}, END};
static const pl_param ic1_rule[] = {
  PATH("cluster_id", "clusterId", "uuid"),
  {"network", "network", PL_IN_BODY, PL_T_STRING, 0, "cidr4", 0, 0, NULL, NULL},
  {"security_group_id", "securityGroupId", PL_IN_BODY, PL_T_STRING, 0, "nonempty", 0, 0, NULL, NULL},
  {"rules", "rules", PL_IN_BODY, PL_T_RULES, 1, NULL, 0, 0, pl_firewall_types, NULL}, END};
static const pl_param ic1_rules[] = {PATH("cluster_id", "clusterId", "uuid"), END};

static const pl_op instaclustr_v1_ops[] = {
  {"create_peering", "", "POST", IC1_PEERING, ic1_create, {202, 200, 201, 0}, NULL, NULL,
   {"peer_subnet", "peer_subnets"}, {"peer_subnet", "peer_subnets", NULL}, 0, 0, 0},
  {"get_peering", "", "GET", IC1_PEERING "/{vpc_peering_connection_id}", ic1_one, {200, 202, 0}, NULL, NULL,
   {NULL, NULL}, {NULL}, 1, 0, 0},
  {"list_peerings", "", "GET", IC1_PEERING, ic1_list, {200, 202, 0}, NULL, NULL, {NULL, NULL}, {NULL}, 1, 0, 0},
  {"update_peering", "", "PUT", IC1_PEERING "/{vpc_peering_connection_id}", ic1_update, {202, 200, 204, 0}, NULL,
   NULL, {NULL, NULL}, {NULL}, 1, 0, 0},
  {"delete_peering", "", "DELETE", IC1_PEERING "/{vpc_peering_connection_id}", ic1_one, {202, 200, 204, 0}, NULL,
   NULL, {NULL, NULL}, {NULL}, 1, 1, 0},
  {"add_firewall_rule", "", "POST", IC1_FIREWALL, ic1_rule, {202, 200, 201, 0}, NULL, NULL,
   {"network", "security_group_id"}, {"network", "security_group_id", NULL}, 1, 0, 1},
  {"list_firewall_rules", "", "GET", IC1_FIREWALL, ic1_rules, {200, 202, 0}, NULL, NULL, {NULL, NULL}, {NULL}, 1, 0,
   0},
  {"delete_firewall_rule", "", "DELETE", IC1_FIREWALL, ic1_rule, {202, 200, 204, 0}, NULL, NULL,
   {"network", "security_group_id"}, {"network", "security_group_id", NULL}, 1, 1, 0},
  {NULL, NULL, NULL, NULL, NULL, {0}, NULL, NULL, {NULL, NULL}, {NULL}, 0, 0, 0}};

/* ---- Instaclustr v2 (providers.md 1.4) ---------------------------------- */

#define IC2_PEER "/cluster-management/v2/resources/providers/aws/vpc-peers/v2"
#define IC2_RULE "/cluster-management/v2/resources/network-firewall-rules/v2"

static const pl_param ic2_create[] = {
  {"cdc_id", "cdcId", PL_IN_BODY, PL_T_STRING, 1, "uuid", 0, 0, NULL, NULL},
  {"peer_aws_account_id", "peerAwsAccountId", PL_IN_BODY, PL_T_STRING, 1, "aws_account", 0, 0, NULL, NULL},
  {"peer_vpc_id", "peerVpcId", PL_IN_BODY, PL_T_STRING, 1, "aws_vpc", 0, 0, NULL, NULL},
  {"peer_region", "peerRegion", PL_IN_BODY, PL_T_STRING, 1, "ic_region", 0, 0, NULL, NULL},
  {"peer_subnets", "peerSubnets", PL_IN_BODY, PL_T_STRINGS, 1, "cidr4", 0, 0, NULL, NULL}, END};
static const pl_param ic2_one[] = {PATH("vpc_peer_id", "vpcPeerId", "uuid"), END};
static const pl_param ic2_update[] = {
  PATH("vpc_peer_id", "vpcPeerId", "uuid"),
  {"peer_subnets", "peerSubnets", PL_IN_BODY, PL_T_STRINGS, 1, "cidr4", 0, 0, NULL, NULL}, END};
static const pl_param ic2_none[] = {END};
static const pl_param ic2_rule[] = {
  {"cluster_id", "clusterId", PL_IN_BODY, PL_T_STRING, 1, "uuid", 0, 0, NULL, NULL},
  {"network", "network", PL_IN_BODY, PL_T_STRING, 1, "cidr4", 0, 0, NULL, NULL},
  {"type", "type", PL_IN_BODY, PL_T_STRING, 1, NULL, 0, 0, pl_firewall_types, NULL}, END};
static const pl_param ic2_rule_one[] = {PATH("firewall_rule_id", "firewallRuleId", "uuid"), END};
static const pl_param ic2_rules[] = {PATH("cluster_id", "clusterId", "uuid"), END};

static const pl_op instaclustr_v2_ops[] = {
  {"create_peering", "", "POST", IC2_PEER, ic2_create, {202, 200, 201, 0}, NULL, NULL, {NULL, NULL}, {NULL}, 0, 0, 0},
  {"get_peering", "", "GET", IC2_PEER "/{vpc_peer_id}", ic2_one, {200, 0}, NULL, NULL, {NULL, NULL}, {NULL}, 1, 0, 0},
  {"list_peerings", "", "GET", "/cluster-management/v2/data-sources/providers/aws/vpc-peers/v2", ic2_none, {200, 0},
   NULL, "*.peeringRequests", {NULL, NULL}, {NULL}, 1, 0, 0},
  {"update_peering", "", "PUT", IC2_PEER "/{vpc_peer_id}", ic2_update, {202, 200, 0}, NULL, NULL, {NULL, NULL}, {NULL},
   1, 0, 0},
  {"delete_peering", "", "DELETE", IC2_PEER "/{vpc_peer_id}", ic2_one, {204, 202, 200, 0}, NULL, NULL, {NULL, NULL},
   {NULL}, 1, 1, 0},
  {"add_firewall_rule", "", "POST", IC2_RULE, ic2_rule, {202, 200, 201, 0}, NULL, NULL, {NULL, NULL}, {NULL}, 1, 0, 1},
  {"get_firewall_rule", "", "GET", IC2_RULE "/{firewall_rule_id}", ic2_rule_one, {200, 0}, NULL, NULL, {NULL, NULL},
   {NULL}, 1, 0, 0},
  {"list_firewall_rules", "", "GET", "/cluster-management/v2/data-sources/cluster/{cluster_id}/network-firewall-rules/v2",
   ic2_rules, {200, 0}, NULL, "*.firewallRules", {NULL, NULL}, {NULL}, 1, 0, 0},
  {"delete_firewall_rule", "", "DELETE", IC2_RULE "/{firewall_rule_id}", ic2_rule_one, {204, 202, 200, 0}, NULL,
   NULL, {NULL, NULL}, {NULL}, 1, 1, 0},
  {NULL, NULL, NULL, NULL, NULL, {0}, NULL, NULL, {NULL, NULL}, {NULL}, 0, 0, 0}};

/* v1 and v2 both use the AWS words (v2: providers.md 1.4); v1 answers
 * may also carry upper-case words. */
static const pl_state_map aws_states[] = {
  {"initiating-request", "pending"}, {"pending-acceptance", "pending_acceptance"},
  {"provisioning", "provisioning"}, {"active", "active"}, {"rejected", "rejected"},
  {"expired", "expired"}, {"failed", "failed"}, {"not-operable", "failed"},
  {"deleting", "deleting"}, {"deleted", "deleted"},
  {"PENDING_ACCEPTANCE", "pending_acceptance"}, {"PROVISIONING", "provisioning"},
  {"ACTIVE", "active"}, {"REJECTED", "rejected"}, {"EXPIRED", "expired"}, {"FAILED", "failed"},
  {"DELETING", "deleting"}, {"DELETED", "deleted"}, {NULL, NULL}};

/* ---- Huawei Cloud Stream + VPC (seed 001, providers.md 2.4, 2.5) -------- */

#define HW_CS "/v1.0/{project_id}/reserved_cluster/{cluster_id}/peering"

static const pl_param hw_create[] = {
  PATH("project_id", "project_id", "hex32"),
  PATH("cluster_id", "cluster_id", "nonempty"),
  {"vpc_id", "vpc_id", PL_IN_BODY, PL_T_STRING, 1, "uuid", 0, 0, NULL, NULL},
  {"name", "name", PL_IN_BODY, PL_T_STRING, 1, NULL, 1, 64, NULL, NULL},
  {"accept_tenant_id", "accept_tenant_id", PL_IN_BODY, PL_T_STRING, 0, "hex32", 0, 0, NULL, NULL}, END};
static const pl_param hw_list[] = {
  PATH("project_id", "project_id", "hex32"), PATH("cluster_id", "cluster_id", "nonempty"), END};
static const pl_param hw_one[] = {
  PATH("project_id", "project_id", "hex32"), PATH("cluster_id", "cluster_id", "nonempty"),
  PATH("peering_id", "peering_id", "uuid"), END};
static const pl_param hw_vpc_one[] = {PATH("peering_id", "peering_id", "uuid"), END};
/* GET /v2.0/vpc/peerings filters and paging (Huawei VPC API reference,
 * ListVpcPeerings, support.huaweicloud.com/api-vpc/vpc_peering_0001.html:
 * id, name (64 at most), status, tenant_id, vpc_id; limit 0..2000, default
 * 2000; marker the id of the record after which a page starts) */
static const char *const hw_vpc_statuses[] = {"PENDING_ACCEPTANCE", "REJECTED", "EXPIRED", "DELETED", "ACTIVE", NULL};
static const pl_param hw_vpc_list[] = {
  {"id", "id", PL_IN_QUERY, PL_T_STRING, 0, "uuid", 0, 0, NULL, NULL},
  {"name", "name", PL_IN_QUERY, PL_T_STRING, 0, NULL, 1, 64, NULL, NULL},
  {"status", "status", PL_IN_QUERY, PL_T_STRING, 0, NULL, 0, 0, hw_vpc_statuses, NULL},
  {"tenant_id", "tenant_id", PL_IN_QUERY, PL_T_STRING, 0, "hex32", 0, 0, NULL, NULL},
  {"vpc_id", "vpc_id", PL_IN_QUERY, PL_T_STRING, 0, "uuid", 0, 0, NULL, NULL},
  {"limit", "limit", PL_IN_QUERY, PL_T_WHOLE, 0, "hw_limit", 0, 0, NULL, NULL},
  {"marker", "marker", PL_IN_QUERY, PL_T_STRING, 0, "uuid", 0, 0, NULL, NULL}, END};

/* KeystoneListProjects, GET /v3/projects?name= (huaweicloud-sdk-go-v3:
 * core/auth/internal/iam_service.go looks a project id up by its name this
 * way; services/iam/v3/model/model_keystone_list_projects_response.go, the
 * answer {links, projects = [{id, name, domain_id, parent_id, ...}]}).
 * The name's bound of 64 characters is a model: no source here states it. */
static const pl_param hw_projects[] = {{"name", "name", PL_IN_QUERY, PL_T_STRING, 0, NULL, 1, 64, NULL, NULL}, END};

static const pl_op huawei_ops[] = {
  {"create_peering", "cs", "POST", HW_CS, hw_create, {200, 201, 0}, NULL, "peering", {NULL, NULL}, {NULL}, 0, 0, 0},
  {"list_peerings", "cs", "GET", HW_CS, hw_list, {200, 0}, NULL, "peerings", {NULL, NULL}, {NULL}, 1, 0, 0},
  {"delete_peering", "cs", "DELETE", HW_CS "/{peering_id}", hw_one, {204, 200, 202, 0}, NULL, NULL, {NULL, NULL},
   {NULL}, 1, 1, 0},
  {"get_vpc_peering", "vpc", "GET", "/v2.0/vpc/peerings/{peering_id}", hw_vpc_one, {200, 0}, NULL, "peering",
   {NULL, NULL}, {NULL}, 1, 0, 0},
  {"list_vpc_peerings", "vpc", "GET", "/v2.0/vpc/peerings", hw_vpc_list, {200, 0}, NULL, "peerings", {NULL, NULL},
   {NULL}, 1, 0, 0},
  {"accept_peering", "vpc", "PUT", "/v2.0/vpc/peerings/{peering_id}/accept", hw_vpc_one, {200, 0}, NULL, NULL,
   {NULL, NULL}, {NULL}, 1, 0, 0},
  {"reject_peering", "vpc", "PUT", "/v2.0/vpc/peerings/{peering_id}/reject", hw_vpc_one, {200, 0}, NULL, NULL,
   {NULL, NULL}, {NULL}, 1, 0, 0},
  {"list_projects", "iam", "GET", "/v3/projects", hw_projects, {200, 0}, NULL, "projects", {NULL, NULL}, {NULL}, 1, 0, 0},
  {NULL, NULL, NULL, NULL, NULL, {0}, NULL, NULL, {NULL, NULL}, {NULL}, 0, 0, 0}};

static const pl_state_map huawei_states[] = {
  {"PENDING_ACCEPTANCE", "pending_acceptance"}, {"ACTIVE", "active"}, {"REJECTED", "rejected"},
  {"EXPIRED", "expired"}, {"DELETED", "deleted"}, {NULL, NULL}};

/* ---- Aerospike Cloud (seed 002, providers.md 3.2) ----------------------- */

#define AS_PEERINGS "/database/clusters/{cluster_id}/vpc-peerings"

static const pl_param as_create[] = {
  PATH("cluster_id", "clusterId", "uuid"),
  {"vpc_id", "vpcId", PL_IN_BODY, PL_T_STRING, 1, "aws_vpc", 0, 0, NULL, NULL},
  {"cidr_block", "cidrBlock", PL_IN_BODY, PL_T_STRING, 1, "cidr4", 0, 0, NULL, NULL},
  {"account_id", "accountId", PL_IN_BODY, PL_T_STRING, 1, "aws_account", 0, 0, NULL, NULL},
  {"region", "region", PL_IN_BODY, PL_T_STRING, 1, "aws_region", 0, 0, NULL, NULL},
  /* required by VPCPeeringCreateSchema, default true
   * (shared/reference/aerospike_cloud_public_api_v1_openapi.yaml) */
  {"is_secure_connection", "isSecureConnection", PL_IN_BODY, PL_T_BOOL, 0, NULL, 0, 0, NULL, "true"}, END};
static const pl_param as_list[] = {
  PATH("cluster_id", "clusterId", "uuid"),
  /* 10 a page unless asked, 100 at most (OffsetParam, LimitParam): the
   * most, so that few pages cover every peering */
  {"limit", "limit", PL_IN_QUERY, PL_T_STRING, 0, NULL, 0, 0, NULL, "100"},
  {"offset", "offset", PL_IN_QUERY, PL_T_STRING, 0, NULL, 0, 0, NULL, NULL}, END};
static const pl_param as_one[] = {
  PATH("cluster_id", "clusterId", "uuid"), PATH("peering_id", "peeringId", "nonempty"), END};

static const pl_op aerospike_ops[] = {
  {"create_peering", "", "POST", AS_PEERINGS, as_create, {201, 200, 0}, NULL, NULL, {NULL, NULL}, {NULL}, 0, 0, 0},
  {"list_peerings", "", "GET", AS_PEERINGS, as_list, {200, 0}, NULL, "vpcPeerings", {NULL, NULL}, {NULL}, 1, 0, 0},
  {"delete_peering", "", "DELETE", AS_PEERINGS "/{peering_id}", as_one, {204, 200, 202, 0}, NULL, NULL,
   {NULL, NULL}, {NULL}, 1, 1, 0},
  {NULL, NULL, NULL, NULL, NULL, {0}, NULL, NULL, {NULL, NULL}, {NULL}, 0, 0, 0}};

/* ---- UpCloud (seeds 003, 004, providers.md 4.2) ------------------------- */

static const pl_param uc_create[] = {
  {"name", "name", PL_IN_BODY, PL_T_STRING, 1, NULL, 1, 255, NULL, NULL},
  {"configured_status", "configured_status", PL_IN_BODY, PL_T_STRING, 0, NULL, 0, 0, configured_status, NULL},
  {"network", "network.uuid", PL_IN_BODY, PL_T_STRING, 1, "uuid", 0, 0, NULL, NULL},
  {"peer_network", "peer_network.uuid", PL_IN_BODY, PL_T_STRING, 1, "uuid", 0, 0, NULL, NULL},
  {"labels", "labels", PL_IN_BODY, PL_T_LABELS, 0, NULL, 0, 0, NULL, NULL}, END};
static const pl_param uc_one[] = {PATH("uuid", "uuid", "uuid"), END};
static const pl_param uc_list[] = {{"label", "label", PL_IN_QUERY, PL_T_STRINGS, 0, "nonempty", 0, 0, NULL, NULL}, END};
static const pl_param uc_update[] = {
  PATH("uuid", "uuid", "uuid"),
  {"name", "name", PL_IN_BODY, PL_T_STRING, 0, NULL, 1, 255, NULL, NULL},
  {"configured_status", "configured_status", PL_IN_BODY, PL_T_STRING, 0, NULL, 0, 0, configured_status, NULL},
  {"labels", "labels", PL_IN_BODY, PL_T_LABELS, 0, NULL, 0, 0, NULL, NULL}, END};

static const pl_op upcloud_ops[] = {
  {"create_peering", "", "POST", "/network-peering", uc_create, {201, 200, 0}, "network_peering", "network_peering",
   {NULL, NULL}, {NULL}, 0, 0, 0},
  {"get_peering", "", "GET", "/network-peering/{uuid}", uc_one, {200, 0}, NULL, "network_peering", {NULL, NULL},
   {NULL}, 1, 0, 0},
  {"list_peerings", "", "GET", "/network-peering", uc_list, {200, 0}, NULL, "network_peerings.network_peering",
   {NULL, NULL}, {NULL}, 1, 0, 0},
  {"update_peering", "", "PATCH", "/network-peering/{uuid}", uc_update, {200, 202, 0}, "network_peering",
   "network_peering", {NULL, NULL}, {"name", "configured_status", "labels"}, 1, 0, 0},
  {"delete_peering", "", "DELETE", "/network-peering/{uuid}", uc_one, {204, 200, 202, 0}, NULL, NULL, {NULL, NULL},
   {NULL}, 1, 1, 0},
  {NULL, NULL, NULL, NULL, NULL, {0}, NULL, NULL, {NULL, NULL}, {NULL}, 0, 0, 0}};

static const pl_state_map upcloud_states[] = {
  {"active", "active"}, {"pending-peer", "pending_acceptance"}, {"provisioning", "provisioning"},
  {"disabled", "disabled"}, {"peer-disabled", "disabled"}, {"conflict-subnet", "failed"},
  {"missing-local-router", "failed"}, {"missing-peer-router", "failed"},
  {"deleted-peer-network", "failed"}, {"error", "failed"}, {"deleted", "deleted"}, {NULL, NULL}};

/* ---- Aiven project VPC peering (seed 003, providers.md 5.2) ------------- */

#define AV_VPC "/v1/project/{project}/vpcs/{project_vpc_id}"

static const pl_param av_create[] = {
  {"project", "project", PL_IN_PATH, PL_T_STRING, 1, "nonempty", 1, 63, NULL, NULL},
  PATH("project_vpc_id", "project_vpc_id", "uuid"),
  {"peer_cloud_account", "peer_cloud_account", PL_IN_BODY, PL_T_STRING, 1, "nonempty", 1, 128, NULL, NULL},
  {"peer_vpc", "peer_vpc", PL_IN_BODY, PL_T_STRING, 1, "nonempty", 1, 128, NULL, NULL},
  {"peer_region", "peer_region", PL_IN_BODY, PL_T_STRING, 0, "nonempty", 1, 64, NULL, NULL},
  {"user_peer_network_cidrs", "user_peer_network_cidrs", PL_IN_BODY, PL_T_STRINGS, 0, "cidr4", 0, 0, NULL, NULL}, END};
static const pl_param av_list[] = {
  {"project", "project", PL_IN_PATH, PL_T_STRING, 1, "nonempty", 1, 63, NULL, NULL},
  PATH("project_vpc_id", "project_vpc_id", "uuid"), END};
static const pl_param av_delete[] = {
  {"project", "project", PL_IN_PATH, PL_T_STRING, 1, "nonempty", 1, 63, NULL, NULL},
  PATH("project_vpc_id", "project_vpc_id", "uuid"),
  {"peer_cloud_account", "peer_cloud_account", PL_IN_PATH, PL_T_STRING, 1, "nonempty", 1, 128, NULL, NULL},
  {"peer_vpc", "peer_vpc", PL_IN_PATH, PL_T_STRING, 1, "nonempty", 1, 128, NULL, NULL}, END};

static const pl_op aiven_ops[] = {
  {"create_peering", "", "POST", AV_VPC "/peering-connections", av_create, {200, 201, 0}, NULL, NULL,
   {NULL, NULL}, {NULL}, 0, 0, 0},
  {"list_peerings", "", "GET", AV_VPC, av_list, {200, 0}, NULL, "peering_connections", {NULL, NULL}, {NULL}, 1, 0, 0},
  {"delete_peering", "", "DELETE", AV_VPC "/peering-connections/peer-accounts/{peer_cloud_account}/peer-vpcs/{peer_vpc}",
   av_delete, {200, 202, 204, 0}, NULL, NULL, {NULL, NULL}, {NULL}, 1, 1, 0},
  {NULL, NULL, NULL, NULL, NULL, {0}, NULL, NULL, {NULL, NULL}, {NULL}, 0, 0, 0}};

/* providers.md 5.3 */
static const pl_state_map aiven_states[] = {
  {"APPROVED", "pending"}, {"APPROVED_PEER_REQUESTED", "pending"}, {"PENDING_PEER", "pending_acceptance"},
  {"ACTIVE", "active"}, {"REJECTED_BY_PEER", "rejected"}, {"INVALID_SPECIFICATION", "failed"},
  {"DELETING", "deleting"}, {"DELETED", "deleted"}, {"DELETED_BY_PEER", "deleted"},
  /* ERROR: in VpcPeeringConnectionStateTypeChoices, aiven/go-client-codegen handler/vpc/vpc.go */
  {"ERROR", "failed"}, {NULL, NULL}};

/* ---- AWS: EC2, STS, Route 53 (the customer's side of a peering) ----------
 * EC2 Query API version 2016-11-15 and STS 2011-06-15: POST "/" with the
 * action and its parameters form-encoded (lua_wire.c, by aws_services;
 * `field` is the wire name, lists go out as FIELD.N); Route 53 2013-04-01 is
 * REST with XML bodies (lua_wire.c: the op's wrap is the root element, the
 * body parameters its children in the table's order). Names and shapes: botocore's service-2.json of each
 * (ec2/2016-11-15, sts/2011-06-15, route53/2013-04-01); list parameters use
 * their locationName (VpcPeeringConnectionIds -> VpcPeeringConnectionId.N,
 * Filters -> Filter.N.Name / Filter.N.Value.M). Results are where the XML
 * answer holds them (lua_xml.c: <item> lists become arrays). */

#define AWS_PCX(req) {"vpc_peering_connection_id", "VpcPeeringConnectionId", PL_IN_QUERY, PL_T_STRING, req, "aws_pcx", 0, 0, NULL, NULL}
#define AWS_FILTERS {"filters", "Filter", PL_IN_QUERY, PL_T_TABLE, 0, NULL, 0, 0, NULL, NULL}

static const pl_param aws_describe_pcx[] = {
  {"vpc_peering_connection_ids", "VpcPeeringConnectionId", PL_IN_QUERY, PL_T_STRINGS, 0, "aws_pcx", 0, 0, NULL, NULL},
  AWS_FILTERS, END};
static const pl_param aws_one_pcx[] = {AWS_PCX(1), END};
static const pl_param aws_describe_rtb[] = {
  {"route_table_ids", "RouteTableId", PL_IN_QUERY, PL_T_STRINGS, 0, "aws_rtb", 0, 0, NULL, NULL}, AWS_FILTERS, END};
static const pl_param aws_create_route[] = {
  {"route_table_id", "RouteTableId", PL_IN_QUERY, PL_T_STRING, 1, "aws_rtb", 0, 0, NULL, NULL},
  {"destination_cidr_block", "DestinationCidrBlock", PL_IN_QUERY, PL_T_STRING, 1, "cidr4", 0, 0, NULL, NULL},
  AWS_PCX(1), END};
static const pl_param aws_delete_route[] = {
  {"route_table_id", "RouteTableId", PL_IN_QUERY, PL_T_STRING, 1, "aws_rtb", 0, 0, NULL, NULL},
  {"destination_cidr_block", "DestinationCidrBlock", PL_IN_QUERY, PL_T_STRING, 1, "cidr4", 0, 0, NULL, NULL}, END};
static const pl_param aws_describe_sg[] = {
  {"group_ids", "GroupId", PL_IN_QUERY, PL_T_STRINGS, 0, "aws_sg", 0, 0, NULL, NULL}, AWS_FILTERS, END};
static const pl_param aws_ingress[] = {
  {"group_id", "GroupId", PL_IN_QUERY, PL_T_STRING, 1, "aws_sg", 0, 0, NULL, NULL},
  {"ip_permissions", "IpPermissions", PL_IN_QUERY, PL_T_TABLE, 1, NULL, 0, 0, NULL, NULL}, END};
static const pl_param aws_none[] = {END};
/* RoleSessionName: 2 to 64 characters (sts AssumeRoleRequest, roleSessionNameType) */
static const pl_param aws_assume_role[] = {
  {"role_arn", "RoleArn", PL_IN_QUERY, PL_T_STRING, 1, "aws_role_arn", 0, 0, NULL, NULL},
  {"role_session_name", "RoleSessionName", PL_IN_QUERY, PL_T_STRING, 1, "nonempty", 2, 64, NULL, NULL}, END};
/* in the element order of botocore's shapes (AssociateVPCWithHostedZoneRequest:
 * VPC, Comment; VPC: VPCRegion, VPCId) */
static const pl_param aws_zone_vpc[] = {
  PATH("hosted_zone_id", "Id", "nonempty"),
  {"vpc_region", "VPC.VPCRegion", PL_IN_BODY, PL_T_STRING, 1, "aws_region", 0, 0, NULL, NULL},
  {"vpc_id", "VPC.VPCId", PL_IN_BODY, PL_T_STRING, 1, "aws_vpc", 0, 0, NULL, NULL},
  {"comment", "Comment", PL_IN_BODY, PL_T_STRING, 0, NULL, 0, 256, NULL, NULL}, END};
static const pl_param aws_change[] = {PATH("id", "Id", "nonempty"), END};
/* ListHostedZonesByVPC: the query's vpcid and vpcregion */
static const pl_param aws_zones_by_vpc[] = {
  {"vpc_id", "vpcid", PL_IN_QUERY, PL_T_STRING, 1, "aws_vpc", 0, 0, NULL, NULL},
  {"vpc_region", "vpcregion", PL_IN_QUERY, PL_T_STRING, 1, "aws_region", 0, 0, NULL, NULL}, END};

/* The Query APIs' versions: EC2 API Reference and STS API Reference (the
 * Version parameter of every action; botocore ec2/2016-11-15, sts/2011-06-15);
 * Route 53's XML namespace (Route 53 API Reference, each action's request
 * syntax; botocore route53/2013-04-01, xmlNamespace). */
static const pl_service aws_services[] = {
  {"ec2", "2016-11-15", NULL}, {"sts", "2011-06-15", NULL},
  {"route53", NULL, "https://route53.amazonaws.com/doc/2013-04-01/"}, {NULL, NULL, NULL}};

#define R53 "/2013-04-01"
/* A retried accept, route or rule that landed the first time is answered
 * with an error code that providers/aws.lua takes as done (RouteAlreadyExists,
 * InvalidPermission.Duplicate): these are safe to resend. */
static const pl_op aws_ops[] = {
  {"describe_vpc_peering_connections", "ec2", "POST", "/", aws_describe_pcx, {200, 0}, NULL,
   "vpcPeeringConnectionSet", {NULL, NULL}, {NULL}, 1, 0, 0},
  {"accept_vpc_peering_connection", "ec2", "POST", "/", aws_one_pcx, {200, 0}, NULL, "vpcPeeringConnection",
   {NULL, NULL}, {NULL}, 1, 0, 0},
  {"reject_vpc_peering_connection", "ec2", "POST", "/", aws_one_pcx, {200, 0}, NULL, NULL, {NULL, NULL}, {NULL}, 1,
   0, 0},
  {"describe_route_tables", "ec2", "POST", "/", aws_describe_rtb, {200, 0}, NULL, "routeTableSet", {NULL, NULL},
   {NULL}, 1, 0, 0},
  {"create_route", "ec2", "POST", "/", aws_create_route, {200, 0}, NULL, NULL, {NULL, NULL}, {NULL}, 1, 0, 0},
  {"delete_route", "ec2", "POST", "/", aws_delete_route, {200, 0}, NULL, NULL, {NULL, NULL}, {NULL}, 1, 0, 0},
  {"describe_security_groups", "ec2", "POST", "/", aws_describe_sg, {200, 0}, NULL, "securityGroupInfo",
   {NULL, NULL}, {NULL}, 1, 0, 0},
  {"authorize_security_group_ingress", "ec2", "POST", "/", aws_ingress, {200, 0}, NULL, NULL, {NULL, NULL}, {NULL},
   1, 0, 0},
  {"revoke_security_group_ingress", "ec2", "POST", "/", aws_ingress, {200, 0}, NULL, NULL, {NULL, NULL}, {NULL}, 1,
   0, 0},
  {"get_caller_identity", "sts", "POST", "/", aws_none, {200, 0}, NULL, "GetCallerIdentityResult", {NULL, NULL},
   {NULL}, 1, 0, 0},
  {"assume_role", "sts", "POST", "/", aws_assume_role, {200, 0}, NULL, "AssumeRoleResult", {NULL, NULL}, {NULL}, 1,
   0, 0},
  {"associate_vpc_with_hosted_zone", "route53", "POST", R53 "/hostedzone/{hosted_zone_id}/associatevpc",
   aws_zone_vpc, {200, 0}, "AssociateVPCWithHostedZoneRequest", "ChangeInfo", {NULL, NULL}, {NULL}, 1, 0, 0},
  {"disassociate_vpc_from_hosted_zone", "route53", "POST", R53 "/hostedzone/{hosted_zone_id}/disassociatevpc",
   aws_zone_vpc, {200, 0}, "DisassociateVPCFromHostedZoneRequest", "ChangeInfo", {NULL, NULL}, {NULL}, 1, 0, 0},
  {"get_change", "route53", "GET", R53 "/change/{id}", aws_change, {200, 0}, NULL, "ChangeInfo", {NULL, NULL},
   {NULL}, 1, 0, 0},
  {"list_hosted_zones_by_vpc", "route53", "GET", R53 "/hostedzonesbyvpc", aws_zones_by_vpc, {200, 0}, NULL,
   "HostedZoneSummaries", {NULL, NULL}, {NULL}, 1, 0, 0},
  {NULL, NULL, NULL, NULL, NULL, {0}, NULL, NULL, {NULL, NULL}, {NULL}, 0, 0, 0}};

/* VpcPeeringConnectionStateReasonCode (ec2 service-2.json) */
static const pl_state_map aws_pcx_states[] = {
  {"initiating-request", "pending"}, {"pending-acceptance", "pending_acceptance"}, {"provisioning", "provisioning"},
  {"active", "active"}, {"rejected", "rejected"}, {"expired", "expired"}, {"failed", "failed"},
  {"deleting", "deleting"}, {"deleted", "deleted"}, {NULL, NULL}};

/* ---- error answers (pl_error_shape: where each provider's error says what) */

/* Instaclustr v2: ErrorListResponseV2 {"errors":[{"name","message"}]} (404s)
 * and ErrorResponseV2 {"name","message"} (409) (providers.md 1.4). v1:
 * {"status","message","errorDetails","code","link"}, code a number (seed
 * 000's response samples); "error" where no message is a model (no source
 * shows it). errorDetails is left out: its shape is an empty object in the
 * seed, nothing says what it holds. */
static const pl_error_shape instaclustr_errors[] = {
  {.message = "errors.1.message", .code = "errors.1.name"},
  {.message = "message|error", .code = "name|code"},
  {0}};

/* {"error":{"code","message"}} (the IAM token API's, huaweicloud-sdk-python-v3
 * huaweicloudsdkcore/exceptions/exception_handler.py) or the common
 * {"error_code","error_msg","request_id"?} (providers.md 2.6). The request id
 * is the X-Request-Id header, which is all the SDK reads (same file,
 * DefaultExceptionHandler); the body's is the fallback. */
static const pl_error_shape huawei_errors[] = {
  {.message = "error.message", .code = "error.code", .request_id = "@x-request-id"},
  {.message = "error_msg", .code = "error_code", .request_id = "@x-request-id|request_id"},
  {0}};

/* A 401 whose type says the token expired: the emulator's word for it
 * (UNCONFIRMED: providers.md 3.3 publishes the URN's form and
 * auth:unauthorized only); a 401 is asked about anyway, this says a fresh
 * token is worth an attempt even when none is held. */
static const pl_busy aerospike_stale[] = {{"*", 401, "auth:token-expired"}, {NULL, 0, NULL}};

/* RFC 9457 problem details: type "urn:aerospike:errors:{category}:{specific}",
 * title, detail, and context.invalid [{field, type, description}] for a
 * validation error (seed 002, ProblemDetails); X-Request-Id on every answer
 * (providers.md 3.3). */
static const pl_error_shape aerospike_errors[] = {
  {.message = "detail|title", .code = "type", .code_from = PL_CODE_TYPE_URI, .request_id = "@x-request-id",
   .details = "context.invalid"},
  {0}};

/* application/problem+json {"type","title","status","correlation_id"?,
 * "invalid_params"?:[{"name","reason"}]}, the code the fragment of type less
 * ERROR_ (upcloud-go-api upcloud/problem.go; fixture
 * upcloud/problem_validation_error.json), dispatched on the Content-Type;
 * else the legacy {"error":{"error_code","error_message"}} (fixture
 * upcloud/errorhandling.cassette.yaml) (providers.md 4.4). */
static const pl_error_shape upcloud_errors[] = {
  {.content_type = "problem+json", .message = "detail|title", .code = "type", .code_from = PL_CODE_TYPE_URI,
   .request_id = "correlation_id", .details = "invalid_params"},
  {.message = "error.error_message", .code = "error.error_code"},
  {0}};

/* {"message","more_info","status","errors"?} (providers.md 5.4): the message
 * is the body's "message", else the body's whole text, as aiven-client shows
 * it (tests/test_client.py test_error_str, with a plain-text body and with
 * {"errors":[]}: fixture aiven/error_message_vectors.aiven-client-test.json),
 * here cut to 500 bytes. A body naming aivenv1, the auth scheme, is not
 * shown (a proxy echoing the request's headers). */
static const pl_error_shape aiven_errors[] = {
  {.message = "message"},
  {.text = 500, .hide = "aivenv1"},
  {0}};

/* AWS's error codes (EC2 API Reference, "Error codes"; the STS and Route 53
 * API references, each action's Errors) -> peerlua's; any other keeps its
 * HTTP status's. */
static const pl_code_map aws_codes[] = {
  {"AuthFailure", "auth"}, {"SignatureDoesNotMatch", "auth"}, {"InvalidClientTokenId", "auth"},
  {"ExpiredToken", "auth"}, {"RequestExpired", "auth"}, {"IncompleteSignature", "auth"},
  {"MissingAuthenticationToken", "auth"},
  {"UnauthorizedOperation", "forbidden"}, {"AccessDenied", "forbidden"}, {"OperationNotPermitted", "forbidden"},
  {"NotAuthorizedException", "forbidden"},
  {"RequestLimitExceeded", "rate_limited"}, {"Throttling", "rate_limited"}, {"ThrottlingException", "rate_limited"},
  {"PriorRequestNotComplete", "rate_limited"},
  {"RouteAlreadyExists", "conflict"}, {"InvalidPermission.Duplicate", "conflict"},
  {"ConflictingDomainExists", "conflict"},
  {"*.NotFound", "not_found"}, {"Invalid*", "invalid"}, {"Missing*", "invalid"},
  {NULL, NULL}};

/* EC2: <Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/>
 * (EC2 API Reference, "Error responses"); STS and Route 53:
 * <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>. The
 * root's content is what lua_xml.c gives; one <Error> is a table, more a
 * list. */
static const pl_error_shape aws_errors[] = {
  {.xml = 1, .code = "Errors.Error.Code|Errors.Error.1.Code|Error.Code",
   .message = "Errors.Error.Message|Errors.Error.1.Message|Error.Message", .request_id = "RequestID|RequestId",
   .codes = aws_codes},
  {0}};

/* clang-format on */

/* ---- the table ---------------------------------------------------------- */

/* A VPC peering's delete answers 409 while the peering is busy: retried,
 * as huaweicloud/terraform-provider-huaweicloud's delete loop does
 * (providers.md 2.4). That the CS peering's delete (delete_peering) answers
 * so too is a model: its pages (providers.md 2.5) list 400 and 500 only. */
static const pl_busy huawei_busy[] = {{"delete_peering", 409, NULL}, {NULL, 0, NULL}};

/* AWS's throttling words, whatever the status (EC2 answers 503
 * RequestLimitExceeded, STS 400 Throttling, Route 53 400 Throttling or
 * PriorRequestNotComplete): refused, not carried out, so a create is sent
 * again too. The four are in aws-sdk-go's aws/request/retryer.go
 * throttleCodes and in the JavaScript SDK's THROTTLING_ERROR_CODES
 * (@smithy/service-error-classification). */
static const pl_busy aws_busy[] = {{"*", 0, "RequestLimitExceeded"},
                                   {"*", 0, "Throttling"},
                                   {"*", 0, "ThrottlingException"},
                                   {"*", 0, "PriorRequestNotComplete"},
                                   {NULL, 0, NULL}};

/* AWS's expired credentials, whatever the status (EC2 answers 400
 * RequestExpired; STS and Route 53 ExpiredToken, 400 or 403): aws-sdk-go's
 * aws/request/retryer.go credsExpiredCodes. */
static const pl_busy aws_stale[] = {
    {"*", 0, "ExpiredToken"}, {"*", 0, "ExpiredTokenException"}, {"*", 0, "RequestExpired"}, {NULL, 0, NULL}};

/* EC2's answers that say the change is there already (a request whose
 * first copy landed, or a step run again) or gone already: EC2 API
 * Reference, "Error codes" (RouteAlreadyExists, InvalidPermission.Duplicate,
 * InvalidRoute.NotFound, InvalidPermission.NotFound). The first two cover
 * more than the request: a route to that destination through another
 * peering, a call of several permissions of which one was there (EC2
 * refuses the whole call): confirmed by aws.lua's confirm. */
static const pl_done aws_done[] = {
    {"create_route", "RouteAlreadyExists", PL_DONE_EXISTS, 1},
    {"authorize_security_group_ingress", "InvalidPermission.Duplicate", PL_DONE_EXISTS, 1},
    {"delete_route", "InvalidRoute.NotFound", PL_DONE_MISSING, 0},
    {"revoke_security_group_ingress", "InvalidPermission.NotFound", PL_DONE_MISSING, 0},
    {NULL, NULL, 0, 0}};

/* The peering a create asked for, among those listed (pl_match). The
 * arguments are the create's, the fields each API's peering object's:
 * Instaclustr v1 VpcPeeringConnection and v2 AwsVpcPeerV2 (providers.md
 * 1.2, 1.4; a v2 summary names no data centre), Huawei's CS peering with
 * accept_vpc_info (providers.md 2.5), Aerospike's VPCPeeringSchema,
 * UpCloud's network-peering {network, peer_network} (seed 003), Aiven's
 * peering connection (providers.md 5.2; a region only when asked for).
 * The scope: what each list operation takes (the pl_op tables
 * above). Gone: the states of a peering being or once deleted; UpCloud's
 * API has neither (providers.md 4: its states; a deleted peering is not
 * listed), so every listed peering between the two networks counts, and
 * Huawei's has no "deleting" (huawei_states). Fixed: ensure_peering
 * changes nothing in place, so a peering found with another CIDR block
 * (Aerospike) or other subnets (Instaclustr, v1's peerSubnets a list or
 * {cidrs = list}: providers.md 1.2), or in another region (both: the VPC
 * id alone may be a mistyped region's), is refused, not returned. */
static const pl_match instaclustr_match[] = {
    {"peer_vpc_id", "peerVpcId", 0},
    {"peer_account_id|peer_aws_account_id", "peerAccountId|peerAwsAccountId", 0},
    {"cluster_data_centre_id|cdc_id", "clusterDataCentre|cdcId", PL_MATCH_IF_FIELD},
    {NULL, NULL, 0}};
static const pl_fixed instaclustr_fixed[] = {
    {"peer_subnets|peer_subnet", "peerSubnets.cidrs|peerSubnets|peerSubnet", "peer subnets are", 1},
    {"peer_region", "peerRegion", "peer region is", 0},
    {NULL, NULL, NULL, 0}};
static const pl_find instaclustr_v1_find = {
    {"cluster_data_centre_id", NULL}, {"deleted", "deleting", NULL}, instaclustr_match, instaclustr_fixed};
static const pl_find instaclustr_v2_find = {
    {NULL}, {"deleted", "deleting", NULL}, instaclustr_match, instaclustr_fixed};
static const pl_match huawei_match[] = {{"name", "name", 0}, {"vpc_id", "accept_vpc_info.vpc_id", 0}, {NULL, NULL, 0}};
static const pl_find huawei_find = {{"project_id", "cluster_id", NULL}, {"deleted", NULL}, huawei_match, NULL};
static const pl_match aerospike_match[] = {{"vpc_id", "vpcId", 0}, {NULL, NULL, 0}};
static const pl_fixed aerospike_fixed[] = {
    {"cidr_block", "cidrBlock", "CIDR block is", 0}, {"region", "region", "region is", 0}, {NULL, NULL, NULL, 0}};
static const pl_find aerospike_find = {
    {"cluster_id", NULL}, {"deleted", "deleting", NULL}, aerospike_match, aerospike_fixed};
/* an UpCloud network argument is "<uuid>" or {uuid = "<uuid>"} */
static const pl_match upcloud_match[] = {{"network.uuid|network", "network.uuid", 0},
                                         {"peer_network.uuid|peer_network", "peer_network.uuid", 0},
                                         {NULL, NULL, 0}};
static const pl_find upcloud_find = {{NULL}, {NULL}, upcloud_match, NULL};
static const pl_match aiven_match[] = {{"peer_cloud_account", "peer_cloud_account", 0},
                                       {"peer_vpc", "peer_vpc", 0},
                                       {"peer_region", "peer_region", PL_MATCH_IF_ARG},
                                       {NULL, NULL, 0}};
static const pl_find aiven_find = {
    {"project", "project_vpc_id", NULL}, {"deleted", "deleting", NULL}, aiven_match, NULL};

/* A Huawei accept or reject answered 409: made already if the peering's
 * status is the one asked for (the accepter's targets, ACTIVE and
 * REJECTED, in Terraform's accepter: providers.md 2.4); that a repeated
 * accept is answered 409 is a model. */
static const pl_settled huawei_settled[] = {{"accept_peering", "get_vpc_peering", "status", "ACTIVE"},
                                            {"reject_peering", "get_vpc_peering", "status", "REJECTED"},
                                            {NULL, NULL, NULL, NULL}};

/* Pages. Aerospike's list: {count, meta = {total, limit, offset},
 * vpcPeerings} (shared/reference/aerospike_cloud_public_api_v1_openapi.yaml,
 * VpcPeeringCollectionSchema, PaginationMetadata, OffsetParam). Huawei's
 * VPC peering list, limit 2000 by default: peerings_links = {{rel = "next",
 * href = "...?limit=N&marker=ID"}} (Huawei VPC API reference,
 * ListVpcPeerings, support.huaweicloud.com/api-vpc/vpc_peering_0001.html). */
static const pl_pages aerospike_pages[] = {{"list_peerings", PL_PAGE_OFFSET, "offset", "meta.offset", "meta.total"},
                                           {NULL, 0, NULL, NULL, NULL}};
static const pl_pages huawei_pages[] = {{"list_vpc_peerings", PL_PAGE_MARKER, "marker", "peerings_links", NULL},
                                        {NULL, 0, NULL, NULL, NULL}};

/* Headers made from the credentials: Instaclustr's HTTP Basic with the
 * user name and provisioning API key, its clients naming themselves in an
 * Instaclustr-Source header (providers.md 1.1); UpCloud's
 * "Bearer ucat_..." token, else Basic with a sub-account (providers.md
 * 4.1); Aiven's "aivenv1 <token>" (providers.md 5.1). */
static const pl_auth instaclustr_auth[] = {{PL_AUTH_BASIC, "username", "api_key", NULL}, {0, NULL, NULL, NULL}};
static const pl_auth upcloud_auth[] = {
    {PL_AUTH_TOKEN, NULL, "token", "Bearer "}, {PL_AUTH_BASIC, "username", "password", NULL}, {0, NULL, NULL, NULL}};
static const pl_auth aiven_auth[] = {{PL_AUTH_TOKEN, NULL, "token", "aivenv1 "}, {0, NULL, NULL, NULL}};

/* Tokens. Aerospike's OAuth2 client credentials: POST
 * https://auth.control.aerospike.cloud/oauth/token, 200 {access_token}, sent
 * as "Authorization: Bearer" (providers.md 3.1); expires_in, and the refusal's
 * error_description or error, are OAuth 2.0's (RFC 6749 5.1, 5.2; detail is
 * RFC 9457's), UNCONFIRMED for this API: without expires_in a token is
 * taken to last an hour (a model). Huawei's IAM token: POST
 * /v3/auth/tokens, 201, the token in the X-Subject-Token header, sent as
 * X-Auth-Token, valid 24 h (providers.md 2.2); a refusal's message where
 * Huawei's error shapes put it (error.message, error_msg). */
static const pl_token aerospike_token = {"https://auth.control.aerospike.cloud/oauth/token",
                                         "/aerospike/oauth/token",
                                         {200, 0},
                                         "access_token",
                                         "Authorization",
                                         "Bearer ",
                                         "expires_in",
                                         3600,
                                         "error_description|detail|error",
                                         "an access token"};
static const pl_token huawei_token = {NULL, NULL, {201, 200, 0}, "@x-subject-token",        "X-Auth-Token",
                                      "",   NULL, 24 * 3600,     "error.message|error_msg", "an IAM token"};

/* Credentials: the environment variables the providers' own tools read
 * (providers.md 7, the table of variables), else PEERLUA_<PROVIDER>_<FIELD>
 * where no tool defines any. Not in that table: HW_USER_NAME, HW_PASSWORD
 * and HW_SECURITY_TOKEN (the Huawei Terraform provider's names for the
 * other fields, by the same pattern: a model), and AIVEN_PROJECT_NAME (what
 * Aiven's Terraform provider's and operator's acceptance tests read). */
#define NEED_SECRET (PL_CRED_NEED | PL_CRED_SECRET)
static const pl_cred instaclustr_creds[] = {{"username", {"PEERLUA_INSTACLUSTR_USERNAME"}, NEED_SECRET},
                                            {"api_key", {"PEERLUA_INSTACLUSTR_API_KEY"}, NEED_SECRET},
                                            {NULL, {NULL}, 0}};
static const pl_cred huawei_creds[] = {
    {"ak", {"HW_ACCESS_KEY", "HUAWEICLOUD_SDK_AK"}, PL_CRED_SECRET},
    {"sk", {"HW_SECRET_KEY", "HUAWEICLOUD_SDK_SK"}, PL_CRED_SECRET},
    {"security_token", {"HW_SECURITY_TOKEN", "HUAWEICLOUD_SDK_SECURITY_TOKEN"}, PL_CRED_SECRET},
    {"user", {"HW_USER_NAME"}, PL_CRED_SECRET},
    {"password", {"HW_PASSWORD"}, PL_CRED_SECRET},
    {"domain", {"HW_DOMAIN_NAME"}, 0},
    {"project_id", {"HW_PROJECT_ID", "HUAWEICLOUD_SDK_PROJECT_ID"}, 0},
    {"project_name", {"HW_PROJECT_NAME"}, 0},
    {"region", {"HW_REGION_NAME"}, PL_CRED_SETTING},
    {NULL, {NULL}, 0}};
static const pl_cred aerospike_creds[] = {{"client_id", {"PEERLUA_AEROSPIKE_CLIENT_ID"}, NEED_SECRET},
                                          {"client_secret", {"PEERLUA_AEROSPIKE_CLIENT_SECRET"}, NEED_SECRET},
                                          {NULL, {NULL}, 0}};
static const pl_cred upcloud_creds[] = {{"token", {"UPCLOUD_TOKEN"}, PL_CRED_SECRET},
                                        {"username", {"UPCLOUD_USERNAME"}, PL_CRED_SECRET},
                                        {"password", {"UPCLOUD_PASSWORD"}, PL_CRED_SECRET},
                                        {NULL, {NULL}, 0}};
static const pl_cred aiven_creds[] = {{"token", {"AIVEN_TOKEN", "AIVEN_AUTH_TOKEN"}, NEED_SECRET},
                                      {"project", {"AIVEN_PROJECT_NAME"}, 0},
                                      {NULL, {NULL}, 0}};

/* Base URLs: Instaclustr's DefaultApiHostname (providers.md 1.1); Huawei's
 * https://{service}.{region}.myhuaweicloud.com pattern, CS's host under it
 * UNCONFIRMED (providers.md 2.1); Aerospike's (providers.md 3.2); UpCloud's
 * (providers.md 4.1, seed 004's curl examples); Aiven's host, the /v1 in each
 * operation's path (providers.md 5.1); EC2's regional endpoint
 * (ec2.{region}.amazonaws.com, AWS's service endpoints). The emulator's
 * prefixes are this project's own (lua/peerlua/sim/). */
/* clang-format off */
#define INSTACLUSTR(version)                                                                          \
  .name = "instaclustr", .api = #version, .ops = instaclustr_##version##_ops, .states = aws_states, \
  .id_field = "id", .status_field = "statusCode", .rate = 35, .burst = 1, .errors = instaclustr_errors, \
  .base_url = "https://api.instaclustr.com", .sim_prefix = "/instaclustr", .creds = instaclustr_creds, \
  .find = &instaclustr_##version##_find, .auth = instaclustr_auth, .source = {"Instaclustr-Source", "peerlua"}
const pl_provider pl_providers[] = {
  {INSTACLUSTR(v1)},
  {INSTACLUSTR(v2)},
  {.name = "huawei", .api = "", .ops = huawei_ops, .states = huawei_states,
   .id_field = "id", .status_field = "status", .rate = 20, .burst = 1, .errors = huawei_errors,
   .base_url = "https://cs.{region}.myhuaweicloud.com", .sim_prefix = "/huawei", .creds = huawei_creds,
   .find = &huawei_find, .busy = huawei_busy, .settled = huawei_settled, .pages = huawei_pages,
   .token = &huawei_token},
  {.name = "aerospike", .api = "", .ops = aerospike_ops, .states = aws_states,
   .id_field = "id", .status_field = "status", .rate = 10, .burst = 1, .errors = aerospike_errors,
   .base_url = "https://api.aerospike.com/v1", .sim_prefix = "/aerospike/v1", .creds = aerospike_creds,
   .find = &aerospike_find, .pages = aerospike_pages, .token = &aerospike_token, .stale = aerospike_stale},
  {.name = "upcloud", .api = "", .ops = upcloud_ops, .states = upcloud_states,
   .id_field = "uuid", .status_field = "state", .rate = 10, .burst = 1, .errors = upcloud_errors,
   .base_url = "https://api.upcloud.com/1.3", .sim_prefix = "/upcloud/1.3", .creds = upcloud_creds,
   .find = &upcloud_find, .auth = upcloud_auth},
  /* Aiven: "Rate limit 120 exceeded" per minute, its 429 saying "- try
   * again in 28s" (providers.md 5.4, aiven/terraform-provider-aiven#575);
   * its id is made of two fields (aiven.lua, id_of); why a peering stopped
   * in state_info.message, which the avn CLI prints with the state
   * (providers.md 5.3) */
  {.name = "aiven", .api = "", .ops = aiven_ops, .states = aiven_states,
   .id_field = NULL, .status_field = "state", .reason_field = "state_info.message", .rate = 2, .burst = 1,
   .errors = aiven_errors,
   .base_url = "https://api.aiven.io", .sim_prefix = "/aiven", .creds = aiven_creds,
   .find = &aiven_find, .retry_in = "try again in ", .auth = aiven_auth},
  /* EC2's request token buckets: mutating actions refill at 5 a second
   * (bucket 200), non-mutating at 20 (bucket 100); per account and Region
   * ("Request throttling for the Amazon EC2 API",
   * docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html).
   * One key for every action: the lower rate and the smaller bucket. Its
   * credentials are AWS's own chain (aws.lua), no peering is created on
   * this side (no find). */
  {.name = "aws", .api = "", .ops = aws_ops, .states = aws_pcx_states,
   .id_field = "vpcPeeringConnectionId", .status_field = "status.code", .rate = 5, .burst = 100,
   .errors = aws_errors, .base_url = "https://ec2.{region}.amazonaws.com", .sim_prefix = "/aws",
   .busy = aws_busy, .done = aws_done, .stale = aws_stale, .services = aws_services},
  {.name = NULL}};
#undef INSTACLUSTR
/* clang-format on */

const pl_provider *pl_provider_find(const char *name, const char *api) {
  for (const pl_provider *p = pl_providers; p->name; p++)
    if (strcmp(p->name, name) == 0 && (!api || !*api || !*p->api || strcmp(p->api, api) == 0)) return p;
  return NULL;
}

const pl_op *pl_op_find(const pl_provider *p, const char *op) {
  for (const pl_op *o = p->ops; o->name; o++)
    if (strcmp(o->name, op) == 0) return o;
  return NULL;
}

static int rule_says(const pl_busy *b, const pl_op *op, int status, const char *word) {
  for (; b && b->op; b++)
    if ((!b->status || b->status == status) && (!b->word || (word && strcmp(b->word, word) == 0)) &&
        (strcmp(b->op, "*") == 0 || strcmp(b->op, op->name) == 0))
      return 1;
  return 0;
}

int pl_provider_busy(const pl_provider *p, const pl_op *op, int status, const char *word) {
  return rule_says(p->busy, op, status, word);
}

int pl_provider_stale(const pl_provider *p, const pl_op *op, int status, const char *word) {
  return rule_says(p->stale, op, status, word);
}

double pl_provider_retry_said(const pl_provider *p, int status, const char *body, size_t len) {
  size_t n = p->retry_in ? strlen(p->retry_in) : 0;
  if (status != 429 || !n || !body) return -1;
  for (size_t i = 0; i + n < len; i++) {
    if (memcmp(body + i, p->retry_in, n) != 0) continue;
    size_t j = i + n;
    double s = 0;
    int digits = 0;
    for (; j < len && isdigit((unsigned char)body[j]); j++, digits++)
      if (s <= PL_RETRY_SAID_MAX) s = s * 10 + (body[j] - '0');
    while (j < len && body[j] == ' ') j++;
    if (digits && j < len && body[j] == 's') return s < PL_RETRY_SAID_MAX ? s : PL_RETRY_SAID_MAX;
  }
  return -1;
}

const pl_done *pl_provider_done(const pl_provider *p, const pl_op *op, const char *word) {
  for (const pl_done *d = p->done; d && d->op && word; d++)
    if (strcmp(d->word, word) == 0 && strcmp(d->op, op->name) == 0) return d;
  return NULL;
}

const char *pl_provider_state(const pl_provider *p, const char *status) {
  for (const pl_state_map *m = p->states; status && m->status; m++)
    if (strcmp(m->status, status) == 0) return m->state;
  return "unknown";
}
