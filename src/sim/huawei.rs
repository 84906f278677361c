//! Huawei simulator (being built).
