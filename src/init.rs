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

/// Writes `DIR/prose.toml` and the schema beside it, never over an existing file and never
/// through a symbolic link: each is created new (`O_CREAT|O_EXCL`, which fails on an existing
/// file or link, dangling or not, and `O_NOFOLLOW`), 0644. If the schema cannot be created, the
/// `prose.toml` just created is removed: nothing is half done.
pub fn init(dir: &Path, domain: &str) -> Result<Vec<PathBuf>, String> {
    hostname(domain).map_err(|p| format!("--domain {domain}: {} ({})", p.message, p.help))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let config = dir.join(crate::pipeline::discover::CONFIG_FILE);
    let schema = dir.join(SCHEMA_FILE);
    let mut config_file = create_new(&config)?;
    let mut schema_file = match create_new(&schema) {
        Ok(file) => file,
        Err(e) => {
            let _ = std::fs::remove_file(&config);
            return Err(e);
        }
    };
    let written = std::io::Write::write_all(&mut config_file, starter(domain).as_bytes())
        .map_err(|e| format!("{}: {e}", config.display()))
        .and_then(|()| {
            std::io::Write::write_all(
                &mut schema_file,
                crate::config::schema::schema_text().as_bytes(),
            )
            .map_err(|e| format!("{}: {e}", schema.display()))
        });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&config);
        let _ = std::fs::remove_file(&schema);
        return Err(e);
    }
    Ok(vec![config, schema])
}

/// A new file, 0644 whatever the umask; an error (naming the file) when anything is there.
fn create_new(path: &Path) -> Result<std::fs::File, String> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .mode(0o644)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => format!(
                "{} already exists (a file or a link): not overwriting it",
                path.display()
            ),
            _ => format!("{}: {e}", path.display()),
        })?;
    file.set_permissions(std::fs::Permissions::from_mode(0o644))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_never_writes_through_a_planted_link() {
        let dir = tempfile::tempdir().unwrap();
        let pod = dir.path().join("newpod");
        std::fs::create_dir(&pod).unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious\n").unwrap();
        std::os::unix::fs::symlink(&victim, pod.join(SCHEMA_FILE)).unwrap();
        let error = init(&pod, "example.org").unwrap_err();
        assert!(error.contains("already exists"), "{error}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
        assert!(!pod.join("prose.toml").exists(), "nothing half done");
        // A dangling link is refused too.
        std::fs::remove_file(&victim).unwrap();
        assert!(init(&pod, "example.org").is_err());
        assert!(!victim.exists());
        std::fs::remove_file(pod.join(SCHEMA_FILE)).unwrap();
        let written = init(&pod, "example.org").unwrap();
        assert_eq!(written.len(), 2);
    }
}
