-- Each provider's error answers, in the shapes its sources document, read
-- into err.message, err.provider_code, err.request_id and err.details by
-- the error shapes in C (core/engine/pl_provider.c). The answers are served
-- by a fake transport; the bodies are the documented ones.
local peerlua = require("peerlua")
local internals = require("internals")

local CDC = "aabc665c-8916-40ae-978c-96d39a3a1364"

-- fail(client, op, args, status, body[, headers]) -> err: the op answered
-- once with that status and body (a token request first gets a token)
local function fail(client, op, args, status, body, headers)
  local h = { ["content-type"] = "application/json" }
  for k, v in pairs(headers or {}) do h[k] = v end
  internals.transport(function(opts)
    if opts.url:find("/oauth/token", 1, true) then
      return { status = 200, headers = h, body = '{"access_token":"t","expires_in":3600}',
               json = function(self) return peerlua.json.decode(self.body) end }
    end
    return { status = status, headers = h, body = body, json = function(self) return peerlua.json.decode(self.body) end }
  end)
  local ok, r, err = pcall(client[op], client, args)
  internals.transport(nil)
  assert(ok, r)
  assert.is_nil(r)
  return err
end

local function fields(err) return { err.code, err.message, err.provider_code, err.request_id } end

describe("Instaclustr's error answers", function()
  local v1 = assert(peerlua.instaclustr({ base_url = "http://127.0.0.1:9", username = "u", api_key = "k", api = "v1",
                                          retries = { attempts = 1 } }))
  local v2 = assert(peerlua.instaclustr({ base_url = "http://127.0.0.1:9", username = "u", api_key = "k", api = "v2",
                                          retries = { attempts = 1 } }))

  -- providers.md 1.4: ErrorListResponseV2 (404s)
  it("v2 ErrorListResponseV2: the first error's message and name", function()
    local err = fail(v2, "get_peering", { vpc_peer_id = CDC }, 404,
      '{"errors":[{"name":"NotFound","message":"VPC peer not found"},{"name":"Other","message":"second"}]}')
    assert.same({ "not_found", "VPC peer not found", "NotFound" }, fields(err))
  end)

  -- providers.md 1.4: ErrorResponseV2 (409)
  it("v2 ErrorResponseV2: its message and name", function()
    local err = fail(v2, "update_peering", { vpc_peer_id = CDC, peer_subnets = { "10.0.0.0/16" } }, 409,
      '{"name":"Conflict","message":"A peering update is in progress"}')
    assert.same({ "conflict", "A peering update is in progress", "Conflict" }, fields(err))
  end)

  -- seed 000, the v1 response samples: {status, message, errorDetails, code, link}
  it("v1: the message, and the numeric code as its decimal word", function()
    local err = fail(v1, "list_peerings", { cluster_data_centre_id = CDC }, 400,
      '{"status":400,"message":"Invalid data centre","errorDetails":{},"code":1042,"link":"https://x"}')
    assert.same({ "invalid", "Invalid data centre", "1042" }, fields(err))
    assert.is_nil(err.details) -- errorDetails: no source says what it holds
  end)
end)

describe("Huawei's error answers", function()
  local hw = assert(peerlua.huawei({ base_url = "http://127.0.0.1:9", ak = "a", sk = "s",
    project_id = ("0"):rep(32), region = "cn-north-4", retries = { attempts = 1 } }))
  local LIST = { project_id = ("0"):rep(32), cluster_id = "c1" }

  -- providers.md 2.6: {"error_code","error_msg"}, some with request_id
  it("the common shape: error_msg and error_code; the body's request_id when no header has one", function()
    local err = fail(hw, "list_peerings", LIST, 400,
      '{"error_code":"CS.20001","error_msg":"Invalid cluster","request_id":"body-id"}')
    assert.same({ "invalid", "Invalid cluster", "CS.20001", "body-id" }, fields(err))
  end)

  -- huaweicloudsdkcore/exceptions/exception_handler.py reads X-Request-Id only
  it("the X-Request-Id header before the body's request_id", function()
    local err = fail(hw, "list_peerings", LIST, 400,
      '{"error_code":"CS.20001","error_msg":"Invalid cluster","request_id":"body-id"}',
      { ["x-request-id"] = "header-id" })
    assert.equal("header-id", err.request_id)
  end)

  it("the {error = {code, message}} shape, a numeric code as its word", function()
    local err = fail(hw, "list_peerings", LIST, 401, '{"error":{"code":401,"message":"The request you have made '
      .. 'requires authentication.","title":"Unauthorized"}}', { ["x-request-id"] = "h2" })
    assert.same({ "auth", "The request you have made requires authentication.", "401", "h2" }, fields(err))
  end)

  -- providers.md 2.6: the API Gateway's throttling answer
  it("APIG.0308 throttling", function()
    local err = fail(hw, "list_peerings", LIST, 429, '{"error_code":"APIG.0308","error_msg":"The throttling '
      .. 'threshold has been reached: policy user over ratelimit,limit:10,time:1 second"}')
    assert.same({ "rate_limited", "APIG.0308" }, { err.code, err.provider_code })
  end)
end)

