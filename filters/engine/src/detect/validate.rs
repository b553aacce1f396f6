//! Validators run on candidates after the DFA pass: checksums and structural rules that a
//! regular expression cannot express cheaply. All take ASCII bytes and never allocate, except
//! JWT header decoding (bounded).

/// Luhn (mod 10) checksum over ASCII digits; non-digits are ignored.
pub fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    let mut double = false;
    let mut n = 0;
    for &b in digits.iter().rev().filter(|b| b.is_ascii_digit()) {
        let mut d = u32::from(b - b'0');
        if double {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
        double = !double;
        n += 1;
    }
    n > 0 && sum.is_multiple_of(10)
}

/// Card number: issuer prefix (IIN) and length rules of the major networks, then Luhn.
/// `d` holds only digits. Rejecting unknown prefixes keeps 13-digit millisecond timestamps and
/// long order ids (which pass Luhn one time in ten) out.
pub fn card(d: &[u8]) -> bool {
    let len = d.len();
    if !(13..=19).contains(&len) || d.iter().all(|&b| b == d[0]) {
        return false;
    }
    let p = |n: usize| -> u32 { d[..n].iter().fold(0, |a, &b| a * 10 + u32::from(b - b'0')) };
    let ok = match d[0] {
        b'4' => matches!(len, 13 | 16 | 19), // Visa
        b'5' => (51..=55).contains(&p(2)) && len == 16 || p(2) == 50 && len >= 12, // MC, Maestro
        b'2' => (2221..=2720).contains(&p(4)) && len == 16, // Mastercard 2-series
        b'3' => {
            (p(2) == 34 || p(2) == 37) && len == 15                // Amex
                || ((300..=305).contains(&p(3)) || p(2) == 36 || p(2) == 38 || p(2) == 39) && (14..=19).contains(&len) // Diners
                || (3528..=3589).contains(&p(4)) && (16..=19).contains(&len) // JCB
        }
        b'6' => {
            (p(4) == 6011 || (644..=649).contains(&p(3)) || p(2) == 65 || p(2) == 62 || p(2) == 67)
                && (16..=19).contains(&len)
        }
        _ => false,
    };
    ok && luhn(d)
}

/// US SSN structure: area not 000, 666 or 9xx; group not 00; serial not 0000. `d` = 9 digits.
pub fn ssn(d: &[u8]) -> bool {
    if d.len() != 9 || !d.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let area = &d[..3];
    area != b"000"
        && area != b"666"
        && area[0] != b'9'
        && &d[3..5] != b"00"
        && &d[5..] != b"0000"
        // Widely published dummies (advertising, documentation).
        && d != b"123456789"
        && d != b"078051120"
        && d != b"219099999"
}

/// ABA routing number: 9 digits, a valid Federal Reserve prefix and the 3-7-1 checksum.
pub fn aba(d: &[u8]) -> bool {
    if d.len() != 9 || !d.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let v: Vec<u32> = d.iter().map(|&b| u32::from(b - b'0')).collect();
    let prefix = v[0] * 10 + v[1];
    let prefix_ok = matches!(prefix, 0..=12 | 21..=32 | 61..=72 | 80) && prefix != 0;
    let sum = 3 * (v[0] + v[3] + v[6]) + 7 * (v[1] + v[4] + v[7]) + (v[2] + v[5] + v[8]);
    prefix_ok && sum.is_multiple_of(10)
}

