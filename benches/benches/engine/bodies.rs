//! The bodies the engine bench scans: the same order-like records as JSON, HTML, a form and
//! protobuf, so throughput compares across formats. `leak` puts a card, an SSN, an e-mail and
//! a token in every fourth record. The native engine bench (`filters/engine/benches/detect.rs`)
//! includes this file too, so native and wasm numbers are over the same bodies.

/// One order-like record as JSON.
fn json_record(i: usize, leak: bool) -> String {
    let extra = if leak {
        format!(
            r#","card":"4111 1111 1111 1111","ssn":"536-22-5314","email":"jane.doe{i}@example.org","token":"ghp_{i:036}""#
        )
    } else {
        String::new()
    };
    format!(
        r#"{{"id":"ord_{i:08}","created_at":"2024-06-{:02}T12:{:02}:07.123Z","status":"shipped","customer":{{"name":"Customer {i}","tier":"gold","uuid":"550e8400-e29b-41d4-a716-{i:012}"}},"items":[{{"sku":"SKU-{i:05}","qty":2,"price":19.99,"title":"Stainless steel water bottle, 750 ml"}},{{"sku":"SKU-{:05}","qty":1,"price":4.5,"title":"Replacement lid"}}],"total":44.48,"currency":"EUR","notes":"Leave at the front door if nobody answers.","version":"1.4.12","trace":"3f9a8c1d2e4b5a6978c0d1e2f3a4b5c6d7e8f901"{extra}}}"#,
        i % 28 + 1,
        i % 60,
        i + 7
    )
}

/// Records joined until the body reaches `size` bytes.
fn fill(size: usize, open: &str, sep: &str, close: &str, rec: impl Fn(usize) -> String) -> Vec<u8> {
    let mut s = String::from(open);
    let mut i = 0;
    while s.len() < size {
        if i > 0 {
            s.push_str(sep);
        }
        s.push_str(&rec(i));
        i += 1;
    }
    s.push_str(close);
    s.into_bytes()
}

fn leaks(leak: bool, i: usize) -> bool {
    leak && i % 4 == 1
}

/// A JSON array of records of about `size` bytes.
pub fn json(size: usize, leak: bool) -> Vec<u8> {
    fill(size, "[", ",", "]", |i| json_record(i, leaks(leak, i)))
}

/// An HTML table of orders (text runs and attribute values).
pub fn html(size: usize, leak: bool) -> Vec<u8> {
    let open = "<!doctype html><html><head><title>Orders</title></head><body><table>\n";
    fill(size, open, "\n", "</table></body></html>", |i| {
        let extra = if leaks(leak, i) {
            format!(
                r#"<td>4111 1111 1111 1111</td><td data-ssn="536-22-5314">SSN on file</td><td><a href="mailto:jane.doe{i}@example.org">mail</a></td><td><code>ghp_{i:036}</code></td>"#
            )
        } else {
            String::new()
        };
        format!(
            r#"<tr class="order" id="ord_{i:08}"><td>2024-06-{:02}T12:{:02}:07Z</td><td>Customer {i}</td><td class="status">shipped</td><td>Stainless steel water bottle, 750 ml &times; 2</td><td>44.48&nbsp;EUR</td><td>Leave at the front door if nobody answers.</td><td><a href="/orders/{i}">view</a></td>{extra}</tr>"#,
            i % 28 + 1,
            i % 60
        )
    })
}

/// A form-urlencoded body of order fields (numbered names, `+` and `%XX` escapes).
pub fn form(size: usize, leak: bool) -> Vec<u8> {
    fill(size, "", "&", "", |i| {
        let extra = if leaks(leak, i) {
            format!(
                "&card{i}=4111+1111+1111+1111&ssn{i}=536-22-5314&email{i}=jane.doe{i}%40example.org&token{i}=ghp_{i:036}"
            )
        } else {
            String::new()
        };
        format!(
            "id{i}=ord_{i:08}&created{i}=2024-06-{:02}T12%3A{:02}%3A07Z&status{i}=shipped&name{i}=Customer+{i}&sku{i}=SKU-{i:05}&qty{i}=2&price{i}=19.99&notes{i}=Leave+at+the+front+door+if+nobody+answers.{extra}",
            i % 28 + 1,
            i % 60
        )
    })
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A length-delimited field (wire type 2).
fn bytes_field(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    varint(out, field << 3 | 2);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn proto_record(i: usize, leak: bool) -> Vec<u8> {
    let mut customer = Vec::new();
    bytes_field(&mut customer, 1, format!("Customer {i}").as_bytes());
    bytes_field(&mut customer, 2, b"gold");
    let uuid = format!("550e8400-e29b-41d4-a716-{i:012}");
    bytes_field(&mut customer, 3, uuid.as_bytes());
    let mut r = Vec::new();
    bytes_field(&mut r, 1, format!("ord_{i:08}").as_bytes());
    let at = format!("2024-06-{:02}T12:{:02}:07.123Z", i % 28 + 1, i % 60);
    bytes_field(&mut r, 2, at.as_bytes());
    bytes_field(&mut r, 3, b"shipped");
    bytes_field(&mut r, 4, &customer);
    varint(&mut r, 5 << 3);
    varint(&mut r, 2);
    varint(&mut r, 6 << 3 | 1);
    r.extend_from_slice(&44.48f64.to_le_bytes());
    bytes_field(&mut r, 7, b"Leave at the front door if nobody answers.");
    bytes_field(&mut r, 8, b"3f9a8c1d2e4b5a6978c0d1e2f3a4b5c6d7e8f901");
    if leak {
        bytes_field(&mut r, 9, b"4111 1111 1111 1111");
        bytes_field(&mut r, 10, b"536-22-5314");
        bytes_field(&mut r, 11, format!("jane.doe{i}@example.org").as_bytes());
        bytes_field(&mut r, 12, format!("ghp_{i:036}").as_bytes());
    }
    r
}

/// A protobuf message with a repeated record field (1), about `size` bytes.
pub fn protobuf(size: usize, leak: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while out.len() < size {
        bytes_field(&mut out, 1, &proto_record(i, leaks(leak, i)));
        i += 1;
    }
    out
}
