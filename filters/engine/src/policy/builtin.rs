//! The built-in category identifiers the policy may name.
//!
//! These ids appear in configuration, metric labels and scan output, so they are part of the
//! public interface: never rename one. The detector keeps its own table of patterns for them;
//! the two lists are checked against each other when the crate is assembled.

/// Whether a category describes data leaving a service or an attack arriving at one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CategoryKind {
    /// Personal or secret data, looked for mainly in responses.
    Sensitive,
    /// An injection or probing attempt, looked for in requests.
    Attack,
}

/// One built-in category: its id, its kind and a one-line description for docs and tooling.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    pub id: &'static str,
    pub kind: CategoryKind,
    pub description: &'static str,
}

const fn s(id: &'static str, description: &'static str) -> Builtin {
    Builtin {
        id,
        kind: CategoryKind::Sensitive,
        description,
    }
}

const fn a(id: &'static str, description: &'static str) -> Builtin {
    Builtin {
        id,
        kind: CategoryKind::Attack,
        description,
    }
}

/// Every built-in category, sensitive data first, then attacks.
pub const BUILTIN_CATEGORIES: &[Builtin] = &[
    s(
        "credit_card",
        "Payment card numbers (13-19 digits, Luhn-valid, known issuer prefixes)",
    ),
    s(
        "us_ssn",
        "US Social Security numbers (valid area/group/serial ranges)",
    ),
    s("email", "Email addresses"),
    s(
        "phone_number",
        "Phone numbers in international or North American formats",
    ),
    s(
        "iban",
        "International Bank Account Numbers (mod-97 checked)",
    ),
    s(
        "us_bank_routing",
        "US ABA routing numbers (checksum validated, needs key context)",
    ),
    s(
        "date_of_birth",
        "Dates under keys such as dob or birth_date",
    ),
    s("passport_number", "Passport numbers under passport keys"),
    s("aws_access_key_id", "AWS access key ids (AKIA/ASIA…)"),
    s(
        "aws_secret_access_key",
        "AWS secret access keys (40 chars, key context)",
    ),
    s("gcp_api_key", "Google Cloud API keys (AIza…)"),
    s(
        "gcp_service_account_key",
        "Google service account JSON keys",
    ),
    s(
        "azure_storage_key",
        "Azure storage account keys and connection strings",
    ),
    s(
        "github_token",
        "GitHub tokens (ghp_, gho_, ghs_, github_pat_…)",
    ),
    s(
        "gitlab_token",
        "GitLab personal and deploy tokens (glpat-…)",
    ),
    s("slack_token", "Slack bot/user/app tokens (xox…)"),
    s("slack_webhook", "Slack incoming webhook URLs"),
    s(
        "stripe_key",
        "Stripe secret and restricted keys (sk_live_, rk_live_…)",
    ),
    s("twilio_key", "Twilio API keys and account SIDs"),
    s("sendgrid_key", "SendGrid API keys (SG.…)"),
    s("openai_api_key", "OpenAI API keys (sk-…)"),
    s("npm_token", "npm access tokens (npm_…)"),
    s(
        "jwt",
        "JSON Web Tokens (three base64url parts, JSON header)",
    ),
    s("private_key", "PEM private keys (RSA, EC, OpenSSH, PKCS#8)"),
    s(
        "password_field",
        "Non-empty values under password-like keys",
    ),
    s(
        "bearer_token",
        "Bearer credentials in bodies (Authorization: Bearer …)",
    ),
    s(
        "generic_api_key",
        "High-entropy values under api_key/secret/token-like keys",
    ),
    a(
        "sql_injection",
        "SQL injection (tautologies, UNION SELECT, stacked queries, comments)",
    ),
    a(
        "xss",
        "Cross-site scripting (script tags, event handlers, javascript: URLs)",
    ),
    a(
        "path_traversal",
        "Path traversal (../ sequences, encoded variants, sensitive files)",
    ),
    a(
        "command_injection",
        "OS command injection (shell metacharacters with commands)",
    ),
    a(
        "ssrf",
        "Server-side request forgery (metadata endpoints, internal URLs)",
    ),
    a(
        "jndi_injection",
        "JNDI lookups (${jndi:…}, Log4Shell and obfuscated forms)",
    ),
];

/// The built-in category with this id, if any.
pub fn builtin(id: &str) -> Option<&'static Builtin> {
    BUILTIN_CATEGORIES.iter().find(|b| b.id == id)
}

/// Ids of the built-in categories of one kind.
pub fn builtin_ids(kind: CategoryKind) -> impl Iterator<Item = &'static str> {
    BUILTIN_CATEGORIES
        .iter()
        .filter(move |b| b.kind == kind)
        .map(|b| b.id)
}

/// Whether `id` is usable as a category id: it becomes a metric label value and a log field,
/// so it is restricted to `[a-z][a-z0-9_]{0,63}`.
pub fn is_valid_id(id: &str) -> bool {
    let b = id.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_has_the_issue_ids_once_each() {
        assert_eq!(builtin_ids(CategoryKind::Sensitive).count(), 27);
        assert_eq!(builtin_ids(CategoryKind::Attack).count(), 6);
        for (i, b) in BUILTIN_CATEGORIES.iter().enumerate() {
            assert!(is_valid_id(b.id), "{}", b.id);
            assert!(BUILTIN_CATEGORIES[i + 1..].iter().all(|o| o.id != b.id));
        }
        assert_eq!(
            builtin("jndi_injection").unwrap().kind,
            CategoryKind::Attack
        );
        assert!(builtin("ssn").is_none());
    }

    #[test]
    fn ids_are_label_safe() {
        assert!(is_valid_id("employee_id2"));
        assert!(!is_valid_id("Employee"));
        assert!(!is_valid_id("2fa"));
        assert!(!is_valid_id("a-b"));
        assert!(!is_valid_id(""));
    }
}
