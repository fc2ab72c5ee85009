//! Policies applied to traffic: the content filter (flag or block sensitive data) and the
//! audit logger (retention and immutability of the event log).

pub mod audit;
mod content_filter;

pub use content_filter::{ContentFilter, PolicyFinding};
