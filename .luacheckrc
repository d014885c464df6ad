std = "lua54"
max_line_length = 130
files["tests/spec/**/*_spec.lua"] = { std = "+busted" }
files["tests/bench/*.lua"] = { globals = { "arg" } }
