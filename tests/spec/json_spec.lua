local peerlua = require("peerlua")
local json = peerlua.json

describe("peerlua.json", function()
  it("round-trips objects, arrays, numbers, booleans and null", function()
    local text = json.encode({ a = 1, b = { 1, 2, 3 }, c = true, d = json.null, e = "x/y" })
    local v = assert(json.decode(text))
    assert.same({ 1, 2, 3 }, v.b)
    assert.equal(1, v.a)
    assert.is_true(v.c)
    assert.equal(json.null, v.d)
    assert.equal("x/y", v.e)
  end)

  it("encodes an empty table as an object and a marked one as an array", function()
    assert.equal("{}", json.encode({}))
    assert.equal("[]", json.encode(json.array()))
    assert.equal('{"subnets":[]}', json.encode({ subnets = json.array({}) }))
    local nested = json.encode({ a = { b = { json.array(), json.array({ 1 }) } } })
    assert.equal('{"a":{"b":[[],[1]]}}', nested)
  end)

  it("does not change the caller's table when marking arrays", function()
    local t = { list = json.array() }
    json.encode(t)
    assert.is_true(json.is_array(t.list))
    assert.same({}, t.list)
  end)

  it("returns nil and a message for bad JSON instead of raising", function()
    local v, err = json.decode("{not json")
    assert.is_nil(v)
    assert.is_string(err)
    v, err = json.decode(42)
    assert.is_nil(v)
    assert.matches("must be a string", err)
  end)

  it("encodes sorted: keys in order at every depth, '/' as it is, arrays kept, the same text every time", function()
    local v = { path = "/v1/a/b", z = 1, a = { y = true, b = json.null, list = { "x/y", 2, { k = 1, c = 2 } } },
                empty = json.array(), obj = {}, m = "quote\" back\\slash" }
    local text = assert(json.encode_sorted(v))
    assert.equal('{"a":{"b":null,"list":["x/y",2,{"c":2,"k":1}],"y":true},"empty":[],"m":"quote\\" back\\\\slash",'
                 .. '"obj":{},"path":"/v1/a/b","z":1}', text)
    assert.same(assert(json.decode(json.encode(v))), assert(json.decode(text)))
    for _ = 1, 20 do assert.equal(text, json.encode_sorted(v)) end
    local loop = {}
    loop.self = loop
    local ok, err = json.encode_sorted(loop)
    assert.is_nil(ok)
    assert.matches("contains itself", err)
    assert.is_nil((json.encode_sorted({ f = print })))
  end)

  it("returns nil and a message for values JSON cannot hold", function()
    local v, err = json.encode({ f = print })
    assert.is_nil(v)
    assert.is_string(err)
  end)

  it("decodes whole numbers as integers, others as floats", function()
    local v = json.decode('{"id":42,"n":[1,-7,2.5,1e3,9007199254740993],"deep":{"x":{"y":0}}}')
    assert.equal("integer", math.type(v.id))
    assert.equal("integer", math.type(v.n[2]))
    assert.equal("float", math.type(v.n[3]))
    assert.equal(1000, v.n[4])
    assert.equal("integer", math.type(v.n[4]))
    assert.equal("float", math.type(v.n[5]))  -- beyond 2^53: not exact, left alone
    assert.equal("integer", math.type(v.deep.x.y))
    assert.equal("integer", math.type(json.decode("12")))
  end)

  it("uses its own cjson instance", function()
    local cjson = require("cjson")
    cjson.encode_sparse_array(false)  -- the user's setting...
    assert.equal("[1,null,3]", json.encode({ [1] = 1, [3] = 3 }))  -- ...is not ours
    cjson.encode_sparse_array(true)
  end)
end)
