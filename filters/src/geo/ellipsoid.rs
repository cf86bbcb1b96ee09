//! Numerical kernels ported from Boost.Geometry 1.87 (the library behind
//! Koncorde's `boost-geospatial-index`).
//!
//! Every function here mirrors one Boost function, with the same operation
//! order, so that the results agree with Koncorde to the last bit wherever the
//! platform's `sin`, `cos`, `atan`, `atan2` and `acos` agree with the ones Boost
//! was linked against (glibc's, on Linux, for both). The Boost name is given
//! in each function's documentation. Angles are in degrees unless the name or
//! the documentation says radians.
//!
//! Nothing here panics: non-finite inputs flow through as NaN and make every
//! comparison false, which is also what Boost does (minus its assertions).

use std::f64::consts::PI;

/// WGS84 semi-major axis (`srs::spheroid<double>` default), meters.
pub(crate) const A: f64 = 6378137.0;
/// WGS84 semi-minor axis, meters (Boost writes `6356752.3142451793`, the
/// same double).
pub(crate) const B: f64 = 6_356_752.314_245_179;
/// `formula::flattening`: `(a - b) / a`.
pub(crate) const F: f64 = (A - B) / A;
/// `math::d2r<double>()`.
pub(crate) const D2R: f64 = PI / 180.0;
/// `math::r2d<double>()`.
pub(crate) const R2D: f64 = 180.0 / PI;

/// `math::equals` with the default policy: equal, or both finite and within
/// `epsilon * max(|a|, |b|, 1)`.
pub(crate) fn eq(a: f64, b: f64) -> bool {
    if a == b {
        return true;
    }
    if a.is_finite() && b.is_finite() {
        (a - b).abs() <= f64::EPSILON * a.abs().max(b.abs()).max(1.0)
    } else {
        false
    }
}

/// `math::smaller`: strictly smaller and not `eq`.
pub(crate) fn smaller(a: f64, b: f64) -> bool {
    a < b && !eq(b, a)
}

/// `math::larger`.
pub(crate) fn larger(a: f64, b: f64) -> bool {
    smaller(b, a)
}

/// `math::larger_or_equals`.
pub(crate) fn larger_or_equals(a: f64, b: f64) -> bool {
    b <= a || eq(b, a)
}

/// `math::sign`.
pub(crate) fn sign(x: f64) -> i32 {
    if x > 0.0 {
        1
    } else if x < 0.0 {
        -1
    } else {
        0
    }
}

/// `normalize_spheroidal_coordinates<Units>::apply(longitude)`: into
/// `(-half, half]`, values `eq` to `±half` become `+half`. `half` is 180 for
/// degrees and π for radians.
fn normalize_lon_generic(lon: f64, half: f64, period: f64) -> f64 {
    if eq(lon.abs(), half) {
        half
    } else if lon > half {
        let l = (lon + half) % period - half;
        if eq(l, -half) {
            half
        } else {
            l
        }
    } else if lon < -half {
        (lon - half) % period + half
    } else {
        lon
    }
}

/// `math::normalize_longitude<degree>`.
pub(crate) fn normalize_longitude(lon: f64) -> f64 {
    normalize_lon_generic(lon, 180.0, 360.0)
}

/// `math::longitude_distance_signed<degree>(lon1, lon2)`: `lon2 - lon1` in
/// `(-180, 180]`.
pub(crate) fn lon_distance_signed(lon1: f64, lon2: f64) -> f64 {
    normalize_longitude(lon2 - lon1)
}

/// `math::longitude_distance_signed<radian>`.
fn lon_distance_signed_rad(lon1: f64, lon2: f64) -> f64 {
    normalize_lon_generic(lon2 - lon1, PI, 2.0 * PI)
}

/// `math::longitude_distance_unsigned<degree>`: in `[0, 360)`.
pub(crate) fn lon_distance_unsigned(lon1: f64, lon2: f64) -> f64 {
    let d = lon_distance_signed(lon1, lon2);
    if d < 0.0 {
        d + 360.0
    } else {
        d
    }
}

