//! Ticket fields: what a shop records on each ticket (Summary, Priority, Resolution…), their
//! types, and which must be filled before an agent closes a ticket.

use chrono::NaiveDate;

/// What a field holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    Number,
    /// One of these options.
    Dropdown(Vec<String>),
    /// A day, written `YYYY-MM-DD`.
    Date,
    /// `yes` or `no`.
    Checkbox,
}

impl FieldKind {
    pub fn name(&self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::Number => "number",
            FieldKind::Dropdown(_) => "dropdown",
            FieldKind::Date => "date",
            FieldKind::Checkbox => "checkbox",
        }
    }
}

/// A field defined by the config (or one of the defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDef {
    pub name: String,
    pub kind: FieldKind,
    /// An agent cannot close a ticket while this field is empty (rules and timers can).
    pub required: bool,
}

impl FieldDef {
    pub fn new(name: &str, kind: FieldKind, required: bool) -> FieldDef {
        FieldDef {
            name: name.to_string(),
            kind,
            required,
        }
    }

    /// The value as stored, or why it does not fit the field. Options and yes/no are matched
    /// case-insensitively and stored as the config spells them.
    pub fn check(&self, value: &str) -> Result<String, String> {
        let v = value.trim();
        let name = &self.name;
        match &self.kind {
            FieldKind::Text => Ok(v.to_string()),
            FieldKind::Number => match v.parse::<f64>() {
                Ok(n) if n.is_finite() => Ok(v.to_string()),
                _ => Err(format!("{name} is a number; \"{v}\" is not one")),
            },
            FieldKind::Date => NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map(|d| d.format("%Y-%m-%d").to_string())
                .map_err(|_| format!("{name} is a date like 2026-11-25; \"{v}\" is not one")),
            FieldKind::Checkbox => match v.to_ascii_lowercase().as_str() {
                "yes" | "y" | "true" | "on" | "1" => Ok("yes".into()),
                "no" | "n" | "false" | "off" | "0" => Ok("no".into()),
                _ => Err(format!("{name} is yes or no; \"{v}\" is neither")),
            },
            FieldKind::Dropdown(options) => options
                .iter()
                .find(|o| o.eq_ignore_ascii_case(v))
                .cloned()
                .ok_or_else(|| {
                    format!(
                        "{name} is one of {}; \"{v}\" is not",
                        options
                            .iter()
                            .map(|o| format!("\"{o}\""))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }),
        }
    }
}

/// The fields a shop gets when its config defines none.
pub fn default_fields() -> Vec<FieldDef> {
    let options = |o: &[&str]| FieldKind::Dropdown(o.iter().map(|s| s.to_string()).collect());
    vec![
        FieldDef::new("Summary", FieldKind::Text, false),
        FieldDef::new(
            "Enquiry Type",
            options(&[
                "Product",
                "Order",
                "Delivery",
                "Payment",
                "Return",
                "Complaint",
                "Other",
            ]),
            false,
        ),
        FieldDef::new(
            "Resolution",
            options(&[
                "Answered",
                "Refunded",
                "Replaced",
                "Escalated",
                "No reply needed",
            ]),
            false,
        ),
        FieldDef::new(
            "Priority",
            options(&["Low", "Normal", "High", "Urgent"]),
            false,
        ),
        FieldDef::new("Product Enquired", FieldKind::Text, false),
    ]
}

/// The definition a name refers to, matched case-insensitively.
pub fn find<'a>(defs: &'a [FieldDef], name: &str) -> Option<&'a FieldDef> {
    let name = name.trim();
    defs.iter().find(|d| d.name.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked_by_type_and_stored_as_the_config_spells_them() {
        let f = default_fields();
        let priority = find(&f, "priority").unwrap();
        assert_eq!(priority.check(" high ").unwrap(), "High");
        let e = priority.check("asap").unwrap_err();
        assert!(
            e.contains("\"Low\", \"Normal\", \"High\", \"Urgent\""),
            "{e}"
        );
        let n = FieldDef::new("Amount", FieldKind::Number, false);
        assert_eq!(n.check("12.5").unwrap(), "12.5");
        assert!(n.check("12 baht").is_err());
        assert!(n.check("NaN").is_err());
        let d = FieldDef::new("Due", FieldKind::Date, false);
        assert_eq!(d.check("2026-11-25").unwrap(), "2026-11-25");
        assert!(d.check("25/11/2026").is_err());
        let c = FieldDef::new("Gift", FieldKind::Checkbox, false);
        assert_eq!(c.check("TRUE").unwrap(), "yes");
        assert_eq!(c.check("no").unwrap(), "no");
        assert!(c.check("maybe").is_err());
        assert_eq!(
            find(&f, "summary").unwrap().check(" anything ").unwrap(),
            "anything"
        );
    }
}
