//! `tidemark-query` will own the query service: DataFusion table providers over the hot and cold
//! tiers, SQL over Arrow Flight SQL and HTTP, and PromQL. It depends on `tidemark-storage`; it is
//! the only crate that depends on DataFusion. `server` and `bench` use it.
//!
//! Nothing is here yet: the query service arrives with its own issue.
