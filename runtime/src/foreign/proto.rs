//! A minimal protobuf wire-format reader for the two small argument messages Envoy's foreign
//! functions take (`DeclarePropertyArguments`, `SetEnvoyFilterStateArguments`). Both are flat
//! (strings, bools, enums), so a field iterator is all that is needed — not worth a codegen
//! dependency. Malformed input is an error, never a panic.

/// A decoded field value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    /// Fixed 32/64-bit fields are skipped by the messages read here.
    Fixed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed protobuf message")]
pub struct Malformed;

/// Every (field number, value) of `buf`, in order.
pub fn fields(mut buf: &[u8]) -> Result<Vec<(u32, Field<'_>)>, Malformed> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let key = varint(&mut buf)?;
        let number = u32::try_from(key >> 3).map_err(|_| Malformed)?;
        if number == 0 {
            return Err(Malformed);
        }
        let field = match key & 7 {
            0 => Field::Varint(varint(&mut buf)?),
            1 => skip(&mut buf, 8).map(|_| Field::Fixed)?,
            2 => {
                let len = usize::try_from(varint(&mut buf)?).map_err(|_| Malformed)?;
                Field::Bytes(skip(&mut buf, len)?)
            }
            5 => skip(&mut buf, 4).map(|_| Field::Fixed)?,
            _ => return Err(Malformed),
        };
        out.push((number, field));
    }
    Ok(out)
}

fn skip<'a>(buf: &mut &'a [u8], n: usize) -> Result<&'a [u8], Malformed> {
    if buf.len() < n {
        return Err(Malformed);
    }
    let (head, tail) = buf.split_at(n);
    *buf = tail;
    Ok(head)
}

fn varint(buf: &mut &[u8]) -> Result<u64, Malformed> {
    let mut value = 0u64;
    for i in 0..10 {
        let (&byte, rest) = buf.split_first().ok_or(Malformed)?;
        *buf = rest;
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(Malformed)
}

/// A string field's text, or `Malformed` if it is not a length-delimited UTF-8 value.
pub fn text<'a>(field: &Field<'a>) -> Result<&'a str, Malformed> {
    match field {
        Field::Bytes(b) => std::str::from_utf8(b).map_err(|_| Malformed),
        _ => Err(Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_varints_strings_and_skips_fixed_fields() {
        let msg = [
            0x0a, 2, b'h', b'i', // 1: "hi"
            0x10, 0x96, 0x01, // 2: 150
            0x1d, 0, 0, 0, 0, // 3: fixed32
            0x21, 0, 0, 0, 0, 0, 0, 0, 0, // 4: fixed64
        ];
        let f = fields(&msg).unwrap();
        assert_eq!(f[0], (1, Field::Bytes(b"hi")));
        assert_eq!(f[1], (2, Field::Varint(150)));
        assert_eq!((f[2].0, f[3].0), (3, 4));
        assert_eq!(text(&f[0].1), Ok("hi"));
        assert_eq!(text(&f[1].1), Err(Malformed));
    }

    #[test]
    fn malformed_input_is_an_error() {
        for bad in [
            &[0xff, 0xff, 0xff][..], // unterminated varint
            &[0x0a, 5, b'a'][..],    // length past the end
            &[0x0b][..],             // wire type 3 (groups) unsupported
            &[0x00, 0x01][..],       // field number 0
            &[
                0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            ][..], // 11-byte varint
        ] {
            assert_eq!(fields(bad), Err(Malformed), "{bad:?}");
        }
        assert_eq!(fields(&[]), Ok(vec![]));
    }
}
