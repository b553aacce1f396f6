//! Loading certificate files: a good set, and each way a set can be wrong, by its message.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rustls::sign::CertifiedKey;

use super::{der, temp_dir, Pki, Window, ID_A};
use crate::waypoint::certs::expiry::{expiry, Expiry, ExpiryLog};
use crate::waypoint::certs::files::FileSource;
use crate::waypoint::certs::{start, CertsConfig, FilesConfig, MeshCerts};
use crate::waypoint::identity::SpiffeId;

/// Writes the three files into `dir`; returns their source.
pub(super) fn write_set(dir: &Path, cert: &str, key: &str, root: &str) -> FileSource {
    let source = FileSource {
        cert: dir.join("cert-chain.pem"),
        key: dir.join("key.pem"),
        root: dir.join("root-cert.pem"),
    };
    std::fs::write(&source.cert, cert).unwrap();
    std::fs::write(&source.key, key).unwrap();
    std::fs::write(&source.root, root).unwrap();
    source
}

fn load_err(tag: &str, cert: &str, key: &str, root: &str) -> String {
    let dir = temp_dir(tag);
    let e = write_set(&dir, cert, key, root)
        .load()
        .err()
        .expect("must fail");
    e.to_string()
}

#[test]
fn a_good_set_loads_with_its_identity_and_expiry() {
    let pki = Pki::new("mesh root");
    let (cert, key) = pki.leaf(&[ID_A], Window(-60, 3600));
    let dir = temp_dir("good");
    let certs = write_set(&dir, &cert, &key, &pki.root_pem).load().unwrap();
    assert_eq!(certs.id, ID_A.parse::<SpiffeId>().unwrap());
    assert_eq!(certs.key.cert.len(), 1);
    assert_eq!(certs.key.cert[0].as_ref(), der(&cert).as_slice());
    assert_eq!(certs.roots.len(), 1);
    assert_eq!(certs.roots[0].as_ref(), der(&pki.root_pem).as_slice());
    let left = certs
        .not_after
        .duration_since(SystemTime::now())
        .unwrap()
        .as_secs();
    assert!((3590..=3600).contains(&left), "{left}");
    let lifetime = certs.not_after.duration_since(certs.not_before().unwrap());
    assert_eq!(lifetime.unwrap(), Duration::from_secs(3660));
}

#[test]
fn each_bad_set_says_which_file_and_what() {
    let pki = Pki::new("mesh root");
    let other = Pki::new("another root");
    let (good, key) = pki.leaf(&[ID_A], Window::default());

    let (plain, plain_key) = pki.leaf(&[], Window::default());
    let e = load_err("nouri", &plain, &plain_key, &pki.root_pem);
    assert!(
        e.contains("cert-chain.pem") && e.contains("no URI SAN"),
        "{e}"
    );

    let (web, web_key) = pki.leaf(&["https://shop.example/"], Window::default());
    let e = load_err("notspiffe", &web, &web_key, &pki.root_pem);
    assert!(
        e.contains("\"https://shop.example/\" is not a mesh SPIFFE ID"),
        "{e}"
    );

    let (_, stranger_key) = pki.leaf(&[ID_A], Window::default());
    let e = load_err("mismatch", &good, &stranger_key, &pki.root_pem);
    assert!(e.contains("key.pem: the private key does not match"), "{e}");
    assert!(e.contains("cert-chain.pem"), "{e}");

    let (old, old_key) = pki.leaf(&[ID_A], Window(-7200, -3600));
    let e = load_err("expired", &old, &old_key, &pki.root_pem);
    assert!(
        e.contains("cert-chain.pem: the leaf certificate expired at"),
        "{e}"
    );

    let (future, future_key) = pki.leaf(&[ID_A], Window(3600, 7200));
    let e = load_err("future", &future, &future_key, &pki.root_pem);
    assert!(e.contains("is not valid before"), "{e}");

    let e = load_err("untrusted", &good, &key, &other.root_pem);
    assert!(e.contains("does not chain to the root in"), "{e}");
    assert!(e.contains("root-cert.pem"), "{e}");

    let e = load_err("garbage", "not a certificate\n", &key, &pki.root_pem);
    assert!(
        e.contains("cert-chain.pem: no certificate found in PEM"),
        "{e}"
    );

    let e = load_err("nokey", &good, &pki.root_pem, &pki.root_pem);
    assert!(e.contains("key.pem: no private key found in PEM"), "{e}");

    let dir = temp_dir("missing");
    let mut source = write_set(&dir, &good, &key, &pki.root_pem);
    source.key = dir.join("absent.pem");
    let e = source.load().err().unwrap().to_string();
    assert!(e.contains("reading") && e.contains("absent.pem"), "{e}");
}

