//! The `tix` binary: parse the command line, set up logging, hand over to the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = tix::cli::Cli::parse();
    tix::logging::init();
    match tix::commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tix: {e:#}");
            ExitCode::from(1)
        }
    }
}
