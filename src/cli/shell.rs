//! `completions` and `man`, generated from the same definitions as `--help`.

use std::io::Write;

use std::path::Path;

use clap_mangen::Man;
use roff::{Roff, bold, roman};

use super::args::command;
use super::exit::{EXIT_STATUS, Exit, Outcome, Stop};
use super::ui::Ui;

const BIN: &str = "prose-compile";

pub fn completions(ui: &Ui, shell: clap_complete::Shell) -> Outcome {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command(), BIN, &mut script);
    match shell {
        clap_complete::Shell::Bash => {
            script = fix_bash_hyphenated_name(&String::from_utf8_lossy(&script)).into_bytes();
        }
        clap_complete::Shell::Fish => script.extend(fish_positional_values().into_bytes()),
        _ => {}
    }
    ui.out().write_all(&script)?;
    Ok(Exit::Success)
}

/// clap_complete's bash script (4.6.12 and before, clap-rs/clap#6421) labels its `case` arms
/// `prose__subcmd__compile__subcmd__build` but computes `prose__compile__subcmd__build` while
/// walking the words, so nothing completes after a subcommand of a hyphenated binary. The
/// labels are renamed to what the walk computes.
fn fix_bash_hyphenated_name(script: &str) -> String {
    let labelled = BIN.replace('-', "__subcmd__");
    let computed = BIN.replace('-', "__");
    script.replace(&labelled, &computed)
}

/// clap_complete's fish script completes the values of options but not of positional
/// arguments (`completions <TAB>` offered file names): one line per such argument.
fn fish_positional_values() -> String {
    let mut command = command();
    command.build();
    let function = format!("__fish_{}_using_subcommand", BIN.replace('-', "_"));
    let mut lines = String::new();
    for sub in command.get_subcommands() {
        for arg in sub.get_positionals() {
            let values: Vec<String> = arg
                .get_possible_values()
                .iter()
                .filter(|v| !v.is_hide_set())
                .map(|v| v.get_name().to_owned())
                .collect();
            if !values.is_empty() {
                lines += &format!(
                    "complete -c {BIN} -n \"{function} {}\" -f -a \"{}\"\n",
                    sub.get_name(),
                    values.join(" ")
                );
            }
        }
    }
    lines
}

/// `man`: the page of `prose-compile` on standard output, complete on its own (each
/// subcommand with its summary, no reference to pages that are not installed); `man -o DIR`:
/// that page and one per subcommand (`prose-compile-build.1`, …), which it then refers to.
pub fn man(ui: &Ui, dir: Option<&Path>) -> Outcome {
    let mut root = command().disable_help_subcommand(true);
    root.build();
    let Some(dir) = dir else {
        ui.out().write_all(&page(&root, false)?)?;
        return Ok(Exit::Success);
    };
    let write = |name: String, text: Vec<u8>| {
        let path = dir.join(name);
        std::fs::write(&path, text)
            .map_err(|e| Stop::Usage(format!("cannot write {}: {e}", path.display())))?;
        ui.note(&format!("wrote {}", path.display()));
        Ok::<_, Stop>(())
    };
    std::fs::create_dir_all(dir)
        .map_err(|e| Stop::Usage(format!("cannot create {}: {e}", dir.display())))?;
    write(Man::new(root.clone()).get_filename(), page(&root, true)?)?;
    for sub in root.get_subcommands().filter(|s| !s.is_hide_set()) {
        write(Man::new(sub.clone()).get_filename(), page(sub, false)?)?;
    }
    Ok(Exit::Success)
}

/// One page: clap_mangen's sections, an EXIT STATUS section, and the subcommands either
/// as references to their pages (`links`, when those are written too) or as a summary.
fn page(cmd: &clap::Command, links: bool) -> std::io::Result<Vec<u8>> {
    let man = Man::new(cmd.clone());
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut out)?;
    }
    if cmd.has_subcommands() {
        if links {
            man.render_subcommands_section(&mut out)?;
        } else {
            subcommand_summary(cmd).to_writer(&mut out)?;
        }
    }
    exit_status().to_writer(&mut out)?;
    if cmd.get_version().is_some() {
        man.render_version_section(&mut out)?;
    }
    Ok(out)
}

/// SUBCOMMANDS without page references: each name, its summary, where its options are.
fn subcommand_summary(cmd: &clap::Command) -> Roff {
    let mut roff = Roff::new();
    roff.control("SH", ["SUBCOMMANDS"]);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        roff.control("TP", []);
        roff.text([bold(format!("{BIN} {}", sub.get_name()))]);
        if let Some(about) = sub.get_about() {
            roff.text([roman(about.to_string())]);
        }
    }
    roff.control("PP", []);
    roff.text([
        roman("Each subcommand's options: "),
        bold(format!("{BIN} SUBCOMMAND --help")),
        roman(format!(", or the pages {BIN} man -o DIR writes.")),
    ]);
    roff
}

fn exit_status() -> Roff {
    let mut roff = Roff::new();
    roff.control("SH", ["EXIT STATUS"]);
    for line in EXIT_STATUS.lines().skip(1) {
        let line = line.trim_start();
        match line.split_once("  ") {
            Some((code, text)) if code.parse::<u8>().is_ok() => {
                roff.control("TP", []);
                roff.text([bold(code)]);
                roff.text([roman(text)]);
            }
            _ => {
                roff.text([roman(line)]);
            }
        }
    }
    roff
}
