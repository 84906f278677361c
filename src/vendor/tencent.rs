//! Tencent vendor client (being built).
