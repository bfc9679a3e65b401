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
/// root of its repository. Nothing is written through a symbolic link: `prose.toml` and a
/// missing schema are created new (`O_CREAT|O_EXCL`, which fails on any existing file or link,
/// dangling or not, and `O_NOFOLLOW`), 0644; an existing schema is read only as a regular file.
/// If the schema cannot be handled, the `prose.toml` just created is removed: nothing is half
/// done.
pub fn init(dir: &Path, domain: &str) -> Result<Initialized, String> {
    hostname(domain).map_err(|p| format!("--domain {domain}: {} ({})", p.message, p.help))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let config = dir.join(crate::pipeline::discover::CONFIG_FILE);
    let (schema_dir, relative) = schema_home(dir);
    let schema = schema_dir.join(SCHEMA_FILE);
    let mut file = create_new(&config)?;
    let written = std::io::Write::write_all(&mut file, starter(domain, &relative).as_bytes())
        .map_err(|e| format!("{}: {e}", config.display()))
        .and_then(|()| schema_file(&schema));
    match written {
        Ok(schema_file) => Ok(Initialized {
            config,
            schema,
            schema_file,
        }),
        Err(e) => {
            let _ = std::fs::remove_file(&config);
            Err(e)
        }
    }
}

/// Writes the schema at `schema` when nothing is there; says what is there otherwise.
fn schema_file(schema: &Path) -> Result<SchemaFile, String> {
    let text = crate::config::schema::COMMITTED;
    if std::fs::symlink_metadata(schema).is_err() {
        let mut file = create_new(schema)?;
        std::io::Write::write_all(&mut file, text.as_bytes())
            .map_err(|e| format!("{}: {e}", schema.display()))?;
        return Ok(SchemaFile::Written);
    }
    match crate::files::read_found(schema, 16 << 20) {
        Ok(crate::files::Bounded::Bytes(existing)) if existing == text.as_bytes() => {
            Ok(SchemaFile::Current)
        }
        Ok(_) => Ok(SchemaFile::KeptOther),
        Err(e) => Err(format!("{e}; not writing the schema there")),
    }
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

    #[test]
    fn init_never_writes_through_a_planted_link() {
        let dir = tempfile::tempdir().unwrap();
        let pod = dir.path().join("newpod");
        std::fs::create_dir(&pod).unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious\n").unwrap();
        std::os::unix::fs::symlink(&victim, pod.join(SCHEMA_FILE)).unwrap();
        let error = init(&pod, "example.org").unwrap_err();
        assert!(error.contains("is a symbolic link"), "{error}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
        assert!(!pod.join("prose.toml").exists(), "nothing half done");
        // A dangling link is refused too.
        std::fs::remove_file(&victim).unwrap();
        assert!(init(&pod, "example.org").is_err());
        assert!(!victim.exists());
        std::fs::remove_file(pod.join(SCHEMA_FILE)).unwrap();
        let done = init(&pod, "example.org").unwrap();
        assert_eq!(done.schema_file, SchemaFile::Written);
        // A planted link where prose.toml goes.
        let other = dir.path().join("other");
        std::fs::create_dir(&other).unwrap();
        std::os::unix::fs::symlink(&victim, other.join("prose.toml")).unwrap();
        assert!(init(&other, "example.org").is_err());
        assert!(!victim.exists());
    }
}
