use super::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

fn jwt(sub: &str) -> String {
    format!(
        "{}.{}.signature",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256"}"#),
        URL_SAFE_NO_PAD.encode(format!(r#"{{"sub":"{sub}"}}"#))
    )
}

fn extractor(sources: Vec<TokenSource>) -> TokenExtractor {
    TokenExtractor::new(&TokensDoc {
        sources,
        salt: "pepper".into(),
        ..TokensDoc::default()
    })
}

#[test]
fn bearer_scheme_is_case_insensitive_and_trimmed() {
    let h = [("Authorization", "  bearer   abc.def  ")];
    assert_eq!(bearer(&h), Some("abc.def"));
    assert_eq!(bearer(&[("authorization", "Basic dXNlcjpwYXNz")]), None);
    assert_eq!(bearer(&[("authorization", "Bearer ")]), None);
    assert_eq!(bearer(&[("authorization", "Bearer")]), None);
}

#[test]
fn cookies_are_found_across_headers_and_pairs() {
    let h = [
        ("cookie", "theme=dark; session=\"s-123\""),
        ("Cookie", "other=1"),
    ];
    assert_eq!(cookie(&h, "session"), Some("s-123"));
    assert_eq!(cookie(&h, "other"), Some("1"));
    assert_eq!(cookie(&h, "Session"), None);
    assert_eq!(
        cookie(&[("cookie", "broken; =x; session=")], "session"),
        None
    );
}

#[test]
fn sources_are_tried_in_order() {
    let token = jwt("alice");
    let auth = format!("Bearer {token}");
    let headers = [("authorization", auth.as_str()), ("x-api-key", "k-1")];
    let e = extractor(vec![TokenSource::JwtSub, TokenSource::Bearer]);
    let id = e.extract(&headers).unwrap();
    assert_eq!(id.source, "jwt_sub");
    assert_eq!(id.hash, hash_hex("pepper", b"alice", 16));
    assert!(!id.hash.contains("alice"));

    // A bearer token that is not a JWT falls through to the next source.
    let opaque = [("authorization", "Bearer opaque-123")];
    let id = e.extract(&opaque).unwrap();
    assert_eq!(id.source, "bearer");
    assert_eq!(id.hash, hash_hex("pepper", b"opaque-123", 16));

    let e = extractor(vec![
        TokenSource::Header("x-api-key".into()),
        TokenSource::Cookie("session".into()),
    ]);
    assert_eq!(e.extract(&headers).unwrap().source, "header");
    assert_eq!(
        e.extract(&[("cookie", "session=s")]).unwrap().source,
        "cookie"
    );
    assert_eq!(e.extract(&[("x-other", "v")]), None);
}

#[test]
fn same_subject_from_different_tokens_is_one_identity() {
    let e = extractor(vec![TokenSource::JwtSub]);
    let a = format!("Bearer {}", jwt("bob"));
    let b = format!("Bearer {}x", jwt("bob")); // different signature, same claims
    let ha = e.extract(&[("authorization", a.as_str())]).unwrap();
    let hb = e.extract(&[("authorization", b.as_str())]).unwrap();
    assert_eq!(ha, hb);
}
