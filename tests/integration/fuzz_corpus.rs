//! The fuzz targets' logic (`fuzz/src/lib.rs`, included here as a module) run on their
//! corpus (`fuzz/corpus/<target>/`: the committed seeds, plus whatever a local fuzzing run
//! added) and on the crash regressions (`tests/cases/fuzz-regressions/<target>/`), so the
//! targets compile and their oracles hold in every `cargo test`, without a nightly toolchain.

#[path = "../../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod fuzz;

use std::path::Path;

fn inputs(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

fn replay(name: &str, target: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut seeds = inputs(&root.join("fuzz/corpus").join(name));
    // The committed seeds; the whole local corpus (thousands of inputs after a fuzzing run)
    // with FUZZ_REPLAY_ALL=1.
    if std::env::var_os("FUZZ_REPLAY_ALL").is_none() {
        seeds.retain(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("seed-"))
        });
    }
    assert!(seeds.len() >= 5, "fuzz/corpus/{name} must keep its seeds");
    let regressions = inputs(&root.join("tests/cases/fuzz-regressions").join(name));
    for path in seeds.iter().chain(&regressions) {
        // A fuzzing run may be reducing the corpus meanwhile: a file gone is no failure.
        let Ok(data) = std::fs::read(path) else {
            continue;
        };
        let outcome = std::panic::catch_unwind(|| target(&data));
        assert!(outcome.is_ok(), "{name} fails on {}", path.display());
    }
}

#[test]
fn every_target_has_a_corpus_and_a_binary() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = std::fs::read_to_string(root.join("fuzz/Cargo.toml")).unwrap();
    for (name, _) in fuzz::TARGETS {
        assert!(
            root.join("fuzz/corpus").join(name).is_dir(),
            "no corpus for {name}"
        );
        let source = std::fs::read_to_string(root.join(format!("fuzz/fuzz_targets/{name}.rs")))
            .unwrap_or_else(|_| panic!("no fuzz_targets/{name}.rs"));
        assert!(source.contains(&format!("prose_compile_fuzz::{name}(data)")));
        assert!(manifest.contains(&format!("name = \"{name}\"")));
    }
}

#[test]
fn pipeline_corpus() {
    replay("pipeline", fuzz::pipeline);
    // The pipeline target is the only user of its scratch directory in this process.
    fuzz::remove_scratch();
}

#[test]
fn env_file_corpus() {
    replay("env_file", fuzz::env_file);
}

#[test]
fn templates_corpus() {
    replay("templates", fuzz::templates);
}

#[test]
fn escape_lua_corpus() {
    replay("escape_lua", fuzz::escape_lua);
}

#[test]
fn escape_nginx_corpus() {
    replay("escape_nginx", fuzz::escape_nginx);
}

#[test]
fn escape_yaml_corpus() {
    replay("escape_yaml", fuzz::escape_yaml);
}

#[test]
fn escape_xml_corpus() {
    replay("escape_xml", fuzz::escape_xml);
}

#[test]
fn escape_systemd_json_corpus() {
    replay("escape_systemd_json", fuzz::escape_systemd_json);
}

/// The oracles themselves catch what they are meant to: a broken escaping would fail them.
#[test]
fn oracles_reject_broken_escapes() {
    // Lua: a raw newline, an unescaped quote, a 4-digit escape read as 3 digits.
    assert!(fuzz::decode_lua_string("\"a\nb\"").is_err());
    assert_eq!(fuzz::decode_lua_string("\"a\"b\"").unwrap().1, 3);
    assert_eq!(fuzz::decode_lua_string("\"\\0001\"").unwrap().0, b"\x001");
    assert_eq!(fuzz::lua_tokens("x = \"a\" -- c\ny = 1").unwrap().len(), 6);
    assert!(
        fuzz::lua_tokens("-- c\r os.execute()")
            .unwrap()
            .contains(&"os".to_owned())
    );
    // nginx: `;` inside quotes is one token, a bare one ends the directive.
    assert_eq!(fuzz::nginx_tokens("set $x \"a;b\";").unwrap().len(), 4);
    assert_eq!(fuzz::nginx_tokens("set $x a;b;").unwrap().len(), 6);
    assert!(fuzz::nginx_tokens("set $x \"a\"b;").is_err());
    assert_eq!(fuzz::nginx_tokens("\"a\\\"b\\\\\"").unwrap(), ["a\"b\\"]);
    // XML: raw `<`, `"` in a double-quoted attribute, literal newline normalised.
    assert!(fuzz::decode_xml_attr("a<b", '"').is_err());
    assert!(fuzz::decode_xml_attr("a\"b", '"').is_err());
    assert_eq!(fuzz::decode_xml_attr("a\nb&#10;", '"').unwrap(), "a b\n");
    assert!(fuzz::decode_xml_attr("&#1;", '"').is_err());
    // systemd: a lone `%` or `$` would expand; quotes must balance.
    assert!(fuzz::systemd_specifiers("50%").is_err());
    assert!(fuzz::systemd_words("\"a$HOME\"").is_err());
    assert!(fuzz::systemd_words("\"a").is_err());
    assert_eq!(fuzz::systemd_words("\"a b\" c").unwrap(), ["a b", "c"]);
    // The targets themselves panic on a broken value: the pipeline on nothing at all is fine.
    fuzz::pipeline(b"");
    fuzz::env_file(b"");
    fuzz::templates(b"");
}
