//! The `prose-compile` binary: the command line (`cli`) over the library.

mod cli;

#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: cli::allocator::Allocator = cli::allocator::Allocator;

fn main() -> std::process::ExitCode {
    cli::main()
}
