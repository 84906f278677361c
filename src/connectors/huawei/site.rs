//! Huawei Cloud AICC's documented API host.

use crate::connectors::site::Site;

/// Huawei Cloud AICC's site.
pub struct HuaweiSite;

impl Site for HuaweiSite {
    fn documents_host(&self, host: &str) -> bool {
        host == "service.besclouds.com"
    }

    fn documented_hosts(&self) -> &'static str {
        "https://service.besclouds.com"
    }
}
