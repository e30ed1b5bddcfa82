//! Folding of names for matching: case-, accent- and punctuation-insensitive.

/// Folds `name` to the key it is matched by: Latin letters without accents, lower
/// case, every run of other characters one space. `"São  Paulo!"` → `"sao paulo"`.
pub fn fold(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    if name.is_ascii() {
        push_folded(&mut out, name);
    } else {
        push_folded(&mut out, &deunicode::deunicode(name));
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

fn push_folded(out: &mut String, ascii: &str) {
    for ch in ascii.chars() {
        if ch.is_ascii_alphanumeric() {
            out.push(ch.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with(' ') && ch != '\'' && ch != '.' {
            // Apostrophes and dots vanish ("L.A." = "la", "O'Fallon" = "ofallon"); other
            // punctuation separates words ("Winston-Salem" = "winston salem").
            out.push(' ');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fold;

    #[test]
    fn folds_case_accents_and_punctuation() {
        assert_eq!(fold("São  Paulo!"), "sao paulo");
        assert_eq!(fold("MÜNCHEN"), "munchen");
        assert_eq!(fold("Winston-Salem"), "winston salem");
        assert_eq!(fold("L.A."), "la");
        assert_eq!(fold(" Zürich "), "zurich");
        assert_eq!(fold(""), "");
    }
}
