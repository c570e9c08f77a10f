//! MaxMind-format (`.mmdb`) databases: city geolocation and ASN.
//!
//! Two schemas are read: MaxMind's nested GeoIP2 / GeoLite2 one
//! (`country.iso_code`, `city.names.en`, `location.latitude`, …, also used
//! by DB-IP's own files) and the flat one of the ip-location-db packages
//! (`country_code`, `state1`, `city`, `latitude`, …). ASN records (`autonomous_system_number`,
//! `autonomous_system_organization`) are the same in both. The schema is
//! detected from the first records at load time. Records are decoded with
//! borrowed strings; only the fields we return are copied.

use std::fmt;
use std::marker::PhantomData;
use std::net::IpAddr;
use std::path::Path;

use maxminddb::{Reader, WithinOptions};
use serde::de::{Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::error::IntelError;

/// Where an address is, as far as the loaded GeoIP data knows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Geo {
    /// ISO 3166-1 alpha-2 country code.
    pub country_code: Option<String>,
    /// First-level subdivision (state, region) name.
    pub region: Option<String>,
    /// City name (English).
    pub city: Option<String>,
    /// Latitude in degrees (approximate; used for impossible travel).
    pub latitude: Option<f64>,
    /// Longitude in degrees.
    pub longitude: Option<f64>,
    /// IANA time zone name.
    pub timezone: Option<String>,
    /// Postal code.
    pub zip_code: Option<String>,
}

/// The autonomous system an address is announced from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AsnInfo {
    /// The AS number.
    pub asn: u32,
    /// The AS organisation name, when known.
    pub organization: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Schema {
    Nested,
    Flat,
}

/// One opened `.mmdb` file.
pub(crate) struct MmdbFile {
    reader: Reader<Vec<u8>>,
    schema: Schema,
    v4_only: bool,
}

impl fmt::Debug for MmdbFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MmdbFile")
            .field("database_type", &self.reader.metadata().database_type)
            .field("schema", &self.schema)
            .finish()
    }
}

impl MmdbFile {
    /// Opens and fully verifies a database (search tree and data section),
    /// so a corrupt file is refused at load, not at lookup.
    pub(crate) fn open(path: &Path, bytes: Vec<u8>) -> Result<MmdbFile, IntelError> {
        let reader = Reader::from_source(bytes)
            .map_err(|e| IntelError::data(path, None, "not a MaxMind DB (.mmdb) file").with_source(e))?;
        reader.verify().map_err(|e| IntelError::data(path, None, "corrupt MaxMind DB").with_source(e))?;
        let schema = detect(&reader);
        let v4_only = reader.metadata().ip_version == 4;
        Ok(MmdbFile { reader, schema, v4_only })
    }

    /// Search-tree nodes (a size measure for the status report).
    pub(crate) fn nodes(&self) -> usize {
        self.reader.metadata().node_count as usize
    }

    /// The build time the file declares (Unix seconds).
    pub(crate) fn built_at(&self) -> i64 {
        i64::try_from(self.reader.metadata().build_epoch).unwrap_or(i64::MAX)
    }

    fn lookup<'a, T: Deserialize<'a>>(&'a self, ip: IpAddr) -> Option<T> {
        let ip = ip.to_canonical();
        if self.v4_only && ip.is_ipv6() {
            return None;
        }
        self.reader.lookup(ip).ok()?.decode::<T>().ok()?
    }

    pub(crate) fn geo(&self, ip: IpAddr) -> Option<Geo> {
        let geo = match self.schema {
            Schema::Nested => self.lookup::<NestedCity<'_>>(ip)?.into_geo(),
            Schema::Flat => self.lookup::<FlatCity<'_>>(ip)?.into_geo(),
        };
        (geo.country_code.is_some() || geo.city.is_some() || geo.latitude.is_some()).then_some(geo)
    }

    pub(crate) fn asn(&self, ip: IpAddr) -> Option<AsnInfo> {
        let rec = self.lookup::<AsnRecord<'_>>(ip)?;
        Some(AsnInfo { asn: rec.autonomous_system_number?, organization: text(rec.autonomous_system_organization) })
    }
}

