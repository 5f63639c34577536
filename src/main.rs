//! The `tix` binary: parse the command line, set up logging, hand over to the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = tix::cli::Cli::parse();
    tix::logging::init();
    match tix::commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // A reader that went away (`tix tickets list | head`) is not an error worth a word.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
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
