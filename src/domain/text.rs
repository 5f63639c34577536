//! Making untrusted customer text safe to print.
//!
//! Names and messages come from strangers. Before any of it reaches a terminal, control characters
//! (ESC, BEL, NUL, C1 controls, bidi overrides) are replaced by visible stand-ins, so a message can
//! never move the cursor, retitle the window or clear the screen.

use unicode_width::UnicodeWidthStr;

/// Replaces every control character with a visible symbol. Newlines and tabs become spaces when
/// `single_line` is set, and are kept otherwise.
pub fn sanitize(text: &str, single_line: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '\n' | '\r' | '\t' if single_line => out.push(' '),
            '\n' | '\t' => out.push(ch),
            '\r' => {}
            // C0 controls and DEL: show the Unicode "control picture" for them.
            '\u{0}'..='\u{1f}' => out.push(char::from_u32(0x2400 + ch as u32).unwrap_or('?')),
            '\u{7f}' => out.push('\u{2421}'),
            // C1 controls (8-bit CSI and friends) and bidi overrides/isolates that reorder text.
            '\u{80}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
                out.push('\u{fffd}')
            }
            _ => out.push(ch),
        }
    }
    out
}

/// Display width in terminal cells (Thai combining marks count 0, emoji and CJK count 2).
pub fn width(text: &str) -> usize {
    UnicodeWidthStr::width(text)
}

/// Cuts sanitized one-line text to at most `max` cells, ending with `…` when it was cut.
pub fn truncate(text: &str, max: usize) -> String {
    let clean = sanitize(text, true);
    if width(&clean) <= max {
        return clean;
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for ch in clean.chars() {
        let w = unicode_width::UnicodeWidthChar::width(ch).unwrap_or(0);
        if used + w > max - 1 {
            break;
        }
        used += w;
        out.push(ch);
    }
    out.push('…');
    out
}

/// Pads one-line text with spaces to exactly `cells` cells, cutting it first if needed.
pub fn fit(text: &str, cells: usize) -> String {
    let mut s = truncate(text, cells);
    let w = width(&s);
    s.extend(std::iter::repeat_n(' ', cells.saturating_sub(w)));
    s
}

/// Breaks sanitized text into lines of at most `cells` cells: at spaces where it can, inside a
/// word where it must (Thai has no spaces between words). Zero-width marks stay with their base
/// character.
pub fn wrap(text: &str, cells: usize) -> Vec<String> {
    let cells = cells.max(1);
    let clean = sanitize(text, false).replace('\t', "    ");
    let mut lines = Vec::new();
    for paragraph in clean.split('\n') {
        let mut line = String::new();
        let mut used = 0;
        // The byte offset in `line` just after its last space, and the width up to there.
        let mut last_space: Option<(usize, usize)> = None;
        for ch in paragraph.chars() {
            let w = unicode_width::UnicodeWidthChar::width(ch).unwrap_or(0);
            if used + w > cells && ch == ' ' {
                // A space at the edge ends the line and is not carried to the next.
                lines.push(std::mem::take(&mut line).trim_end().to_string());
                used = 0;
                last_space = None;
                continue;
            }
            if used + w > cells && w > 0 {
                match last_space {
                    Some((at, width_at)) if at < line.len() => {
                        let rest = line.split_off(at);
                        lines.push(line.trim_end().to_string());
                        line = rest;
                        used -= width_at;
                    }
                    _ => {
                        lines.push(std::mem::take(&mut line));
                        used = 0;
                    }
                }
                last_space = None;
                if used + w > cells && !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                    used = 0;
                }
            }
            line.push(ch);
            used += w;
            if ch == ' ' {
                last_space = Some((line.len(), used));
            }
        }
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_never_survive() {
        let evil = "hi\u{1b}]0;title\u{7}\u{1b}[2J\u{0}\u{9b}31m";
        let clean = sanitize(evil, true);
        assert!(!clean.chars().any(|c| c.is_control()), "{clean:?}");
        assert!(clean.contains("]0;title"));
    }

    #[test]
    fn thai_and_emoji_widths_are_cells_not_chars() {
        assert_eq!(width("สวัสดี"), 4); // two combining marks take no cell
        assert_eq!(width("📦"), 2);
        assert_eq!(width(&fit("ยังไม่ได้รับของ", 6)), 6);
        assert_eq!(width(&fit("📦📦📦", 5)), 5);
    }

    #[test]
    fn wrap_breaks_at_spaces_or_inside_words_and_never_overflows() {
        assert_eq!(wrap("hello big world", 9), vec!["hello big", "world"]);
        assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(wrap("a\nb", 10), vec!["a", "b"]);
        let thai = "ยังไม่ได้รับของเลยค่ะ สั่งไปตั้งแต่วันจันทร์";
        for line in wrap(thai, 7) {
            assert!(width(&line) <= 7, "{line}");
        }
        let long = "x".repeat(10_000);
        assert_eq!(wrap(&long, 100).len(), 100);
        assert!(wrap("\u{1b}[2Jhi", 80)[0].starts_with('\u{241b}'));
    }

    #[test]
    fn truncate_marks_the_cut() {
        assert_eq!(truncate("hello world", 6), "hello…");
        assert_eq!(truncate("hello", 6), "hello");
    }
}