/// Which schema the records use: decided from the first records that
/// decode as one or the other (a nested record's `city` is a map, which the
/// flat reader refuses), else from the database type name.
fn detect(reader: &Reader<Vec<u8>>) -> Schema {
    if let Ok(networks) = reader.networks(WithinOptions::default()) {
        for found in networks.take(32).flatten() {
            if let Ok(Some(flat)) = found.decode::<FlatCity<'_>>()
                && (flat.country_code.is_some() || flat.city.is_some() || flat.latitude.is_some())
            {
                return Schema::Flat;
            }
            if let Ok(Some(nested)) = found.decode::<NestedCity<'_>>()
                && (nested.country.is_some() || nested.city.is_some() || nested.location.is_some())
            {
                return Schema::Nested;
            }
        }
    }
    let kind = reader.metadata().database_type.to_ascii_lowercase();
    if ["geoip2", "geolite2", "geoip-", "dbip-"].iter().any(|p| kind.starts_with(p)) {
        Schema::Nested
    } else {
        Schema::Flat
    }
}

fn text(s: Option<&str>) -> Option<String> {
    s.filter(|s| !s.is_empty()).map(str::to_owned)
}

#[derive(Deserialize)]
struct NestedCity<'a> {
    #[serde(borrow)]
    country: Option<IsoCode<'a>>,
    #[serde(borrow)]
    city: Option<Named<'a>>,
    #[serde(borrow)]
    subdivisions: Option<First<Named<'a>>>,
    #[serde(borrow)]
    location: Option<Location<'a>>,
    #[serde(borrow)]
    postal: Option<Code<'a>>,
}

#[derive(Deserialize)]
struct IsoCode<'a> {
    #[serde(borrow)]
    iso_code: Option<&'a str>,
}

#[derive(Deserialize)]
struct Named<'a> {
    #[serde(borrow)]
    names: Option<English<'a>>,
}

#[derive(Deserialize)]
struct English<'a> {
    #[serde(borrow)]
    en: Option<&'a str>,
}

#[derive(Deserialize)]
struct Location<'a> {
    latitude: Option<f64>,
    longitude: Option<f64>,
    #[serde(borrow)]
    time_zone: Option<&'a str>,
}

#[derive(Deserialize)]
struct Code<'a> {
    #[serde(borrow)]
    code: Option<&'a str>,
}

impl Named<'_> {
    fn english(&self) -> Option<String> {
        text(self.names.as_ref().and_then(|n| n.en))
    }
}

impl NestedCity<'_> {
    fn into_geo(self) -> Geo {
        let location = self.location.as_ref();
        Geo {
            country_code: text(self.country.and_then(|c| c.iso_code)),
            region: self.subdivisions.and_then(|s| s.0).and_then(|s| s.english()),
            city: self.city.and_then(|c| c.english()),
            latitude: location.and_then(|l| l.latitude),
            longitude: location.and_then(|l| l.longitude),
            timezone: text(location.and_then(|l| l.time_zone)),
            zip_code: text(self.postal.and_then(|p| p.code)),
        }
    }
}

#[derive(Deserialize)]
struct FlatCity<'a> {
    #[serde(borrow)]
    country_code: Option<&'a str>,
    #[serde(borrow)]
    state1: Option<&'a str>,
    #[serde(borrow)]
    city: Option<&'a str>,
    #[serde(borrow)]
    postcode: Option<&'a str>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    #[serde(borrow)]
    timezone: Option<&'a str>,
}

impl FlatCity<'_> {
    fn into_geo(self) -> Geo {
        Geo {
            country_code: text(self.country_code),
            region: text(self.state1),
            city: text(self.city),
            latitude: self.latitude,
            longitude: self.longitude,
            timezone: text(self.timezone),
            zip_code: text(self.postcode),
        }
    }
}

#[derive(Deserialize)]
struct AsnRecord<'a> {
    autonomous_system_number: Option<u32>,
    #[serde(borrow)]
    autonomous_system_organization: Option<&'a str>,
}

/// The first element of a sequence; the rest is skipped without allocating.
struct First<T>(Option<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for First<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = First<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a sequence")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<First<T>, A::Error> {
                let first = seq.next_element::<T>()?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(First(first))
            }
        }
        d.deserialize_seq(V(PhantomData))
    }
}
