//! Tencent's documented API hosts: `ccc.tencentcloudapi.com`, `ccc.intl.tencentcloudapi.com` or a
//! region pinned in the host (`ccc.ap-guangzhou.tencentcloudapi.com`), all serving one application.

use crate::connectors::site::Site;

/// Endpoint when the provider sets none.
pub const DEFAULT_ENDPOINT: &str = "https://ccc.tencentcloudapi.com";

/// Tencent Cloud Contact Center's site.
pub struct TencentSite;

impl Site for TencentSite {
    fn documents_host(&self, host: &str) -> bool {
        // Each label was checked by the endpoint parser (lowercase letters, digits, inner hyphens), so
        // a region is exactly one label between the two parts.
        host == "ccc.tencentcloudapi.com"
            || host
                .strip_prefix("ccc.")
                .and_then(|rest| rest.strip_suffix(".tencentcloudapi.com"))
                .is_some_and(|region| !region.is_empty() && !region.contains('.'))
    }

    fn default_endpoint(&self) -> &'static str {
        DEFAULT_ENDPOINT
    }

    fn documented_hosts(&self) -> &'static str {
        "https://ccc.tencentcloudapi.com, https://ccc.intl.tencentcloudapi.com or https://ccc.<region>.tencentcloudapi.com"
    }

    fn shared_realm(&self, host: &str) -> Option<&'static str> {
        host.ends_with(".tencentcloudapi.com")
            .then_some("tencentcloudapi.com")
    }
}

#[cfg(test)]
mod tests {
    use crate::connectors::VendorError;
    use crate::connectors::http::{Endpoint, EndpointPolicy, checked_endpoint};
    use crate::connectors::site::testing::{account_at, assert_documents};
    use crate::core::VendorKind;

    fn by_default(raw: &str) -> Result<Endpoint, VendorError> {
        checked_endpoint(raw, VendorKind::Tencent, &EndpointPolicy::default())
    }

    #[test]
    fn the_global_intl_and_regional_hosts_and_nothing_like_them() {
        assert_documents(
            VendorKind::Tencent,
            &[
                "https://ccc.tencentcloudapi.com",
                "https://ccc.intl.tencentcloudapi.com/",
                "https://ccc.ap-guangzhou.tencentcloudapi.com",
                "https://CCC.TencentCloudAPI.com:443",
            ],
            &[
                "https://ccc.tencentcloudapi.com.evil.example",
                "https://evil-ccc.tencentcloudapi.com",
                "https://ccc.evil.example.tencentcloudapi.com",
                "https://ccc..tencentcloudapi.com",
                "https://ccc.-x.tencentcloudapi.com",
                "https://cccXtencentcloudapi.com",
                "https://xccc.tencentcloudapi.com",
                "https://ccc.tencentcloudapi.com.",
                "https://ccc.tencentcloudapi.com:8443",
                "http://ccc.tencentcloudapi.com",
                "https://service.besclouds.com",
            ],
        );
    }

    #[test]
    fn every_host_is_one_realm() {
        let account = |raw| account_at(VendorKind::Tencent, raw, &[("sdkAppId", "1400000001")]);
        let global = account("https://ccc.tencentcloudapi.com");
        assert_eq!(global, account("https://CCC.ap-guangzhou.tencentcloudapi.com/"));
        assert_eq!(global.as_str(), "tencent tencentcloudapi.com sdkAppId=1400000001");
    }

    #[test]
    fn a_documented_host_is_normalised() {
        assert_eq!(
            by_default("https://CCC.tencentcloudapi.com:443/").unwrap(),
            Endpoint {
                base: "https://ccc.tencentcloudapi.com".into(),
                host: "ccc.tencentcloudapi.com".into()
            }
        );
    }

    #[test]
    fn another_vendors_host_is_not_documented_here() {
        let e = by_default("https://service.besclouds.com").unwrap_err();
        assert_eq!(e.code.as_deref(), Some("EndpointNotAllowed"), "{e}");
    }
}
