//! Keys and the commands they run. Every binding can be changed in the config file; `?` shows
//! the ones in force, read from here, so the help can never disagree with the keys.

use std::collections::BTreeMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::rules::load::did_you_mean;

/// Everything a key can do in the inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Command {
    Down,
    Up,
    Top,
    Bottom,
    HalfPageDown,
    HalfPageUp,
    Open,
    Back,
    Focus,
    Assign,
    Take,
    Close,
    Reopen,
    Spam,
    NotSpam,
    FollowUp,
    Label,
    Note,
    Reply,
    Fields,
    Search,
    Mark,
    Undo,
    Redo,
    Palette,
    Reports,
    Help,
    Redraw,
    Quit,
    View(u8),
}

impl Command {
    /// Every command, in the order the help lists them.
    pub fn all() -> Vec<Command> {
        let mut all = vec![
            Command::Down,
            Command::Up,
            Command::Top,
            Command::Bottom,
            Command::HalfPageDown,
            Command::HalfPageUp,
            Command::Open,
            Command::Back,
            Command::Focus,
            Command::Assign,
            Command::Take,
            Command::Close,
            Command::Reopen,
            Command::Spam,
            Command::NotSpam,
            Command::FollowUp,
            Command::Label,
            Command::Note,
            Command::Reply,
            Command::Fields,
            Command::Search,
            Command::Mark,
            Command::Undo,
            Command::Redo,
            Command::Palette,
            Command::Reports,
            Command::Help,
            Command::Redraw,
            Command::Quit,
        ];
        all.extend((1..=9).map(Command::View));
        all
    }

    /// The name used in the config file's `[keys]` table and in the command palette.
    pub fn name(self) -> String {
        match self {
            Command::Down => "down".into(),
            Command::Up => "up".into(),
            Command::Top => "top".into(),
            Command::Bottom => "bottom".into(),
            Command::HalfPageDown => "half_page_down".into(),
            Command::HalfPageUp => "half_page_up".into(),
            Command::Open => "open".into(),
            Command::Back => "back".into(),
            Command::Focus => "focus".into(),
            Command::Assign => "assign".into(),
            Command::Take => "take".into(),
            Command::Close => "close".into(),
            Command::Reopen => "reopen".into(),
            Command::Spam => "spam".into(),
            Command::NotSpam => "not_spam".into(),
            Command::FollowUp => "follow_up".into(),
            Command::Label => "label".into(),
            Command::Note => "note".into(),
            Command::Reply => "reply".into(),
            Command::Fields => "fields".into(),
            Command::Search => "search".into(),
            Command::Mark => "mark".into(),
            Command::Undo => "undo".into(),
            Command::Redo => "redo".into(),
            Command::Palette => "palette".into(),
            Command::Reports => "reports".into(),
            Command::Help => "help".into(),
            Command::Redraw => "redraw".into(),
            Command::Quit => "quit".into(),
            Command::View(n) => format!("view_{n}"),
        }
    }

    /// What the command does, for the help and the palette.
    pub fn describe(self) -> String {
        match self {
            Command::Down => "next row".into(),
            Command::Up => "previous row".into(),
            Command::Top => "first row".into(),
            Command::Bottom => "last row".into(),
            Command::HalfPageDown => "half a page down".into(),
            Command::HalfPageUp => "half a page up".into(),
            Command::Open => "open the thread".into(),
            Command::Back => "back to the list".into(),
            Command::Focus => "switch pane".into(),
            Command::Assign => "assign to an agent or team".into(),
            Command::Take => "take: assign to me".into(),
            Command::Close => "close".into(),
            Command::Reopen => "reopen".into(),
            Command::Spam => "mark spam".into(),
            Command::NotSpam => "not spam".into(),
            Command::FollowUp => "flag or clear follow-up".into(),
            Command::Label => "add or remove a label".into(),
            Command::Note => "add an internal note".into(),
            Command::Reply => "reply to the customer".into(),
            Command::Fields => "set a field".into(),
            Command::Search => "search all messages".into(),
            Command::Mark => "mark the row for a bulk action".into(),
            Command::Undo => "undo my last action".into(),
            Command::Redo => "redo".into(),
            Command::Palette => "command palette".into(),
            Command::Reports => "reports: the last seven days".into(),
            Command::Help => "this help".into(),
            Command::Redraw => "redraw the whole screen".into(),
            Command::Quit => "quit".into(),
            Command::View(n) => format!("view {n} of the sidebar"),
        }
    }

