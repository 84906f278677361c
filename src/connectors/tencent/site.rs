//! Tencent's documented API hosts: `ccc.tencentcloudapi.com`, `ccc.intl.tencentcloudapi.com` or a
//! region pinned in the host (`ccc.ap-guangzhou.tencentcloudapi.com`), all serving one application.

use crate::connectors::site::Site;

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

    fn documented_hosts(&self) -> &'static str {
        "https://ccc.tencentcloudapi.com, https://ccc.intl.tencentcloudapi.com or https://ccc.<region>.tencentcloudapi.com"
    }

    fn shared_realm(&self, host: &str) -> Option<&'static str> {
        host.ends_with(".tencentcloudapi.com")
            .then_some("tencentcloudapi.com")
    }
}
