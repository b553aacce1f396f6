//! Field-name context: which key families make an ambiguous value meaningful, how a key is
//! recognised (JSON key, form name, header name, `label:` in text) and how each family's value
//! is validated.

use super::{numeric, patterns::KeyFamily, validate, CategoryId};
use crate::keycache::KeyCache;

/// Lower-cases and drops everything but ASCII letters and digits, so `user_SSN`, `userSsn` and
/// `user-ssn` all read `userssn`. Keys longer than 64 bytes are not field names we know.
pub fn normalize(key: &str, out: &mut [u8; 64]) -> Option<usize> {
    let mut n = 0;
    for b in key.bytes().filter(u8::is_ascii_alphanumeric) {
        *out.get_mut(n)? = b.to_ascii_lowercase();
        n += 1;
    }
    Some(n)
}

/// The family of a raw key (normalized first), remembered per thread: JSON arrays repeat the
/// same few keys in every record, and normalizing plus matching a key against every family
/// was ~16 % of a JSON scan (native profile, 1 KiB API response).
pub fn family_of_key(key: &str) -> Option<KeyFamily> {
    use std::cell::RefCell;
    thread_local! {
        static CACHE: RefCell<KeyCache<Option<KeyFamily>>> = RefCell::new(KeyCache::default());
    }
    CACHE.with(|c| {
        c.borrow_mut()
            .get(key.as_bytes(), key_family)
            .map(|(_, f)| *f)
            .unwrap_or_else(|| key_family(key))
    })
}

/// The family of a raw key, normalized first; not cached.
fn key_family(key: &str) -> Option<KeyFamily> {
    let mut norm = [0u8; 64];
    normalize(key, &mut norm).and_then(|n| family(&norm[..n]))
}

/// The family a (normalized) key belongs to. Most specific first: `aws_secret_access_key` is an
/// AWS secret, not a password, although it contains `secret`.
pub fn family(k: &[u8]) -> Option<KeyFamily> {
    let has = |w: &[u8]| k.windows(w.len()).any(|x| x == w);
    let ends = |ws: &[&[u8]]| ws.iter().any(|w| k.ends_with(w));
    let is = |ws: &[&[u8]]| ws.contains(&k);
    Some(
        if has(b"secretaccesskey") || has(b"aws") && has(b"secret") {
            KeyFamily::AwsSecret
        } else if ends(&[b"accountkey", b"storagekey"]) {
            KeyFamily::AzureKey
        } else if has(b"privatekeyid") {
            KeyFamily::GcpKeyId
        } else if ends(&[
            b"ssn",
            b"socialsecuritynumber",
            b"socialsecurity",
            b"socialsecurityno",
        ]) {
            KeyFamily::Ssn
        } else if ends(&[b"dob", b"dateofbirth", b"birthdate", b"birthday"]) {
            KeyFamily::Dob
        } else if ends(&[
            b"routingnumber",
            b"routingno",
            b"abanumber",
            b"abaroutingnumber",
        ]) || is(&[b"routing", b"aba", b"rtn"])
        {
            KeyFamily::Routing
        } else if has(b"passport") {
            KeyFamily::Passport
        } else if ends(&[
            b"phone",
            b"phonenumber",
            b"phoneno",
            b"mobile",
            b"mobilenumber",
            b"telephone",
            b"msisdn",
            b"cellphone",
        ]) || is(&[b"tel", b"cell"])
        {
            KeyFamily::Phone
        } else if ends(&[
            b"password",
            b"passwd",
            b"pwd",
            b"passphrase",
            b"secret",
            b"secretkey",
        ]) || is(&[b"pass"])
        {
            KeyFamily::Password
        } else if ends(&[
            b"apikey",
            b"apitoken",
            b"accesstoken",
            b"authtoken",
            b"accesskey",
            b"privatetoken",
        ]) {
            KeyFamily::ApiKey
        } else {
            return None;
        },
    )
}

/// Values that say "no password here": masks, nulls and template references.
fn empty_secret(v: &[u8]) -> bool {
    let lower = v.to_ascii_lowercase();
    matches!(
        &lower[..],
        b"null"
            | b"none"
            | b"nil"
            | b"true"
            | b"false"
            | b"undefined"
            | b"[redacted]"
            | b"redacted"
    ) || v.iter().all(|&b| b == v[0])
        || v.starts_with(b"${")
        || v.starts_with(b"{{")
        || v.starts_with(b"%(")
}

fn token_chars(v: &[u8]) -> bool {
    v.iter()
        .all(|&b| b.is_ascii_alphanumeric() || b"-_./+=:~".contains(&b))
}

fn digits_with(v: &[u8], seps: &[u8]) -> Option<Vec<u8>> {
    v.iter()
        .all(|b| b.is_ascii_digit() || seps.contains(b))
        .then(|| v.iter().copied().filter(u8::is_ascii_digit).collect())
}

