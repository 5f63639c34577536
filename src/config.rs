//! The configuration file: loading, defaults and validation.
//!
//! Precedence: flags over environment over this file over built-in defaults. The file is TOML;
//! unknown keys are errors, so a misspelt option is never silently ignored.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use toml::Spanned;

use crate::desk::Settings;
use crate::domain::fields::{self, FieldDef, FieldKind};
use crate::domain::{Millis, time};
use crate::rules::Routing;

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
    /// Channel accounts beyond each channel's default account.
    #[serde(default)]
    pub accounts: Vec<AccountConfig>,
    #[serde(default)]
    pub teams: Vec<TeamConfig>,
    #[serde(default)]
    pub agents: Vec<AgentConfig>,
    /// The ticket labels rules may test and set.
    #[serde(default)]
    pub labels: Vec<Spanned<String>>,
    /// The ticket fields rules may test and set.
    #[serde(default)]
    pub fields: Vec<FieldConfig>,
    pub business_hours: Option<Spanned<HoursConfig>>,
    #[serde(default)]
    pub rules: Vec<RuleConfig>,
    pub timers: Option<TimersConfig>,
    /// The checked routing built from the sections above when the file was parsed.
    #[serde(skip)]
    pub routing: Option<Arc<Routing>>,
}

/// `[[accounts]]`: a second LINE OA, another Shopee shop, ...
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    pub name: Spanned<String>,
    pub channel: Spanned<String>,
    /// The platform's own id of the account (LINE `destination`, page id, Instagram account id,
    /// WhatsApp `phone_number_id`, Shopee `shop_id`): payloads carrying it are stored under
    /// `name`.
    pub id: Option<Spanned<PlatformId>>,
    /// The key webhook signatures are made with (LINE channel secret, Meta app secret, Shopee
    /// live push partner key). Better kept out of the file: see `secret_env`.
    pub secret: Option<Spanned<Secret>>,
    /// The environment variable holding the secret, read when `tix serve` starts.
    pub secret_env: Option<Spanned<String>>,
    /// The token Meta's subscription handshake must present (Messenger, Instagram, WhatsApp).
    pub verify_token: Option<Spanned<Secret>>,
    /// The environment variable holding the verify token.
    pub verify_token_env: Option<Spanned<String>>,
    /// Shopee signs the registered callback URL together with the body, so it must be known
    /// exactly as registered (a proxy in front of tix changes the URL tix itself sees).
    pub callback_url: Option<Spanned<String>>,
}

/// A platform id, written as a string or (Shopee's `shop_id`) as an integer; kept as the digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformId(pub String);

impl<'de> Deserialize<'de> for PlatformId {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<PlatformId, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Int(i64),
        }
        match Raw::deserialize(d)
            .map_err(|_| de::Error::custom("expected an id: a string or an integer"))?
        {
            Raw::Text(s) => Ok(PlatformId(s)),
            Raw::Int(n) => Ok(PlatformId(n.to_string())),
        }
    }
}

/// A secret from the config file; never printed, not even by `{:?}`.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamConfig {
    pub name: Spanned<String>,
    #[serde(default)]
    pub drain_backlog: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    pub handle: Spanned<String>,
    pub name: Option<String>,
    #[serde(default)]
    pub teams: Vec<Spanned<String>>,
    pub channels: Option<Vec<Spanned<String>>>,
    pub max_open: Option<Spanned<i64>>,
    #[serde(default)]
    pub away: bool,
    pub hours: Option<Spanned<HoursConfig>>,
}

