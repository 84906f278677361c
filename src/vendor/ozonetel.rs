//! Ozonetel vendor client (being built).
