//! Response bodies of the built-in upstream: exactly `size` bytes of JSON (with or without
//! sensitive data) or text, generated once per run and served from one shared buffer.

use std::fmt::Write as _;

/// What the upstream's response bodies contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Content {
    /// JSON records with nothing a data-loss filter should flag.
    Json,
    /// JSON records with card numbers (Luhn-valid), SSNs, emails and cloud access keys: the
    /// worst case for a data-loss filter, every record has findings.
    JsonSensitive,
    /// Plain ASCII prose.
    Text,
}

impl Content {
    /// The `content-type` the upstream sends.
    pub fn content_type(self) -> &'static str {
        match self {
            Content::Json | Content::JsonSensitive => "application/json",
            Content::Text => "text/plain; charset=utf-8",
        }
    }

    /// A body of exactly `size` bytes. JSON bodies are valid JSON for any `size` ≥ 2.
    pub fn body(self, size: usize) -> Vec<u8> {
        match self {
            Content::Text => text(size),
            Content::Json => json(size, false),
            Content::JsonSensitive => json(size, true),
        }
    }
}

const WORDS: &[&str] = &[
    "service", "request", "latency", "upstream", "filter", "header", "stream", "cluster", "route",
    "metric", "policy", "tenant", "account", "order", "invoice", "shipment", "catalog", "search",
];

fn text(size: usize) -> Vec<u8> {
    let mut out = String::with_capacity(size + 16);
    let mut i = 0usize;
    while out.len() < size {
        out.push_str(WORDS[i % WORDS.len()]);
        i += 1;
        out.push(if i.is_multiple_of(12) { '\n' } else { ' ' });
    }
    out.truncate(size);
    out.into_bytes()
}

/// `{"items":[record,…],"pad":"xxx"}` sized exactly; `{}` plus spaces when too small for that.
fn json(size: usize, sensitive: bool) -> Vec<u8> {
    const HEAD: &str = "{\"items\":[";
    const TAIL: &str = "],\"pad\":\"\"}";
    if size < HEAD.len() + TAIL.len() {
        return small_json(size);
    }
    let mut out = String::from(HEAD);
    let mut rng = Lcg(0x9e37_79b9_7f4a_7c15);
    for id in 0.. {
        let rec = record(id, sensitive, &mut rng);
        let sep = usize::from(id > 0);
        if out.len() + sep + rec.len() + TAIL.len() > size {
            break;
        }
        if sep == 1 {
            out.push(',');
        }
        out.push_str(&rec);
    }
    out.push_str("],\"pad\":\"");
    let pad = size - out.len() - 2;
    out.extend(std::iter::repeat_n('x', pad));
    out.push_str("\"}");
    out.into_bytes()
}

fn small_json(size: usize) -> Vec<u8> {
    match size {
        0 => Vec::new(),
        1 => b"0".to_vec(),
        _ => {
            let mut v = b"{}".to_vec();
            v.resize(size, b' ');
            v
        }
    }
}

fn record(id: u64, sensitive: bool, rng: &mut Lcg) -> String {
    let mut r = String::with_capacity(160);
    let _ = write!(
        r,
        "{{\"id\":{id},\"name\":\"item-{id}\",\"status\":\"{}\",\"score\":{}.{:02}",
        ["active", "pending", "closed"][(id % 3) as usize],
        rng.next() % 100,
        rng.next() % 100
    );
    if sensitive {
        let _ = write!(
            r,
            ",\"email\":\"user{id}@example.com\",\"card\":\"{}\",\"ssn\":\"{}\",\"aws_key\":\"{}\"",
            card(rng),
            ssn(rng),
            aws_key(rng)
        );
    }
    r.push('}');
    r
}

/// A 16-digit Visa-style number with a valid Luhn check digit.
fn card(rng: &mut Lcg) -> String {
    let mut digits = vec![4u8];
    digits.extend((0..14).map(|_| (rng.next() % 10) as u8));
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            // The check digit will sit at the right, so the rightmost payload digit is doubled.
            if i % 2 == 0 {
                luhn_double(d)
            } else {
                d
            }
        })
        .sum();
    digits.push(((10 - sum % 10) % 10) as u8);
    digits.iter().map(|d| char::from(b'0' + d)).collect()
}

/// A doubled digit's contribution to a Luhn sum.
fn luhn_double(d: u32) -> u32 {
    let x = d * 2;
    if x > 9 {
        x - 9
    } else {
        x
    }
}

/// An SSN in the valid ranges: area 001–665 or 667–899, group 01–99, serial 0001–9999.
fn ssn(rng: &mut Lcg) -> String {
    let mut area = 1 + rng.next() % 899;
    if area == 666 {
        area = 667;
    }
    let group = 1 + rng.next() % 99;
    let serial = 1 + rng.next() % 9999;
    format!("{area:03}-{group:02}-{serial:04}")
}

fn aws_key(rng: &mut Lcg) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut k = String::from("AKIA");
    k.extend((0..16).map(|_| char::from(ALPHABET[(rng.next() % 32) as usize])));
    k
}

/// Deterministic bodies from run to run: Knuth's MMIX linear congruential generator.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn luhn_ok(s: &str) -> bool {
        let sum: u32 = s
            .bytes()
            .rev()
            .enumerate()
            .map(|(i, b)| {
                let d = u32::from(b - b'0');
                if i % 2 == 1 {
                    luhn_double(d)
                } else {
                    d
                }
            })
            .sum();
        sum.is_multiple_of(10)
    }

    #[test]
    fn bodies_have_the_exact_size_and_json_parses() {
        for content in [Content::Json, Content::JsonSensitive, Content::Text] {
            for size in [0, 1, 2, 5, 20, 21, 22, 100, 1024, 4096, 65536] {
                let body = content.body(size);
                assert_eq!(body.len(), size, "{content:?} {size}");
                if content != Content::Text && size > 0 {
                    serde_json::from_slice::<serde_json::Value>(&body)
                        .unwrap_or_else(|e| panic!("{content:?} {size}: {e}"));
                }
            }
        }
    }

    #[test]
    fn sensitive_json_carries_valid_cards_and_ssns() {
        let body = Content::JsonSensitive.body(4096);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let items = v["items"].as_array().unwrap();
        assert!(items.len() >= 10);
        for item in items {
            let card = item["card"].as_str().unwrap();
            assert_eq!(card.len(), 16);
            assert!(luhn_ok(card), "{card}");
            let ssn = item["ssn"].as_str().unwrap();
            assert!(!ssn.starts_with("000") && !ssn.starts_with("666") && !ssn.starts_with('9'));
            assert!(item["aws_key"].as_str().unwrap().starts_with("AKIA"));
        }
        let plain = Content::Json.body(4096);
        let text = String::from_utf8(plain).unwrap();
        assert!(!text.contains("card") && !text.contains("AKIA"));
    }
}
