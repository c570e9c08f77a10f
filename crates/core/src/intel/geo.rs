//! The audit log's geo enricher over the intel engine's GeoIP data.

use std::net::IpAddr;
use std::sync::Arc;

use portcullis_intel::IntelEngine;

use crate::audit::{GeoEnricher, GeoLocation};

/// Locates audit events' addresses with the loaded GeoIP database (reloads
/// included); unknown without one, and for non-public addresses.
#[derive(Debug, Clone)]
pub struct IntelGeo(Arc<IntelEngine>);

impl IntelGeo {
    /// An enricher over `engine`.
    pub fn new(engine: Arc<IntelEngine>) -> IntelGeo {
        IntelGeo(engine)
    }
}

impl GeoEnricher for IntelGeo {
    fn locate(&self, ip: IpAddr) -> Option<GeoLocation> {
        let geo = self.0.geo(ip)?;
        if geo.country_code.is_none() && geo.city.is_none() {
            return None;
        }
        Some(GeoLocation { country: geo.country_code, region: geo.region, city: geo.city })
    }
}
