//! Ozonetel simulator (being built).
