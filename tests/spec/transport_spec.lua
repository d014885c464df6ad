-- TLS and transport rules: certificates are verified (a self-signed loopback
-- server is refused unless its CA file is given), redirects are not
-- followed, the total timeout holds.
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

  it("accepts it with insecure = true", function()
    local resp = assert(http.request({ url = tls.url, insecure = true, timeout = 5 }))
    assert.equal(200, resp.status)
  end)

  it("checks the CA file option before sending", function()
    local resp, err = http.request({ url = tls.url, ca_file = 42 })
    assert.is_nil(resp)
    assert.equal("invalid", err.code)
    assert.equal("ca_file", err.details[1].field)
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
