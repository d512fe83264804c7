//! End-to-end tests of the real `tidemark` binary.

mod harness;
mod lifecycle;

pub(crate) use harness::TestServer;
