-- TLS and transport rules: certificates are verified (a self-signed loopback
-- server is refused unless its CA file is given or tls_verify = false;
-- insecure = true does not turn the check off, and a failed check is not
-- retried), bodies are capped (announced, streamed, decompressed),
-- redirects are not followed, the total timeout holds.
local peerlua = require("peerlua")
local testserver = require("testserver")
local http = peerlua.http

-- A TLS server on loopback with a fresh self-signed certificate
-- (openssl s_server -www answers every GET with a status page).
local function tls_server(dir)
  local cert, key = dir .. "/cert.pem", dir .. "/key.pem"
  assert(os.execute(("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
    .. "-keyout %s -out %s -days 1 -subj /CN=localhost "
    .. "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null"):format(key, cert)))
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
  for _ = 1, 10 do
    local port = math.random(20000, 60000)
    local f = assert(io.popen(("sh -c 'echo $$; exec openssl s_server -accept 127.0.0.1:%d "
      .. "-cert %s -key %s -www 2>&1'"):format(port, cert, key)))
    local pid = f:read("l")
    local line = ""
    for _ = 1, 5 do -- a notice about DH parameters may come first
      line = f:read("l") or ""
      if line == "" or line:match("ACCEPT") then break end
    end
    if line:match("ACCEPT") then
      return { url = "https://127.0.0.1:" .. port .. "/", cert = cert, pid = pid, pipe = f }
    end
    os.execute("kill " .. pid .. " 2>/dev/null")
    f:close()
  end
  error("could not start openssl s_server")
end

