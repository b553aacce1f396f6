//! Duration strings: Envoy's protobuf-JSON form (`"0.25s"`, `"15s"`) plus the `ms`, `us`, `m`
//! and `h` suffixes the native format allows (`"250ms"`, `"1m"`). Serialized back as Envoy
//! seconds strings so `/config_dump` reads like Envoy's.

use std::time::Duration;

/// Parses `"<decimal><unit>"` with unit `s`, `ms`, `us`, `m` or `h`. Negative or overflowing
/// values and bare numbers are rejected (Envoy requires the `s`).
pub fn parse(text: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {text:?} (expected e.g. \"0.25s\", \"250ms\", \"1m\")");
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    if number.is_empty() || number.starts_with('.') || number.ends_with('.') {
        return Err(bad());
    }
    let value: f64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "s" => value,
        "ms" => value / 1e3,
        "us" => value / 1e6,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(bad()),
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| bad())
}

/// Formats like Envoy's config dump: seconds with up to 9 decimals, `"0.250s"` → `"0.25s"`.
pub fn format(d: Duration) -> String {
    let nanos = d.subsec_nanos();
    if nanos == 0 {
        return format!("{}s", d.as_secs());
    }
    let frac = format!("{nanos:09}");
    format!("{}.{}s", d.as_secs(), frac.trim_end_matches('0'))
}

/// `#[serde(with = "serde_req")]` for `Duration` fields.
pub mod serde_req {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format(*d))
    }
}

/// `#[serde(with = "serde_opt")]` for `Option<Duration>` fields (`None` → `null`).
pub mod serde_opt {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&super::format(*d)),
            None => s.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_envoy_and_native_forms() {
        assert_eq!(parse("0.25s").unwrap(), Duration::from_millis(250));
        assert_eq!(parse("15s").unwrap(), Duration::from_secs(15));
        assert_eq!(parse("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse("1m").unwrap(), Duration::from_secs(60));
        assert_eq!(parse("2h").unwrap(), Duration::from_secs(7200));
        assert_eq!(parse("0s").unwrap(), Duration::ZERO);
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "", "5", "s", "-1s", "1.s", ".5s", "1 sec", "1d", "abc", "1e3s",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(parse("abc").unwrap_err().contains("\"abc\""));
    }

    #[test]
    fn formats_like_envoy() {
        assert_eq!(format(Duration::from_millis(250)), "0.25s");
        assert_eq!(format(Duration::from_secs(5)), "5s");
        assert_eq!(format(Duration::from_nanos(1_000_000_001)), "1.000000001s");
    }
}
