//! Ozonetel CloudAgent's documented API hosts (two deployments, separate accounts).

use crate::connectors::site::Site;

/// The domestic (India) CCaaS endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://in1-ccaas-api.ozonetel.com";

/// Ozonetel CloudAgent's site.
pub struct OzonetelSite;

impl Site for OzonetelSite {
    fn documents_host(&self, host: &str) -> bool {
        host == "in1-ccaas-api.ozonetel.com" || host == "api.ccaas.ozonetel.com"
    }

    fn default_endpoint(&self) -> &'static str {
        DEFAULT_ENDPOINT
    }

    fn documented_hosts(&self) -> &'static str {
        "https://in1-ccaas-api.ozonetel.com or https://api.ccaas.ozonetel.com"
    }
}

#[cfg(test)]
mod tests {
    use crate::connectors::site::testing::{account_at, assert_documents};
    use crate::core::VendorKind;

    #[test]
    fn both_deployments_and_nothing_like_them() {
        assert_documents(
            VendorKind::Ozonetel,
            &[
                "https://in1-ccaas-api.ozonetel.com",
                "https://api.ccaas.ozonetel.com",
            ],
            &[
                "https://api.ccaas.ozonetel.com.evil.example",
                "https://evil.ozonetel.com",
                "http://in1-ccaas-api.ozonetel.com",
                "https://ccc.tencentcloudapi.com",
            ],
        );
    }

    #[test]
    fn the_two_deployments_are_separate_realms() {
        let account = |raw| account_at(VendorKind::Ozonetel, raw, &[("userName", "acme")]);
        assert_ne!(
            account("https://in1-ccaas-api.ozonetel.com"),
            account("https://api.ccaas.ozonetel.com")
        );
    }
}