describe("transport", function()
  local dir, tls, emu
  setup(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir))
    tls = tls_server(dir)
    emu = testserver.start()
  end)
  teardown(function()
    if tls then
      os.execute("kill " .. tls.pid .. " 2>/dev/null")
      tls.pipe:close()
    end
    if emu then emu:stop() end
    os.execute("rm -rf " .. dir)
  end)

  it("says whose call a transport error ended, and counts one attempt in the singular", function()
    local ic = assert(peerlua.instaclustr({ username = "u", api_key = "k", base_url = "http://127.0.0.1:1",
                                            retries = { attempts = 1 } }))
    local _, err = ic:list_peerings({ cluster_data_centre_id = "aabc665c-8916-40ae-978c-96d39a3a1364" })
    assert.equal("network", err.code)
    assert.same({ "instaclustr", "list_peerings" }, { err.provider, err.op })
    assert.matches("instaclustr list_peerings: .*%(gave up after 1 attempt%)", tostring(err))
  end)

  it("refuses a server whose certificate it cannot verify", function()
    local resp, err = http.request({ url = tls.url, timeout = 5 })
    assert.is_nil(resp)
    assert.equal("network", err.code)
    assert.matches("certificate", err.message)
  end)

  it("accepts it when its CA file is given", function()
    local resp = assert(http.request({ url = tls.url, ca_file = tls.cert, timeout = 5 }))
    assert.equal(200, resp.status)
  end)

  it("still checks it with insecure = true (that only allows plain http)", function()
    local resp, err = http.request({ url = tls.url, insecure = true, timeout = 5 })
    assert.is_nil(resp)
    assert.matches("certificate", err.message)
    assert.is_false(err.retryable)
  end)

  it("accepts it with tls_verify = false", function()
    local resp = assert(http.request({ url = tls.url, tls_verify = false, timeout = 5 }))
    assert.equal(200, resp.status)
  end)

  it("does not retry a certificate that did not verify", function()
    local ic = assert(peerlua.instaclustr({ base_url = tls.url:sub(1, -2), username = "u", api_key = "k",
                                            retries = { attempts = 5, base = 0.01 } }))
    local before = peerlua.stats().retries
    local list, err = ic:list_peerings({ cluster_data_centre_id = "aabc665c-8916-40ae-978c-96d39a3a1364" })
    assert.is_nil(list)
    assert.equal("network", err.code)
    assert.matches("certificate", err.message)
    assert.equal(before, peerlua.stats().retries)
  end)

  it("does not retry https:// to a server that speaks plain HTTP, and says so", function()
    local plain = emu.url:gsub("^http:", "https:")
    local ic = assert(peerlua.instaclustr({ base_url = plain .. "/instaclustr", username = "u", api_key = "k",
                                            retries = { attempts = 5, base = 0.01 } }))
    local before = peerlua.stats().retries
    local list, err = ic:list_peerings({ cluster_data_centre_id = "aabc665c-8916-40ae-978c-96d39a3a1364" })
    assert.is_nil(list)
    assert.equal("network", err.code)
    assert.is_false(err.retryable)
    assert.matches("does not speak TLS there: an http:// URL?", err.message, 1, true)
    -- the first try may end in a closed connection (SSL_ERROR_SYSCALL, retried as any network error);
    -- the answer that shows plain HTTP ends the call: not all 5 attempts
    assert.is_nil(err.message:find("gave up after", 1, true))
    assert.is_true(peerlua.stats().retries - before < 4)
  end)

  it("checks the transport options of a client before any request", function()
    for _, case in ipairs({ { tls_verify = "no" }, { insecure = 1 }, { max_body = 0 }, { max_body = 1.5 },
                            { max_body = (1 << 30) + 1 }, { ca_file = "" } }) do
      local opts = { base_url = "http://127.0.0.1:9", username = "u", api_key = "k" }
      local field = next(case)
      opts[field] = case[field]
      local c, err = peerlua.instaclustr(opts)
      assert.is_nil(c)
      assert.equal("invalid", err.code)
      assert.equal(field, err.details[1].field)
    end
  end)

  it("checks the CA file option before sending", function()
    local resp, err = http.request({ url = tls.url, ca_file = 42 })
    assert.is_nil(resp)
    assert.equal("invalid", err.code)
    assert.equal("ca_file", err.details[1].field)
    -- a file that is not there, a directory, a file that is no PEM: named, not a certificate that did not verify
    local not_pem = os.tmpname()
    local f = assert(io.open(not_pem, "w"))
    f:write("not a certificate\n")
    f:close()
    for path, rule in pairs({ ["/nonexistent/ca.pem"] = "cannot be read", ["/"] = "cannot be read",
                              [not_pem] = "is not a PEM file" }) do
      local c, cerr = peerlua.instaclustr({ username = "u", api_key = "k", ca_file = path })
      assert.is_nil(c)
      assert.equal("ca_file", cerr.details[1].field)
      assert.matches(rule, cerr.details[1].rule, 1, true)
      resp, err = http.request({ url = tls.url, ca_file = path })
      assert.is_nil(resp)
      assert.equal("invalid", err.code)
      assert.matches(rule, err.details[1].rule, 1, true)
    end
    os.remove(not_pem)
    assert(http.request({ url = tls.url, ca_file = tls.cert, timeout = 5 })) -- the real one still does
  end)

  describe("caps a response body", function()
    it("at max_body when its length is announced", function()
      assert(http.request({ url = emu.url .. "/_test/bytes/1000", max_body = 1000 }))
      local resp, err = http.request({ url = emu.url .. "/_test/bytes/1001", max_body = 1000 })
      assert.is_nil(resp)
      assert.equal("network", err.code)
      assert.matches("max_body", err.message)
      assert.is_false(err.retryable)
    end)

    it("at 16 MiB by default on an endless stream", function()
      local resp, err = http.request({ url = emu.url .. "/_test/stream/100000000" })
      assert.is_nil(resp)
      assert.matches("over max_body %(16777216 bytes", err.message)
    end)

    it("after decompression", function()
      local f = assert(io.popen("head -c 67108864 /dev/zero | gzip -c"))
      local bomb = f:read("a")
      f:close()
      assert.is_true(#bomb < 1 << 20) -- 64 MiB in under a megabyte
      local resp, err = http.request({ method = "POST", url = emu.url .. "/_test/mirror?encoding=gzip", body = bomb,
                                       max_body = 1 << 20 })
      assert.is_nil(resp)
      assert.matches("max_body", err.message)
      local small = assert(io.popen("printf hello | gzip -c")):read("a")
      resp = assert(http.request({ method = "POST", url = emu.url .. "/_test/mirror?encoding=gzip", body = small }))
      assert.equal("hello", resp.body)
    end)
  end)

  it("does not follow redirects", function()
    local resp = assert(http.request({ url = emu.url .. "/_test/status/302" }))
    assert.equal(302, resp.status)
  end)

  it("ends a slow exchange at the total timeout", function()
    local t0 = peerlua.now()
    local resp, err = http.request({ url = emu.url .. "/_test/delay/3000", timeout = 0.3 })
    assert.is_nil(resp)
    assert.equal("timeout", err.code)
    assert.is_true(peerlua.now() - t0 < 2)
  end)
end)
