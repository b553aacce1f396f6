//! Validation of self-identifying candidates (vendor tokens, JWTs, PEM blocks, IBANs, e-mail
//! addresses): exact lengths, checksums and the documentation-example filter.

use super::{patterns::RawRule, validate, CategoryId};

/// A confirmed finding `[start, end)` in the scanned buffer.
pub type Hit = (CategoryId, usize, usize);

fn has(s: &[u8], w: &[u8]) -> bool {
    s.windows(w.len()).any(|x| x == w)
}

/// Keys published in vendor documentation without an `EXAMPLE` marker: they appear in
/// tutorials, fixtures and API explorers, never as a real credential.
const DOC_KEYS: &[&[u8]] = &[b"sk_test_4eC39HqLyjWDarjtT1zdp7dc"];

/// Vendor documentation keys (`AKIAIOSFODNN7EXAMPLE`, `…EXAMPLEKEY`, [`DOC_KEYS`]) and filler.
fn doc_example(tok: &[u8], tail: &[u8]) -> bool {
    has(tok, b"EXAMPLE")
        || has(tok, b"example")
        || DOC_KEYS.contains(&tok)
        || validate::is_placeholder(tail)
}

/// Extends a prefix match ending at `e` over the rule's token alphabet; returns the token end.
pub fn extend(rule: RawRule, buf: &[u8], e: usize) -> usize {
    let class: fn(u8) -> bool = match rule {
        RawRule::AwsAccessKeyId => |b| b.is_ascii_uppercase() || b.is_ascii_digit(),
        RawRule::GithubToken => |b| b.is_ascii_alphanumeric() || b == b'_',
        RawRule::StripeKey | RawRule::NpmToken => |b| b.is_ascii_alphanumeric(),
        RawRule::SlackToken => |b| b.is_ascii_alphanumeric() || b == b'-',
        RawRule::TwilioKey => |b| b.is_ascii_hexdigit(),
        RawRule::SendgridKey | RawRule::Jwt => |b| b.is_ascii_alphanumeric() || b"_-.".contains(&b),
        RawRule::SlackWebhook => |b| b.is_ascii_alphanumeric() || b == b'_' || b == b'/',
        _ => |b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-',
    };
    let limit = buf.len().min(e + 4096);
    let mut i = e;
    while i < limit && class(buf[i]) {
        i += 1;
    }
    // A JWT or SendGrid key never ends with its separator (`eyJ….` at a sentence end).
    while i > e && buf[i - 1] == b'.' {
        i -= 1;
    }
    i
}

/// Checks a token-like candidate `buf[s..e]` of `rule`. `None` = not a finding.
pub fn check(rule: RawRule, buf: &[u8], s: usize, e: usize) -> Option<Hit> {
    let t = &buf[s..e];
    let hit = |c: CategoryId| Some((c, s, e));
    let tail_from = |n: usize| &t[n.min(t.len())..];
    match rule {
        RawRule::AwsAccessKeyId => (t.len() == 20 && !doc_example(t, &t[4..]))
            .then_some(())
            .and(hit(CategoryId::AWS_ACCESS_KEY_ID)),
        RawRule::GcpApiKey => (t.len() == 39 && !doc_example(t, &t[4..]))
            .then_some(())
            .and(hit(CategoryId::GCP_API_KEY)),
        RawRule::GithubToken => {
            let ok = if t.starts_with(b"github_pat_") {
                t.len() >= 80
            } else {
                t.len() == 40
            };
            (ok && !doc_example(t, tail_from(4)))
                .then_some(())
                .and(hit(CategoryId::GITHUB_TOKEN))
        }
        RawRule::GitlabToken => {
            let dash = t.iter().position(|&b| b == b'-')?;
            (t.len() - dash > 20 && !doc_example(t, &t[dash + 1..]))
                .then_some(())
                .and(hit(CategoryId::GITLAB_TOKEN))
        }
        RawRule::SlackToken => {
            let tail = &t[5..];
            (tail.len() >= 20
                && tail.iter().filter(|b| b.is_ascii_digit()).count() >= 6
                && !doc_example(t, tail))
            .then_some(())
            .and(hit(CategoryId::SLACK_TOKEN))
        }
        RawRule::StripeKey => {
            let tail = tail_from(8);
            (tail.len() >= 16 && validate::char_classes(tail) >= 2 && !doc_example(t, tail))
                .then_some(())
                .and(hit(CategoryId::STRIPE_KEY))
        }
        RawRule::TwilioKey => {
            let tail = &t[2..];
            (t.len() == 34
                && validate::char_classes(tail) >= 2
                && validate::entropy(tail) >= 3.0
                && !doc_example(t, tail))
            .then_some(())
            .and(hit(CategoryId::TWILIO_KEY))
        }
        RawRule::SendgridKey => {
            let mut parts = t[3..].split(|&b| b == b'.');
            let ok = matches!((parts.next(), parts.next()), (Some(a), Some(b)) if a.len() == 22 && b.len() == 43);
            (ok && !doc_example(t, &t[3..]))
                .then_some(())
                .and(hit(CategoryId::SENDGRID_KEY))
        }
        RawRule::OpenaiKey => {
            let tail = tail_from(3);
            let modern = [&b"proj-"[..], b"svcacct-", b"admin-"]
                .iter()
                .any(|p| tail.starts_with(p));
            let ok = t.len() >= 40
                && (has(t, b"T3BlbkFJ")
                    || modern
                    || t.len() == 51 && tail.iter().all(u8::is_ascii_alphanumeric))
                && validate::entropy(tail) >= 3.5;
            (ok && !doc_example(t, tail))
                .then_some(())
                .and(hit(CategoryId::OPENAI_API_KEY))
        }
        RawRule::NpmToken => {
            (t.len() == 40 && validate::char_classes(&t[4..]) >= 2 && !doc_example(t, &t[4..]))
                .then_some(())
                .and(hit(CategoryId::NPM_TOKEN))
        }
        RawRule::Jwt => validate::jwt(t).then_some(()).and(hit(CategoryId::JWT)),
        RawRule::SlackWebhook => {
            let path = t.strip_prefix(b"https://hooks.slack.com/")?;
            let mut seg = path.split(|&b| b == b'/').skip(1).filter(|x| !x.is_empty());
            let ok = match (seg.next(), seg.next(), seg.next()) {
                (Some(a), Some(b), Some(c)) => a.len() >= 8 && b.len() >= 8 && c.len() >= 16,
                _ => false,
            };
            (ok && !doc_example(t, path))
                .then_some(())
                .and(hit(CategoryId::SLACK_WEBHOOK))
        }
        _ => None,
    }
}