#[tokio::test]
async fn start_resolves_relative_paths_against_the_config_dir() {
    let pki = Pki::new("mesh root");
    let (cert, key) = pki.leaf(&[ID_A], Window::default());
    let dir = temp_dir("start-files");
    write_set(&dir, &cert, &key, &pki.root_pem);
    let yaml = "{cert: cert-chain.pem, key: key.pem, root: root-cert.pem}";
    let cfg: CertsConfig = serde_yaml_ng::from_str(yaml).unwrap();
    assert!(matches!(cfg, CertsConfig::Files(FilesConfig { .. })));
    let (store, task) = start(&cfg, &dir).await.unwrap();
    assert_eq!(store.current().id.to_string(), ID_A);
    assert_eq!(store.generation(), 0);
    task.abort();

    let missing = start(&cfg, &dir.join("elsewhere")).await.err().unwrap();
    assert!(missing.to_string().contains("elsewhere"), "{missing}");
}

/// A set built by hand (bypassing the load checks) to classify any validity window.
fn set_with(pki: &Pki, window: Window) -> MeshCerts {
    let (cert, key) = pki.leaf(&[ID_A], window);
    let chain = vec![der(&cert).into()];
    let key = rustls_pemfile::private_key(&mut key.as_bytes())
        .unwrap()
        .unwrap();
    let signer = rustls::crypto::ring::sign::any_supported_type(&key).unwrap();
    let now = SystemTime::now();
    MeshCerts {
        key: Arc::new(CertifiedKey::new(chain, signer)),
        id: ID_A.parse().unwrap(),
        roots: vec![],
        not_after: if window.1 >= 0 {
            now + Duration::from_secs(window.1 as u64)
        } else {
            now - Duration::from_secs(window.1.unsigned_abs())
        },
    }
}

#[test]
fn expiry_warns_in_the_last_tenth_of_the_lifetime() {
    let pki = Pki::new("mesh root");
    let now = SystemTime::now();
    assert_eq!(expiry(&set_with(&pki, Window(-10, 90)), now), Expiry::Fine);
    assert_eq!(expiry(&set_with(&pki, Window(-95, 5)), now), Expiry::Soon);
    assert_eq!(
        expiry(&set_with(&pki, Window(-100, -1)), now),
        Expiry::Expired
    );
}

/// Collects what a tracing subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<parking_lot::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn take(&self) -> String {
        String::from_utf8(std::mem::take(&mut *self.0.lock())).unwrap()
    }
}

#[test]
fn expiry_is_logged_once_per_state_as_a_warning_then_an_error() {
    let pki = Pki::new("mesh root");
    let out = Captured::default();
    let writer = out.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let mut log = ExpiryLog::default();
        let fine = set_with(&pki, Window(-10, 90));
        assert_eq!(log.check(&fine, "the files"), Expiry::Fine);
        assert_eq!(out.take(), "");

        let soon = set_with(&pki, Window(-95, 5));
        assert_eq!(log.check(&soon, "the files"), Expiry::Soon);
        log.check(&soon, "the files");
        let text = out.take();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(
            text.contains("WARN") && text.contains("within 10% of its lifetime"),
            "{text}"
        );
        assert!(text.contains(ID_A) && text.contains("the files"), "{text}");

        let expired = set_with(&pki, Window(-100, -1));
        assert_eq!(log.check(&expired, "the files"), Expiry::Expired);
        log.check(&expired, "the files");
        let text = out.take();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(
            text.contains("ERROR") && text.contains("expired at"),
            "{text}"
        );
    });
}

#[test]
fn config_shapes_and_their_errors() {
    let ca: CertsConfig = serde_yaml_ng::from_str(
        "ca: {address: 'https://istiod.istio-system.svc:15012', root: root.pem, \
         token_file: token, identity: 'spiffe://cluster.local/ns/a/sa/b', validity: 12h}",
    )
    .unwrap();
    let CertsConfig::Ca(c) = &ca else {
        panic!("{ca:?}")
    };
    assert_eq!(c.validity, Duration::from_secs(12 * 3600));
    let back = serde_yaml_ng::to_string(&ca).unwrap();
    assert_eq!(serde_yaml_ng::from_str::<CertsConfig>(&back).unwrap(), ca);

    for (yaml, want) in [
        ("{cert: a, key: b}", "need all of"),
        (
            "{cert: a, key: b, root: c, ca: {address: 'http://x:1', token_file: t, identity: i}}",
            "not both",
        ),
        (
            "{cert: a, key: b, root: c, extra: 1}",
            "unknown field `extra`",
        ),
        (
            "ca: {address: 'https://x:1', token_file: t, identity: i}",
            "ca.root is required",
        ),
        (
            "ca: {address: 'x:1', token_file: t, identity: i}",
            "expected https://",
        ),
        (
            "ca: {address: 'http://x:1', token_file: t, identity: i, validity: soon}",
            "invalid duration",
        ),
    ] {
        let e = serde_yaml_ng::from_str::<CertsConfig>(yaml)
            .unwrap_err()
            .to_string();
        assert!(e.contains(want), "{yaml}: {e}");
    }
}
