std = "lua54"
max_line_length = 120
files["tests/spec/**/*_spec.lua"] = { std = "+busted" }
files["tests/bench/*.lua"] = { globals = { "arg" } }
