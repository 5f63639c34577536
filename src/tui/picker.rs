//! A fuzzy picker: type a few letters, pick from what matches. Used for assigning, labels,
//! fields and the command palette.

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher};

/// One thing that can be picked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice<T> {
    /// What the list shows and the query is matched against.
    pub label: String,
    /// A grey hint after the label (a key binding, "remove").
    pub hint: String,
    pub value: T,
}

/// The picker's state: its choices, the query typed so far and the highlighted match.
#[derive(Debug, Clone)]
pub struct Picker<T> {
    pub title: String,
    pub query: String,
    choices: Vec<Choice<T>>,
    /// Indexes into `choices` that match the query, best first.
    matches: Vec<usize>,
    pub cursor: usize,
    /// Whether typing a name that is not in the list offers it as a new choice.
    pub allow_new: bool,
}

impl<T: Clone> Picker<T> {
    pub fn new(title: impl Into<String>, choices: Vec<Choice<T>>, allow_new: bool) -> Picker<T> {
        let mut p = Picker {
            title: title.into(),
            query: String::new(),
            matches: (0..choices.len()).collect(),
            choices,
            cursor: 0,
            allow_new,
        };
        p.refilter();
        p
    }

    pub fn type_char(&mut self, c: char) {
        if !c.is_control() {
            self.query.push(c);
            self.refilter();
        }
    }

    pub fn backspace(&mut self) {
        self.query.pop();
        self.refilter();
    }

    pub fn down(&mut self) {
        if self.cursor + 1 < self.matches.len() {
            self.cursor += 1;
        }
    }

    pub fn up(&mut self) {
        self.cursor = self.cursor.saturating_sub(1);
    }

    /// The matching choices, best first.
    pub fn visible(&self) -> impl Iterator<Item = &Choice<T>> {
        self.matches.iter().map(|&i| &self.choices[i])
    }

    pub fn match_count(&self) -> usize {
        self.matches.len()
    }

    /// The highlighted choice.
    pub fn selected(&self) -> Option<&Choice<T>> {
        self.matches.get(self.cursor).map(|&i| &self.choices[i])
    }

    /// The typed text as a new name, when the picker takes new names and nothing is an exact
    /// match for it.
    pub fn new_name(&self) -> Option<&str> {
        let q = self.query.trim();
        if !self.allow_new || q.is_empty() {
            return None;
        }
        let exact = self.choices.iter().any(|c| c.label.eq_ignore_ascii_case(q));
        (!exact).then_some(q)
    }

    fn refilter(&mut self) {
        self.cursor = 0;
        if self.query.trim().is_empty() {
            self.matches = (0..self.choices.len()).collect();
            return;
        }
        let mut matcher = Matcher::new(Config::DEFAULT);
        let pattern = Pattern::parse(&self.query, CaseMatching::Ignore, Normalization::Smart);
        let labels: Vec<(usize, &str)> = self
            .choices
            .iter()
            .enumerate()
            .map(|(i, c)| (i, c.label.as_str()))
            .collect();
        let mut scored: Vec<(usize, u32)> = labels
            .iter()
            .filter_map(|(i, label)| {
                let mut buf = Vec::new();
                let haystack = nucleo_matcher::Utf32Str::new(label, &mut buf);
                pattern.score(haystack, &mut matcher).map(|s| (*i, s))
            })
            .collect();
        // Best score first; equal scores keep the list's own order.
        scored.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        self.matches = scored.into_iter().map(|(i, _)| i).collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picker(names: &[&str]) -> Picker<String> {
        Picker::new(
            "pick",
            names
                .iter()
                .map(|n| Choice {
                    label: n.to_string(),
                    hint: String::new(),
                    value: n.to_string(),
                })
                .collect(),
            true,
        )
    }

    #[test]
    fn typing_narrows_to_fuzzy_matches_best_first() {
        let mut p = picker(&["agent alice", "agent bob", "team billing", "team support"]);
        assert_eq!(p.match_count(), 4);
        for c in "bil".chars() {
            p.type_char(c);
        }
        assert_eq!(p.selected().unwrap().value, "team billing");
        p.backspace();
        p.backspace();
        p.backspace();
        p.type_char('s');
        p.type_char('p');
        assert_eq!(p.selected().unwrap().value, "team support");
    }

    #[test]
    fn a_new_name_is_offered_only_when_nothing_matches_exactly() {
        let mut p = picker(&["refund", "vip"]);
        for c in "VIP".chars() {
            p.type_char(c);
        }
        assert_eq!(p.new_name(), None);
        p.type_char('2');
        assert_eq!(p.new_name(), Some("VIP2"));
    }
}