describe("Aerospike Cloud's error answers", function()
  local as = assert(peerlua.aerospike({ base_url = "http://127.0.0.1:9", client_id = "i", client_secret = "s",
    token_url = "http://127.0.0.1:9/oauth/token", retries = { attempts = 1 } }))

  -- seed 002: RFC 9457 ProblemDetails, type urn:aerospike:errors:{category}:{specific},
  -- context.invalid for validation errors; providers.md 3.2: X-Request-Id on every answer
  it("a problem: detail, the URN's category and kind, the X-Request-Id, context.invalid as details", function()
    local invalid = { { field = "/cidrBlock", type = "urn:aerospike:errors:validation:out-of-range" } }
    local err = fail(as, "list_peerings", { cluster_id = CDC }, 400, peerlua.json.encode({
      type = "urn:aerospike:errors:validation:failed", title = "Validation Failed", status = 400,
      detail = "The request body is invalid.", context = { invalid = invalid } }),
      { ["x-request-id"] = "b0658b67-8ea3-46de-a3b8-18c3f5347def" })
    assert.same({ "invalid", "The request body is invalid.", "validation:failed",
                  "b0658b67-8ea3-46de-a3b8-18c3f5347def" }, fields(err))
    assert.same(invalid, err.details)
  end)

  it("a problem with no detail: its title", function()
    local err = fail(as, "list_peerings", { cluster_id = CDC }, 404, '{"type":"urn:aerospike:errors:resource:'
      .. 'not-found","title":"Resource Not Found","status":404,"context":{"resource":"cluster","id":"abc-123"}}')
    assert.same({ "not_found", "Resource Not Found", "resource:not-found" }, fields(err))
    assert.is_nil(err.details) -- a resource context is not a list of bad fields
  end)
end)

describe("Aiven's error answers", function()
  local av = assert(peerlua.aiven({ base_url = "http://127.0.0.1:9", token = "t", retries = { attempts = 1 } }))
  local LIST = { project = "p1", project_vpc_id = CDC }

  -- providers.md 5.4, and aiven-client's test_error_str (fixtures_spec reads its vectors)
  it("with no message: the body's text, trimmed and cut to 500 bytes", function()
    local err = fail(av, "list_peerings", LIST, 502, "  " .. ("x"):rep(600) .. "\n", { ["content-type"] = "text/plain" })
    assert.equal(("x"):rep(500) .. "... (gave up after 1 attempt)", err.message)
  end)

  it("a body naming the auth scheme (a proxy echoing the request) is not shown", function()
    local err = fail(av, "list_peerings", LIST, 400, "bad header: AIVENV1 abc123def",
      { ["content-type"] = "text/plain" })
    assert.equal("HTTP 400 (its body names a credential, not shown)", err.message)
    assert.is_nil(tostring(err):find("abc123def", 1, true))
  end)
end)

