//! The wire encoding of property values (Envoy `serializeValue`).

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use microwaf_abi::pairs::{self, PairsError};

use super::Value;

/// Nanoseconds as Envoy's `int64`, saturating at the ends of its range.
fn nanos_i64(nanos: u128) -> i64 {
    i64::try_from(nanos).unwrap_or(i64::MAX)
}

fn unix_nanos(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(after) => nanos_i64(after.as_nanos()),
        Err(before) => nanos_i64(before.duration().as_nanos()).saturating_neg(),
    }
}

/// Encodes `value`: strings and bytes raw, numbers as 8 bytes little endian, bools as 1 byte,
/// durations and timestamps as i64 nanoseconds, maps and lists as header pairs.
pub fn encode(value: &Value) -> Result<Bytes, PairsError> {
    Ok(match value {
        Value::Str(s) => Bytes::copy_from_slice(s.as_bytes()),
        Value::Bytes(b) => b.clone(),
        Value::Int(i) => Bytes::copy_from_slice(&i.to_le_bytes()),
        Value::Uint(u) => Bytes::copy_from_slice(&u.to_le_bytes()),
        Value::Double(d) => Bytes::copy_from_slice(&d.to_le_bytes()),
        Value::Bool(b) => Bytes::copy_from_slice(&[u8::from(*b)]),
        Value::Duration(d) => Bytes::copy_from_slice(&nanos_i64(d.as_nanos()).to_le_bytes()),
        Value::Timestamp(t) => Bytes::copy_from_slice(&unix_nanos(*t).to_le_bytes()),
        Value::Map(entries) => {
            let encoded = entries
                .iter()
                .map(|(k, v)| Ok((k.as_bytes(), encode(v)?)))
                .collect::<Result<Vec<_>, PairsError>>()?;
            pairs::encode(&encoded)?.into()
        }
        Value::List(items) => {
            let encoded = items
                .iter()
                .map(|v| Ok((encode(v)?, Bytes::new())))
                .collect::<Result<Vec<_>, PairsError>>()?;
            pairs::encode(&encoded)?.into()
        }
    })
}
