//! tix: a terminal inbox for customer-support agents.
//!
//! The binary is thin; everything lives here so tests and benchmarks drive the same code.

pub mod domain;
pub mod sources;
pub mod desk;
pub mod store;
pub mod config;
