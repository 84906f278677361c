//! Tencent simulator (being built).
