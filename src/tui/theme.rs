//! Colours, or their absence. With `NO_COLOR` set (or `theme = "mono"`), everything is drawn with
//! reverse video and bold only, so the selection still shows on any terminal.

use ratatui::style::{Color, Modifier, Style};

/// The styles the screen is drawn with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    pub name: &'static str,
    pub base: Style,
    pub dim: Style,
    pub selected: Style,
    pub selected_unfocused: Style,
    pub marked: Style,
    pub unread: Style,
    pub title: Style,
    pub focused_border: Style,
    pub border: Style,
    pub customer: Style,
    pub agent: Style,
    pub note: Style,
    pub event: Style,
    pub ticket_boundary: Style,
    pub notice: Style,
    pub error: Style,
    pub highlight: Style,
    pub key: Style,
}

impl Theme {
    pub fn colour() -> Theme {
        Theme {
            name: "default",
            base: Style::default(),
            dim: Style::default().fg(Color::DarkGray),
            selected: Style::default()
                .bg(Color::Blue)
                .fg(Color::White)
                .add_modifier(Modifier::BOLD),
            selected_unfocused: Style::default().bg(Color::DarkGray).fg(Color::White),
            marked: Style::default()
                .fg(Color::Yellow)
                .add_modifier(Modifier::BOLD),
            unread: Style::default()
                .fg(Color::Cyan)
                .add_modifier(Modifier::BOLD),
            title: Style::default()
                .fg(Color::Cyan)
                .add_modifier(Modifier::BOLD),
            focused_border: Style::default().fg(Color::Cyan),
            border: Style::default().fg(Color::DarkGray),
            customer: Style::default()
                .fg(Color::Green)
                .add_modifier(Modifier::BOLD),
            agent: Style::default()
                .fg(Color::Magenta)
                .add_modifier(Modifier::BOLD),
            note: Style::default().fg(Color::Yellow),
            event: Style::default().fg(Color::DarkGray),
            ticket_boundary: Style::default().fg(Color::Cyan),
            notice: Style::default().fg(Color::Green),
            error: Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
            highlight: Style::default()
                .fg(Color::Black)
                .bg(Color::Yellow)
                .add_modifier(Modifier::BOLD),
            key: Style::default()
                .fg(Color::Cyan)
                .add_modifier(Modifier::BOLD),
        }
    }

    /// No colour at all: reverse video and bold carry every distinction that matters.
    pub fn mono() -> Theme {
        let plain = Style::default();
        let bold = Style::default().add_modifier(Modifier::BOLD);
        let reverse = Style::default().add_modifier(Modifier::REVERSED);
        Theme {
            name: "mono",
            base: plain,
            dim: plain,
            selected: reverse.add_modifier(Modifier::BOLD),
            selected_unfocused: reverse,
            marked: bold,
            unread: bold,
            title: bold,
            focused_border: bold,
            border: plain,
            customer: bold,
            agent: bold,
            note: plain,
            event: plain,
            ticket_boundary: bold,
            notice: bold,
            error: bold,
            highlight: reverse,
            key: bold,
        }
    }

    /// The theme asked for by name (`default`, `mono`), where `NO_COLOR` wins.
    pub fn choose(name: Option<&str>, no_color: bool) -> Result<Theme, String> {
        if no_color {
            return Ok(Theme::mono());
        }
        match name.unwrap_or("default") {
            "default" | "colour" | "color" => Ok(Theme::colour()),
            "mono" => Ok(Theme::mono()),
            other => Err(format!(
                "theme = \"{other}\": the themes are \"default\" and \"mono\""
            )),
        }
    }

    /// Whether the environment asks for no colour (`NO_COLOR` set and not empty).
    pub fn no_color_env() -> bool {
        std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mono_uses_no_colour_and_still_shows_the_selection() {
        let t = Theme::mono();
        for s in [
            t.selected,
            t.selected_unfocused,
            t.highlight,
            t.unread,
            t.error,
        ] {
            assert_eq!(s.fg, None);
            assert_eq!(s.bg, None);
        }
        assert!(t.selected.add_modifier.contains(Modifier::REVERSED));
        assert_eq!(Theme::choose(Some("default"), true).unwrap().name, "mono");
        assert!(Theme::choose(Some("neon"), false).is_err());
    }
}
