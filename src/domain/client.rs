//! Who a request comes from, as the per-IP rate limiter counts it.

use std::net::{IpAddr, Ipv6Addr};

/// The rate limiter's key for a client address.
///
/// An IPv6 client usually holds a whole /64 and can pick a fresh address in it for every
/// request, so IPv6 addresses count by their /64 network (`2001:db8:1:2::/64`); an IPv4-mapped
/// IPv6 address counts as the IPv4 address it maps; IPv4 addresses count alone. Anything that is
/// not an address shares one bucket, `unknown`.
pub fn rate_limit_key(ip: &str) -> String {
    match ip.trim().parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let [a, b, c, d, ..] = v6.segments();
                format!("{}/64", Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
            }
        },
        Err(_) => "unknown".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_addresses_count_alone() {
        assert_eq!(rate_limit_key("198.51.100.7"), "198.51.100.7");
        assert_ne!(rate_limit_key("198.51.100.7"), rate_limit_key("198.51.100.8"));
    }

    #[test]
    fn ipv6_addresses_count_by_their_64_in_canonical_form() {
        assert_eq!(rate_limit_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
        assert_eq!(rate_limit_key("2001:0DB8:0001:0002:0:0:0:1"), "2001:db8:1:2::/64");
        assert_eq!(rate_limit_key("2001:db8:1:2::ffff"), rate_limit_key("2001:db8:1:2:1234::"));
        assert_eq!(rate_limit_key("2001:db8:1:3::1"), "2001:db8:1:3::/64");
        assert_eq!(rate_limit_key("2001:db8::1"), "2001:db8::/64");
        assert_eq!(rate_limit_key("::1"), "::/64");
    }

    #[test]
    fn ipv4_mapped_ipv6_counts_as_the_ipv4_address() {
        assert_eq!(rate_limit_key("::ffff:198.51.100.7"), "198.51.100.7");
        assert_eq!(rate_limit_key("::ffff:c633:6407"), "198.51.100.7");
    }

    #[test]
    fn anything_else_shares_one_bucket() {
        for junk in ["", "unknown", "not an ip", "198.51.100", "[2001:db8::1]", "fe80::1%eth0", "1.2.3.4, 5.6.7.8"] {
            assert_eq!(rate_limit_key(junk), "unknown", "{junk:?}");
        }
    }
}