    pub fn from_name(name: &str) -> Option<Command> {
        Command::all().into_iter().find(|c| c.name() == name)
    }
}

/// A key with its modifiers, as written in the config: `j`, `G`, `ctrl-d`, `enter`, `space`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub code: KeyCodeOrd,
    pub ctrl: bool,
    pub alt: bool,
}

/// `KeyCode` with an order, so bindings can live in sorted maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyCodeOrd {
    Char(char),
    Enter,
    Esc,
    Tab,
    BackTab,
    Backspace,
    Up,
    Down,
    Left,
    Right,
    Home,
    End,
    PageUp,
    PageDown,
    F(u8),
}

impl Key {
    pub fn char(c: char) -> Key {
        Key {
            code: KeyCodeOrd::Char(c),
            ctrl: false,
            alt: false,
        }
    }

    pub fn ctrl(c: char) -> Key {
        Key {
            code: KeyCodeOrd::Char(c),
            ctrl: true,
            alt: false,
        }
    }

    fn plain(code: KeyCodeOrd) -> Key {
        Key {
            code,
            ctrl: false,
            alt: false,
        }
    }

    /// The key a terminal event stands for, if it is one tix can bind.
    pub fn from_event(e: &KeyEvent) -> Option<Key> {
        let code = match e.code {
            KeyCode::Char(c) => KeyCodeOrd::Char(c),
            KeyCode::Enter => KeyCodeOrd::Enter,
            KeyCode::Esc => KeyCodeOrd::Esc,
            KeyCode::Tab => KeyCodeOrd::Tab,
            KeyCode::BackTab => KeyCodeOrd::BackTab,
            KeyCode::Backspace => KeyCodeOrd::Backspace,
            KeyCode::Up => KeyCodeOrd::Up,
            KeyCode::Down => KeyCodeOrd::Down,
            KeyCode::Left => KeyCodeOrd::Left,
            KeyCode::Right => KeyCodeOrd::Right,
            KeyCode::Home => KeyCodeOrd::Home,
            KeyCode::End => KeyCodeOrd::End,
            KeyCode::PageUp => KeyCodeOrd::PageUp,
            KeyCode::PageDown => KeyCodeOrd::PageDown,
            KeyCode::F(n) => KeyCodeOrd::F(n),
            _ => return None,
        };
        Some(Key {
            code,
            ctrl: e.modifiers.contains(KeyModifiers::CONTROL),
            alt: e.modifiers.contains(KeyModifiers::ALT),
        })
    }

    /// Reads a key as written in the config file.
    pub fn parse(text: &str) -> Result<Key, String> {
        let mut key = Key::char(' ');
        let mut rest = text;
        loop {
            let lower = rest.to_ascii_lowercase();
            if lower.starts_with("ctrl-") && rest.len() > 5 {
                key.ctrl = true;
                rest = &rest[5..];
            } else if lower.starts_with("alt-") && rest.len() > 4 {
                key.alt = true;
                rest = &rest[4..];
            } else {
                break;
            }
        }
        let named = match rest.to_ascii_lowercase().as_str() {
            "enter" | "return" => Some(KeyCodeOrd::Enter),
            "esc" | "escape" => Some(KeyCodeOrd::Esc),
            "tab" => Some(KeyCodeOrd::Tab),
            "backtab" | "shift-tab" => Some(KeyCodeOrd::BackTab),
            "backspace" => Some(KeyCodeOrd::Backspace),
            "up" => Some(KeyCodeOrd::Up),
            "down" => Some(KeyCodeOrd::Down),
            "left" => Some(KeyCodeOrd::Left),
            "right" => Some(KeyCodeOrd::Right),
            "home" => Some(KeyCodeOrd::Home),
            "end" => Some(KeyCodeOrd::End),
            "pageup" => Some(KeyCodeOrd::PageUp),
            "pagedown" => Some(KeyCodeOrd::PageDown),
            "space" => Some(KeyCodeOrd::Char(' ')),
            f if f.len() > 1 && f.starts_with('f') => f[1..].parse().ok().map(KeyCodeOrd::F),
            _ => None,
        };
        key.code = match named {
            Some(code) => code,
            None => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => {
                        KeyCodeOrd::Char(if key.ctrl { c.to_ascii_lowercase() } else { c })
                    }
                    _ => {
                        return Err(format!(
                            "\"{text}\" is not a key: write one character, or a name such as \
                             enter, esc, tab, space, up, pagedown, f1, with ctrl- or alt- before it"
                        ));
                    }
                }
            }
        };
        Ok(key)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("Ctrl-")?;
        }
        if self.alt {
            f.write_str("Alt-")?;
        }
        match self.code {
            KeyCodeOrd::Char(' ') => f.write_str("Space"),
            KeyCodeOrd::Char(c) => write!(f, "{c}"),
            KeyCodeOrd::Enter => f.write_str("Enter"),
            KeyCodeOrd::Esc => f.write_str("Esc"),
            KeyCodeOrd::Tab => f.write_str("Tab"),
            KeyCodeOrd::BackTab => f.write_str("Shift-Tab"),
            KeyCodeOrd::Backspace => f.write_str("Backspace"),
            KeyCodeOrd::Up => f.write_str("↑"),
            KeyCodeOrd::Down => f.write_str("↓"),
            KeyCodeOrd::Left => f.write_str("←"),
            KeyCodeOrd::Right => f.write_str("→"),
            KeyCodeOrd::Home => f.write_str("Home"),
            KeyCodeOrd::End => f.write_str("End"),
            KeyCodeOrd::PageUp => f.write_str("PageUp"),
            KeyCodeOrd::PageDown => f.write_str("PageDown"),
            KeyCodeOrd::F(n) => write!(f, "F{n}"),
        }
    }
}

