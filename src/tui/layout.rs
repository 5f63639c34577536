//! Where each pane goes, from the terminal's size. `update` and `draw` both ask here, so a click
//! lands on what was drawn under it.

use ratatui::layout::Rect;

use super::app::Focus;

/// Below this width the sidebar is hidden.
const SIDEBAR_MIN_WIDTH: u16 = 100;
/// Below this width only the focused pane is shown.
const TWO_PANES_MIN_WIDTH: u16 = 64;
const SIDEBAR_WIDTH: u16 = 22;

/// The screen's panes. A hidden pane has zero size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Areas {
    pub sidebar: Rect,
    pub list: Rect,
    pub thread: Rect,
    pub status: Rect,
}

impl Areas {
    pub fn of(size: Rect, focus: Focus) -> Areas {
        let status_h = u16::from(size.height >= 2);
        let body = Rect::new(size.x, size.y, size.width, size.height - status_h);
        let status = Rect::new(size.x, size.y + body.height, size.width, status_h);
        let mut a = Areas {
            status,
            ..Areas::default()
        };
        let mut rest = body;
        if size.width >= SIDEBAR_MIN_WIDTH {
            a.sidebar = Rect::new(rest.x, rest.y, SIDEBAR_WIDTH, rest.height);
            rest.x += SIDEBAR_WIDTH;
            rest.width -= SIDEBAR_WIDTH;
        }
        if size.width >= TWO_PANES_MIN_WIDTH {
            let list_w = (rest.width * 9 / 20).max(30).min(rest.width);
            a.list = Rect::new(rest.x, rest.y, list_w, rest.height);
            a.thread = Rect::new(rest.x + list_w, rest.y, rest.width - list_w, rest.height);
        } else if focus == Focus::Thread {
            a.thread = rest;
            a.list = Rect::new(rest.x, rest.y, 0, rest.height);
        } else {
            a.list = rest;
        }
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_size_fits_inside_the_screen() {
        for w in 0..140 {
            for h in 0..40 {
                let size = Rect::new(0, 0, w, h);
                for focus in [Focus::List, Focus::Thread] {
                    let a = Areas::of(size, focus);
                    for r in [a.sidebar, a.list, a.thread, a.status] {
                        assert!(r.right() <= w && r.bottom() <= h, "{w}x{h} {r:?}");
                    }
                }
            }
        }
    }
}
