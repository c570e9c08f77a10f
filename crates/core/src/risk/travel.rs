//! Impossible travel: the great-circle distance between two logins'
//! locations over the time between them, against a maximum speed.

/// Mean Earth radius (km), as used by the haversine formula.
const EARTH_RADIUS_KM: f64 = 6371.0;

/// GeoIP city locations are approximate: distances up to this are treated
/// as "the same place" whatever the time between logins.
pub const TOLERANCE_KM: f64 = 100.0;

/// A point on Earth in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub latitude: f64,
    pub longitude: f64,
}

/// Great-circle distance in km (haversine).
pub fn distance_km(a: Point, b: Point) -> f64 {
    let (lat1, lat2) = (a.latitude.to_radians(), b.latitude.to_radians());
    let dlat = lat2 - lat1;
    let dlon = (b.longitude - a.longitude).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

/// A trip too fast to be real.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trip {
    pub distance_km: f64,
    pub elapsed_seconds: i64,
    pub speed_kmh: f64,
}

/// The trip from `from` at `from_at` to `to` at `to_at` (Unix seconds) when
/// it would need more than `max_kmh`; `None` when it is plausible. Logins in
/// the same second count as one second apart.
pub fn impossible(from: Point, from_at: i64, to: Point, to_at: i64, max_kmh: f64) -> Option<Trip> {
    let distance_km = distance_km(from, to);
    if distance_km <= TOLERANCE_KM {
        return None;
    }
    let elapsed_seconds = to_at.saturating_sub(from_at).max(1);
    // Seconds to hours: exact enough for any realistic gap.
    #[allow(clippy::cast_precision_loss)]
    let hours = elapsed_seconds as f64 / 3600.0;
    let speed_kmh = distance_km / hours;
    (speed_kmh > max_kmh).then_some(Trip { distance_km, elapsed_seconds, speed_kmh })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BERLIN: Point = Point { latitude: 52.52, longitude: 13.405 };
    const NEW_YORK: Point = Point { latitude: 40.7128, longitude: -74.006 };
    const POTSDAM: Point = Point { latitude: 52.39, longitude: 13.06 };

    #[test]
    fn distances_match_known_great_circles() {
        let d = distance_km(BERLIN, NEW_YORK);
        assert!((d - 6385.0).abs() < 15.0, "{d}");
        assert!(distance_km(BERLIN, BERLIN).abs() < 1e-9);
    }

    #[test]
    fn ten_minutes_between_continents_is_impossible() {
        let trip = impossible(BERLIN, 1_000, NEW_YORK, 1_600, 1000.0).unwrap();
        assert!(trip.speed_kmh > 30_000.0, "{trip:?}");
        assert_eq!(trip.elapsed_seconds, 600);
    }

    #[test]
    fn a_long_flight_or_a_nearby_city_is_plausible() {
        assert_eq!(impossible(BERLIN, 0, NEW_YORK, 9 * 3600, 1000.0), None);
        assert_eq!(impossible(BERLIN, 0, POTSDAM, 1, 1000.0), None, "within the GeoIP tolerance");
    }
}
