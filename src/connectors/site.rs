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

    /// The endpoint a provider that names none talks to.
    fn default_endpoint(&self) -> &'static str;

    /// The documented hosts, as an error message names them.
    fn documented_hosts(&self) -> &'static str;

    /// The realm an account lives in when several hosts serve the same accounts (Tencent routes every
    /// `*.tencentcloudapi.com` host to the same application). `None`: each endpoint is its own realm.
    fn shared_realm(&self, host: &str) -> Option<&'static str> {
        let _ = host;
        None
    }
}

/// The check each vendor's `site.rs` runs on its own hosts.
#[cfg(test)]
pub(crate) mod testing {
    use crate::connectors::AccountId;
    use crate::connectors::http::{EndpointPolicy, checked_endpoint};
    use crate::core::VendorKind;

    /// The account `ids` name at `vendor`'s endpoint `raw` (which must be documented).
    pub fn account_at(vendor: VendorKind, raw: &str, ids: &[(&str, &str)]) -> AccountId {
        let endpoint = checked_endpoint(raw, vendor, &EndpointPolicy::default()).unwrap();
        AccountId::new(vendor, &endpoint, ids)
    }

    /// `vendor` accepts each of `documented` by default, normalised (lower case, no trailing slash,
    /// no `:443`), and refuses each of `refused`: look-alikes, other ports and schemes, other vendors'
    /// hosts.
    pub fn assert_documents(vendor: VendorKind, documented: &[&str], refused: &[&str]) {
        let by_default = |raw: &str| checked_endpoint(raw, vendor, &EndpointPolicy::default());
        for raw in documented {
            let endpoint = by_default(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert!(
                !endpoint.base.ends_with('/') && !endpoint.base.ends_with(":443"),
                "{endpoint:?}"
            );
            assert_eq!(endpoint.base, endpoint.base.to_ascii_lowercase());
        }
        for raw in refused {
            let e = by_default(raw).expect_err(raw).to_string();
            // Empty labels and a trailing dot are not even host names; the rest are not documented.
            assert!(
                e.starts_with("EndpointNotAllowed: ") || e.starts_with("InvalidEndpoint: "),
                "{raw}: {e}"
            );
        }
    }
}
