//! Matching the account ids in payloads to the accounts named in the config file.
//!
//! A payload names the shop's account by the platform's own id (LINE `destination`, page id,
//! Instagram account id, WhatsApp `phone_number_id`, Shopee `shop_id`). When an `[[accounts]]`
//! entry of the same channel gives that `id`, messages are stored under the entry's `name`, so
//! rules and views can use the name; an id nobody configured is kept as it came. `tix import` and
//! `tix serve` both go through [`AccountIds::name_accounts`].

use std::collections::HashMap;

use super::Parsed;
use crate::config::Config;
use crate::domain::ChannelKind;

/// The configured accounts that give a platform id, by (channel, id).
#[derive(Debug, Clone, Default)]
pub struct AccountIds {
    names: HashMap<(ChannelKind, String), String>,
}

impl AccountIds {
    /// The ids of a loaded (and so already checked) config's accounts.
    pub fn from_config(config: &Config) -> AccountIds {
        let names = config
            .accounts
            .iter()
            .filter_map(|a| {
                let channel = a.channel.get_ref().parse::<ChannelKind>().ok()?;
                let id = a.id.as_ref()?.get_ref().0.clone();
                Some(((channel, id), a.name.get_ref().clone()))
            })
            .collect();
        AccountIds { names }
    }

    /// The configured name of the account with this platform id on this channel.
    pub fn name(&self, channel: ChannelKind, id: &str) -> Option<&str> {
        self.names
            .get(&(channel, id.to_string()))
            .map(String::as_str)
    }

    /// Puts the configured account name in place of each known platform id, in messages and
    /// comments alike.
    pub fn name_accounts(&self, parsed: &mut Parsed) {
        if self.names.is_empty() {
            return;
        }
        for m in &mut parsed.messages {
            if let Some(id) = &m.account
                && let Some(name) = self.name(m.channel, id)
            {
                m.account = Some(name.to_string());
            }
        }
        for c in &mut parsed.comments {
            if let Some(name) = self.name(c.channel, &c.account) {
                c.account = name.to_string();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::sources::webhooks::WebhookFormat;

    fn payload(name: &str) -> serde_json::Value {
        let path = format!(
            "{}/tests/fixtures/webhooks/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn ids(toml: &str) -> AccountIds {
        AccountIds::from_config(&Config::parse(toml, Path::new("c.toml")).unwrap())
    }

    const CONFIG: &str = r#"
[[accounts]]
name = "line-main"
channel = "line"
id = "U123"

[[accounts]]
name = "shop-jakarta"
channel = "shopee"
id = 947042923

[[accounts]]
name = "fb-page"
channel = "messenger"
id = "448242228374517"

[[accounts]]
name = "not-this-channel"
channel = "instagram"
id = "682498302938465"
"#;

    #[test]
    fn payload_account_id_becomes_the_configured_name() {
        let ids = ids(CONFIG);
        let mut line = WebhookFormat::Line
            .parse(&payload("line-text.json"))
            .unwrap();
        ids.name_accounts(&mut line);
        assert_eq!(line.messages[0].account.as_deref(), Some("line-main"));
        // Shopee's shop_id is an integer in the payload; written as one in the config too.
        let mut shopee = WebhookFormat::Shopee
            .parse(&payload("shopee-text.json"))
            .unwrap();
        ids.name_accounts(&mut shopee);
        assert_eq!(shopee.messages[0].account.as_deref(), Some("shop-jakarta"));
        // Feed comments of a configured page are that page's too.
        let mut feed = WebhookFormat::Facebook
            .parse(&payload("messenger-feed-comment-by-page.json"))
            .unwrap();
        ids.name_accounts(&mut feed);
        assert_eq!(feed.comments[0].account, "fb-page");
    }

    #[test]
    fn unknown_id_or_other_channel_keeps_the_raw_id() {
        let ids = ids(CONFIG);
        // 682498302938465 is configured, but for Instagram, not for this Messenger page.
        let mut page = WebhookFormat::Messenger
            .parse(&payload("messenger-text.json"))
            .unwrap();
        ids.name_accounts(&mut page);
        assert_eq!(page.messages[0].account.as_deref(), Some("682498302938465"));
        let mut wa = WebhookFormat::Whatsapp
            .parse(&payload("whatsapp-text.json"))
            .unwrap();
        ids.name_accounts(&mut wa);
        assert_eq!(wa.messages[0].account.as_deref(), Some("106540352242922"));
    }
}
