//! String formats of xAPI values (§1.10): IRIs, UUIDs, mailto IRIs, hashes, media types.
//! Timestamps, durations and language tags have their own modules.
//!
//! All checks are syntactic and "best effort" as the spec allows: they catch relative
//! references, whitespace, missing schemes and wrong shapes without a full RFC 3987 parser.
//! They work on bytes and never allocate, because they run for every IRI of every statement.

/// An absolute IRI (or IRL): an RFC 3986 scheme (`ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`)
/// followed by `:` and a non-empty remainder with no whitespace, control characters, or the
/// characters RFC 3987 never allows unescaped (`<>"{}|\^` and backtick); every `%` must start
/// a two-digit hex escape. Relative references ("/a", "a/b", "//host") are rejected.
pub fn is_valid_iri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    is_scheme(scheme) && !rest.is_empty() && iri_chars_ok(rest)
}

fn is_scheme(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphabetic()
        && b[1..]
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
}

fn iri_chars_ok(rest: &str) -> bool {
    let b = rest.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c < 0x80 {
            if c <= b' '
                || c == 0x7f
                || matches!(
                    c,
                    b'<' | b'>' | b'"' | b'{' | b'}' | b'|' | b'\\' | b'^' | b'`'
                )
            {
                return false;
            }
            if c == b'%' {
                let hex = |j: usize| b.get(j).is_some_and(u8::is_ascii_hexdigit);
                if !(hex(i + 1) && hex(i + 2)) {
                    return false;
                }
                i += 3;
                continue;
            }
            i += 1;
        } else {
            // Non-ASCII: IRIs allow most of Unicode, but not whitespace or controls.
            let Some(ch) = rest[i..].chars().next() else {
                return false;
            };
            if ch.is_whitespace() || ch.is_control() {
                return false;
            }
            i += ch.len_utf8();
        }
    }
    true
}

/// A UUID in the standard 8-4-4-4-12 hex form with hyphens (either case). Braces, URNs,
/// missing hyphens and wrong lengths are rejected. The RFC 4122 variant is not enforced:
/// the spec only recommends it.
pub fn is_valid_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// A `mailto:` IRI wrapping one email address (`local@domain`). The scheme must be written
/// in lower case, as every xAPI example and test does; the domain may use any case (it is
/// compared case-insensitively elsewhere). Quoted local parts and mailto headers (`?subject=`)
/// are not email addresses of an Agent and are rejected.
pub fn is_valid_mailto(s: &str) -> bool {
    let Some(addr) = s.strip_prefix("mailto:") else {
        return false;
    };
    let Some((local, domain)) = addr.split_once('@') else {
        return false;
    };
    is_email_local_part(local) && is_email_domain(domain)
}

fn is_email_local_part(local: &str) -> bool {
    !local.is_empty()
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(|c| {
            if c.is_ascii() {
                c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c)
            } else {
                !(c.is_whitespace() || c.is_control())
            }
        })
}

fn is_email_domain(domain: &str) -> bool {
    if let Some(literal) = domain.strip_prefix('[') {
        // Address literal, e.g. [192.0.2.1] or [IPv6:…]: accept any bracketed non-space text.
        return literal.strip_suffix(']').is_some_and(|inner| {
            !inner.is_empty()
                && inner
                    .chars()
                    .all(|c| c.is_ascii_graphic() && c != '[' && c != ']')
        });
    }
    !domain.is_empty()
        && domain.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| {
                    c.is_ascii_alphanumeric()
                        || c == '-'
                        || (!c.is_ascii() && !c.is_whitespace() && !c.is_control())
                })
        })
}

