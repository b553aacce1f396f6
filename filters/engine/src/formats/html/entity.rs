//! HTML character references: numeric ones and the named ones that matter for text a
//! detector reads (a full HTML5 table would be 2 000 entries of mostly symbols).

/// Longest reference body kept (`&` and `;` excluded); longer ones are left literal.
pub(super) const MAX_ENTITY: usize = 32;

/// Decodes the body of `&…;`; `None` if it is not a known reference.
pub(super) fn decode(name: &[u8]) -> Option<char> {
    let c = match name {
        [b'#', b'x' | b'X', hex @ ..] => from_digits(hex, 16)?,
        [b'#', dec @ ..] => from_digits(dec, 10)?,
        b"amp" => '&',
        b"lt" => '<',
        b"gt" => '>',
        b"quot" => '"',
        b"apos" => '\'',
        b"nbsp" => '\u{a0}',
        b"commat" => '@',
        b"period" => '.',
        b"colon" => ':',
        b"sol" => '/',
        b"lowbar" => '_',
        b"hyphen" | b"dash" => '\u{2010}',
        b"plus" => '+',
        b"equals" => '=',
        b"num" => '#',
        b"dollar" => '$',
        b"percnt" => '%',
        b"lpar" => '(',
        b"rpar" => ')',
        b"semi" => ';',
        b"excl" => '!',
        b"quest" => '?',
        b"comma" => ',',
        _ => return None,
    };
    Some(c)
}

fn from_digits(d: &[u8], radix: u32) -> Option<char> {
    if d.is_empty() || d.len() > 8 {
        return None;
    }
    let s = std::str::from_utf8(d).ok()?;
    let n = u32::from_str_radix(s, radix).ok()?;
    Some(
        char::from_u32(n)
            .filter(|&c| c != '\0')
            .unwrap_or(char::REPLACEMENT_CHARACTER),
    )
}
