//! What the tests that run the real `tix` binary share. Each test crate uses a part of it.
#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;

pub const TIX: &str = env!("CARGO_BIN_EXE_tix");

/// The environment tix reads: cleared so the settings of whoever runs the tests never leak in.
pub const TIX_VARS: [&str; 5] = ["TIX_DB", "TIX_CONFIG", "TIX_AGENT", "TIX_NOW", "TIX_LOG"];

/// `tix` on the database and config file in `dir`, at `now`, in UTC, with none of the caller's
/// settings; a hang fails the test after two minutes.
pub fn tix_in(dir: &Path, now: &str) -> Command {
    let mut c = Command::new(TIX);
    for v in TIX_VARS {
        c.env_remove(v);
    }
    c.env("TIX_DB", dir.join("tix.db"))
        .env("TIX_CONFIG", dir.join("config.toml"))
        .env("TIX_NOW", now)
        .env("TZ", "UTC")
        .timeout(Duration::from_secs(120));
    c
}
