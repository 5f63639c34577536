//! Where messages come from. Every source produces [`crate::domain::Inbound`] values for the one
//! arrival path in [`crate::desk`].

pub mod import;
pub mod reviews;
pub mod simulate;
pub mod webhooks;
