//! Huawei vendor client (being built).
