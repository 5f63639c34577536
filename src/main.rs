//! The `tix` binary: parse the command line, set up logging, hand over to the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = tix::cli::Cli::parse();
    tix::logging::init();
    match tix::commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Errors can quote imported values: never let them drive the terminal.
            eprintln!(
                "tix: {}",
                tix::domain::text::sanitize(&format!("{e:#}"), false)
            );
            ExitCode::from(1)
        }
    }
}
