//! Enums written as a word or a one-key map: `bearer`, `{header: x-api-key}`,
//! `{entropy: {min_bits_per_char: 3.5}}`.
//!
//! serde's derived enums expect YAML tags (`!header x-api-key`) from serde_yaml_ng but maps
//! from serde_json; operators write the map form in both, so these enums deserialize by hand.

use core::fmt;
use core::marker::PhantomData;

use serde::de::{self, Deserializer, MapAccess, Visitor};

use super::doc::{IdentitySource, TokenSource, Validator};

/// An enum whose variants are words or one-key maps.
pub(super) trait WordOrPair: Sized {
    /// What the enum is called in errors ("token source").
    const WHAT: &'static str;
    /// The accepted forms, for errors.
    const FORMS: &'static str;
    fn from_word(word: &str) -> Option<Self>;
    fn from_pair<'de, A: MapAccess<'de>>(key: &str, map: &mut A) -> Result<Option<Self>, A::Error>;
}

struct WordOrPairVisitor<T>(PhantomData<T>);

impl<'de, T: WordOrPair> Visitor<'de> for WordOrPairVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a {} ({})", T::WHAT, T::FORMS)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        T::from_word(v)
            .ok_or_else(|| E::custom(format!("unknown {} {v:?} (expected {})", T::WHAT, T::FORMS)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        let Some(key) = map.next_key::<String>()? else {
            return Err(de::Error::custom(format!(
                "empty map; expected {}",
                T::FORMS
            )));
        };
        let value = T::from_pair(&key, &mut map)?.ok_or_else(|| {
            de::Error::custom(format!(
                "unknown {} {key:?} (expected {})",
                T::WHAT,
                T::FORMS
            ))
        })?;
        if map.next_key::<de::IgnoredAny>()?.is_some() {
            return Err(de::Error::custom(format!(
                "a {} map has exactly one key",
                T::WHAT
            )));
        }
        Ok(value)
    }
}

pub(super) fn deserialize<'de, D: Deserializer<'de>, T: WordOrPair>(d: D) -> Result<T, D::Error> {
    d.deserialize_any(WordOrPairVisitor(PhantomData))
}

impl WordOrPair for TokenSource {
    const WHAT: &'static str = "token source";
    const FORMS: &'static str = "bearer|jwt_sub|{header: NAME}|{cookie: NAME}";
    fn from_word(word: &str) -> Option<Self> {
        match word {
            "bearer" => Some(TokenSource::Bearer),
            "jwt_sub" => Some(TokenSource::JwtSub),
            _ => None,
        }
    }
    fn from_pair<'de, A: MapAccess<'de>>(key: &str, map: &mut A) -> Result<Option<Self>, A::Error> {
        Ok(match key {
            "header" => Some(TokenSource::Header(map.next_value()?)),
            "cookie" => Some(TokenSource::Cookie(map.next_value()?)),
            _ => None,
        })
    }
}

impl WordOrPair for IdentitySource {
    const WHAT: &'static str = "identity source";
    const FORMS: &'static str = "spiffe|xfcc|{header: NAME}";
    fn from_word(word: &str) -> Option<Self> {
        match word {
            "spiffe" => Some(IdentitySource::Spiffe),
            "xfcc" => Some(IdentitySource::Xfcc),
            _ => None,
        }
    }
    fn from_pair<'de, A: MapAccess<'de>>(key: &str, map: &mut A) -> Result<Option<Self>, A::Error> {
        Ok(match key {
            "header" => Some(IdentitySource::Header(map.next_value()?)),
            _ => None,
        })
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct EntropyParams {
    min_bits_per_char: f64,
}

impl WordOrPair for Validator {
    const WHAT: &'static str = "validator";
    const FORMS: &'static str = "luhn|ssn|iban|aba|jwt|{entropy: {min_bits_per_char: BITS}}";
    fn from_word(word: &str) -> Option<Self> {
        match word {
            "luhn" => Some(Validator::Luhn),
            "ssn" => Some(Validator::Ssn),
            "iban" => Some(Validator::Iban),
            "aba" => Some(Validator::Aba),
            "jwt" => Some(Validator::Jwt),
            _ => None,
        }
    }
    fn from_pair<'de, A: MapAccess<'de>>(key: &str, map: &mut A) -> Result<Option<Self>, A::Error> {
        Ok(match key {
            "entropy" => {
                let p: EntropyParams = map.next_value()?;
                Some(Validator::Entropy {
                    min_bits_per_char: p.min_bits_per_char,
                })
            }
            _ => None,
        })
    }
}

macro_rules! deserialize_via_word_or_pair {
    ($($ty:ty),*) => {$(
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                deserialize(d)
            }
        }
    )*};
}

deserialize_via_word_or_pair!(TokenSource, IdentitySource, Validator);

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml<T: for<'de> serde::Deserialize<'de>>(s: &str) -> Result<T, String> {
        serde_yaml_ng::from_str(s).map_err(|e| e.to_string())
    }

    #[test]
    fn words_and_maps_in_yaml_and_json() {
        assert_eq!(yaml::<TokenSource>("bearer").unwrap(), TokenSource::Bearer);
        assert_eq!(
            yaml::<TokenSource>("{header: x-api-key}").unwrap(),
            TokenSource::Header("x-api-key".into())
        );
        assert_eq!(
            serde_json::from_str::<TokenSource>(r#"{"cookie":"sid"}"#).unwrap(),
            TokenSource::Cookie("sid".into())
        );
        assert_eq!(
            yaml::<Validator>("entropy: {min_bits_per_char: 3.5}").unwrap(),
            Validator::Entropy {
                min_bits_per_char: 3.5
            }
        );
        assert_eq!(
            yaml::<IdentitySource>("xfcc").unwrap(),
            IdentitySource::Xfcc
        );
    }

    #[test]
    fn unknown_forms_are_explained() {
        let e = yaml::<TokenSource>("basic").unwrap_err();
        assert!(
            e.contains(r#"unknown token source "basic" (expected bearer|jwt_sub|"#),
            "{e}"
        );
        let e = yaml::<TokenSource>("{query: t}").unwrap_err();
        assert!(e.contains(r#"unknown token source "query""#), "{e}");
        let e = yaml::<TokenSource>("{header: a, cookie: b}").unwrap_err();
        assert!(e.contains("exactly one key"), "{e}");
        let e = yaml::<Validator>("entropy: {bits: 3}").unwrap_err();
        assert!(e.contains("unknown field"), "{e}");
    }
}