/// `formula::meridian_inverse<double, 1>::apply(lat)`: meridian arc length
/// from the equator, first order series (radians in, meters out).
fn meridian_arc(lat: f64) -> f64 {
    let n = F / (2.0 - F);
    let m = A / (1.0 + n);
    let c2 = -1.5 * n;
    m * (lat + c2 * (2.0 * lat).sin())
}

/// Result of the Andoyer inverse problem (`formula::andoyer_inverse`).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Inverse {
    pub distance: f64,
    pub azimuth: f64,
    pub reverse_azimuth: f64,
}

/// `formula::andoyer_inverse<double, ..>::apply`, radians in. Computes the
/// distance if `want_distance`, both azimuths if `want_azimuths` (the Boost
/// instantiations compute these quantities independently, so one function
/// serves all of them bit for bit).
pub(crate) fn andoyer_inverse(
    lon1: f64,
    lat1: f64,
    lon2: f64,
    lat2: f64,
    want_distance: bool,
    want_azimuths: bool,
) -> Inverse {
    let mut result = Inverse::default();
    if eq(lon1, lon2) && eq(lat1, lat2) {
        return result;
    }
    let f = F;
    let dlon = lon2 - lon1;
    let sin_dlon = dlon.sin();
    let cos_dlon = dlon.cos();
    let sin_lat1 = lat1.sin();
    let cos_lat1 = lat1.cos();
    let sin_lat2 = lat2.sin();
    let cos_lat2 = lat2.cos();

    // Rounding may leave [-1, 1]; NaN stays NaN.
    let cos_d = (sin_lat1 * sin_lat2 + cos_lat1 * cos_lat2 * cos_dlon).clamp(-1.0, 1.0);
    let d = cos_d.acos();
    let sin_d = d.sin();

    if want_distance {
        let k = (sin_lat1 - sin_lat2) * (sin_lat1 - sin_lat2);
        let l = (sin_lat1 + sin_lat2) * (sin_lat1 + sin_lat2);
        let three_sin_d = 3.0 * sin_d;
        let one_minus_cos_d = 1.0 - cos_d;
        let one_plus_cos_d = 1.0 + cos_d;
        let h = if eq(one_minus_cos_d, 0.0) {
            0.0
        } else {
            (d + three_sin_d) / one_minus_cos_d
        };
        let g = if eq(one_plus_cos_d, 0.0) {
            0.0
        } else {
            (d - three_sin_d) / one_plus_cos_d
        };
        let dd = -(f / 4.0) * (h * k + g * l);
        result.distance = A * (d + dd);
    }

    if !want_azimuths {
        return result;
    }
    if eq(sin_d, 0.0) {
        if cos_d >= 0.0 {
            result.azimuth = 0.0;
            result.reverse_azimuth = 0.0;
        } else if !eq(sin_lat1, 1.0) {
            result.azimuth = 0.0;
            result.reverse_azimuth = PI;
        } else {
            result.azimuth = PI;
            result.reverse_azimuth = 0.0;
        }
    } else {
        let mut a = 0.0;
        let mut u = 0.0;
        if eq(cos_lat2, 0.0) {
            if sin_lat2 < 0.0 {
                a = PI;
            }
        } else {
            let tan_lat2 = sin_lat2 / cos_lat2;
            let m = cos_lat1 * tan_lat2 - sin_lat1 * cos_dlon;
            a = sin_dlon.atan2(m);
            let sin_2a = (2.0 * a).sin();
            u = (f / 2.0) * (cos_lat1 * cos_lat1) * sin_2a;
        }
        let mut b = 0.0;
        let mut v = 0.0;
        if eq(cos_lat1, 0.0) {
            if sin_lat1 < 0.0 {
                b = PI;
            }
        } else {
            let tan_lat1 = sin_lat1 / cos_lat1;
            let n = cos_lat2 * tan_lat1 - sin_lat2 * cos_dlon;
            b = sin_dlon.atan2(n);
            let sin_2b = (2.0 * b).sin();
            v = (f / 2.0) * (cos_lat2 * cos_lat2) * sin_2b;
        }
        let t = d / sin_d;

        let da = v * t - u;
        result.azimuth = normalize_azimuth(a - da, a, da);

        let db = -u * t + v;
        let rev = if b >= 0.0 { PI - b - db } else { -PI - b - db };
        result.reverse_azimuth = normalize_azimuth(rev, b, db);
    }
    result
}