/// A binding: one key, or two in a row (`gg`).
pub type Chord = Vec<Key>;

/// What a key press led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    Run(Command),
    /// The key starts a longer binding: wait for the next one.
    Pending,
    Unbound,
}

/// The bindings in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    bindings: BTreeMap<Chord, Command>,
}

impl Default for Keymap {
    fn default() -> Self {
        use Command::*;
        let c = Key::char;
        let p = Key::plain;
        let mut b: Vec<(Chord, Command)> = vec![
            (vec![c('j')], Down),
            (vec![p(KeyCodeOrd::Down)], Down),
            (vec![c('k')], Up),
            (vec![p(KeyCodeOrd::Up)], Up),
            (vec![c('g'), c('g')], Top),
            (vec![p(KeyCodeOrd::Home)], Top),
            (vec![c('G')], Bottom),
            (vec![p(KeyCodeOrd::End)], Bottom),
            (vec![Key::ctrl('d')], HalfPageDown),
            (vec![p(KeyCodeOrd::PageDown)], HalfPageDown),
            (vec![Key::ctrl('u')], HalfPageUp),
            (vec![p(KeyCodeOrd::PageUp)], HalfPageUp),
            (vec![p(KeyCodeOrd::Enter)], Open),
            (vec![p(KeyCodeOrd::Esc)], Back),
            (vec![p(KeyCodeOrd::Tab)], Focus),
            (vec![c('a')], Assign),
            (vec![c('A')], Take),
            (vec![c('c')], Close),
            (vec![c('o')], Reopen),
            (vec![c('s')], Spam),
            (vec![c('S')], NotSpam),
            (vec![c('f')], FollowUp),
            (vec![c('l')], Label),
            (vec![c('n')], Note),
            (vec![c('r')], Reply),
            (vec![c('e')], Fields),
            (vec![c('/')], Search),
            (vec![c(' ')], Mark),
            (vec![c('u')], Undo),
            (vec![Key::ctrl('r')], Redo),
            (vec![c(':')], Palette),
            (vec![c('R')], Reports),
            (vec![c('?')], Help),
            (vec![Key::ctrl('l')], Redraw),
            (vec![c('q')], Quit),
            (vec![Key::ctrl('c')], Quit),
        ];
        for n in 1..=9u8 {
            b.push((vec![c((b'0' + n) as char)], View(n)));
        }
        Keymap {
            bindings: b.into_iter().collect(),
        }
    }
}

impl Keymap {
    /// The defaults with the config's `[keys]` table applied: each command named there gets
    /// exactly the keys listed (an empty list unbinds it). Keys taken from another command leave
    /// it.
    pub fn with_overrides(overrides: &BTreeMap<String, Vec<String>>) -> Result<Keymap, String> {
        let mut map = Keymap::default();
        for (name, keys) in overrides {
            let Some(command) = Command::from_name(name) else {
                let names: Vec<String> = Command::all().iter().map(|c| c.name()).collect();
                let hint = did_you_mean(name, names.iter().map(String::as_str))
                    .map(|k| format!(" (did you mean \"{k}\"?)"))
                    .unwrap_or_default();
                return Err(format!("[keys]: there is no command \"{name}\"{hint}"));
            };
            map.bindings.retain(|_, c| *c != command);
            for spec in keys {
                let chord = parse_chord(spec).map_err(|e| format!("[keys] {name}: {e}"))?;
                map.bindings.insert(chord, command);
            }
        }
        // A one-key binding that starts a two-key one would shadow it.
        for chord in map.bindings.keys() {
            if chord.len() > 1 && map.bindings.contains_key(&chord[..1]) {
                return Err(format!(
                    "[keys]: {} is bound alone and as the start of {}",
                    chord[0],
                    chord_text(chord)
                ));
            }
        }
        Ok(map)
    }