/// A SHA-1 digest in hex (40 hex digits, either case), as `mbox_sha1sum` requires.
pub fn is_sha1_hex(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A SHA-2 digest in hex: SHA-224, SHA-256, SHA-384 or SHA-512 length (56, 64, 96 or 128
/// hex digits). The spec expects 256/384/512; 224 is still "a SHA-2 hash".
pub fn is_sha2_hex(s: &str) -> bool {
    matches!(s.len(), 56 | 64 | 96 | 128) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// An Internet media type: `type/subtype` made of RFC 7230 token characters, optionally
/// followed by parameters (`; charset=utf-8`), which are not checked further.
pub fn is_valid_media_type(s: &str) -> bool {
    let essence = media_type_essence(s);
    let Some((ty, sub)) = essence.split_once('/') else {
        return false;
    };
    let rest = &s[essence.len()..];
    is_token(ty) && is_token(sub) && (rest.is_empty() || rest.trim_start().starts_with(';'))
}

/// The `type/subtype` part of a media type, without parameters or surrounding space.
pub(crate) fn media_type_essence(s: &str) -> &str {
    let end = s.find([';', ' ', '\t']).unwrap_or(s.len());
    &s[..end]
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    // §1.1 IRIs without a scheme are not IRIs; §1.10 formats
    #[test]
    fn iris() {
        for ok in [
            "http://adlnet.gov/expapi/verbs/completed",
            "https://example.com/a?b=c#d",
            "urn:uuid:6ba7b810-9dad-11d1-80b4-00c04fd430c8",
            "mailto:a@b.c",
            "tag:example.com,2024:x",
            "http://例え.jp/パス",
            "http://example.com/%20x",
            "file:///tmp/x",
            "a+b-c.d:x",
        ] {
            assert!(is_valid_iri(ok), "{ok}");
        }
        for bad in [
            "",
            "example.com",
            "/relative/path",
            "//host/x",
            "no scheme here",
            ":x",
            "1http://x",
            "http:",
            "http://exa mple.com",
            "http://example.com/\t",
            "http://example.com/<x>",
            "http://example.com/%zz",
            "http://example.com/%2",
            "http://example.com/%",
            "ht tp://x",
            "http://x\u{2028}y",
        ] {
            assert!(!is_valid_iri(bad), "{bad:?}");
        }
    }

    // §1.10 UUIDs: 8-4-4-4-12 hex only
    #[test]
    fn uuids() {
        assert!(is_valid_uuid("6ba7b810-9dad-11d1-80b4-00c04fd430c8"));
        assert!(is_valid_uuid("AA97B177-9383-4934-8543-0F91A7A02836"));
        for bad in [
            "AA97B177-9383-4934-8543-0F91A7A028368",
            "MA97B177-9383-4934-8543-0F91A7A02836",
            "{6ba7b810-9dad-11d1-80b4-00c04fd430c8}",
            "6ba7b8109dad11d180b400c04fd430c8",
            "6ba7b810-9dad-11d1-80b4_00c04fd430c8",
            "",
            "6ba7b810-9dad-11d1-80b4-00c04fd430c",
        ] {
            assert!(!is_valid_uuid(bad), "{bad}");
        }
    }

    // §1.3 mbox must be a mailto IRI
    #[test]
    fn mailto() {
        for ok in [
            "mailto:xapi@adlnet.gov",
            "mailto:a.b+c@Sub.Example.COM",
            "mailto:x@[192.0.2.1]",
            "mailto:用户@例子.广告",
        ] {
            assert!(is_valid_mailto(ok), "{ok}");
        }
        for bad in [
            "xapi@adlnet.gov",
            "http://adlnet.gov",
            "mailto:no-at-sign",
            "mailto:@example.com",
            "mailto:a@",
            "mailto:a b@example.com",
            "mailto:a@b@c",
            "mailto:a@exa mple.com",
            "mailto:a@b..c",
            "MAILTO:a@b.c",
            "mailto:a@b.c?subject=x",
            "mailto:",
        ] {
            assert!(!is_valid_mailto(bad), "{bad}");
        }
    }

    #[test]
    fn hashes() {
        assert!(is_sha1_hex("ebd31e95054c018b10727ccffd2ef2ec3a016ee9"));
        assert!(is_sha1_hex("EBD31E95054C018B10727CCFFD2EF2EC3A016EE9"));
        assert!(!is_sha1_hex("ebd31e95054c018b10727ccffd2ef2ec3a016ee"));
        assert!(!is_sha1_hex("xbd31e95054c018b10727ccffd2ef2ec3a016ee9"));
        assert!(is_sha2_hex(&"a".repeat(64)));
        assert!(is_sha2_hex(&"a".repeat(96)));
        assert!(is_sha2_hex(&"a".repeat(128)));
        assert!(!is_sha2_hex(&"a".repeat(63)));
        assert!(!is_sha2_hex(&"g".repeat(64)));
    }

    #[test]
    fn media_types() {
        for ok in [
            "application/octet-stream",
            "text/plain; charset=ascii",
            "application/json;charset=utf-8",
            "image/svg+xml",
        ] {
            assert!(is_valid_media_type(ok), "{ok}");
        }
        for bad in [
            "",
            "text",
            "text/",
            "/plain",
            "text/plain extra",
            "te xt/plain",
            "text/pla(in",
        ] {
            assert!(!is_valid_media_type(bad), "{bad}");
        }
        assert_eq!(
            media_type_essence("application/octet-stream; x=y"),
            "application/octet-stream"
        );
    }
}