/// Validates a whole field value for a family; the category to report, if any.
pub fn validate(family: KeyFamily, v: &[u8]) -> Option<CategoryId> {
    let v = v.trim_ascii();
    if v.is_empty() || v.len() > 4096 {
        return None;
    }
    let ok = match family {
        KeyFamily::Password => !empty_secret(v),
        KeyFamily::ApiKey => {
            (16..=256).contains(&v.len())
                && token_chars(v)
                && validate::char_classes(v) >= 2
                && validate::entropy(v) >= 3.0
                && !validate::is_placeholder(v)
        }
        KeyFamily::AwsSecret => {
            v.len() == 40
                && v.iter()
                    .all(|&b| b.is_ascii_alphanumeric() || b == b'/' || b == b'+')
                && validate::char_classes(v) >= 2
                && validate::entropy(v) >= 3.5
                && !validate::is_placeholder(v)
        }
        KeyFamily::AzureKey => {
            (86..=90).contains(&v.len())
                && v.ends_with(b"=")
                && v.iter()
                    .all(|&b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
                && validate::entropy(v) >= 4.5
        }
        KeyFamily::GcpKeyId => {
            v.len() == 40
                && v.iter()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
        }
        KeyFamily::Ssn => digits_with(v, b"- ").is_some_and(|d| validate::ssn(&d)) && v.len() <= 11,
        KeyFamily::Dob => validate::birth_date(v),
        KeyFamily::Routing => v.len() == 9 && validate::aba(v),
        KeyFamily::Passport => {
            (6..=9).contains(&v.len())
                && v.iter()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
                && v.iter().filter(|b| b.is_ascii_digit()).count() >= 4
                && !v.iter().all(|&b| b == v[0])
        }
        KeyFamily::Phone => phone_value(v),
    };
    ok.then_some(match family {
        KeyFamily::Password => CategoryId::PASSWORD_FIELD,
        KeyFamily::ApiKey => CategoryId::GENERIC_API_KEY,
        KeyFamily::AwsSecret => CategoryId::AWS_SECRET_ACCESS_KEY,
        KeyFamily::AzureKey => CategoryId::AZURE_STORAGE_KEY,
        KeyFamily::GcpKeyId => CategoryId::GCP_SERVICE_ACCOUNT_KEY,
        KeyFamily::Ssn => CategoryId::US_SSN,
        KeyFamily::Dob => CategoryId::DATE_OF_BIRTH,
        KeyFamily::Routing => CategoryId::US_BANK_ROUTING,
        KeyFamily::Passport => CategoryId::PASSPORT_NUMBER,
        KeyFamily::Phone => CategoryId::PHONE_NUMBER,
    })
}

/// Under a phone key, a bare 10-digit NANP number or any recognised phone shape counts.
fn phone_value(v: &[u8]) -> bool {
    if numeric::classify(v) == Some(CategoryId::PHONE_NUMBER) {
        return true;
    }
    let Some(d) = digits_with(v, b" -.()+") else {
        return false;
    };
    match d.len() {
        10 => d[0] >= b'2' && d[3] >= b'2',
        11 => d[0] == b'1' && d[1] >= b'2' && d[4] >= b'2',
        12..=15 => v.starts_with(b"+"),
        _ => false,
    }
}

/// Delimits the value after a `key:`/`key=` match ending at `at` in `buf`. A value opened by a
/// quote runs to the matching unescaped quote; a bare value runs to whitespace or a structural
/// delimiter. Returns `(start, end)`; at most 512 bytes are examined.
pub fn value_after(buf: &[u8], at: usize) -> (usize, usize) {
    let limit = buf.len().min(at + 512);
    let quote = at
        .checked_sub(1)
        .map(|i| buf[i])
        .filter(|&q| q == b'"' || q == b'\'');
    let mut i = at;
    match quote {
        Some(q) => {
            // Opened by `\"` (JSON inside a JSON string): closes at the next `\"`.
            let escaped_open = at >= 2 && buf[at - 2] == b'\\';
            while i < limit && buf[i] != q {
                if buf[i] == b'\\' {
                    if escaped_open && buf.get(i + 1) == Some(&q) {
                        break;
                    }
                    i += 1;
                }
                i += 1;
            }
            (at, i.min(limit))
        }
        None => {
            while i < limit
                && !matches!(
                    buf[i],
                    b' ' | b'\t'
                        | b'\r'
                        | b'\n'
                        | b'&'
                        | b';'
                        | b','
                        | b'"'
                        | b'\''
                        | b'<'
                        | b'>'
                        | b'}'
                        | b']'
                        | b')'
                        | b'\\'
                )
            {
                i += 1;
            }
            (at, i)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fam(k: &str) -> Option<KeyFamily> {
        let mut buf = [0; 64];
        let n = normalize(k, &mut buf)?;
        family(&buf[..n])
    }

    #[test]
    fn key_families() {
        assert_eq!(fam("customerSSN"), Some(KeyFamily::Ssn));
        assert_eq!(fam("date_of_birth"), Some(KeyFamily::Dob));
        assert_eq!(fam("aws_secret_access_key"), Some(KeyFamily::AwsSecret));
        assert_eq!(fam("client_secret"), Some(KeyFamily::Password));
        assert_eq!(fam("X-Api-Key"), Some(KeyFamily::ApiKey));
        assert_eq!(fam("hotel"), None);
        assert_eq!(fam("passwordHint"), None);
    }

    #[test]
    fn values() {
        assert_eq!(value_after(br#""password": "a b\"c", "x""#, 13), (13, 19));
        assert_eq!(value_after(b"password=hunter2&next=1", 9), (9, 16));
        assert_eq!(
            validate(KeyFamily::Ssn, b"536225314"),
            Some(CategoryId::US_SSN)
        );
        assert_eq!(validate(KeyFamily::Password, b"********"), None);
        assert_eq!(validate(KeyFamily::ApiKey, b"your-api-key-here"), None);
    }
}
