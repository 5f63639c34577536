//! Logs go to a file in the data directory, never to the screen, filtered by `TIX_LOG`
//! (e.g. `TIX_LOG=debug`). Without `TIX_LOG` nothing is logged.

use std::sync::Mutex;

use tracing_subscriber::EnvFilter;

/// Starts logging if `TIX_LOG` asks for it. Failing to open the log file is not worth failing a
/// command over, so it is silently skipped.
pub fn init() {
    let Ok(filter) = EnvFilter::try_from_env("TIX_LOG") else {
        return;
    };
    let Some(dirs) = directories::ProjectDirs::from("", "", "tix") else {
        return;
    };
    let dir = dirs.data_dir();
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let Ok(file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("tix.log"))
    else {
        return;
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(Mutex::new(file))
        .try_init();
}