/// Expected IBAN length by country (ISO 13616 registry, the SEPA area and common others).
fn iban_len(cc: &[u8]) -> Option<usize> {
    const T: &[(&[u8; 2], usize)] = &[
        (b"AD", 24),
        (b"AE", 23),
        (b"AL", 28),
        (b"AT", 20),
        (b"AZ", 28),
        (b"BA", 20),
        (b"BE", 16),
        (b"BG", 22),
        (b"BH", 22),
        (b"BR", 29),
        (b"CH", 21),
        (b"CR", 22),
        (b"CY", 28),
        (b"CZ", 24),
        (b"DE", 22),
        (b"DK", 18),
        (b"DO", 28),
        (b"EE", 20),
        (b"EG", 29),
        (b"ES", 24),
        (b"FI", 18),
        (b"FO", 18),
        (b"FR", 27),
        (b"GB", 22),
        (b"GE", 22),
        (b"GI", 23),
        (b"GL", 18),
        (b"GR", 27),
        (b"GT", 28),
        (b"HR", 21),
        (b"HU", 28),
        (b"IE", 22),
        (b"IL", 23),
        (b"IS", 26),
        (b"IT", 27),
        (b"JO", 30),
        (b"KW", 30),
        (b"KZ", 20),
        (b"LB", 28),
        (b"LI", 21),
        (b"LT", 20),
        (b"LU", 20),
        (b"LV", 21),
        (b"MC", 27),
        (b"MD", 24),
        (b"ME", 22),
        (b"MK", 19),
        (b"MR", 27),
        (b"MT", 31),
        (b"MU", 30),
        (b"NL", 18),
        (b"NO", 15),
        (b"PK", 24),
        (b"PL", 28),
        (b"PS", 29),
        (b"PT", 25),
        (b"QA", 29),
        (b"RO", 24),
        (b"RS", 22),
        (b"SA", 24),
        (b"SE", 24),
        (b"SI", 19),
        (b"SK", 24),
        (b"SM", 27),
        (b"TN", 24),
        (b"TR", 26),
        (b"UA", 29),
        (b"VG", 24),
        (b"XK", 20),
    ];
    T.iter().find(|(c, _)| c[..] == *cc).map(|(_, n)| *n)
}

/// Checks an IBAN given without separators: country length and the ISO 7064 mod-97 check.
pub fn iban(s: &[u8]) -> bool {
    if s.len() < 15 || Some(s.len()) != iban_len(&s[..2]) {
        return false;
    }
    let mut rem = 0u32;
    for &b in s[4..].iter().chain(&s[..4]) {
        match b {
            b'0'..=b'9' => rem = (rem * 10 + u32::from(b - b'0')) % 97,
            b'A'..=b'Z' => rem = (rem * 100 + u32::from(b - b'A' + 10)) % 97,
            _ => return false,
        }
    }
    rem == 1
}

/// Expected IBAN length for a candidate's country code (used to cut a greedy match).
pub fn iban_expected_len(cc: &[u8]) -> Option<usize> {
    iban_len(cc)
}

/// Shannon entropy in bits per byte.
pub fn entropy(s: &[u8]) -> f32 {
    if s.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in s {
        counts[b as usize] += 1;
    }
    let n = s.len() as f32;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f32 / n;
            -p * p.log2()
        })
        .sum()
}

/// How many of {lower, upper, digit} occur.
pub fn char_classes(s: &[u8]) -> u8 {
    u8::from(s.iter().any(u8::is_ascii_lowercase))
        + u8::from(s.iter().any(u8::is_ascii_uppercase))
        + u8::from(s.iter().any(u8::is_ascii_digit))
}

/// Values that are obviously placeholders in documentation, templates and samples.
pub fn is_placeholder(s: &[u8]) -> bool {
    let lower: Vec<u8> = s.iter().map(u8::to_ascii_lowercase).collect();
    let has = |w: &[u8]| lower.windows(w.len()).any(|x| x == w);
    has(b"example")
        || has(b"xxxxxx")
        || has(b"your")
        || has(b"placeholder")
        || has(b"changeme")
        || has(b"redacted")
        || has(b"dummy")
        || has(b"sample")
        || has(b"000000000000")
        || s.starts_with(b"${")
        || s.starts_with(b"{{")
        || s.starts_with(b"<")
        || s.starts_with(b"%(")
        || s.iter().all(|&b| b == s[0])
}

