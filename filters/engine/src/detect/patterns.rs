//! The built-in candidate patterns, shared by `build.rs` (which determinizes them into DFAs at
//! build time) and the runtime (which maps a DFA pattern id back to the rule that validates it).
//!
//! The patterns are deliberately *loose*: they find cheap candidates and leave exact lengths,
//! checksums and context to the validators. Two rules keep the combined DFA small and fast:
//! - token patterns are **prefixes only** (`ghp_`, `AKIA`, `eyJ`, `@`); the token is extended
//!   by its character class in code (`tokens::extend`). Measured 2026-11-25: with the tails in
//!   the DFA (`ghp_[A-Za-z0-9]+`, an e-mail local-part loop…) the unanchored union had to track
//!   every "inside some token" mode at once and grew to 15 MB in 15 s of build time; prefixes
//!   keep it small and let the DFA fall back to its start state quickly;
//! - no look-around (`\b`, `^`, `$`) in the raw DFA, so it has a single unanchored start state
//!   and a scan resynchronises after any delimiter; word boundaries are checked in code.
//!
//! Order matters: the DFA uses leftmost-first semantics, so at one start position an earlier
//! pattern wins over a later one (specific tokens before e-mail, e-mail before numbers).

/// What a raw DFA pattern id means; the runtime dispatches on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RawRule {
    PrivateKey,
    SlackWebhook,
    Jwt,
    AwsAccessKeyId,
    GcpApiKey,
    GithubToken,
    GitlabToken,
    SlackToken,
    StripeKey,
    TwilioKey,
    SendgridKey,
    OpenaiKey,
    NpmToken,
    Bearer,
    /// `key: value` / `key=value` with a key naming a field family; the value is parsed in code.
    Key(KeyFamily),
    Iban,
    Email,
}

/// Field families: keys (JSON keys, form names, header names, `label:` in text) that make an
/// otherwise ambiguous value meaningful.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyFamily {
    AwsSecret,
    AzureKey,
    GcpKeyId,
    Password,
    ApiKey,
    Ssn,
    Dob,
    Routing,
    Passport,
    Phone,
}

/// Separator after a key: optional closing quote (possibly JSON-escaped), `:` or `=`, optional
/// opening quote. The value itself is delimited in code (quoted or bare).
macro_rules! kv {
    ($keys:literal) => {
        concat!("(?i:", $keys, r#")\\?["']?[ \t]*[:=][ \t]*\\?["']?"#)
    };
}

/// The raw (sensitive data) DFA: pattern id = index.
pub const RAW_RULES: &[(RawRule, &str)] = &[
    (
        RawRule::PrivateKey,
        r"-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----",
    ),
    (RawRule::SlackWebhook, r"https://hooks\.slack\.com/"),
    (RawRule::Jwt, r"eyJ"),
    (RawRule::AwsAccessKeyId, r"(?:AKIA|ASIA|ABIA|ACCA)"),
    (RawRule::GcpApiKey, r"AIza"),
    (RawRule::GithubToken, r"(?:gh[pousr]_|github_pat_)"),
    (
        RawRule::GitlabToken,
        r"gl(?:pat|dt|rt|ptt|oas|cbt|imt|ft|soat|agent)-",
    ),
    (RawRule::SlackToken, r"(?:xox[abposre]-|xapp-)"),
    (RawRule::StripeKey, r"(?:sk|rk)_(?:live|test)_"),
    (RawRule::TwilioKey, r"SK[0-9a-f]"),
    (RawRule::SendgridKey, r"SG\."),
    (RawRule::OpenaiKey, r"sk-"),
    (RawRule::NpmToken, r"npm_"),
    (RawRule::Bearer, r"(?i:bearer)[ \t]+"),
    (
        RawRule::Key(KeyFamily::AwsSecret),
        kv!(r"aws[_\-]?secret[_\-]?(?:access[_\-]?)?key|secret[_\-]?access[_\-]?key"),
    ),
    (RawRule::Key(KeyFamily::AzureKey), kv!(r"account[_\-]?key")),
    (
        RawRule::Key(KeyFamily::GcpKeyId),
        kv!(r"private[_\-]?key[_\-]?id"),
    ),
    (
        RawRule::Key(KeyFamily::Password),
        kv!(r"password|passwd|pwd|passphrase|secret|client[_\-]?secret|secret[_\-]?key"),
    ),
    (
        RawRule::Key(KeyFamily::ApiKey),
        kv!(
            r"api[_\-]?key|x[_\-]api[_\-]key|api[_\-]?token|access[_\-]?token|auth[_\-]?token|access[_\-]?key"
        ),
    ),
    (
        RawRule::Key(KeyFamily::Ssn),
        kv!(r"ssn|social[_\- ]?security(?:[_\- ]?(?:number|num|no))?"),
    ),
    (
        RawRule::Key(KeyFamily::Dob),
        kv!(r"dob|date[_\- ]?of[_\- ]?birth|birth[_\- ]?date|birthday"),
    ),
    (
        RawRule::Key(KeyFamily::Routing),
        kv!(r"routing(?:[_\- ]?(?:number|num|no))?|aba(?:[_\- ]?(?:number|num|no))?"),
    ),
    (
        RawRule::Key(KeyFamily::Passport),
        kv!(r"passport(?:[_\- ]?(?:number|num|no))?"),
    ),
    (
        RawRule::Key(KeyFamily::Phone),
        kv!(r"phone(?:[_\- ]?(?:number|num|no))?|mobile|telephone|tel|cell"),
    ),
    (RawRule::Iban, r"[A-Z][A-Z][0-9][0-9]"),
    (RawRule::Email, r"@"),
];

/// Attack categories, in the order of their ids in [`ATTACK_RULES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttackRule {
    Sql,
    Xss,
    Traversal,
    Command,
    Ssrf,
    Jndi,
}

