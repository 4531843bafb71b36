//! What a plain scalar means under the YAML 1.2 core schema
//! (<https://yaml.org/spec/1.2.2/#1032-tag-resolution>). Quoted and block scalars are text.

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Scalar<'a> {
    /// A plain scalar with no characters at all: an empty value (`key:`).
    Empty,
    /// `~`, `null`, `Null`, `NULL`.
    Null,
    Bool(bool),
    Unsigned(u64),
    Signed(i64),
    Float(f64),
    Text(&'a str),
}

pub(super) fn resolve(text: &str, plain: bool) -> Scalar<'_> {
    if !plain {
        return Scalar::Text(text);
    }
    match text {
        "" => Scalar::Empty,
        "~" | "null" | "Null" | "NULL" => Scalar::Null,
        "true" | "True" | "TRUE" => Scalar::Bool(true),
        "false" | "False" | "FALSE" => Scalar::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Scalar::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Scalar::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => Scalar::Float(f64::NAN),
        _ => integer(text)
            .or_else(|| float(text))
            .unwrap_or(Scalar::Text(text)),
    }
}

/// `[-+]?[0-9]+`, `0o[0-7]+`, `0x[0-9a-fA-F]+`; `None` when it is not one. One out of range
/// is kept as text (never rounded to a float), which a number target refuses.
fn integer(text: &str) -> Option<Scalar<'_>> {
    let radix = |prefix: &str, radix: u32| {
        let digits = text.strip_prefix(prefix)?;
        (!digits.is_empty() && digits.chars().all(|c| c.is_digit(radix))).then(|| {
            u64::from_str_radix(digits, radix).map_or(Scalar::Text(text), Scalar::Unsigned)
        })
    };
    if let Some(value) = radix("0o", 8).or_else(|| radix("0x", 16)) {
        return Some(value);
    }
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(if negative {
        text.parse().map_or(Scalar::Text(text), Scalar::Signed)
    } else {
        digits.parse().map_or(Scalar::Text(text), Scalar::Unsigned)
    })
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
fn float(text: &str) -> Option<Scalar<'_>> {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, Some(exponent)),
        None => (unsigned, None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = digits(whole)
        && digits(fraction)
        && (!whole.is_empty() || !fraction.is_empty())
        && (mantissa.contains('.') || !whole.is_empty());
    let exponent_ok = exponent.is_none_or(|exponent| {
        let exponent = exponent.strip_prefix(['-', '+']).unwrap_or(exponent);
        !exponent.is_empty() && digits(exponent)
    });
    if !(mantissa_ok && exponent_ok) {
        return None;
    }
    text.parse().ok().map(Scalar::Float)
}

#[cfg(test)]
mod tests {
    use super::{resolve, Scalar};

    #[test]
    fn resolves_the_core_schema() {
        assert_eq!(resolve("", true), Scalar::Empty);
        assert_eq!(resolve("~", true), Scalar::Null);
        assert_eq!(resolve("True", true), Scalar::Bool(true));
        assert_eq!(resolve("yes", true), Scalar::Text("yes"));
        assert_eq!(resolve("600", true), Scalar::Unsigned(600));
        assert_eq!(resolve("+1", true), Scalar::Unsigned(1));
        assert_eq!(resolve("-1", true), Scalar::Signed(-1));
        assert_eq!(resolve("0x1F", true), Scalar::Unsigned(31));
        assert_eq!(resolve("0o17", true), Scalar::Unsigned(15));
        assert_eq!(resolve("1.5", true), Scalar::Float(1.5));
        assert_eq!(resolve("1e3", true), Scalar::Float(1000.0));
        assert_eq!(resolve(".5", true), Scalar::Float(0.5));
        assert_eq!(resolve("1.", true), Scalar::Float(1.0));
        assert_eq!(resolve("-.inf", true), Scalar::Float(f64::NEG_INFINITY));
        for text in [".", "e3", "1e", "0x", "1_000", "1.2.3", "soon", "--1"] {
            assert_eq!(resolve(text, true), Scalar::Text(text), "{text}");
        }
        // Out of u64's range: text, which a number target refuses.
        let huge = "99999999999999999999";
        assert_eq!(resolve(huge, true), Scalar::Text(huge));
        assert_eq!(resolve("600", false), Scalar::Text("600"));
        assert_eq!(resolve("", false), Scalar::Text(""));
    }
}
