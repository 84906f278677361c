//! The string formats the Kubernetes API server checks, as it defines them (its `strfmt` registry),
//! not as JSON Schema defines them: JSON Schema's `email` is RFC 5321's mailbox, the server's is
//! whatever Go's `net/mail.ParseAddress` accepts (so `a@b` and `Alice <a@example.com>` are e-mails,
//! `a@b@c` and `a @b.c` are not). Registered with the `jsonschema` crate under names of their own.

use std::sync::LazyLock;

use regex::Regex;

/// One format checked here.
struct Format {
    /// Its name in a CRD.
    crd: &'static str,
    /// Its name registered with the JSON Schema crate.
    registered: &'static str,
    check: fn(&str) -> bool,
}

const FORMATS: &[Format] = &[
    Format {
        crd: "email",
        registered: "kubernetes-email",
        check: is_email,
    },
    Format {
        crd: "date-time",
        registered: "kubernetes-date-time",
        check: is_date_time,
    },
];

/// The registered name of a format the CRD names, if it is one checked here.
pub fn checked_name(format: &str) -> Option<&'static str> {
    FORMATS.iter().find(|f| f.crd == format).map(|f| f.registered)
}

/// The CRD's name of a registered format, for messages.
pub fn crd_name(registered: &str) -> &str {
    FORMATS
        .iter()
        .find(|f| f.registered == registered)
        .map_or(registered, |f| f.crd)
}

/// The options with every format of this module registered.
pub fn register(mut options: jsonschema::ValidationOptions) -> jsonschema::ValidationOptions {
    for format in FORMATS {
        options = options.with_format(format.registered, format.check);
    }
    options.should_validate_formats(true)
}

/// Go's `net/mail.ParseAddress` succeeds with a non-empty address: an addr-spec, or a display name
/// followed by an addr-spec in angle brackets. (Comments in parentheses, which Go also skips, are
/// not accepted here.)
pub fn is_email(s: &str) -> bool {
    let s = s.trim_matches([' ', '\t']);
    if addr_spec(s).is_some_and(str::is_empty) {
        return true;
    }
    let Some(inner) = s.strip_suffix('>') else {
        return false;
    };
    let Some((name, address)) = inner.rsplit_once('<') else {
        return false;
    };
    phrase(name.trim_matches([' ', '\t'])) && addr_spec(address).is_some_and(str::is_empty)
}

/// Reads `local@domain` from the start of `s`; the rest after it.
fn addr_spec(s: &str) -> Option<&str> {
    let s = s.trim_start_matches([' ', '\t']);
    let rest = match s.strip_prefix('"') {
        Some(quoted) => quoted_string_rest(quoted)?,
        None => dot_atom(s)?,
    };
    let rest = rest.strip_prefix('@')?.trim_start_matches([' ', '\t']);
    match rest.strip_prefix('[') {
        Some(literal) => {
            let end = literal.find(']')?;
            let inside = &literal[..end];
            (!inside.contains(['[', '\\'])).then_some(&literal[end + 1..])
        }
        None => dot_atom(rest),
    }
}

/// Reads atoms separated by single dots (no leading, trailing or double dot); the rest after them.
fn dot_atom(s: &str) -> Option<&str> {
    let end = s.find(|c: char| !(is_atext(c) || c == '.')).unwrap_or(s.len());
    let atom = &s[..end];
    let well_formed =
        !atom.is_empty() && !atom.starts_with('.') && !atom.ends_with('.') && !atom.contains("..");
    well_formed.then_some(&s[end..])
}

/// After an opening quote: the rest after the closing one.
fn quoted_string_rest(s: &str) -> Option<&str> {
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some(&s[i + 1..]),
            '\\' => {
                chars.next()?;
            }
            c if c.is_control() && c != '\t' => return None,
            _ => {}
        }
    }
    None
}

/// A display name: words (atoms, which Go lets contain dots here, or quoted strings) separated by
/// white space; it may be empty.
fn phrase(s: &str) -> bool {
    let mut rest = s;
    while !rest.is_empty() {
        rest = match rest.strip_prefix('"') {
            Some(quoted) => match quoted_string_rest(quoted) {
                Some(after) => after,
                None => return false,
            },
            None => {
                let end = rest
                    .find(|c: char| !(is_atext(c) || c == '.'))
                    .unwrap_or(rest.len());
                if end == 0 {
                    return false;
                }
                &rest[end..]
            }
        };
        rest = rest.trim_start_matches([' ', '\t']);
    }
    true
}

/// RFC 5322 `atext`, plus the non-ASCII characters Go accepts in it.
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || (!c.is_ascii() && !c.is_control())
}

/// RFC 3339 `date-time` as strfmt's `IsDateTime` checks it: a calendar date, `T` (any case), a time
/// with optional fraction and a `Z` (any case) or `±hh:mm` offset.
pub fn is_date_time(s: &str) -> bool {
    static DATE_TIME: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^(\d{4})-(\d{2})-(\d{2})[tT]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?([zZ]|[+-]([01]\d|2[0-3]):[0-5]\d)$")
            .expect("a valid date-time pattern")
    });
    let Some(parts) = DATE_TIME.captures(s) else {
        return false;
    };
    let field = |i: usize| parts[i].parse::<i16>().unwrap_or_default();
    jiff::civil::Date::new(field(1), field(2) as i8, field(3) as i8).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_what_go_net_mail_parses() {
        for ok in [
            "a.b@example.com",
            "a@b",
            "Alice <alice@example.com>",
            "\"Alice B\" <a@example.com>",
            "<a@example.com>",
            "\"a b\"@example.com",
            "a@[10.0.0.1]",
            "a+tag@example.com",
        ] {
            assert!(is_email(ok), "{ok} is an e-mail");
        }
        for bad in [
            "not-an-email",
            "a@b@c.d",
            "a @b.c",
            "@example.com",
            "a@",
            ".a@example.com",
            "a..b@example.com",
            "a.@example.com",
            "Alice <a@example.com",
            "a@example.com>",
            "",
        ] {
            assert!(!is_email(bad), "{bad:?} is not an e-mail");
        }
    }

    #[test]
    fn date_times_are_rfc_3339() {
        assert!(is_date_time("2026-01-02T03:04:05Z"));
        assert!(is_date_time("2026-01-02t03:04:05.123+01:00"));
        assert!(!is_date_time("2026-02-30T03:04:05Z"));
        assert!(!is_date_time("2026-01-02 03:04:05Z"));
        assert!(!is_date_time("2026-01-02T03:04:05"));
    }

    #[test]
    fn only_the_servers_formats_are_checked() {
        assert_eq!(checked_name("email"), Some("kubernetes-email"));
        assert_eq!(checked_name("int64"), None);
        assert_eq!(crd_name("kubernetes-date-time"), "date-time");
    }
}
