-- Prose Pod Server bootstrap configuration
-- XMPP Server Configuration
---@diagnostic disable: lowercase-global, undefined-global

pidfile = "/var/run/prosody/prosody.pid"
admin_socket = "/var/run/prosody/prosody.sock"

authentication = "internal_hashed"
default_storage = "internal"

log = { debug = "*console"; }

local_interfaces = { "*", "::" }
c2s_ports = { 5222 }
s2s_ports = { 5269 }
http_ports = { 5280 }
https_ports = {}

plugin_paths = { "/usr/local/lib/prosody/modules/" }

modules_enabled = {
  "admin_shell";
  "auto_activate_hosts";
  "groups_shell";
  -- `reload_modules` must be enabled from the start: the Pod Server reloads
  -- modules after it rewrites this file.
  "reload_modules";
}
modules_disabled = { "s2s" }

allow_registration = false
c2s_require_encryption = true

VirtualHost "{{server_domain}}"
  modules_enabled = {
    "groups_internal";
    "http_oauth2";
    "invites";
    "rest";
    "vcard4";
  }
  http_host = "prose-pod-server"

  -- mod_http_oauth2
  allowed_oauth2_grant_types = { "authorization_code"; "password"; "refresh_token" }
  oauth2_access_token_ttl = 10800
  oauth2_refresh_token_ttl = 0
  oauth2_registration_key = ENV_OAUTH2_REGISTRATION_KEY
