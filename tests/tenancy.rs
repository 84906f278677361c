//! The attacker's suite: one test per way one tenant could reach another's vendor account, token or
//! credentials. Each test asserts that the attack fails *and* that nothing reached the victim's
//! account (the simulators count every request).
//!
//! The cases are grouped by what they attack, one file each under `tests/tenancy/`.

mod support;

#[path = "tenancy/accounts.rs"]
mod accounts;
#[path = "tenancy/cli.rs"]
mod cli;
#[path = "tenancy/digests.rs"]
mod digests;
#[path = "tenancy/endpoints.rs"]
mod endpoints;
#[path = "tenancy/grants.rs"]
mod grants;
#[path = "tenancy/tokens.rs"]
mod tokens;
