//! Huawei Cloud AICC's documented API host.

use crate::connectors::site::Site;

/// Huawei's public-cloud production domain.
pub const DEFAULT_ENDPOINT: &str = "https://service.besclouds.com";

/// Huawei Cloud AICC's site.
pub struct HuaweiSite;

impl Site for HuaweiSite {
    fn documents_host(&self, host: &str) -> bool {
        host == "service.besclouds.com"
    }

    fn default_endpoint(&self) -> &'static str {
        DEFAULT_ENDPOINT
    }

    fn documented_hosts(&self) -> &'static str {
        "https://service.besclouds.com"
    }
}

#[cfg(test)]
mod tests {
    use crate::connectors::site::testing::assert_documents;
    use crate::core::VendorKind;

    #[test]
    fn the_production_domain_and_nothing_like_it() {
        assert_documents(
            VendorKind::Huawei,
            &["https://service.besclouds.com"],
            &[
                "https://service.besclouds.com.evil.example",
                "https://evil.service.besclouds.com",
                "https://service.besclouds.com:444",
                "https://api.ccaas.ozonetel.com",
            ],
        );
    }
}