describe("AWS's error answers", function()
  local aws = assert(peerlua.aws({ base_url = "http://127.0.0.1:9", access_key_id = "AKIDEXAMPLE",
    secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", region = "us-east-1", retries = { attempts = 1 } }))
  local XML = { ["content-type"] = "text/xml;charset=UTF-8" }
  local function ec2(code, message)
    return "<Response><Errors><Error><Code>" .. code .. "</Code><Message>" .. message .. "</Message></Error></Errors>"
      .. "<RequestID>ea966190-f9aa-478e-9ede-example</RequestID></Response>"
  end

  -- EC2 API Reference, "Error responses" and "Error codes"
  it("EC2's <Response><Errors><Error>: code, message, RequestID; the code's meaning by AWS's table", function()
    local err = fail(aws, "describe_vpc_peering_connections", {}, 400,
      ec2("InvalidVpcPeeringConnectionID.NotFound", "The vpcPeeringConnection ID 'pcx-1a2b3c4d' does not exist"), XML)
    assert.same({ "not_found", "The vpcPeeringConnection ID 'pcx-1a2b3c4d' does not exist",
                  "InvalidVpcPeeringConnectionID.NotFound", "ea966190-f9aa-478e-9ede-example" }, fields(err))
    local cases = { -- code word, HTTP status, peerlua's code
      { "AuthFailure", 401, "auth" }, { "InvalidClientTokenId", 403, "auth" },
      { "MissingAuthenticationToken", 403, "auth" }, { "UnauthorizedOperation", 403, "forbidden" },
      { "RouteAlreadyExists", 400, "conflict" }, { "InvalidParameterValue", 400, "invalid" },
      { "MissingParameter", 400, "invalid" }, { "InternalError", 500, "unavailable" },
      { "VcpuLimitExceeded", 400, "invalid" },
    }
    for _, c in ipairs(cases) do
      err = fail(aws, "describe_vpc_peering_connections", {}, c[2], ec2(c[1], "m"), XML)
      assert.same({ c[3], c[1] }, { err.code, err.provider_code }, c[1])
    end
  end)

  -- STS and Route 53: <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>
  it("STS's <ErrorResponse><Error>: code, message, RequestId", function()
    local err = fail(aws, "get_caller_identity", {}, 403, "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/"
      .. "2011-06-15/\"><Error><Type>Sender</Type><Code>ExpiredToken</Code><Message>The security token included "
      .. "in the request is expired</Message></Error><RequestId>4d3c-example</RequestId></ErrorResponse>", XML)
    assert.same({ "auth", "The security token included in the request is expired", "ExpiredToken",
                  "4d3c-example" }, fields(err))
  end)

  it("a body that is not XML keeps its HTTP status", function()
    local err = fail(aws, "describe_vpc_peering_connections", {}, 403, "Forbidden by a proxy",
      { ["content-type"] = "text/plain" })
    assert.same({ "forbidden", "HTTP 403" }, fields(err))
  end)
end)

-- AWS's throttling words are "busy" in the provider table (pl_provider.c,
-- aws_busy): whatever the status, the answer is sent again; any other 400
-- is the answer.
describe("AWS's busy answers", function()
  local aws = assert(peerlua.aws({ base_url = "http://127.0.0.1:9", access_key_id = "AKIDEXAMPLE",
    secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", region = "us-east-1",
    retries = { attempts = 4, base = 0.01, cap = 0.02, deadline = 20 } }))
  local function sts_error(code)
    return "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>"
      .. code .. "</Code><Message>m</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"
  end
  local OK = "<GetCallerIdentityResponse><GetCallerIdentityResult><Account>123456789012</Account><Arn>arn:aws:iam::"
    .. "123456789012:user/u</Arn><UserId>AIDAEXAMPLE</UserId></GetCallerIdentityResult><ResponseMetadata><RequestId>"
    .. "r-2</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
  -- answers: a list of {status, body}; the last is repeated
  local function run(answers)
    local sent = 0
    internals.transport(function()
      sent = sent + 1
      local a = answers[math.min(sent, #answers)]
      return { status = a[1], headers = { ["content-type"] = "text/xml" }, body = a[2] }
    end)
    local ok, r, err = pcall(aws.get_caller_identity, aws, {})
    internals.transport(nil)
    assert(ok, r)
    return r, err, sent
  end

  it("sends again after Throttling, ThrottlingException, PriorRequestNotComplete and RequestLimitExceeded", function()
    local r, err, sent = run({ { 400, sts_error("Throttling") }, { 400, sts_error("PriorRequestNotComplete") },
                               { 400, sts_error("ThrottlingException") }, { 200, OK } })
    assert.is_nil(err)
    assert.equal("123456789012", r.GetCallerIdentityResult.Account)
    assert.equal(4, sent)
    r, err, sent = run({ { 503, sts_error("RequestLimitExceeded") }, { 200, OK } })
    assert.truthy(r, err)
    assert.equal(2, sent)
  end)

  it("gives up on other 400s at once, and on a throttling word after the attempts", function()
    local r, err, sent = run({ { 400, sts_error("InvalidParameterValue") }, { 200, OK } })
    assert.is_nil(r)
    assert.equal("invalid", err.code)
    assert.equal(1, sent)
    r, err, sent = run({ { 400, sts_error("Throttling") } })
    assert.is_nil(r)
    assert.equal("rate_limited", err.code)
    assert.equal(4, sent)
  end)
end)

describe("an answer of no known shape", function()
  it("keeps its HTTP status and nothing from the body", function()
    local up = assert(peerlua.upcloud({ base_url = "http://127.0.0.1:9", token = "t", retries = { attempts = 1 } }))
    local err = fail(up, "get_peering", { uuid = CDC }, 403, '{"detail":"from a proxy"}')
    assert.same({ "forbidden", "HTTP 403" }, fields(err))
    err = fail(up, "get_peering", { uuid = CDC }, 502, "<html>Bad gateway</html>", { ["content-type"] = "text/html" })
    assert.same({ "unavailable", "HTTP 502 (gave up after 1 attempt)" }, fields(err))
  end)
end)

-- The answers to a token request, read in C by the provider table's
-- pl_token (core.take_token): the token goes to the client's engine and
-- is fetched again once most of its life is gone; a refusal says why in
-- the provider's words, and never holds the token.
describe("token answers", function()
  -- run(client, answers) -> the list's result, its error, the requests
  -- sent (each {url, status}); a token request is answered from answers in
  -- turn, anything else with an empty Aerospike list
  local function run(client, answers, times)
    local sent, n = {}, 0
    internals.transport(function(opts)
      local r
      if opts.url:find("/oauth/token", 1, true) or opts.url:find("/auth/tokens", 1, true) then
        n = n + 1
        r = answers[math.min(n, #answers)]
        r = { status = r[1], headers = r[3] or {}, body = r[2] }
      else
        r = { status = 200, headers = {}, body = '{"count":0,"meta":{"total":0},"vpcPeerings":[],"peerings":[]}' }
      end
      r.json = function(self) return peerlua.json.decode(self.body) end
      sent[#sent + 1] = { url = opts.url, status = r.status }
      return r
    end)
    local results = {}
    local ok, e = pcall(function()
      for i = 1, times or 1 do
        if i > 1 then peerlua.sleep(0.6) end
        results[i] = table.pack(client:list_peerings({ cluster_id = CDC }))
      end
    end)
    internals.transport(nil)
    assert(ok, e)
    return results, sent
  end
  local function aerospike()
    return assert(peerlua.aerospike({ base_url = "http://127.0.0.1:9", client_id = "i", client_secret = "s",
      token_url = "http://127.0.0.1:9/oauth/token", retries = { attempts = 1 } }))
  end
  local function tokens(sent)
    local n = 0
    for _, s in ipairs(sent) do n = n + (s.url:find("token", 1, true) and 1 or 0) end
    return n
  end

  it("fetches a token again before it expires, by the lifetime the answer gives", function()
    -- expires_in 1: held for 0.9 s, so the third call (at 1.2 s) fetches a new one, unasked by a 401
    local r, sent = run(aerospike(), { { 200, '{"access_token":"t1","expires_in":1}' } }, 3)
    for i = 1, 3 do assert.is_table(r[i][1], tostring(r[i][2])) end
    assert.equal(2, tokens(sent))
    for _, s in ipairs(sent) do assert.not_equal(401, s.status) end
    -- without expires_in: an hour
    r, sent = run(aerospike(), { { 200, '{"access_token":"t1"}' } }, 3)
    assert.is_table(r[3][1], tostring(r[3][2]))
    assert.equal(1, tokens(sent))
  end)

  it("says why a token was refused, in the provider's words", function()
    local r = run(aerospike(), { { 401, '{"error":"access_denied","error_description":"Unauthorized"}' } })
    local err = r[1][2]
    assert.same({ "auth", "token", 401, false }, { err.code, err.op, err.http_status, err.retryable })
    assert.equal("cannot get an access token: Unauthorized", err.message)
    r = run(aerospike(), { { 429, "" } })
    assert.same({ "rate_limited", true }, { r[1][2].code, r[1][2].retryable })
    assert.matches("^cannot get an access token: HTTP 429", r[1][2].message)
    -- a success without a token, or with one that cannot be a header
    r = run(aerospike(), { { 200, '{"token_type":"Bearer"}' } })
    assert.equal("cannot get an access token: the answer holds no token", r[1][2].message)
    r = run(aerospike(), { { 200, '{"access_token":"a\\r\\nX-Evil: 1"}' } })
    assert.matches("cannot get an access token: the token in the answer cannot be sent", r[1][2].message, 1, true)
    assert.is_nil(r[1][2].message:find("Evil", 1, true))
  end)

  it("takes Huawei's IAM token from the X-Subject-Token header", function()
    local function huawei()
      return assert(peerlua.huawei({ user = "u", password = "p", domain = "d", project_id = ("0"):rep(32),
        endpoints = { cs = "http://127.0.0.1:9", iam = "http://127.0.0.1:9" }, retries = { attempts = 1 } }))
    end
    local r, sent = run(huawei(), { { 201, "{}", { ["x-subject-token"] = "iam-token" } } }, 2)
    assert.is_table(r[2][1], tostring(r[2][2]))
    assert.equal(1, tokens(sent)) -- held: 24 hours
    r = run(huawei(), { { 201, "{}" } }) -- no header: no token
    assert.equal("cannot get an IAM token: the answer holds no token", r[1][2].message)
    r = run(huawei(), { { 401, '{"error":{"code":"1101","message":"The username or password is wrong."}}' } })
    assert.equal("cannot get an IAM token: The username or password is wrong.", r[1][2].message)
  end)
end)

-- What every request carries, by the provider table: the header made from
-- the credentials (pl_auth, held by the engine: opts.auth) and a source
-- header naming the client.
describe("every request", function()
  local function first_request(client, op, args)
    local seen
    internals.transport(function(opts)
      seen = seen or opts
      return { status = 500, headers = {}, body = "" }
    end)
    local ok, e = pcall(client[op], client, args)
    internals.transport(nil)
    assert(ok, e)
    return seen
  end
  local NOWHERE, ONCE = "http://127.0.0.1:9", { attempts = 1 }

  it("carries the credential's header, and Instaclustr's its source", function()
    local ic = assert(peerlua.instaclustr({ base_url = NOWHERE, username = "u", api_key = "k", retries = ONCE }))
    local o = first_request(ic, "list_peerings", { cluster_data_centre_id = CDC })
    assert.is_true(o.auth:holds("Authorization", "Basic dTpr")) -- base64("u:k")
    assert.equal("peerlua", o.headers["Instaclustr-Source"])
    local up = assert(peerlua.upcloud({ base_url = NOWHERE, token = "ucat_t", retries = ONCE }))
    o = first_request(up, "list_peerings", {})
    assert.is_true(o.auth:holds("Authorization", "Bearer ucat_t"))
    assert.is_nil(o.headers["Instaclustr-Source"])
    up = assert(peerlua.upcloud({ base_url = NOWHERE, username = "Aladdin", password = "open sesame", retries = ONCE }))
    assert.is_true(first_request(up, "list_peerings", {}).auth:holds("Authorization",
      "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")) -- RFC 7617's example
    local av = assert(peerlua.aiven({ base_url = NOWHERE, token = "t0", project = "p", retries = ONCE }))
    o = first_request(av, "list_peerings", { project_vpc_id = CDC })
    assert.is_true(o.auth:holds("Authorization", "aivenv1 t0"))
  end)

  it("is not sent again after a 401 when the credential is fixed (nothing to refresh)", function()
    for _, c in ipairs({
      { assert(peerlua.instaclustr({ base_url = NOWHERE, username = "u", api_key = "k" })), { cluster_data_centre_id = CDC } },
      { assert(peerlua.upcloud({ base_url = NOWHERE, token = "t" })), {} },
      { assert(peerlua.aiven({ base_url = NOWHERE, token = "t", project = "p" })), { project_vpc_id = CDC } },
    }) do
      local sent = 0
      internals.transport(function()
        sent = sent + 1
        return { status = 401, headers = {}, body = "" }
      end)
      local ok, r, err = pcall(c[1].list_peerings, c[1], c[2])
      internals.transport(nil)
      assert(ok, r)
      assert.same({ "auth", 1 }, { err.code, sent })
    end
  end)
end)
