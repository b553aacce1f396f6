//! The gzip member header (RFC 1952 §2.3), parsed one byte at a time so it may straddle
//! chunks.

use super::Step;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum GzipHeader {
    Fixed { at: u8, flags: u8 },
    ExtraLen { at: u8, len: u16, flags: u8 },
    Extra { left: u16, flags: u8 },
    Name { flags: u8 },
    Comment { flags: u8 },
    Crc { left: u8 },
}

const FHCRC: u8 = 2;
const FEXTRA: u8 = 4;
const FNAME: u8 = 8;
const FCOMMENT: u8 = 16;

/// Advances the gzip header parser by one byte; `None` when the header is complete.
pub(super) fn gzip_header(h: GzipHeader, b: u8) -> Result<Option<GzipHeader>, Step> {
    use GzipHeader::*;
    let after_extra = |flags: u8| {
        if flags & FNAME != 0 {
            Some(Name { flags })
        } else {
            after_name(flags)
        }
    };
    Ok(match h {
        Fixed { at, flags } => {
            let ok = match at {
                0 => b == 0x1f,
                1 => b == 0x8b,
                2 => b == 8,
                _ => true,
            };
            if !ok {
                return Err(Step::Corrupt("not a gzip header"));
            }
            let flags = if at == 3 { b } else { flags };
            if at < 9 {
                Some(Fixed { at: at + 1, flags })
            } else if flags & FEXTRA != 0 {
                Some(ExtraLen {
                    at: 0,
                    len: 0,
                    flags,
                })
            } else {
                after_extra(flags)
            }
        }
        ExtraLen { at: 0, flags, .. } => Some(ExtraLen {
            at: 1,
            len: u16::from(b),
            flags,
        }),
        ExtraLen { len, flags, .. } => {
            let left = len | u16::from(b) << 8;
            if left == 0 {
                after_extra(flags)
            } else {
                Some(Extra { left, flags })
            }
        }
        Extra { left: 1, flags } => after_extra(flags),
        Extra { left, flags } => Some(Extra {
            left: left - 1,
            flags,
        }),
        Name { flags } if b == 0 => after_name(flags),
        Name { flags } => Some(Name { flags }),
        Comment { flags } if b == 0 => after_comment(flags),
        Comment { flags } => Some(Comment { flags }),
        Crc { left: 1 } => None,
        Crc { left } => Some(Crc { left: left - 1 }),
    })
}

fn after_name(flags: u8) -> Option<GzipHeader> {
    if flags & FCOMMENT != 0 {
        Some(GzipHeader::Comment { flags })
    } else {
        after_comment(flags)
    }
}

fn after_comment(flags: u8) -> Option<GzipHeader> {
    (flags & FHCRC != 0).then_some(GzipHeader::Crc { left: 2 })
}
