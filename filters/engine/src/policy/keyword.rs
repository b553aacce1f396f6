//! Keyword enums: small closed sets of words in the policy (`alert`, `fail_closed`, `json`…).
//!
//! Serde's derived enums reject an unknown word with "unknown variant `x`, expected one of …";
//! operators read these errors in `on_configure` logs, so every keyword enum produced here says
//! `unknown action "redcat" (expected ignore|alert|redact|block)` instead, and serializes back to
//! the same word (for config dumps and the schema agreement test).

/// Defines a `Copy` enum of keywords with `as_str`, `NAMES`, `FromStr`, `Display`, `Serialize`
/// and `Deserialize`. `$what` names the kind of word in error messages.
macro_rules! keyword_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident as $what:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $word:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every accepted word, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($word),+];

            /// The word as written in a policy.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $word ),+
                }
            }

            /// The error message for a word that is not one of [`Self::NAMES`].
            pub fn unknown(word: &str) -> String {
                format!(
                    "unknown {} {:?} (expected {})",
                    $what,
                    word,
                    Self::NAMES.join("|")
                )
            }
        }

        impl core::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $( $word => Ok($name::$variant), )+
                    other => Err(Self::unknown(other)),
                }
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                        write!(f, "one of {}", $name::NAMES.join("|"))
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$name, E> {
                        v.parse().map_err(E::custom)
                    }
                }
                d.deserialize_str(V)
            }
        }
    };
}

pub(crate) use keyword_enum;
