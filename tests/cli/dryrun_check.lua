-- Run an example (arg[1]) under `peerlua --sim` and report what reached the
-- emulator: `requests=N changes=M` on stdout, each change on stderr. A
-- change is any provider request but a GET, a token request (Aerospike's
-- OAuth2 token, Huawei's IAM token) or an AWS Query API read (POSTs of
-- Describe*, Get*, List* and AssumeRole: reads, for the dry run). Exits 0.
local peerlua = require("peerlua")
local example = assert(arg[1], "usage: peerlua --sim [--dry-run] dryrun_check.lua EXAMPLE")
local exit = os.exit
os.exit = function(code) error({ exit = code }, 0) end -- luacheck: ignore 122
arg = { [0] = example } -- luacheck: ignore 121
local ok, err = pcall(dofile, example)
if not ok and not (type(err) == "table" and err.exit ~= nil) then
  io.stderr:write("example failed: ", tostring(err), "\n")
  exit(1)
end
local resp = assert(peerlua.http.request({ url = peerlua.sim.url .. "/_sim/requests?limit=100000" }))
local log = assert(resp:json())
local changes = 0
for _, e in ipairs(log) do
  local token = e.path:match("/oauth/token$") or e.path:match("/v3/auth/tokens$")
  local op = type(e.op) == "string" and e.op or ""
  local aws_read = e.path:match("^/aws/") and (op:match("^Describe") or op:match("^Get") or op:match("^List")
    or op == "AssumeRole")
  if e.method ~= "GET" and e.method ~= "HEAD" and not token and not aws_read then
    changes = changes + 1
    io.stderr:write("sent: ", e.method, " ", e.path, "\n")
  end
end
print(("requests=%d changes=%d"):format(#log, changes))
exit(0)
