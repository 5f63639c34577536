//! The configuration file: loading, defaults and validation.
//!
//! Precedence: flags over environment over this file over built-in defaults. The file is TOML;
//! unknown keys are errors, so a misspelt option is never silently ignored.

use std::collections::BTreeMap;
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
    /// The inbox's colours: "default" or "mono". `NO_COLOR` in the environment always wins.
    pub theme: Option<String>,
    /// Key bindings that replace the defaults, by command name: `close = "x"` or
    /// `top = ["gg", "home"]`.
    #[serde(default)]
    pub keys: BTreeMap<String, KeyList>,
    /// Saved views: named filters over open tickets, listed in the sidebar after the built-in
    /// views.
    #[serde(default)]
    pub views: Vec<SavedView>,
}

/// One key or several, as the `[keys]` table allows.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum KeyList {
    One(String),
    Many(Vec<String>),
}

impl KeyList {
    pub fn keys(&self) -> Vec<String> {
        match self {
            KeyList::One(k) => vec![k.clone()],
            KeyList::Many(ks) => ks.clone(),
        }
    }
}

/// A saved view: open tickets matching every condition given.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SavedView {
    pub name: String,
    pub channel: Option<String>,
    pub label: Option<String>,
    pub assignee: Option<String>,
    pub team: Option<String>,
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
        config
            .check_inbox(text)
            .map_err(|message| ConfigError::Invalid {
                path: path.to_path_buf(),
                message,
            })?;
        Ok(config)
    }

    /// Checks the inbox's sections (theme, keys, views), naming the line of a mistake.
    fn check_inbox(&self, text: &str) -> Result<(), String> {
        let at = |key: &str, message: String| match line_of_key(text, key) {
            Some(line) => format!("line {line}: {message}"),
            None => message,
        };
        crate::tui::theme::Theme::choose(self.theme.as_deref(), false)
            .map_err(|e| at("theme", e))?;
        if let Err(e) = crate::tui::keymap::Keymap::with_overrides(&self.key_overrides()) {
            let culprit = self
                .keys
                .keys()
                .find(|name| e.contains(&format!("\"{name}\"")) || e.contains(&format!("{name}:")))
                .cloned()
                .unwrap_or_else(|| "[keys]".to_string());
            return Err(at(&culprit, e));
        }
        for (i, view) in self.views.iter().enumerate() {
            let line = view_line(text, i);
            let located = |m: String| match line {
                Some(l) => format!("line {l}: [[views]] \"{}\": {m}", view.name),
                None => format!("[[views]] \"{}\": {m}", view.name),
            };
            view.filter().map_err(located)?;
        }
        Ok(())
    }

    /// The `[keys]` table as the keymap reads it.
    pub fn key_overrides(&self) -> BTreeMap<String, Vec<String>> {
        self.keys
            .iter()
            .map(|(k, v)| (k.clone(), v.keys()))
            .collect()
    }

    /// The saved views as queue filters, in file order.
    pub fn saved_views(&self) -> Result<Vec<(String, crate::store::SavedFilter)>, String> {
        self.views
            .iter()
            .map(|v| Ok((v.name.trim().to_string(), v.filter()?)))
            .collect()
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

impl SavedView {
    fn filter(&self) -> Result<crate::store::SavedFilter, String> {
        if self.name.trim().is_empty() {
            return Err("a view needs a name".into());
        }
        let channel = self
            .channel
            .as_deref()
            .map(|c| {
                c.parse::<crate::domain::ChannelKind>()
                    .map_err(|e| format!("channel: {e}"))
            })
            .transpose()?;
        let f = crate::store::SavedFilter {
            channel,
            label: self.label.clone(),
            assignee: self.assignee.clone(),
            team: self.team.clone(),
        };
        if f == crate::store::SavedFilter::default() {
            return Err("give at least one of channel, label, assignee, team".into());
        }
        Ok(f)
    }
}

/// The line of the `index`-th `[[views]]` header.
fn view_line(text: &str, index: usize) -> Option<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.trim() == "[[views]]")
        .nth(index)
        .map(|(i, _)| i + 1)
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
    fn inbox_sections_are_checked_with_their_lines() {
        let p = Path::new("c.toml");
        let ok = Config::parse(
            "theme = \"mono\"\n[keys]\nclose = \"x\"\ntop = [\"gg\", \"home\"]\n\
             [[views]]\nname = \"LINE refunds\"\nchannel = \"line\"\nlabel = \"refund\"\n",
            p,
        )
        .unwrap();
        assert_eq!(ok.key_overrides()["top"], vec!["gg", "home"]);
        assert_eq!(ok.saved_views().unwrap()[0].0, "LINE refunds");
        let err = |text: &str| Config::parse(text, p).unwrap_err().to_string();
        let e = err("me = \"a\"\ntheme = \"neon\"\n");
        assert!(e.starts_with("c.toml: line 2: theme = \"neon\""), "{e}");
        let e = err("[keys]\n\nclsoe = \"x\"\n");
        assert!(
            e.contains("line 3") && e.contains("did you mean \"close\""),
            "{e}"
        );
        let e = err(
            "[[views]]\nname = \"a\"\nchannel = \"line\"\n[[views]]\nname = \"b\"\nchannel = \"lime\"\n",
        );
        assert!(
            e.starts_with("c.toml: line 4: [[views]] \"b\": channel"),
            "{e}"
        );
        let e = err("[[views]]\nname = \"a\"\n");
        assert!(e.contains("at least one of"), "{e}");
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
