//! The digest of everything a pod's tree depends on: what the input record of its tree
//! (`output::recorded_up_to_date`) is compared with before the pod is loaded.
//!
//! It covers, each field length-prefixed so no two inputs read alike: the record's format and
//! the tool's version and build (its embedded templates, schema, presets and targets: the
//! running executable's inode, size and mtime), the platform
//! with the repository's settings, the pod's paths and the label its headers name, the bytes
//! of `prose.toml`, of the env files found beside it (or that each is absent) and of every
//! `--env-file`, the `PROSE_*` variables the loader takes from the process environment (none
//! with `--no-env`), every `--set`, the templates that replace embedded ones, and what the
//! caller's report of the pod depends on besides (`RunOptions::inspection_key`). A pod whose
//! inputs cannot all be read as the loader would (a link or something else where an env file
//! is looked for, an unreadable file) gets no digest: it takes the full path, which reports
//! the problem.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::config::LoadOptions;
use crate::config::limits::{MAX_CONFIG_BYTES, MAX_ENV_FILE_BYTES};
use crate::config::{COMPOSE_ENV_FILE, SERVER_ENV_FILE, SIBLING_ENV_FILE};
use crate::files::{Bounded, Reads};

use super::discover::Pod;
use super::run::RunOptions;

/// The version of what this digest covers: bump it when an input is added.
const FORMAT: &str = "prose-compile input digest 1";

/// The digest (hex) of `pod`'s inputs under `run`, or `None` when one cannot be read. The
/// files it reads are kept in `reads`, for the loader to build the tree from the same bytes.
pub fn input_digest(pod: &Pod, run: &RunOptions<'_>, reads: &mut Reads) -> Option<String> {
    let version = format!("{} {}", env!("CARGO_PKG_VERSION"), executable()?);
    digest_with_version(pod, run, &version, reads)
}

/// Which build of the tool this is: the version alone would let a binary rebuilt from changed
/// sources (same version number, other templates or rules) trust the records of the one
/// before it. The running executable's device, inode, size and mtime, read once; `None`
/// (no record trusted or written) when they cannot be read.
fn executable() -> Option<&'static str> {
    static IDENTITY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    IDENTITY
        .get_or_init(|| {
            use std::os::unix::fs::MetadataExt;
            let meta = std::fs::metadata("/proc/self/exe").ok()?;
            Some(format!(
                "{}:{} {} {}.{:09}",
                meta.dev(),
                meta.ino(),
                meta.size(),
                meta.mtime(),
                meta.mtime_nsec()
            ))
        })
        .as_deref()
}

/// [`input_digest`] for a given tool version (tests: another version is another digest).
pub(super) fn digest_with_version(
    pod: &Pod,
    run: &RunOptions<'_>,
    version: &str,
    reads: &mut Reads,
) -> Option<String> {
    let mut hasher = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    };
    field(FORMAT.as_bytes());
    field(version.as_bytes());
    field(format!("{:?}", run.platform).as_bytes());
    field(pod.config.as_os_str().as_encoded_bytes());
    field(super::compile::input_label(pod).as_bytes());
    let config = reads.read_bounded(&pod.config, MAX_CONFIG_BYTES).ok()?;
    field(whole(config)?);
    let options: &LoadOptions = run.load;
    field(&[u8::from(options.sibling_env_file)]);
    if options.sibling_env_file {
        let dir = pod.config.parent().unwrap_or(Path::new("."));
        for name in [SIBLING_ENV_FILE, SERVER_ENV_FILE, COMPOSE_ENV_FILE] {
            // Read as the loader reads it; a refusal is diagnosed by the full path.
            match reads.read_found(&dir.join(name), MAX_ENV_FILE_BYTES).ok()? {
                None => field(b"absent"),
                Some(read) => field(whole(read)?),
            }
        }
    }
    field(&(options.env_files.len() as u64).to_le_bytes());
    for path in &options.env_files {
        field(path.as_os_str().as_encoded_bytes());
        field(whole(reads.read_bounded(path, MAX_ENV_FILE_BYTES).ok()?)?);
    }
    let mut environment: Vec<&(String, String)> = options
        .environment
        .iter()
        .filter(|(name, _)| crate::config::env::taken_from_environment(name))
        .collect();
    environment.sort();
    field(&(environment.len() as u64).to_le_bytes());
    for (name, value) in environment {
        field(name.as_bytes());
        field(value.as_bytes());
    }
    field(format!("{:?}", options.sets).as_bytes());
    field(run.templates.map_or("", |t| t.replaced_digest()).as_bytes());
    field(run.inspection_key.as_bytes());
    Some(
        hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    )
}

