//! The IANA special-purpose address registries (RFC 6890 and updates),
//! compiled in: private, loopback, link-local, CGNAT, documentation,
//! multicast, reserved … for IPv4 and IPv6.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

/// The class of an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum IpClass {
    /// A globally routable unicast address.
    Public,
    /// RFC 1918 private space (10/8, 172.16/12, 192.168/16).
    Private,
    /// IPv6 unique local addresses (fc00::/7).
    UniqueLocal,
    /// 127/8, ::1.
    Loopback,
    /// 169.254/16, fe80::/10.
    LinkLocal,
    /// Carrier-grade NAT shared space, 100.64/10 (RFC 6598).
    SharedAddress,
    /// TEST-NET-1/2/3, 2001:db8::/32, 3fff::/20.
    Documentation,
    /// 198.18/15, 2001:2::/48.
    Benchmarking,
    /// 224/4, ff00::/8.
    Multicast,
    /// 255.255.255.255.
    Broadcast,
    /// 0.0.0.0, ::.
    Unspecified,
    /// 0/8 ("this network").
    ThisNetwork,
    /// 192.0.0/24, 2001::/23 protocol assignments.
    ProtocolAssignment,
    /// NAT64 / IPv4-IPv6 translation (64:ff9b::/96, 64:ff9b:1::/48).
    Translation,
    /// 100::/64 discard-only.
    DiscardOnly,
    /// 240/4, the deprecated 6to4 relay anycast, IPv6 outside 2000::/3,
    /// site-local, … : not routable on the Internet.
    Reserved,
}

impl IpClass {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            IpClass::Public => "public",
            IpClass::Private => "private",
            IpClass::UniqueLocal => "unique_local",
            IpClass::Loopback => "loopback",
            IpClass::LinkLocal => "link_local",
            IpClass::SharedAddress => "shared_address",
            IpClass::Documentation => "documentation",
            IpClass::Benchmarking => "benchmarking",
            IpClass::Multicast => "multicast",
            IpClass::Broadcast => "broadcast",
            IpClass::Unspecified => "unspecified",
            IpClass::ThisNetwork => "this_network",
            IpClass::ProtocolAssignment => "protocol_assignment",
            IpClass::Translation => "translation",
            IpClass::DiscardOnly => "discard_only",
            IpClass::Reserved => "reserved",
        }
    }

    /// Globally routable: intelligence about the Internet applies.
    pub fn is_public(self) -> bool {
        self == IpClass::Public
    }

    /// An address inside some organisation's own network (a client behind
    /// the same NAT, a developer's laptop): not suspicious in itself.
    pub fn is_internal(self) -> bool {
        matches!(
            self,
            IpClass::Private | IpClass::UniqueLocal | IpClass::Loopback | IpClass::LinkLocal | IpClass::SharedAddress
        )
    }
}

/// IPv4 special blocks, most specific first (the first match wins).
const V4: &[(u32, u8, IpClass)] = &[
    (0xFFFF_FFFF, 32, IpClass::Broadcast),
    (0x0000_0000, 32, IpClass::Unspecified),
    (0x0000_0000, 8, IpClass::ThisNetwork),
    (0x0A00_0000, 8, IpClass::Private),
    (0x6440_0000, 10, IpClass::SharedAddress),
    (0x7F00_0000, 8, IpClass::Loopback),
    (0xA9FE_0000, 16, IpClass::LinkLocal),
    (0xAC10_0000, 12, IpClass::Private),
    (0xC000_0000, 24, IpClass::ProtocolAssignment),
    (0xC000_0200, 24, IpClass::Documentation),
    (0xC058_6300, 24, IpClass::Reserved),
    (0xC0A8_0000, 16, IpClass::Private),
    (0xC612_0000, 15, IpClass::Benchmarking),
    (0xC633_6400, 24, IpClass::Documentation),
    (0xCB00_7100, 24, IpClass::Documentation),
    (0xE000_0000, 4, IpClass::Multicast),
    (0xF000_0000, 4, IpClass::Reserved),
];

