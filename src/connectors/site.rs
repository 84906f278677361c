//! Where a vendor's API lives: the hosts it documents (the only ones the operator sends credentials
//! to without an explicit allow-list entry) and which hosts serve the same vendor account.
//!
//! Each vendor answers for itself in `connectors/<vendor>/site.rs`; [`super::models::site`] is the one
//! place a `VendorKind` becomes its site.

/// What a vendor documents about its API hosts.
pub trait Site: Sync {
    /// Whether `host` (lower case, labels already checked) is a documented API host. Only HTTPS on
    /// the default port is considered documented; the caller checks scheme and port.
    fn documents_host(&self, host: &str) -> bool;

    /// The documented hosts, as an error message names them.
    fn documented_hosts(&self) -> &'static str;

    /// The realm an account lives in when several hosts serve the same accounts (Tencent routes every
    /// `*.tencentcloudapi.com` host to the same application). `None`: each endpoint is its own realm.
    fn shared_realm(&self, host: &str) -> Option<&'static str> {
        let _ = host;
        None
    }
}
