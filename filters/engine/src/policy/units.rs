//! Durations (`1m`, `500ms`) and byte sizes (`1MiB`, `65536`) as written in a policy.
//!
//! Both accept a bare integer (seconds, bytes) or a string with a unit, and serialize back to
//! the canonical string so a dumped policy parses to the same value.

use core::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A span of time, stored in nanoseconds because the proxy-wasm host clock is in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    nanos: u64,
}

const DURATION_UNITS: &[(&str, u64)] = &[
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
    ("d", 86_400_000_000_000),
];

impl Span {
    /// A span of `n` seconds.
    pub const fn from_secs(n: u64) -> Self {
        Span {
            nanos: n.saturating_mul(1_000_000_000),
        }
    }

    /// The span in nanoseconds.
    pub const fn as_nanos(self) -> u64 {
        self.nanos
    }

    /// Parses `90`, `90s`, `500ms`, `1m`, `2h`, `1d`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (n, unit) = split_number(text)
            .ok_or_else(|| format!("invalid duration {text:?} (expected e.g. 30s, 1m, 1h)"))?;
        let unit = if unit.is_empty() { "s" } else { unit };
        let mult = DURATION_UNITS
            .iter()
            .find(|(u, _)| *u == unit)
            .map(|(_, m)| *m)
            .ok_or_else(|| format!("unknown duration unit {unit:?} (expected ms|s|m|h|d)"))?;
        let nanos = n
            .checked_mul(mult)
            .ok_or_else(|| format!("duration {text:?} is too large"))?;
        Ok(Span { nanos })
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match DURATION_UNITS
            .iter()
            .rev()
            .find(|(_, m)| self.nanos.is_multiple_of(*m))
        {
            Some((unit, mult)) => write!(f, "{}{unit}", self.nanos / mult),
            None => write!(f, "{}ns", self.nanos),
        }
    }
}

/// A number of bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(pub u64);

const SIZE_UNITS: &[(&str, u64)] = &[
    ("B", 1),
    ("KB", 1_000),
    ("KiB", 1 << 10),
    ("MB", 1_000_000),
    ("MiB", 1 << 20),
    ("GB", 1_000_000_000),
    ("GiB", 1 << 30),
];

impl ByteSize {
    /// Parses `65536`, `64KiB`, `1MiB`, `2MB`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (n, unit) = split_number(text)
            .ok_or_else(|| format!("invalid size {text:?} (expected e.g. 65536, 64KiB, 1MiB)"))?;
        let unit = if unit.is_empty() { "B" } else { unit };
        let mult = SIZE_UNITS
            .iter()
            .find(|(u, _)| *u == unit)
            .map(|(_, m)| *m)
            .ok_or_else(|| {
                format!("unknown size unit {unit:?} (expected B|KB|KiB|MB|MiB|GB|GiB)")
            })?;
        n.checked_mul(mult)
            .map(ByteSize)
            .ok_or_else(|| format!("size {text:?} is too large"))
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (unit, mult) in [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
            if self.0 >= mult && self.0.is_multiple_of(mult) {
                return write!(f, "{}{unit}", self.0 / mult);
            }
        }
        write!(f, "{}", self.0)
    }
}

/// Splits `"15m"` into `(15, "m")`, trimming spaces; `None` when there is no leading integer.
fn split_number(text: &str) -> Option<(u64, &str)> {
    let text = text.trim();
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let n = text[..digits].parse().ok()?;
    Some((n, text[digits..].trim_start()))
}

/// Deserializes from an integer (in the base unit) or a string with a unit.
macro_rules! int_or_unit_string {
    ($ty:ty, $expecting:literal, $from_int:expr) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl Visitor<'_> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_u64<E: de::Error>(self, v: u64) -> Result<$ty, E> {
                        Ok($from_int(v))
                    }
                    fn visit_i64<E: de::Error>(self, v: i64) -> Result<$ty, E> {
                        u64::try_from(v)
                            .map($from_int)
                            .map_err(|_| E::custom(concat!("must not be negative; ", $expecting)))
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$ty, E> {
                        <$ty>::parse(v).map_err(E::custom)
                    }
                }
                d.deserialize_any(V)
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
    };
}

int_or_unit_string!(Span, "a duration such as 30s, 1m or 1h", Span::from_secs);
int_or_unit_string!(ByteSize, "a size such as 65536, 64KiB or 1MiB", ByteSize);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units_and_round_trip() {
        assert_eq!(Span::parse("1m").unwrap().as_nanos(), 60_000_000_000);
        assert_eq!(Span::parse("500ms").unwrap().as_nanos(), 500_000_000);
        assert_eq!(Span::parse("90").unwrap(), Span::from_secs(90));
        assert_eq!(Span::parse("1m").unwrap().to_string(), "1m");
        assert_eq!(Span::parse("90s").unwrap().to_string(), "90s");
        assert!(Span::parse("1 fortnight")
            .unwrap_err()
            .contains("unknown duration unit"));
        assert!(Span::parse("soon").is_err());
        assert!(Span::parse("99999999999999999999d").is_err());
    }

    #[test]
    fn sizes_parse_with_units_and_round_trip() {
        assert_eq!(ByteSize::parse("1MiB").unwrap(), ByteSize(1 << 20));
        assert_eq!(ByteSize::parse("64 KiB").unwrap(), ByteSize(65536));
        assert_eq!(ByteSize::parse("2MB").unwrap(), ByteSize(2_000_000));
        assert_eq!(ByteSize(65536).to_string(), "64KiB");
        assert_eq!(ByteSize(1000).to_string(), "1000");
        assert!(ByteSize::parse("1 parsec").is_err());
    }

    #[test]
    fn integers_and_strings_deserialize() {
        let s: Span = serde_json::from_str("60").unwrap();
        assert_eq!(s, Span::from_secs(60));
        let b: ByteSize = serde_json::from_str("\"4KiB\"").unwrap();
        assert_eq!(b, ByteSize(4096));
        assert!(serde_json::from_str::<ByteSize>("-1").is_err());
    }
}
