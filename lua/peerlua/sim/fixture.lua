-- peerlua.sim.fixture: the emulator's default fixture, used unless
-- --fixture FILE gives another (a JSON file of the same shape; a provider
-- missing from it gets no accounts). Every secret here is a fake, known to
-- the emulator only. Under --sim, a client created without credentials uses
-- the first account of its provider.
--
-- durations: emulated seconds each lifecycle step takes (scaled by
-- --time-scale); rate_limit: requests per credential per rate_window
-- seconds (default 1).
return {
  instaclustr = {
    accounts = {
      { username = "sim-user", api_key = "sim-instaclustr-api-key-0001" },
      { username = "sim-other", api_key = "sim-instaclustr-api-key-0002" },
    },
    clusters = {
      {
        id = "5f1b8d2e-3c4a-4e6b-9a7d-1e2f3a4b5c6d", name = "sim-cassandra", owner = "sim-user",
        firewall_types = { "CASSANDRA" },
        data_centres = {
          { id = "aabc665c-8916-40ae-978c-96d39a3a1364", name = "AWS_VPC_US_WEST_2", provider = "AWS_VPC",
            region = "US_WEST_2", network = "10.224.0.0/16", vpc_id = "vpc-aa770abc",
            aws_account_id = "345678901234" },
        },
      },
      {
        id = "0e9c3a51-7d2b-4f86-b1c4-8a5e6f7d9b20", name = "sim-kafka", owner = "sim-user",
        firewall_types = { "KAFKA" },
        data_centres = {
          { id = "f3eab841-5b6c-4d7e-8f90-a1b2c3d4e5f6", name = "AWS_VPC_US_EAST_1", provider = "AWS_VPC",
            region = "US_EAST_1", network = "10.225.0.0/16", vpc_id = "vpc-0a1b2c3d4e5f60718",
            aws_account_id = "345678901234" },
        },
      },
    },
    durations = { provisioning = 60, acceptance_expiry = 7 * 24 * 3600, deleting = 10, firewall = 5 },
    rate_limit = 35,
  },

  upcloud = {
    accounts = {
      { username = "sim-user", password = "sim-upcloud-password-1", token = "ucat_sim0000000000000000000001",
        uuid = "0a5b2c1d-6e7f-4a8b-9c0d-1e2f3a4b5c61" },
      { username = "sim-peer", password = "sim-upcloud-password-2", token = "ucat_sim0000000000000000000002",
        uuid = "0a5b2c1d-6e7f-4a8b-9c0d-1e2f3a4b5c62" },
      -- Aiven's own account: its project VPCs' networks (see aiven below)
      { username = "sim-aiven", password = "sim-upcloud-password-3", token = "ucat_sim0000000000000000000003",
        uuid = "0a5b2c1d-6e7f-4a8b-9c0d-1e2f3a4b5c63" },
    },
    networks = {
      { uuid = "03126dc1-a69f-4bc2-8b24-e31c22d64712", name = "sim-hel1-private", owner = "sim-user",
        zone = "fi-hel1", router = "04c0c9ea-71a1-4d1b-9ff6-5b0a7f6f5c01",
        ip_networks = { { address = "192.168.0.0/24", family = "IPv4" }, { address = "fc02:c4f3::/64", family = "IPv6" } } },
      { uuid = "03585987-bf7d-4544-8e9b-5a1b4d74a333", name = "sim-fra1-private", owner = "sim-peer",
        zone = "de-fra1", router = "04d1dafb-82b2-4e2c-8007-6c1b808f6d02",
        ip_networks = { { address = "192.168.1.0/24", family = "IPv4" } } },
      { uuid = "0370a4c2-1f0e-4c55-8a4b-2d6e9c1b7a10", name = "sim-ams1-no-router", owner = "sim-user",
        zone = "nl-ams1",
        ip_networks = { { address = "192.168.2.0/24", family = "IPv4" } } },
      { uuid = "03a1b2c3-d4e5-4f60-8172-93a4b5c6d7e8", name = "sim-sto1-private", owner = "sim-peer",
        zone = "se-sto1", router = "04e2ebfc-93c3-4f3d-9118-7d2c919f7e03",
        ip_networks = { { address = "192.168.3.0/24", family = "IPv4" } } },
      { uuid = "03b4c5d6-e7f8-4a09-8b1c-2d3e4f5a6b7c", name = "aiven-sim-project-fi-hel1", owner = "sim-aiven",
        zone = "fi-hel1", router = "04f3fc0d-a4d4-4f4e-a229-8e3d0f2a8f04",
        ip_networks = { { address = "10.10.0.0/24", family = "IPv4" } } },
    },
    durations = { provisioning = 20, disabling = 5 },
    rate_limit = 100,
  },

  aerospike = {
    accounts = {
      { client_id = "sim-aerospike-key-id", client_secret = "sim-aerospike-key-secret-0001", organization = "sim-org",
        scopes = { "read:database", "update:database", "delete:database" } },
      { client_id = "sim-aerospike-readonly", client_secret = "sim-aerospike-key-secret-0002", organization = "sim-org",
        scopes = { "read:database" } },
    },
    clusters = {
      { id = "e2e81cba-446e-4ff9-9b92-9a9992af44c6", name = "sim-aerospike", organization = "sim-org",
        cidr = "10.128.0.0/19", region = "us-east-1", hosted_zone = "Z04089311NGVVH0FO3QGG",
        aws_account_id = "456789012345", vpc_id = "vpc-0a5e6f7081920a3b4" },
    },
    token_ttl = 3600,
    durations = { initiating = 10, provisioning = 60, acceptance_expiry = 7 * 24 * 3600, deleting = 10 },
    rate_limit = 20,
  },

  -- aiven: accounts (API token, the projects it may use), projects and
  -- their VPCs (an UpCloud-hosted VPC names its network in upcloud.networks,
  -- owned by the sim-aiven account; an AWS-hosted one, Aiven's own AWS
  -- account and VPC, which request the pcx-: MODEL ids), durations.
  aiven = {
    accounts = {
      { user = "sim-user@example.com", token = "sim-aiven-token-0000000000000001", projects = { "sim-project" } },
      { user = "sim-other@example.com", token = "sim-aiven-token-0000000000000002", projects = { "sim-other" } },
    },
    projects = {
      { name = "sim-project", vpcs = {
        { project_vpc_id = "1c6a3d5e-7b9f-4e21-a8c4-5d6e7f809a1b", cloud_name = "upcloud-fi-hel1",
          network_cidr = "10.10.0.0/24", upcloud_network = "03b4c5d6-e7f8-4a09-8b1c-2d3e4f5a6b7c" },
        { project_vpc_id = "2d7b4e6f-8c0a-4f32-b9d5-6e7f8091a2b3", cloud_name = "aws-us-east-1",
          network_cidr = "10.20.0.0/24", aws_account_id = "444455556666", aws_vpc_id = "vpc-0a1e2b3c4d5e6f708" } } },
      { name = "sim-other", vpcs = {} },
    },
    durations = { approving = 10, deleting = 10 },
    -- "Rate limit 120 exceeded - try again in 28s" (aiven/terraform-provider-aiven#575)
    rate_limit = 120, rate_window = 60,
  },

  -- aws: accounts (the customer's first: a client made under --sim without
  -- credentials uses accounts[1]; access_key_id, secret_access_key,
  -- account_id, user_name; allowed_actions limits a principal, as an IAM
  -- policy would; roles another account may assume), VPCs (region, CIDR,
  -- route tables: a main one and one more, security groups), private
  -- hosted zones (one per Aerospike cluster, its hosted_zone; associable by
  -- authorized_accounts), durations.change_insync (a Route 53 change is
  -- PENDING that long). rate_limit: EC2's token bucket for non-mutating
  -- actions holds 100 and refills 20 a second ("Request throttling for the
  -- Amazon EC2 API", docs.aws.amazon.com/ec2/latest/devguide/
  -- ec2-api-throttling.html): 100 per 5 s here, one limit per account for
  -- EC2, STS and Route 53 together (MODEL).
  aws = {
    accounts = {
      { account_id = "123456789012", access_key_id = "AKIASIMCUSTOMER00001",
        secret_access_key = "sim/aws/secret/access/key/0000000000000001", user_name = "peerlua-sim",
        user_id = "AIDASIMCUSTOMER000001" },
      { account_id = "210987654321", access_key_id = "AKIASIMACCEPTER00002",
        secret_access_key = "sim/aws/secret/access/key/0000000000000002", user_name = "peerlua-sim-peer",
        user_id = "AIDASIMACCEPTER000002",
        roles = { { name = "peerlua-accepter", trusted_accounts = { "123456789012" }, max_session_duration = 3600 } } },
      { account_id = "123456789012", access_key_id = "AKIASIMREADONLY00003",
        secret_access_key = "sim/aws/secret/access/key/0000000000000003", user_name = "peerlua-sim-readonly",
        user_id = "AIDASIMREADONLY000003", allowed_actions = { "ec2:Describe*", "sts:GetCallerIdentity" } },
    },
    vpcs = {
      -- examples/instaclustr.lua's VPC
      { vpc_id = "vpc-0a1b2c3d", account_id = "123456789012", region = "us-west-2", cidr = "10.1.0.0/16",
        route_tables = { { id = "rtb-0a1b2c3d000000001", main = true }, { id = "rtb-0a1b2c3d000000002" } },
        security_groups = { { id = "sg-0a1b2c3d000000001", name = "default", description = "default VPC security group" },
                            { id = "sg-0a1b2c3d000000002", name = "app", description = "peerlua sim application" } } },
      -- examples/aerospike.lua's VPC
      { vpc_id = "vpc-0123456789abcdef0", account_id = "123456789012", region = "us-east-1", cidr = "192.168.0.0/16",
        route_tables = { { id = "rtb-0123456789abcdef0", main = true }, { id = "rtb-0123456789abcdef1" } },
        security_groups = { { id = "sg-0123456789abcdef0", name = "default", description = "default VPC security group" } } },
      -- the second account's
      { vpc_id = "vpc-0fedcba987654321f", account_id = "210987654321", region = "us-east-1", cidr = "172.31.0.0/16",
        route_tables = { { id = "rtb-0fedcba987654321f", main = true }, { id = "rtb-0fedcba987654321e" } },
        security_groups = { { id = "sg-0fedcba987654321f", name = "default", description = "default VPC security group" } } },
    },
    hosted_zones = {
      -- the Aerospike cluster's private zone, on the cluster's own VPC (MODEL name)
      { id = "Z04089311NGVVH0FO3QGG", name = "e2e81cba-446e-4ff9-9b92-9a9992af44c6.aerospike.internal.",
        owner_account_id = "456789012345", authorized_accounts = { "123456789012" },
        vpcs = { { vpc_id = "vpc-0a5e6f7081920a3b4", region = "us-east-1" } } },
    },
    durations = { change_insync = 30 },
    rate_limit = 100, rate_window = 5,
  },

  -- huawei: accounts (IAM user/password/domain, AK/SK, the project and the
  -- tenant it belongs to), Cloud Stream clusters (project, the cluster's VPC
  -- and CIDRs), other VPCs a peering may accept (tenant_id decides whether
  -- acceptance is needed), token_ttl (IAM token life, emulated seconds).
  huawei = {
    accounts = {
      { domain = "sim-domain", user = "sim-user", password = "sim-huawei-password-1",
        ak = "SIMAK0000000000000001", sk = "sim-huawei-secret-key-000000000000000001",
        project_id = "0a1b2c3d4e5f60718293a4b5c6d7e8f9", project_name = "eu-de",
        tenant_id = "8185f87d043f4519a68420a282b5e2fa" },
      { domain = "sim-peer-domain", user = "sim-peer", password = "sim-huawei-password-2",
        ak = "SIMAK0000000000000002", sk = "sim-huawei-secret-key-000000000000000002",
        project_id = "1b2c3d4e5f60718293a4b5c6d7e8f90a", project_name = "eu-de",
        tenant_id = "4f30b9215e054c908d18f2b150131646" },
    },
    clusters = {
      { id = "6b29f3c0-4e1d-4d6a-9c58-2f7a8b9c0d1e", name = "sim-cs-cluster", project_id = "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
        vpc_id = "83081290-198e-48e2-8e2d-64c50023d136", vpc_cidr = "192.168.0.0/16", subnet_cidr = "192.168.0.0/24" },
    },
    vpcs = {
      { id = "f4da5a55-fcd9-4a93-8b86-5b81585e14bb", name = "sim-peer-vpc", tenant_id = "4f30b9215e054c908d18f2b150131646",
        cidr = "172.16.0.0/16" },
      { id = "9e8d7c6b-5a49-4382-9172-6f5e4d3c2b1a", name = "sim-own-vpc", tenant_id = "8185f87d043f4519a68420a282b5e2fa",
        cidr = "172.17.0.0/16" },
    },
    token_ttl = 24 * 3600,
    durations = { acceptance_expiry = 7 * 24 * 3600, deleting = 5 },
    rate_limit = 50,
  },
}
