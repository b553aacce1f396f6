//! Decimal rendering without `fmt`, for path indices and protobuf numbers on hot paths.

/// Writes `n` in decimal into the end of `buf`; returns the digits.
pub(crate) fn format_u64(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[at..];
        }
    }
}

/// Appends `n` in decimal to `s`.
pub(crate) fn push_u64(s: &mut String, n: u64) {
    let mut buf = [0u8; 20];
    for &d in format_u64(n, &mut buf) {
        s.push(char::from(d));
    }
}
