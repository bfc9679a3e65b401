//! `completions` and `man`, generated from the same definitions as `--help`.

use std::io::Write;

use clap::CommandFactory;

use super::args::Cli;
use super::exit::{Exit, Outcome};
use super::ui::Ui;

const BIN: &str = "prose-compile";

pub fn completions(ui: &Ui, shell: clap_complete::Shell) -> Outcome {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), BIN, &mut script);
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
    let command = Cli::command();
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

pub fn man(ui: &Ui) -> Outcome {
    clap_mangen::Man::new(Cli::command()).render(&mut ui.out())?;
    Ok(Exit::Success)
}
