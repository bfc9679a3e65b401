//! Criterion benchmarks of each stage of the pipeline, on `examples/minimal` and
//! `examples/full`:
//!
//! - `init/*`: what a process pays once (parsing the schema, compiling the embedded templates;
//!   and what it no longer pays on a valid configuration: generating the schema, compiling
//!   the JSON Schema validator): uncached here, cached per process in the tool. A one-pod run
//!   pays each at most once, and they used to dominate `prose-compile build`.
//! - `load/*`: parse + layer + validate + typed model (`config::load`, no environment).
//! - `validate/*`: the validation alone on a loaded tree (JSON Schema, explicit and semantic
//!   checks).
//! - `render/<target>/*`: each target's rendering from a loaded configuration.
//! - `pod/*`: a whole pod in memory (`load` + `compile`).
//! - `write/*`: writing a compiled tree (`output::write`) to a fresh directory and over an
//!   unchanged one, and `output::plan` over an unchanged one (`build --check`).
//!
//! Run: `cargo bench --bench stages` (a filter narrows it: `cargo bench --bench stages -- render`).
//! Whole-process numbers, side by side with `sed` and `cp`, come from `scripts/bench`.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use prose_compile::config::{LoadOptions, Loaded, load};
use prose_compile::config::{schema, validate};
use prose_compile::output::{self, OutputTree};
use prose_compile::pipeline::compile;
use prose_compile::targets::templating::Templates;
use prose_compile::targets::{self, GeneratedFile, RenderContext};

const EXAMPLES: &[&str] = &["minimal", "full"];
const LABEL: &str = "prose.toml";

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
        .join("prose.toml")
}

/// `--no-env`: no process environment, no sibling `prose.env`.
fn options() -> LoadOptions {
    LoadOptions::default()
}

fn loaded(name: &str) -> Loaded {
    let loaded = load(&example(name), &options()).expect("example readable");
    assert!(
        !loaded.has_errors(),
        "examples/{name} is invalid: {:?}",
        loaded.diagnostics
    );
    loaded
}

fn compiled(loaded: &Loaded) -> OutputTree {
    compile(loaded, LABEL).expect("example compiles")
}

fn init(c: &mut Criterion) {
    let mut group = c.benchmark_group("init");
    // The committed schema built into the binary, parsed whole (`explain`, and explaining an
    // invalid configuration).
    group.bench_function("schema_parse", |b| {
        b.iter(|| serde_json::from_str::<serde_json::Value>(black_box(schema::COMMITTED)))
    });
    // What it used to do: generate it from the model's types (`prose-compile schema` still does).
    group.bench_function("schema_generate", |b| b.iter(schema::schema));
    group.bench_function("templates_compile", |b| {
        b.iter(|| Templates::embedded(&targets::template_sources()))
    });
    group.finish();
}

fn load_stage(c: &mut Criterion) {
    let mut group = c.benchmark_group("load");
    for name in EXAMPLES {
        let path = example(name);
        // Warm the per-process caches so only the per-pod work is measured.
        let _ = loaded(name);
        group.bench_function(*name, |b| {
            b.iter(|| load(black_box(&path), &options()).expect("readable"))
        });
    }
    group.finish();
}

fn validate_stage(c: &mut Criterion) {
    let mut group = c.benchmark_group("validate");
    for name in EXAMPLES {
        let loaded = loaded(name);
        group.bench_function(format!("schema/{name}"), |b| {
            b.iter(|| {
                let mut diagnostics = Vec::new();
                validate::schema_errors(black_box(&loaded.tree), &loaded.sources, &mut diagnostics);
                assert!(diagnostics.is_empty());
                diagnostics
            })
        });
        group.bench_function(format!("semantic/{name}"), |b| {
            b.iter(|| {
                let mut diagnostics = Vec::new();
                validate::explicit_checks(black_box(&loaded.tree), &mut diagnostics);
                validate::semantic(black_box(&loaded.tree), &mut diagnostics);
                diagnostics
            })
        });
    }
    group.finish();
}

fn render_stage(c: &mut Criterion) {
    let mut group = c.benchmark_group("render");
    for name in EXAMPLES {
        let loaded = loaded(name);
        let config = loaded.config.as_ref().expect("valid");
        // A context per render: it keeps the Prosody file it generated.
        let ctx = || RenderContext::new(config, &loaded.tree, LABEL, targets::embedded_templates());
        for target in targets::TARGETS {
            let files: Vec<GeneratedFile> = target.render(&ctx()).expect("renders");
            assert!(!files.is_empty());
            group.bench_function(format!("{}/{name}", target.name()), |b| {
                b.iter(|| target.render(black_box(&ctx())).expect("renders"))
            });
        }
        group.bench_function(format!("all/{name}"), |b| {
            b.iter(|| compile(black_box(&loaded), LABEL).expect("compiles"))
        });
    }
    group.finish();
}

fn pod_stage(c: &mut Criterion) {
    let mut group = c.benchmark_group("pod");
    for name in EXAMPLES {
        let path = example(name);
        let _ = compiled(&loaded(name));
        group.bench_function(*name, |b| {
            b.iter(|| {
                let loaded = load(black_box(&path), &options()).expect("readable");
                compile(&loaded, LABEL).expect("compiles")
            })
        });
    }
    group.finish();
}

fn write_stage(c: &mut Criterion) {
    let mut group = c.benchmark_group("write");
    for name in EXAMPLES {
        let tree = compiled(&loaded(name));
        group.bench_function(format!("fresh/{name}"), |b| {
            b.iter_batched(
                || tempfile::tempdir().expect("tempdir"),
                |dir| {
                    let summary = output::write(&tree, dir.path(), false).expect("writes");
                    assert!(summary.changed());
                    // Returned so the directory is removed outside the measurement.
                    dir
                },
                BatchSize::PerIteration,
            )
        });
        let dir = tempfile::tempdir().expect("tempdir");
        output::write(&tree, dir.path(), false).expect("writes");
        group.bench_function(format!("unchanged/{name}"), |b| {
            b.iter(|| {
                let summary = output::write(&tree, dir.path(), false).expect("writes");
                assert!(!summary.changed());
                summary
            })
        });
        group.bench_function(format!("check_unchanged/{name}"), |b| {
            b.iter(|| {
                let changes = output::plan(&tree, dir.path()).expect("plans");
                assert!(changes.is_empty());
                changes
            })
        });
    }
    group.finish();
}

fn config() -> Criterion {
    // Short runs: the machine is small and shared; the stages take microseconds.
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50)
}

criterion_group! {
    name = stages;
    config = config();
    targets = init, load_stage, validate_stage, render_stage, pod_stage, write_stage
}
criterion_main!(stages);
