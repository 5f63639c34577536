//! The configuration file: loading, defaults and validation.
//!
//! Precedence: flags over environment over this file over built-in defaults. The file is TOML;
//! unknown keys are errors, so a misspelt option is never silently ignored.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::desk::Settings;
use crate::domain::{Millis, time};

/// The example configuration shipped with tix; a test loads it, so it never drifts.
pub const EXAMPLE: &str = include_str!("../config.example.toml");

const MIN_REOPEN_WINDOW: Millis = 60_000;
const MAX_REOPEN_WINDOW: Millis = 7 * 86_400_000;

/// The configuration as written in the file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The agent this tix acts as, unless `--as` or `TIX_AGENT` says otherwise.
    pub me: Option<String>,
    /// How long after a close a customer's message reopens the ticket: a duration, or "off".
    pub reopen_window: Option<String>,
}

/// A configuration problem, with where it is.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl Config {
    /// Reads a config file. A missing file at the default location is not an error (defaults
    /// apply); a missing file that was asked for by name is.
    pub fn load(path: &Path, must_exist: bool) -> Result<Config, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => {
                return Ok(Config::default());
            }
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        Config::parse(&text, path)
    }

    /// Parses and validates config text; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Invalid {
            path: path.to_path_buf(),
            message: located(text, &e),
        })?;
        config.settings().map_err(|message| ConfigError::Invalid {
            path: path.to_path_buf(),
            message: match line_of_key(text, "reopen_window") {
                Some(line) => format!("line {line}: {message}"),
                None => message,
            },
        })?;
        Ok(config)
    }

    /// The desk settings this configuration asks for.
    pub fn settings(&self) -> Result<Settings, String> {
        let mut settings = Settings::default();
        if let Some(w) = self.reopen_window.as_deref() {
            settings.reopen_window = if w.trim().eq_ignore_ascii_case("off") {
                None
            } else {
                let ms = time::parse_duration(w).map_err(|e| format!("reopen_window: {e}"))?;
                if !(MIN_REOPEN_WINDOW..=MAX_REOPEN_WINDOW).contains(&ms) {
                    return Err(format!(
                        "reopen_window: \"{w}\" is outside 1m to 7d (or \"off\")"
                    ));
                }
                Some(ms)
            };
        }
        Ok(settings)
    }
}

/// A TOML error as `line L, column C: message`.
fn located(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim().to_string();
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message,
    }
}

fn line_of_key(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| l.trim_start().starts_with(key))
        .map(|i| i + 1)
}

/// Where tix keeps its files unless told otherwise.
pub fn default_paths() -> Option<(PathBuf, PathBuf)> {
    directories::ProjectDirs::from("", "", "tix").map(|d| {
        (
            d.data_dir().join("tix.db"),
            d.config_dir().join("config.toml"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_config_loads() {
        let c = Config::parse(EXAMPLE, Path::new("config.example.toml")).unwrap();
        assert!(c.settings().is_ok());
    }

    #[test]
    fn unknown_key_is_an_error_with_its_line() {
        let err = Config::parse(
            "me = \"alice\"\nreopen_windw = \"2h\"\n",
            Path::new("c.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("c.toml: line 2, column 1"), "{err}");
        assert!(err.contains("reopen_windw"), "{err}");
    }

    #[test]
    fn reopen_window_is_bounded_or_off() {
        let p = Path::new("c.toml");
        let off = Config::parse("reopen_window = \"off\"", p).unwrap();
        assert_eq!(off.settings().unwrap().reopen_window, None);
        let two = Config::parse("reopen_window = \"2h\"", p).unwrap();
        assert_eq!(two.settings().unwrap().reopen_window, Some(7_200_000));
        let err = Config::parse("\nreopen_window = \"30s\"", p)
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2: reopen_window"), "{err}");
        assert!(Config::parse("reopen_window = \"8d\"", p).is_err());
    }
}
