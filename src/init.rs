//! `init`: a commented starter `prose.toml` (and the schema beside it, for editors).

use std::path::{Path, PathBuf};

use crate::config::formats::hostname;

/// The schema file written next to a new `prose.toml`, named by its `#:schema` line.
pub const SCHEMA_FILE: &str = "prose.schema.json";

/// The starter configuration for `domain`.
pub fn starter(domain: &str) -> String {
    format!(
        r#"#:schema ./{SCHEMA_FILE}
# Prose Pod configuration. Reference: https://docs.prose.org/references/pod-config
# Every key can also be set with an environment variable in prose.env:
# PROSE_ + the key path in upper case, `__` between segments (PROSE_LOG__LEVEL=debug).

[server]
# Domain of your users' addresses (user@{domain}). Once set, it cannot be changed.
domain = "{domain}"

# [branding]
# company_name = "Your company"

# Where invitations are sent from. Keep the password in prose.env:
# PROSE_NOTIFIERS__EMAIL__SMTP_PASSWORD=…
# [notifiers.email]
# smtp_host = "mail.{domain}"
# smtp_port = 587
# smtp_username = "prose"

# The pod's public address. Default: prose.{domain}
# [pod]
# address = {{ domain = "prose.{domain}" }}

# [server.defaults]
# message_archive_retention = "P2Y"   # ISO 8601 duration, or "infinite"
# tls_profile = "modern"              # modern, intermediate or old
# federation_enabled = false
"#
    )
}

/// Writes `DIR/prose.toml` (never over an existing one) and the schema beside it.
pub fn init(dir: &Path, domain: &str) -> Result<Vec<PathBuf>, String> {
    hostname(domain).map_err(|p| format!("--domain {domain}: {} ({})", p.message, p.help))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let config = dir.join(crate::pipeline::discover::CONFIG_FILE);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&config)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => {
                format!("{} already exists: not overwriting it", config.display())
            }
            _ => format!("{}: {e}", config.display()),
        })?;
    std::io::Write::write_all(&mut file, starter(domain).as_bytes())
        .map_err(|e| format!("{}: {e}", config.display()))?;
    let schema = dir.join(SCHEMA_FILE);
    std::fs::write(&schema, crate::config::schema::schema_text())
        .map_err(|e| format!("{}: {e}", schema.display()))?;
    Ok(vec![config, schema])
}