/// The whole file, or `None` when it is over its limit (the full path says so).
fn whole(read: &Bounded) -> Option<&[u8]> {
    match read {
        Bounded::Bytes(bytes) => Some(bytes),
        Bounded::TooLarge { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::repository::Kubernetes;
    use crate::targets::{self, Platform};

    /// A pod in `dir` whose `prose.toml` sets `domain`.
    fn pod_in(dir: &Path, domain: &str) -> Pod {
        let config = dir.join("prose.toml");
        std::fs::write(&config, format!("[server]\ndomain = \"{domain}\"\n")).unwrap();
        Pod {
            config,
            relative_dir: "".into(),
        }
    }

    /// Loading with the env files beside the pod and `environment`.
    fn load_options(environment: Vec<(String, String)>) -> LoadOptions {
        LoadOptions {
            environment,
            sibling_env_file: true,
            env_files: Vec::new(),
            sets: Vec::new(),
            file_variables: targets::file_variables(),
        }
    }

    fn run_options<'a>(
        load: &'a LoadOptions,
        platform: &'a Platform,
        inspection_key: &'a str,
    ) -> RunOptions<'a> {
        RunOptions {
            load,
            action: super::super::Action::Compare,
            templates: None,
            platform,
            lock_wait: std::time::Duration::ZERO,
            inspection_key,
        }
    }

    #[test]
    fn the_tool_version_the_platform_and_the_report_settings_are_inputs() {
        let dir = tempfile::tempdir().unwrap();
        let pod = pod_in(dir.path(), "example.org");
        let load = load_options(vec![("PROSE_LOG__LEVEL".into(), "warn".into())]);
        let digest = |platform: &Platform, version: &str, key: &str| {
            let run = run_options(&load, platform, key);
            digest_with_version(&pod, &run, version, &mut Reads::default()).expect("readable")
        };
        let host = digest(&Platform::Host, "1.0.0", "human");
        assert_eq!(host, digest(&Platform::Host, "1.0.0", "human"));
        assert_ne!(host, digest(&Platform::Host, "1.0.1", "human"));
        assert_ne!(host, digest(&Platform::Host, "1.0.0", "json"));
        let kubernetes = Platform::Kubernetes(Kubernetes::default());
        assert_ne!(host, digest(&kubernetes, "1.0.0", "human"));
        // A sibling env file that is a link is for the loader to refuse: no digest.
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("prose.env")).unwrap();
        let run = run_options(&load, &Platform::Host, "");
        assert_eq!(input_digest(&pod, &run, &mut Reads::default()), None);
    }

    #[test]
    fn the_tree_is_built_from_the_bytes_the_digest_covers() {
        let dir = tempfile::tempdir().unwrap();
        let pod = pod_in(dir.path(), "before.example");
        let load = load_options(Vec::new());
        let run = run_options(&load, &Platform::Host, "");
        let domain = |loaded: &crate::config::Loaded| {
            let config = loaded.config.as_ref().expect("valid");
            config.server.domain.as_str().to_owned()
        };
        let env_file_read = |loaded: &crate::config::Loaded| {
            let mut names = loaded.sources.iter().map(|(_, source)| &source.name);
            names.any(|name| name.ends_with("prose.env"))
        };
        let mut reads = Reads::default();
        let before = digest_with_version(&pod, &run, "1.0.0", &mut reads).expect("readable");
        // Edited, and an env file added, between the digest and the load: the load sees what
        // the digest saw, so the record cannot name a tree built from other bytes.
        pod_in(dir.path(), "after.example");
        std::fs::write(dir.path().join("prose.env"), "PROSE_LOG__LEVEL=warn\n").unwrap();
        let loaded = crate::config::load_read(&pod.config, &load, reads).unwrap();
        assert_eq!(domain(&loaded), "before.example");
        assert!(!env_file_read(&loaded));
        // Read afresh, both changes count.
        let mut reads = Reads::default();
        let after = digest_with_version(&pod, &run, "1.0.0", &mut reads);
        assert_ne!(after, Some(before));
        let loaded = crate::config::load_read(&pod.config, &load, reads).unwrap();
        assert_eq!(domain(&loaded), "after.example");
        assert!(env_file_read(&loaded));
    }
}
