//! Ozonetel CloudAgent's documented API hosts (two deployments, separate accounts).

use crate::connectors::site::Site;

/// Ozonetel CloudAgent's site.
pub struct OzonetelSite;

impl Site for OzonetelSite {
    fn documents_host(&self, host: &str) -> bool {
        host == "in1-ccaas-api.ozonetel.com" || host == "api.ccaas.ozonetel.com"
    }

    fn documented_hosts(&self) -> &'static str {
        "https://in1-ccaas-api.ozonetel.com or https://api.ccaas.ozonetel.com"
    }
}