/// Shell commands an injection typically runs; shared by the separator and backtick forms.
macro_rules! shell_cmds {
    () => {
        "cat|ls|id|whoami|uname|wget|curl|nc|ncat|netcat|bash|sh|zsh|rm|ping|nslookup|powershell|cmd|python|perl|chmod|echo|sleep|telnet|ifconfig|env|kill|base64"
    };
}

/// The attack DFA, run over *decoded* request parts (percent-encoding, `+`, HTML entities and
/// SQL comments already undone). Look-around is fine here: values are short.
pub const ATTACK_RULES: &[(AttackRule, &str)] = &[
    (
        AttackRule::Sql,
        r#"(?i)\bunion(?:\s+all|\s+distinct)?\s+select\b|['"\)]\s*(?:or|and|\|\||&&)\s+\(?\s*['"]?[0-9a-z_]+['"]?\s*(?:=|<|>|like\b)\s*['"]?[0-9a-z_]+|\b(?:and|or)\s+\(\s*select\s+[a-z0-9_*(),\s]+\s+from\b|\bor\s+1\s*=\s*1\b|['"]\s*(?:or|and)\s+(?:true|false)\b|['"]\)?\s*;\s*(?:drop|delete|insert|update|alter|create|truncate|exec|shutdown|declare|select)\b|;\s*(?:drop|truncate|alter)\s+(?:table|database)\b|\b(?:sleep|pg_sleep|benchmark)\s*\(\s*[0-9]|\bwaitfor\s+delay\s+'|['"]\)?\s*--|['"]\s*#\s*$|\binformation_schema\b|\bxp_cmdshell\b|\bload_file\s*\(|\binto\s+(?:out|dump)file\b|@@version\b|\bselect\s+(?:@@|version\s*\(|user\s*\(|database\s*\(|char\s*\(|concat\s*\()|\bexec(?:ute)?\s+(?:master\.|xp_|sp_)"#,
    ),
    (
        AttackRule::Xss,
        r#"(?i)<\s*/?\s*script\b|\b(?:java|vb)script\s*:|<[a-z!/][^>]*[\s/"']on[a-z]+\s*=|['"\s/]on(?:error|load|mouseover|focus|click|toggle|pointerover|animationstart|mouseenter)\s*=|<\s*(?:iframe|object|embed|applet|base|meta|svg)\b|\bdocument\s*\.\s*(?:cookie|domain|write)\b|\bdata\s*:\s*text/html|\bsrcdoc\s*=|\bexpression\s*\("#,
    ),
    (
        AttackRule::Traversal,
        r#"(?i)(?:\.\.[/\\]){2,}|(?:^|[/\\=:])\.\.[/\\]+(?:etc|windows|winnt|proc|boot|root|var|usr|home|system32|\.ssh|\.env|\.git)\b|\.{4}//|/etc/(?:passwd|shadow|hosts|group|issue)\b|\bc:\\+(?:windows|boot\.ini|inetpub)|/proc/self/|\.\.[/\\]\x00|\x00"#,
    ),
    (
        AttackRule::Command,
        concat!(
            r#"(?i)(?:[;&|`\n]|\$\(|\|\||&&)\s*(?:"#,
            shell_cmds!(),
            r#")\b(?:\s*$|\s*[;|&`)]|\s+[-/~$.'"]|\s+[a-z]+://)|\s-e\s+/bin/(?:ba|z|da)?sh\b|`\s*(?:"#,
            shell_cmds!(),
            r#")\b[^`]*`|\$\{ifs\}"#
        ),
    ),
    (
        AttackRule::Ssrf,
        r#"(?i)\b(?:https?|ftp|gopher|dict|ldap|tftp|file)://(?:[^/@\s]*@)?(?:localhost(?:[:/?#\]\s]|$)|127\.[0-9.]+|0\.0\.0\.0|0x7f|0177\.|2130706433|\[::1?\]|\[0*:|\[::ffff:|10\.[0-9]+\.[0-9]+\.[0-9]+|192\.168\.|172\.(?:1[6-9]|2[0-9]|3[01])\.|169\.254\.|metadata\.google\.internal|metadata\.azure\.com|100\.100\.100\.200)|\b169\.254\.169\.254\b|\bmetadata\.google\.internal\b|\b(?:gopher|dict|file)://"#,
    ),
    (
        AttackRule::Jndi,
        r#"(?i)\$\{\s*jndi\s*:|\$\{[^}$]*\$\{|\$\{\s*(?:lower|upper|::-)[^}]*\}"#,
    ),
];
