//! Which vendor: the one vendor-naming type every layer shares. It imports nothing of the crate, so
//! the API types, the vendor-neutral core and the connectors can all name a vendor without depending
//! on one another.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The three vendors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum VendorKind {
    /// Tencent Cloud Contact Center.
    Tencent,
    /// Huawei Cloud AICC.
    Huawei,
    /// Ozonetel CloudAgent.
    Ozonetel,
}

impl VendorKind {
    /// All vendors, in display order.
    pub const ALL: [VendorKind; 3] = [VendorKind::Tencent, VendorKind::Huawei, VendorKind::Ozonetel];

    /// Lower-case name used in status, metrics and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            VendorKind::Tencent => "tencent",
            VendorKind::Huawei => "huawei",
            VendorKind::Ozonetel => "ozonetel",
        }
    }
}

impl fmt::Display for VendorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for VendorKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        VendorKind::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| format!("unknown vendor {s:?}: expected tencent, huawei or ozonetel"))
    }
}
