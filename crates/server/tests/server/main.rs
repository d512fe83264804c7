//! End-to-end tests of the real `tidemark` binary.

mod auth;
mod crash;
mod harness;
mod lifecycle;
mod writes;

pub(crate) use harness::TestServer;
