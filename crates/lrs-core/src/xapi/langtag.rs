//! RFC 5646 language tag well-formedness (§1.10 language maps, `context.language`).
//!
//! This checks the ABNF of RFC 5646 §2.1 (subtag lengths, kinds and order, private use
//! and the irregular grandfathered tags). It does not check the IANA registry: "xx-YY"
//! is well-formed even though "xx" is not a registered language, which is all the spec
//! asks for (validity against the registry would need a table that goes stale).

/// RFC 5646 well-formedness, case-insensitive, e.g. "en", "en-US", "zh-Hant-TW",
/// "sl-rozaj-biske", "de-CH-x-phonebk", "x-private", "i-klingon".
pub fn is_valid_language_tag(s: &str) -> bool {
    if s.is_empty() || s.len() > 255 {
        return false;
    }
    if IRREGULAR_GRANDFATHERED
        .iter()
        .any(|g| g.eq_ignore_ascii_case(s))
    {
        return true;
    }
    if !s
        .split('-')
        .all(|t| !t.is_empty() && t.len() <= 8 && t.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
        return false;
    }
    let alpha = |t: &str| t.bytes().all(|b| b.is_ascii_alphabetic());
    let digit = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    let is_x = |t: &str| t.eq_ignore_ascii_case("x");
    let mut it = s.split('-').peekable();

    // language = 2*3ALPHA ["-" extlang] / 4ALPHA / 5*8ALPHA, or a bare privateuse tag
    let Some(lang) = it.next() else { return false };
    if is_x(lang) {
        return it.next().is_some(); // privateuse = "x" 1*("-" (1*8alphanum))
    }
    if !alpha(lang) || lang.len() < 2 {
        return false;
    }
    if lang.len() <= 3 {
        // extlang = 3ALPHA *2("-" 3ALPHA)
        for _ in 0..3 {
            if it.next_if(|t| t.len() == 3 && alpha(t)).is_none() {
                break;
            }
        }
    }
    // script = 4ALPHA
    it.next_if(|t| t.len() == 4 && alpha(t));
    // region = 2ALPHA / 3DIGIT
    it.next_if(|t| (t.len() == 2 && alpha(t)) || (t.len() == 3 && digit(t)));
    // variant = 5*8alphanum / (DIGIT 3alphanum)
    while it
        .next_if(|t| t.len() >= 5 || (t.len() == 4 && t.as_bytes()[0].is_ascii_digit()))
        .is_some()
    {}
    // extension = singleton 1*("-" (2*8alphanum)); a singleton is any alphanum except "x"
    while it.next_if(|t| t.len() == 1 && !is_x(t)).is_some() {
        let mut parts = 0;
        while it.next_if(|t| t.len() >= 2).is_some() {
            parts += 1;
        }
        if parts == 0 {
            return false;
        }
    }
    // privateuse = "x" 1*("-" (1*8alphanum))
    if it.next_if(|t| is_x(t)).is_some() {
        return it.next().is_some();
    }
    it.next().is_none()
}

/// Irregular grandfathered tags, which do not follow the langtag production.
const IRREGULAR_GRANDFATHERED: [&str; 17] = [
    "en-GB-oed",
    "i-ami",
    "i-bnn",
    "i-default",
    "i-enochian",
    "i-hak",
    "i-klingon",
    "i-lux",
    "i-mingo",
    "i-navajo",
    "i-pwn",
    "i-tao",
    "i-tay",
    "i-tsu",
    "sgn-BE-FR",
    "sgn-BE-NL",
    "sgn-CH-DE",
];

#[cfg(test)]
mod tests {
    use super::is_valid_language_tag as ok;

    // §1.10 language map keys are RFC 5646 tags
    #[test]
    fn well_formed_tags() {
        for t in [
            "en",
            "en-US",
            "EN-us",
            "de-CH-1996",
            "zh-Hant-TW",
            "zh-cmn-Hans-CN",
            "sl-rozaj-biske",
            "es-419",
            "x-private",
            "de-CH-x-phonebk",
            "en-a-bbb-x-a-ccc",
            "i-klingon",
            "art-lojban",
            "zh-min-nan",
            "und",
            "fr-FR",
            "haw",
            "sr-Latn-RS",
            "qaa-Qaaa-QM-x-southern",
        ] {
            assert!(ok(t), "{t}");
        }
    }

    #[test]
    fn malformed_tags() {
        for t in [
            "",
            "a12345",
            "e",
            "en-",
            "-en",
            "en--US",
            "en_US",
            "123",
            "en-US-x",
            "abcdefghi",
            "en-a",
            "en-a-x-y",
            "de-419-DE",
            "x",
            "en US",
            "en-ÜS",
            "toolongsubtag-x",
        ] {
            assert!(!ok(t), "{t}");
        }
    }
}
