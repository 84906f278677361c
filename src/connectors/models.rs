//! Which model each vendor has: the one place a [`VendorKind`] turns into its [`VendorModel`].

use crate::core::{VendorKind, VendorModel};

/// The model of a vendor.
pub fn model(kind: VendorKind) -> &'static dyn VendorModel {
    match kind {
        VendorKind::Tencent => &super::tencent::model::MODEL,
        VendorKind::Huawei => &super::huawei::model::MODEL,
        VendorKind::Ozonetel => &super::ozonetel::model::MODEL,
    }
}