/// Reads an IBAN starting at `s` to its country's length (skipping single spaces between
/// groups) and checks it.
pub fn iban(buf: &[u8], s: usize) -> Option<Hit> {
    let want = validate::iban_expected_len(&buf[s..s + 2])?;
    let mut compact = [0u8; 34];
    let (mut n, mut i) = (0, s);
    while n < want && i < buf.len() {
        match buf[i] {
            b if b.is_ascii_uppercase() || b.is_ascii_digit() => {
                compact[n] = b;
                n += 1;
            }
            b' ' if i > s && buf[i - 1] != b' ' => {}
            _ => break,
        }
        i += 1;
    }
    let after_ok = buf.get(i).is_none_or(|b| !b.is_ascii_alphanumeric());
    (n == want && after_ok && validate::iban(&compact[..n])).then_some((CategoryId::IBAN, s, i))
}

/// An e-mail address around the `@` at `buf[at]`: the local part is expanded to the left and
/// the domain to the right. File names that look like addresses (`logo@2x.png`) and
/// `user@host:path` remotes are not e-mail addresses.
pub fn email(buf: &[u8], at: usize) -> Option<Hit> {
    let local = |b: u8| b.is_ascii_alphanumeric() || b"._%+-".contains(&b);
    let domain = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'.';
    let mut s = at;
    while s > 0 && at - s < 64 && local(buf[s - 1]) {
        s -= 1;
    }
    let mut e = at + 1;
    while e < buf.len() && e - at < 255 && domain(buf[e]) {
        e += 1;
    }
    while e > at + 1 && buf[e - 1] == b'.' {
        e -= 1;
    }
    let t = &buf[s..e];
    let at = at - s;
    let dom = &t[at + 1..];
    let tld = &dom[dom.iter().rposition(|&b| b == b'.')? + 1..];
    const FILES: &[&[u8]] = &[
        b"png", b"jpg", b"jpeg", b"gif", b"svg", b"webp", b"js", b"css", b"ico", b"bmp", b"tiff",
        b"json", b"html",
    ];
    let ok = at > 0
        && t[0] != b'.'
        && t[at - 1] != b'.'
        && dom.first().is_some_and(u8::is_ascii_alphanumeric)
        && !dom.windows(2).any(|w| w == b"..")
        && (2..=24).contains(&tld.len())
        && tld.iter().all(u8::is_ascii_alphabetic)
        && !FILES.iter().any(|f| tld.eq_ignore_ascii_case(f))
        && s.checked_sub(1).is_none_or(|p| buf[p] != b'@')
        && buf.get(e) != Some(&b':');
    ok.then_some((CategoryId::EMAIL, s, e))
}

/// A PEM private-key block starting with the header at `buf[s..e]`: up to the matching
/// `-----END …-----` line (searched within 64 KiB), with at least 64 base64 characters of body,
/// so that `-----BEGIN PRIVATE KEY-----\n...\n` in documentation does not count.
pub fn private_key(buf: &[u8], s: usize, e: usize) -> Option<Hit> {
    let limit = buf.len().min(e + 65536);
    let region = &buf[e..limit];
    let (body, end) = match region.windows(8).position(|w| w == b"-----END") {
        Some(p) => {
            let close = region[p + 8..]
                .windows(5)
                .position(|w| w == b"-----")
                .map_or(limit, |q| e + p + 8 + q + 5);
            (&region[..p], close)
        }
        None => {
            let run = region
                .iter()
                .position(|&b| !(b.is_ascii_alphanumeric() || b"+/=\\ \r\n\t:-,".contains(&b)))
                .unwrap_or(region.len());
            (&region[..run], e + run)
        }
    };
    let b64 = body
        .iter()
        .filter(|&&b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
        .count();
    (b64 >= 64).then_some((CategoryId::PRIVATE_KEY, s, end))
}

/// `Bearer <token>`: the token after the scheme, if it looks like a credential.
pub fn bearer(buf: &[u8], e: usize) -> Option<Hit> {
    let mut end = e;
    while end < buf.len()
        && end - e < 4096
        && (buf[end].is_ascii_alphanumeric() || b"-._~+/=".contains(&buf[end]))
    {
        end += 1;
    }
    let tok = &buf[e..end];
    let ok = tok.len() >= 16
        && validate::entropy(tok) >= 3.0
        && validate::char_classes(tok) >= 2
        && !validate::is_placeholder(tok);
    ok.then_some((CategoryId::BEARER_TOKEN, e, end))
}
