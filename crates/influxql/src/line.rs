//! Line protocol spelling of names and values, as `SHOW SERIES` prints series keys and
//! `SELECT INTO` writes points back.

/// A measurement name as line protocol writes it (`,` and space escaped).
pub fn escape_measurement(name: &str) -> String {
    escape(name, &[',', ' '])
}

/// A tag key, tag value or field key as line protocol writes it (`,`, `=` and space escaped).
pub fn escape_key(text: &str) -> String {
    escape(text, &[',', '=', ' '])
}

/// A string field value, quoted (`"` and `\` escaped).
pub fn quote_string_field(text: &str) -> String {
    format!("\"{}\"", escape(text, &['"', '\\']))
}

fn escape(text: &str, specials: &[char]) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if specials.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specials_are_escaped() {
        assert_eq!(escape_measurement("a b,c=d"), "a\\ b\\,c=d");
        assert_eq!(escape_key("a b,c=d"), "a\\ b\\,c\\=d");
        assert_eq!(
            quote_string_field("say \"hi\" \\o/"),
            "\"say \\\"hi\\\" \\\\o/\""
        );
    }
}
