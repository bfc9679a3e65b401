//! `init`: a commented starter `prose.toml` that passes `audit --deny warning`, and one copy
//! of the schema per repository for editors.

use std::path::{Path, PathBuf};

use crate::config::formats::hostname;

/// The schema file `init` writes once, at the root of the repository that holds the pod
/// (the nearest directory with a `.git`), or beside `prose.toml` outside a repository.
pub const SCHEMA_FILE: &str = "prose.schema.json";

/// The starter configuration for `domain`; `schema` is the `#:schema` target, relative to
/// the pod directory.
pub fn starter(domain: &str, schema: &str) -> String {
    format!(
        r#"#:schema {schema}
# Prose Pod configuration. Reference: https://docs.prose.org/references/pod-config
# Every key can also be set with an environment variable in prose.env:
# PROSE_ + the key path in upper case, `__` between segments (PROSE_LOG__LEVEL=debug).
# `prose-compile explain . KEY` shows where a value comes from and what it affects.

[server]
# Domain of your users' addresses (user@{domain}). Once set, it cannot be changed.
domain = "{domain}"

# Privacy choices, written out rather than left to the defaults (which share more);
# `prose-compile audit` reports them as warnings when they are on.
[server.defaults]
# Push notifications go through the app developer's and the OS vendor's push services.
# `true` sends them the message text (when not end-to-end encrypted), respectively the
# sender's address; `false` sends a generic "new message" notice.
push_notification_with_body = false
push_notification_with_sender = false
# How long message archives are kept: an ISO 8601 duration (P1Y = one year), or "infinite"
# (the default; `audit` suggests choosing).
# message_archive_retention = "P1Y"
# tls_profile = "modern"              # modern, intermediate or old
# federation_enabled = false          # let other XMPP servers reach your users

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
"#
    )
}

/// What happened to the schema file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaFile {
    Written,
    /// Already there, identical.
    Current,
    /// Already there, from another version: left alone (`schema -o FILE` updates it).
    KeptOther,
}

/// What `init` wrote.
#[derive(Debug)]
pub struct Initialized {
    pub config: PathBuf,
    pub schema: PathBuf,
    pub schema_file: SchemaFile,
}

/// Writes `DIR/prose.toml` (never over an existing one) and, if missing, the schema at the
/// root of its repository.
pub fn init(dir: &Path, domain: &str) -> Result<Initialized, String> {
    hostname(domain).map_err(|p| format!("--domain {domain}: {} ({})", p.message, p.help))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let config = dir.join(crate::pipeline::discover::CONFIG_FILE);
    let (schema_dir, relative) = schema_home(dir);
    let schema = schema_dir.join(SCHEMA_FILE);
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
    std::io::Write::write_all(&mut file, starter(domain, &relative).as_bytes())
        .map_err(|e| format!("{}: {e}", config.display()))?;
    let text = crate::config::schema::schema_text();
    let schema_file = match std::fs::read(&schema) {
        Ok(existing) if existing == text.as_bytes() => SchemaFile::Current,
        Ok(_) => SchemaFile::KeptOther,
        Err(_) => {
            std::fs::write(&schema, text).map_err(|e| format!("{}: {e}", schema.display()))?;
            SchemaFile::Written
        }
    };
    Ok(Initialized {
        config,
        schema,
        schema_file,
    })
}

/// Where the schema goes for a pod in `dir`, and the `#:schema` path to it from `dir`: the
/// nearest directory at or above `dir` that holds `.git`, else `dir` itself.
fn schema_home(dir: &Path) -> (PathBuf, String) {
    let absolute = dir.canonicalize().unwrap_or_else(|_| dir.to_owned());
    let mut up = String::from("./");
    for ancestor in absolute.ancestors() {
        if ancestor.join(".git").exists() {
            return (tidy(&dir.join(&up)), format!("{up}{SCHEMA_FILE}"));
        }
        up = if up == "./" {
            "../".into()
        } else {
            format!("{up}../")
        };
    }
    (dir.to_owned(), format!("./{SCHEMA_FILE}"))
}

/// `pods/crisp/../../` → `` (the current directory), for messages (the path is only ever joined, never resolved).
fn tidy(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_goes_to_the_repository_root_once() {
        let root = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(root.path().join(".git")).expect("mkdir");
        let pod = root.path().join("pods/crisp");
        let first = init(&pod, "crisp.chat").expect("init");
        assert_eq!(first.schema_file, SchemaFile::Written);
        assert_eq!(
            first.schema.canonicalize().ok(),
            root.path().join(SCHEMA_FILE).canonicalize().ok()
        );
        let text = std::fs::read_to_string(&first.config).expect("read");
        assert!(
            text.starts_with("#:schema ../../prose.schema.json\n"),
            "{text}"
        );
        let second = init(&root.path().join("pods/acme"), "acme.org").expect("init");
        assert_eq!(second.schema_file, SchemaFile::Current);
        std::fs::write(&second.schema, "{}").expect("write");
        let third = init(&root.path().join("pods/other"), "other.org").expect("init");
        assert_eq!(third.schema_file, SchemaFile::KeptOther);
        assert_eq!(std::fs::read_to_string(&third.schema).expect("read"), "{}");
    }

    #[test]
    fn outside_a_repository_the_schema_sits_beside_the_pod() {
        let root = tempfile::tempdir().expect("tempdir");
        let pod = root.path().join("pod");
        let done = init(&pod, "crisp.chat").expect("init");
        assert_eq!(done.schema, pod.join(SCHEMA_FILE));
        let text = std::fs::read_to_string(&done.config).expect("read");
        assert!(text.starts_with("#:schema ./prose.schema.json\n"));
    }
}
