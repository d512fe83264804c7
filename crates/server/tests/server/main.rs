//! End-to-end tests of the real `tidemark` binary.

mod auth;
mod clients;
mod crash;
mod harness;
mod lifecycle;
mod query;
mod tiering;
mod writes;

pub(crate) use harness::TestServer;
