//! Category identifiers: the stable names that appear in policies, metrics and scan output.

use std::{
    fmt,
    sync::{Mutex, OnceLock},
};

/// Whether a category is data worth protecting (responses, and requests) or an attack (requests).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CategoryKind {
    /// Personal data, financial data or a credential.
    Sensitive,
    /// An injection or probing attempt in a request.
    Attack,
}

/// A detection category. `Copy`, compares by identity and prints as its exact id.
///
/// Built-ins have fixed ids (the constants below). Custom categories from a policy get ids from a
/// process-wide, append-only interner so that [`CategoryId::as_str`] works without a detector at
/// hand; reloading the same policy reuses the same ids, so the interner only grows with the
/// number of *distinct* custom names ever configured.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CategoryId(u16);

macro_rules! builtins {
    ($($konst:ident = $name:literal, $kind:ident;)*) => {
        /// Built-in categories, in id order.
        const BUILTIN: &[(&str, CategoryKind)] = &[$(($name, CategoryKind::$kind)),*];
        #[allow(missing_docs)]
        impl CategoryId {
            builtins!(@consts 0u16, $($konst,)*);
        }
    };
    (@consts $n:expr, $konst:ident, $($rest:ident,)*) => {
        pub const $konst: CategoryId = CategoryId($n);
        builtins!(@consts $n + 1, $($rest,)*);
    };
    (@consts $n:expr,) => {};
}

builtins! {
    CREDIT_CARD = "credit_card", Sensitive;
    US_SSN = "us_ssn", Sensitive;
    EMAIL = "email", Sensitive;
    PHONE_NUMBER = "phone_number", Sensitive;
    IBAN = "iban", Sensitive;
    US_BANK_ROUTING = "us_bank_routing", Sensitive;
    DATE_OF_BIRTH = "date_of_birth", Sensitive;
    PASSPORT_NUMBER = "passport_number", Sensitive;
    AWS_ACCESS_KEY_ID = "aws_access_key_id", Sensitive;
    AWS_SECRET_ACCESS_KEY = "aws_secret_access_key", Sensitive;
    GCP_API_KEY = "gcp_api_key", Sensitive;
    GCP_SERVICE_ACCOUNT_KEY = "gcp_service_account_key", Sensitive;
    AZURE_STORAGE_KEY = "azure_storage_key", Sensitive;
    GITHUB_TOKEN = "github_token", Sensitive;
    GITLAB_TOKEN = "gitlab_token", Sensitive;
    SLACK_TOKEN = "slack_token", Sensitive;
    SLACK_WEBHOOK = "slack_webhook", Sensitive;
    STRIPE_KEY = "stripe_key", Sensitive;
    TWILIO_KEY = "twilio_key", Sensitive;
    SENDGRID_KEY = "sendgrid_key", Sensitive;
    OPENAI_API_KEY = "openai_api_key", Sensitive;
    NPM_TOKEN = "npm_token", Sensitive;
    JWT = "jwt", Sensitive;
    PRIVATE_KEY = "private_key", Sensitive;
    PASSWORD_FIELD = "password_field", Sensitive;
    BEARER_TOKEN = "bearer_token", Sensitive;
    GENERIC_API_KEY = "generic_api_key", Sensitive;
    SQL_INJECTION = "sql_injection", Attack;
    XSS = "xss", Attack;
    PATH_TRAVERSAL = "path_traversal", Attack;
    COMMAND_INJECTION = "command_injection", Attack;
    SSRF = "ssrf", Attack;
    JNDI_INJECTION = "jndi_injection", Attack;
}

/// Interned custom category names; index `i` is `CategoryId(BUILTIN.len() + i)`.
fn custom_names() -> &'static Mutex<Vec<&'static str>> {
    static NAMES: OnceLock<Mutex<Vec<&'static str>>> = OnceLock::new();
    NAMES.get_or_init(|| Mutex::new(Vec::new()))
}

impl CategoryId {
    /// Every built-in category, in id order.
    pub fn builtins() -> impl ExactSizeIterator<Item = CategoryId> {
        (0..BUILTIN.len() as u16).map(CategoryId)
    }

    /// The built-in category with this exact id, if any.
    pub fn builtin(name: &str) -> Option<CategoryId> {
        BUILTIN
            .iter()
            .position(|(n, _)| *n == name)
            .map(|i| CategoryId(i as u16))
    }

    /// Interns a custom category name (idempotent), or `None` when the name is a built-in or the
    /// interner is full (65 536 distinct names).
    pub(crate) fn intern_custom(name: &str) -> Option<CategoryId> {
        if Self::builtin(name).is_some() {
            return None;
        }
        let mut names = custom_names().lock().unwrap_or_else(|e| e.into_inner());
        let idx = match names.iter().position(|n| *n == name) {
            Some(i) => i,
            None => {
                names.push(Box::leak(name.to_owned().into_boxed_str()));
                names.len() - 1
            }
        };
        u16::try_from(BUILTIN.len() + idx).ok().map(CategoryId)
    }

    /// The exact id as it appears in configuration, metrics and scan output.
    pub fn as_str(self) -> &'static str {
        let i = self.0 as usize;
        if let Some((name, _)) = BUILTIN.get(i) {
            return name;
        }
        let names = custom_names().lock().unwrap_or_else(|e| e.into_inner());
        names.get(i - BUILTIN.len()).copied().unwrap_or("unknown")
    }

    /// Sensitive data or attack. Custom categories are sensitive data.
    pub fn kind(self) -> CategoryKind {
        BUILTIN
            .get(self.0 as usize)
            .map_or(CategoryKind::Sensitive, |(_, k)| *k)
    }

    /// True for built-in categories.
    pub fn is_builtin(self) -> bool {
        (self.0 as usize) < BUILTIN.len()
    }

    /// Dense index (for per-category tables such as enable masks).
    pub(crate) fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Debug for CategoryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for CategoryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
