-- cfgdump.lua FILE: evaluates a prosody.cfg.lua the way Prosody's configmanager does (the
-- global section, then VirtualHost/Component switching the section; ENV_X reads $X) and prints
-- one "section<TAB>option<TAB>value" line per option, the value as JSON. No Prosody code runs,
-- and the file sees no global but those (the generated files need none): it cannot reach `os`
-- or `io`. prep.py runs this as the `prosody` user.
local file = arg[1]
local cfg, order = { ["*"] = {} }, { "*" }
local cur = "*"
local function section(name, kind, mod)
  if not cfg[name] then
    cfg[name] = { __kind = kind, component_module = mod }
    table.insert(order, name)
  end
  cur = name
end
local env = setmetatable({
  VirtualHost = function(name)
    section(name, "host")
    return function(t) for k, v in pairs(t) do cfg[name][k] = v end end
  end,
  Component = function(name)
    section(name, "component")
    return function(mod)
      if type(mod) == "string" then
        cfg[name].component_module = mod
        return function(t) for k, v in pairs(t) do cfg[name][k] = v end end
      end
      for k, v in pairs(mod) do cfg[name][k] = v end
    end
  end,
  Include = function() end,
  RunScript = function() end,
}, {
  __index = function(_, k)
    if type(k) == "string" and k:match("^ENV_") then return os.getenv(k:sub(5)) end
    return nil
  end,
  __newindex = function(_, k, v) cfg[cur][k] = v end,
})
local chunk = assert(loadfile(file, "t", env))
chunk()
local function json(v)
  if type(v) == "table" then
    local parts, n = {}, #v
    if n > 0 then
      for i = 1, n do parts[i] = json(v[i]) end
      return "[" .. table.concat(parts, ",") .. "]"
    end
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = tostring(k) end
    table.sort(keys)
    for _, k in ipairs(keys) do parts[#parts + 1] = string.format("%q:%s", k, json(v[k])) end
    return "{" .. table.concat(parts, ",") .. "}"
  elseif type(v) == "string" then
    return (string.format("%q", v):gsub("\\\n", "\\n"))
  elseif v == nil then
    return "null"
  end
  return tostring(v)
end
for _, h in ipairs(order) do
  local keys = {}
  for k in pairs(cfg[h]) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do print(h .. "\t" .. k .. "\t" .. json(cfg[h][k])) end
end