/// `andoyer_inverse::normalize_azimuth`: clamps a corrected azimuth that
/// crossed 0 or ±π back onto the side its uncorrected value was on.
fn normalize_azimuth(azimuth: f64, a: f64, da: f64) -> f64 {
    if a >= 0.0 {
        if da >= 0.0 {
            if azimuth < 0.0 {
                return 0.0;
            }
        } else if azimuth > PI {
            return PI;
        }
    } else if da <= 0.0 {
        if azimuth > 0.0 {
            return 0.0;
        }
    } else if azimuth < -PI {
        return -PI;
    }
    azimuth
}

/// `strategy::distance::geographic<andoyer>::apply`: meridian special cases
/// (`formula::meridian_inverse`), else the Andoyer distance. Radians in,
/// meters out.
pub(crate) fn geographic_distance_rad(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let diff = lon_distance_signed_rad(lon1, lon2);
    let (lo, hi) = if lat1 > lat2 {
        (lat2, lat1)
    } else {
        (lat1, lat2)
    };
    let half_pi = PI / 2.0;
    if eq(diff, 0.0) || (eq(hi, half_pi) && eq(lo, -half_pi)) {
        return (meridian_arc(hi) - meridian_arc(lo)).abs();
    }
    if eq(diff.abs(), PI) {
        let lat_sign = if lo + hi < 0.0 { -1.0 } else { 1.0 };
        return (lat_sign * 2.0 * meridian_arc(half_pi) - meridian_arc(lo) - meridian_arc(hi))
            .abs();
    }
    andoyer_inverse(lon1, lat1, lon2, lat2, true, false).distance
}

/// `strategy::within::spherical_point_point` (points in degrees): equality
/// after normalization (longitudes normalized; any longitude at a pole is 0).
pub(crate) fn points_equal(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> bool {
    let (lon1, lat1) = normalize_point(lon1, lat1);
    let (lon2, lat2) = normalize_point(lon2, lat2);
    eq(lon1, lon2) && eq(lat1, lat2)
}

/// `strategy::normalize::spherical_point` (degrees): the longitude is
/// normalized, set to 0 at the poles; the latitude is left alone (Boost is
/// built without `BOOST_GEOMETRY_NORMALIZE_LATITUDE`).
pub(crate) fn normalize_point(lon: f64, lat: f64) -> (f64, f64) {
    let lon = normalize_longitude(lon);
    if eq(lat.abs(), 90.0) {
        (0.0, lat)
    } else {
        (lon, lat)
    }
}

/// `strategy::covered_by::spherical_point_box`: the box test of spec 5.3.
/// Longitude first: inside `[min, max]`, or the box spans 360° or more, or
/// the point's longitude, translated to `min + [0, 360)`, is `<= max`. Then
/// the latitude, inclusively, without any normalization.
pub(crate) fn box_covers(
    lon_min: f64,
    lat_min: f64,
    lon_max: f64,
    lat_max: f64,
    lon: f64,
    lat: f64,
) -> bool {
    let lon_ok = (lon >= lon_min && lon <= lon_max)
        || lon_max - lon_min >= 360.0
        || lon_min + lon_distance_unsigned(lon_min, lon) <= lon_max;
    lon_ok && lat >= lat_min && lat <= lat_max
}