/// IPv6 special blocks, most specific first.
const V6: &[(u128, u8, IpClass)] = &[
    (0, 128, IpClass::Unspecified),
    (1, 128, IpClass::Loopback),
    (0x0064_ff9b_0000_0000_0000_0000_0000_0000, 96, IpClass::Translation),
    (0x0064_ff9b_0001_0000_0000_0000_0000_0000, 48, IpClass::Translation),
    (0x0100_0000_0000_0000_0000_0000_0000_0000, 64, IpClass::DiscardOnly),
    (0x2001_0002_0000_0000_0000_0000_0000_0000, 48, IpClass::Benchmarking),
    (0x2001_0db8_0000_0000_0000_0000_0000_0000, 32, IpClass::Documentation),
    (0x2001_0000_0000_0000_0000_0000_0000_0000, 23, IpClass::ProtocolAssignment),
    (0x2002_0000_0000_0000_0000_0000_0000_0000, 16, IpClass::Reserved),
    (0x3fff_0000_0000_0000_0000_0000_0000_0000, 20, IpClass::Documentation),
    (0x5f00_0000_0000_0000_0000_0000_0000_0000, 16, IpClass::Reserved),
    (0xfc00_0000_0000_0000_0000_0000_0000_0000, 7, IpClass::UniqueLocal),
    (0xfe80_0000_0000_0000_0000_0000_0000_0000, 10, IpClass::LinkLocal),
    (0xff00_0000_0000_0000_0000_0000_0000_0000, 8, IpClass::Multicast),
];

fn v4(a: Ipv4Addr) -> IpClass {
    let bits = a.to_bits();
    V4.iter()
        .find(|(net, len, _)| bits.checked_shr(32 - u32::from(*len)) == net.checked_shr(32 - u32::from(*len)))
        .map_or(IpClass::Public, |(_, _, class)| *class)
}

fn v6(a: Ipv6Addr) -> IpClass {
    let bits = a.to_bits();
    if let Some((_, _, class)) = V6
        .iter()
        .find(|(net, len, _)| bits.checked_shr(128 - u32::from(*len)) == net.checked_shr(128 - u32::from(*len)))
    {
        return *class;
    }
    // Only 2000::/3 is allocated for global unicast.
    if bits >> 125 == 0b001 { IpClass::Public } else { IpClass::Reserved }
}

/// The class of `ip` (IPv4-mapped IPv6 is classified as IPv4).
pub fn classify(ip: IpAddr) -> IpClass {
    match ip.to_canonical() {
        IpAddr::V4(a) => v4(a),
        IpAddr::V6(a) => v6(a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_the_iana_special_purpose_blocks() {
        let table = [
            ("10.0.0.1", IpClass::Private),
            ("172.31.255.255", IpClass::Private),
            ("172.32.0.1", IpClass::Public),
            ("192.168.0.1", IpClass::Private),
            ("127.0.0.1", IpClass::Loopback),
            ("169.254.1.1", IpClass::LinkLocal),
            ("100.64.0.1", IpClass::SharedAddress),
            ("100.128.0.1", IpClass::Public),
            ("192.0.2.1", IpClass::Documentation),
            ("198.51.100.1", IpClass::Documentation),
            ("203.0.113.1", IpClass::Documentation),
            ("198.18.0.1", IpClass::Benchmarking),
            ("224.0.0.1", IpClass::Multicast),
            ("240.0.0.1", IpClass::Reserved),
            ("255.255.255.255", IpClass::Broadcast),
            ("0.0.0.0", IpClass::Unspecified),
            ("0.1.2.3", IpClass::ThisNetwork),
            ("192.0.0.8", IpClass::ProtocolAssignment),
            ("8.8.8.8", IpClass::Public),
            ("::", IpClass::Unspecified),
            ("::1", IpClass::Loopback),
            ("::ffff:10.1.2.3", IpClass::Private),
            ("64:ff9b::808:808", IpClass::Translation),
            ("fd00::1", IpClass::UniqueLocal),
            ("fe80::1", IpClass::LinkLocal),
            ("ff02::1", IpClass::Multicast),
            ("2001:db8::1", IpClass::Documentation),
            ("3fff::1", IpClass::Documentation),
            ("2001:4860:4860::8888", IpClass::Public),
            ("4000::1", IpClass::Reserved),
            ("fec0::1", IpClass::Reserved),
        ];
        for (ip, class) in table {
            assert_eq!(classify(ip.parse().unwrap()), class, "{ip}");
        }
    }
}