/// `{ tz = "Asia/Bangkok", mon_fri = "09:00-18:00", sat = "10:00-16:00" }`, read key by key so
/// each mistake is reported where it is.
pub type HoursConfig = BTreeMap<Spanned<String>, Spanned<String>>;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldConfig {
    pub name: Spanned<String>,
    /// text, number, dropdown, date or checkbox; dropdown when `values` is given, text if not.
    #[serde(rename = "type")]
    pub kind: Option<Spanned<String>>,
    /// The options of a dropdown.
    pub values: Option<Vec<Spanned<String>>>,
    /// An agent cannot close a ticket while this field is empty.
    #[serde(default)]
    pub required: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimersConfig {
    /// Close answered tickets the customer has been silent on for this long, or "off".
    pub auto_close: Option<Spanned<String>>,
    /// How often the running inbox checks timers.
    pub check_every: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    pub name: Spanned<String>,
    pub on: Spanned<Node>,
    #[serde(rename = "if")]
    pub when: Option<Spanned<Node>>,
    pub then: Spanned<Node>,
    #[serde(default)]
    pub stop: bool,
    #[serde(default)]
    pub once_per_ticket: bool,
}

/// A TOML value that keeps the position of every part, so a rule's conditions and actions can
/// be checked (and mistakes reported at their line and column) by [`crate::rules::load`].
#[derive(Debug, Clone)]
pub enum Node {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    List(Vec<Spanned<Node>>),
    Table(Vec<(Spanned<String>, Spanned<Node>)>),
}

impl Node {
    /// What kind of value this is, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Node::Str(_) => "a string",
            Node::Int(_) => "an integer",
            Node::Float(_) => "a number",
            Node::Bool(_) => "true or false",
            Node::List(_) => "a list",
            Node::Table(_) => "a table",
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Node, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, number, boolean, list or table")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        i64::try_from(v)
            .map(Node::Int)
            .map_err(|_| E::custom("number too large"))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Float(v))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Node>>()? {
            items.push(item);
        }
        Ok(Node::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            let value = map.next_value::<Spanned<Node>>()?;
            entries.push((key, value));
        }
        Ok(Node::Table(entries))
    }
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
    /// A mistake at a known place: `FILE:LINE:COLUMN: message`, as compilers report them.
    #[error("{}:{line}:{column}: {message}", path.display())]
    At {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
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
        let mut config: Config = toml::from_str(text).map_err(|e| ConfigError::Invalid {
            path: path.to_path_buf(),
            message: located(text, &e),
        })?;
        config.field_defs().map_err(|(span, message)| {
            let (line, column) = line_column(text, &span);
            ConfigError::At {
                path: path.to_path_buf(),
                line,
                column,
                message,
            }
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
        let routing = crate::rules::load::routing(&config).map_err(|e| {
            let (line, column) = line_column(text, &e.span);
            ConfigError::At {
                path: path.to_path_buf(),
                line,
                column,
                message: e.message,
            }
        })?;
        config.routing = Some(Arc::new(routing));
        Ok(config)
    }

    /// The ticket fields: the config's `[[fields]]`, or the defaults (Summary, Enquiry Type,
    /// Resolution, Priority, Product Enquired) when it has none. A mistake comes with where it is.
    pub fn field_defs(&self) -> Result<Vec<FieldDef>, (Range<usize>, String)> {
        if self.fields.is_empty() {
            return Ok(fields::default_fields());
        }
        self.fields
            .iter()
            .map(|f| {
                let options: Option<Vec<String>> = f
                    .values
                    .as_ref()
                    .map(|v| v.iter().map(|o| o.get_ref().trim().to_string()).collect());
                let kind = match (f.kind.as_ref().map(|k| (k.get_ref().as_str(), k.span())), options) {
                    (None | Some(("dropdown", _)), Some(o)) if !o.is_empty() => {
                        FieldKind::Dropdown(o)
                    }
                    (Some(("dropdown", span)), _) => {
                        return Err((span, "a dropdown needs values = [\"…\", …]".into()));
                    }
                    (Some((_, _)), Some(_)) | (None, Some(_)) => {
                        let span = f.values.as_ref().and_then(|v| v.first()).map_or(f.name.span(), |v| v.span());
                        return Err((span, "values are the options of a dropdown: give type = \"dropdown\" or no type".into()));
                    }
                    (None | Some(("text", _)), None) => FieldKind::Text,
                    (Some(("number", _)), None) => FieldKind::Number,
                    (Some(("date", _)), None) => FieldKind::Date,
                    (Some(("checkbox", _)), None) => FieldKind::Checkbox,
                    (Some((other, span)), None) => {
                        let known = ["text", "number", "dropdown", "date", "checkbox"];
                        let hint = crate::rules::load::did_you_mean(other, known)
                            .map(|k| format!(" (did you mean \"{k}\"?)"))
                            .unwrap_or_default();
                        return Err((
                            span,
                            format!("unknown field type \"{other}\"{hint}: the types are text, number, dropdown, date, checkbox"),
                        ));
                    }
                };
                Ok(FieldDef::new(f.name.get_ref().trim(), kind, f.required))
            })
            .collect()
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
        settings.routing = self.routing.clone();
        settings.fields = Arc::new(self.field_defs().map_err(|(_, e)| e)?);
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

/// The 1-based line and column (in characters) where a span starts.
pub fn line_column(text: &str, span: &Range<usize>) -> (usize, usize) {
    let mut start = span.start.min(text.len());
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let before = &text[..start];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
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
    fn account_webhook_settings_are_checked_at_their_line_and_column() {
        let p = Path::new("c.toml");
        let ok = Config::parse(
            "[[accounts]]\nname = \"shop\"\nchannel = \"shopee\"\nid = 947042923\n\
             secret_env = \"SHOPEE_KEY\"\ncallback_url = \"https://x.example/shopee\"\n\
             [[accounts]]\nname = \"page\"\nchannel = \"messenger\"\nid = \"1\"\n\
             secret = \"s\"\nverify_token_env = \"TOKEN\"\n",
            p,
        )
        .unwrap();
        assert_eq!(ok.accounts[0].id.as_ref().unwrap().get_ref().0, "947042923");
        // Secrets never show in debug output.
        assert!(!format!("{:?}", ok.accounts[1]).contains("\"s\""));
        let err = |body: &str| {
            Config::parse(&format!("me = \"a\"\n[[accounts]]\n{body}"), p)
                .unwrap_err()
                .to_string()
        };
        let cases = [
            (
                "name = \"l\"\nchannel = \"line\"\nsecret = \"x\"\nsecret_env = \"LINE_SECRET\"\n",
                "c.toml:6:14: account \"l\" gives both secret and secret_env; keep one",
            ),
            (
                "name = \"l\"\nchannel = \"line\"\nverify_token = \"t\"\n",
                "c.toml:5:16: verify_token is for the subscription handshake of messenger, \
                 instagram and whatsapp accounts; a line account has none",
            ),
            (
                "name = \"s\"\nchannel = \"shopee\"\nsecret_env = \"KEY\"\n",
                "c.toml:5:14: shopee account \"s\" has a secret but no callback_url",
            ),
            (
                "name = \"w\"\nchannel = \"whatsapp\"\ncallback_url = \"https://x\"\n",
                "c.toml:5:16: callback_url is for shopee accounts",
            ),
            (
                "name = \"s\"\nchannel = \"shopee\"\nsecret = \"k\"\ncallback_url = \"/shopee\"\n",
                "c.toml:6:16: callback_url must be the full URL",
            ),
            (
                "name = \"e\"\nchannel = \"email\"\nsecret = \"k\"\n",
                "c.toml:5:10: tix serve receives no email webhooks",
            ),
            (
                "name = \"l\"\nchannel = \"line\"\nsecret_env = \"MY SECRET\"\n",
                "c.toml:5:14: secret_env must name an environment variable",
            ),
            (
                "name = \"l\"\nchannel = \"line\"\nid = \" U1\"\n",
                "c.toml:5:6: an account id cannot be empty",
            ),
            (
                "name = \"a\"\nchannel = \"line\"\nid = \"U1\"\n[[accounts]]\nname = \"b\"\n\
                 channel = \"line\"\nid = \"U1\"\n",
                "c.toml:9:6: line id \"U1\" is already the id of account \"a\"",
            ),
        ];
        for (body, want) in cases {
            let e = err(body);
            assert!(e.starts_with(want), "{body}\n got: {e}\nwant: {want}");
        }
        // The same id on two channels is two accounts.
        Config::parse(
            "[[accounts]]\nname = \"a\"\nchannel = \"line\"\nid = \"1\"\n\
             [[accounts]]\nname = \"b\"\nchannel = \"whatsapp\"\nid = \"1\"\n",
            p,
        )
        .unwrap();
        // Unknown keys name themselves and their place.
        let e = err("name = \"l\"\nchannel = \"line\"\nsecret_evn = \"X\"\n");
        assert!(
            e.starts_with("c.toml: line 5, column 1") && e.contains("secret_evn"),
            "{e}"
        );
        let e = err("name = \"l\"\nchannel = \"line\"\nid = 1.5\n");
        assert!(e.contains("expected an id"), "{e}");
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
