//! Test support shared by the integration tests, the benchmark and the soak.
//!
//! Each test binary compiles this module on its own and uses only part of it, so unused items are
//! expected in any single binary: `dead_code` is allowed here rather than in every test file.
#![allow(dead_code)]

pub mod apiserver;
pub mod lease;
pub mod logs;
pub mod operator;
pub mod vendors;