    /// Looks up a key pressed after `pending` (the keys of an unfinished binding).
    pub fn lookup(&self, pending: &[Key], key: Key) -> Lookup {
        let mut chord: Chord = pending.to_vec();
        chord.push(key);
        if let Some(c) = self.bindings.get(&chord) {
            return Lookup::Run(*c);
        }
        if self
            .bindings
            .keys()
            .any(|k| k.len() > chord.len() && k.starts_with(&chord))
        {
            return Lookup::Pending;
        }
        Lookup::Unbound
    }

    /// The keys bound to a command, for the help and the palette.
    pub fn keys_for(&self, command: Command) -> Vec<String> {
        self.bindings
            .iter()
            .filter(|(_, c)| **c == command)
            .map(|(k, _)| chord_text(k))
            .collect()
    }
}

fn parse_chord(spec: &str) -> Result<Chord, String> {
    // "gg" is two keys; "ctrl-d" or "enter" is one.
    if spec.chars().count() == 2 && spec.chars().all(|c| !c.is_whitespace()) && !spec.contains('-')
    {
        return spec.chars().map(|c| Key::parse(&c.to_string())).collect();
    }
    Ok(vec![Key::parse(spec)?])
}

fn chord_text(chord: &[Key]) -> String {
    chord
        .iter()
        .map(Key::to_string)
        .collect::<Vec<_>>()
        .join("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_cover_every_command() {
        let map = Keymap::default();
        for c in Command::all() {
            assert!(!map.keys_for(c).is_empty(), "{c:?} has no key");
        }
    }

    #[test]
    fn two_key_bindings_wait_for_the_second_key() {
        let map = Keymap::default();
        assert_eq!(map.lookup(&[], Key::char('g')), Lookup::Pending);
        assert_eq!(
            map.lookup(&[Key::char('g')], Key::char('g')),
            Lookup::Run(Command::Top)
        );
        assert_eq!(map.lookup(&[], Key::char('z')), Lookup::Unbound);
        assert_eq!(
            map.lookup(&[], Key::ctrl('d')),
            Lookup::Run(Command::HalfPageDown)
        );
    }

    #[test]
    fn overrides_replace_a_commands_keys() {
        let mut o = BTreeMap::new();
        o.insert(
            "close".to_string(),
            vec!["x".to_string(), "ctrl-w".to_string()],
        );
        let map = Keymap::with_overrides(&o).unwrap();
        assert_eq!(map.lookup(&[], Key::char('x')), Lookup::Run(Command::Close));
        assert_eq!(map.lookup(&[], Key::ctrl('w')), Lookup::Run(Command::Close));
        assert_eq!(map.lookup(&[], Key::char('c')), Lookup::Unbound);
        assert_eq!(map.keys_for(Command::Close), vec!["Ctrl-w", "x"]);
    }

    #[test]
    fn bad_overrides_are_explained() {
        let mut o = BTreeMap::new();
        o.insert("clsoe".to_string(), vec!["x".to_string()]);
        let e = Keymap::with_overrides(&o).unwrap_err();
        assert!(e.contains("did you mean \"close\""), "{e}");
        let mut o = BTreeMap::new();
        o.insert("close".to_string(), vec!["ctrl-".to_string()]);
        assert!(Keymap::with_overrides(&o).is_err());
        let mut o = BTreeMap::new();
        o.insert("quit".to_string(), vec!["g".to_string()]);
        let e = Keymap::with_overrides(&o).unwrap_err();
        assert!(e.contains("bound alone and as the start of gg"), "{e}");
    }

    #[test]
    fn keys_read_as_written() {
        assert_eq!(Key::parse("ctrl-D").unwrap(), Key::ctrl('d'));
        assert_eq!(Key::parse("space").unwrap(), Key::char(' '));
        assert_eq!(Key::parse("G").unwrap(), Key::char('G'));
        assert_eq!(Key::parse("f5").unwrap().to_string(), "F5");
        assert!(Key::parse("jj").is_err());
    }
}
