//! `completions` and `man`, generated from the same definitions as `--help`.

use clap::CommandFactory;

use super::args::Cli;
use super::exit::{Exit, Outcome};
use super::ui::Ui;

pub fn completions(ui: &Ui, shell: clap_complete::Shell) -> Outcome {
    let mut out = ui.out();
    clap_complete::generate(shell, &mut Cli::command(), "prose-compile", &mut out);
    Ok(Exit::Success)
}

pub fn man(ui: &Ui) -> Outcome {
    clap_mangen::Man::new(Cli::command()).render(&mut ui.out())?;
    Ok(Exit::Success)
}
