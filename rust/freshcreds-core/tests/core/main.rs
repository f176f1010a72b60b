//! The core's integration tests that keep to their own state, linked into one test binary (one link
//! of aws-config and the simulator instead of ten). Tests that change process-wide state (the
//! environment, the global log subscriber, the global allocator) stay binaries of their own beside
//! this directory: tests in one binary run in parallel threads of one process.

mod agent;
mod agent_lifecycle;
mod agent_recovery;
mod cache_recovery;
mod chain;
mod conformance;
mod imds_hardening;
mod imds_over_http;
mod imds_trouble;
mod skew_plausibility;
