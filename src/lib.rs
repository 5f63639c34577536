//! tix: a terminal inbox for customer-support agents.
//!
//! The binary is thin; everything lives here so tests and benchmarks drive the same code.

pub mod cli;
pub mod commands;
pub mod config;
pub mod desk;
pub mod domain;
pub mod logging;
pub mod report;
pub mod rules;
pub mod serve;
pub mod sources;
pub mod store;
pub mod tui;