/// Decodes unpadded/padded base64url (or standard base64) into `out`; false on bad input.
pub fn base64url_decode(s: &[u8], out: &mut Vec<u8>) -> bool {
    let mut acc = 0u32;
    let mut bits = 0;
    for &b in s {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            b'=' => break,
            _ => return false,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    true
}

/// JWT structure: three base64url segments, a header that decodes to a JSON object with `alg`,
/// and a payload that decodes to a JSON object.
pub fn jwt(tok: &[u8]) -> bool {
    let mut parts = tok.split(|&b| b == b'.');
    let (Some(h), Some(p), Some(_sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    if h.len() > 2048 || p.len() < 4 {
        return false;
    }
    let mut buf = Vec::with_capacity(h.len());
    if !base64url_decode(h, &mut buf) || !json_object_with(&buf, b"\"alg\"") {
        return false;
    }
    let mut payload = Vec::new();
    base64url_decode(&p[..p.len().min(64)], &mut payload) && payload.first() == Some(&b'{')
}

fn json_object_with(s: &[u8], key: &[u8]) -> bool {
    let t = s.trim_ascii();
    t.first() == Some(&b'{') && t.last() == Some(&b'}') && t.windows(key.len()).any(|w| w == key)
}

/// A calendar date in a common format (`YYYY-MM-DD`, `MM/DD/YYYY`, `DD.MM.YYYY`, `YYYY/MM/DD`,
/// `DD-MM-YYYY`), with a year a living person could be born in.
pub fn birth_date(s: &[u8]) -> bool {
    let num = |x: &[u8]| -> Option<u32> {
        (!x.is_empty() && x.iter().all(u8::is_ascii_digit))
            .then(|| x.iter().fold(0, |a, &b| a * 10 + u32::from(b - b'0')))
    };
    let parts: Vec<&[u8]> = s.split(|&b| matches!(b, b'-' | b'/' | b'.')).collect();
    if parts.len() != 3 || !(s.len() == 10 || s.len() == 8 || s.len() == 9) {
        return false;
    }
    let (y, a, b) = if parts[0].len() == 4 {
        (num(parts[0]), num(parts[1]), num(parts[2]))
    } else if parts[2].len() == 4 {
        (num(parts[2]), num(parts[0]), num(parts[1]))
    } else {
        return false;
    };
    let (Some(y), Some(a), Some(b)) = (y, a, b) else {
        return false;
    };
    // Month/day order is ambiguous (US vs EU): accept if either reading is a valid date.
    let valid = |m: u32, d: u32| (1..=12).contains(&m) && (1..=31).contains(&d);
    (1900..=2030).contains(&y) && (valid(a, b) || valid(b, a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_and_card_rules() {
        assert!(card(b"4111111111111111"));
        assert!(card(b"378282246310005"));
        assert!(card(b"5555555555554444"));
        assert!(!card(b"4111111111111112"), "Luhn-invalid");
        assert!(!card(b"1700000000005"), "timestamp-like prefix");
        assert!(!card(b"0000000000000000"));
    }

    #[test]
    fn ssn_rules() {
        assert!(ssn(b"536225314"));
        for bad in [
            &b"000123456"[..],
            b"666123456",
            b"912345678",
            b"536005314",
            b"536220000",
        ] {
            assert!(!ssn(bad), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn iban_and_aba() {
        assert!(iban(b"DE89370400440532013000"));
        assert!(iban(b"GB82WEST12345698765432"));
        assert!(!iban(b"DE89370400440532013001"));
        assert!(!iban(b"DE8937040044053201300"), "wrong length for DE");
        assert!(aba(b"021000021"));
        assert!(aba(b"011000015"));
        assert!(!aba(b"021000022"));
    }

    #[test]
    fn jwt_structure() {
        let tok = b"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        assert!(jwt(tok));
        assert!(
            !jwt(b"eyJub3QiOiJhIGp3dCJ9.eyJzdWIiOiIxIn0.sig"),
            "header lacks alg"
        );
    }

    #[test]
    fn dates_and_entropy() {
        assert!(birth_date(b"1985-03-12"));
        assert!(birth_date(b"03/12/1985"));
        assert!(!birth_date(b"1985-13-45"));
        assert!(!birth_date(b"2099-01-01"));
        assert!(entropy(b"aaaaaaaa") < 0.01);
        assert!(entropy(b"q8Zr2LmX9vT4kP7w") > 3.5);
    }
}
