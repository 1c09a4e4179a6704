//! The subset of Drive's search language (`q`) that a sync client uses:
//! `'<id>' in parents`, `trashed = true|false`, `name = '…'`, `name != '…'`, `mimeType = '…'`,
//! `mimeType != '…'`, joined with `and`. Strings escape `'` and `\` with a backslash. Anything
//! else is refused with 400 `invalid` on `q`, so a client relying on more is caught by its tests.

#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    InParents(String),
    Trashed(bool),
    /// Drive compares names case-insensitively.
    Name {
        equal: bool,
        value: String,
    },
    MimeType {
        equal: bool,
        value: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Str(String),
    Word(String),
    Op(String),
}

/// What a term is checked against.
pub struct Candidate<'a> {
    pub name: &'a str,
    pub mime_type: &'a str,
    pub parents: &'a [String],
    pub trashed: bool,
}

pub fn parse(q: &str, root_id: &str) -> Result<Vec<Term>, String> {
    let tokens = lex(q)?;
    if tokens.is_empty() {
        return Ok(Vec::new());
    }
    let mut terms = Vec::new();
    for group in tokens.split(|t| matches!(t, Token::Word(w) if w.eq_ignore_ascii_case("and"))) {
        terms.push(term(group, root_id).ok_or_else(|| format!("Invalid Value: unsupported term in q: {q}"))?);
    }
    Ok(terms)
}

fn term(tokens: &[Token], root_id: &str) -> Option<Term> {
    use Token::{Op, Str, Word};
    let equal = |op: &str| match op {
        "=" => Some(true),
        "!=" => Some(false),
        _ => None,
    };
    match tokens {
        [Str(id), Word(kw_in), Word(parents)] if kw_in == "in" && parents == "parents" => {
            Some(Term::InParents(if id == "root" { root_id.to_string() } else { id.clone() }))
        }
        [Word(field), Op(op), Word(value)] if field == "trashed" => {
            let value = match value.as_str() {
                "true" => true,
                "false" => false,
                _ => return None,
            };
            Some(Term::Trashed(if equal(op)? { value } else { !value }))
        }
        [Word(field), Op(op), Str(value)] if field == "name" => {
            Some(Term::Name { equal: equal(op)?, value: value.clone() })
        }
        [Word(field), Op(op), Str(value)] if field == "mimeType" => {
            Some(Term::MimeType { equal: equal(op)?, value: value.clone() })
        }
        _ => None,
    }
}

fn lex(q: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = q.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '\'' {
            chars.next();
            let mut value = String::new();
            loop {
                match chars.next() {
                    Some('\\') => value.push(chars.next().ok_or("Invalid Value: dangling escape in q")?),
                    Some('\'') => break,
                    Some(other) => value.push(other),
                    None => return Err("Invalid Value: unterminated string in q".into()),
                }
            }
            tokens.push(Token::Str(value));
        } else if c == '=' || c == '!' || c == '<' || c == '>' {
            let mut op = String::new();
            while let Some(&o) = chars.peek().filter(|o| matches!(o, '=' | '!' | '<' | '>')) {
                op.push(o);
                chars.next();
            }
            tokens.push(Token::Op(op));
        } else if c.is_alphanumeric() || c == '_' {
            let mut word = String::new();
            while let Some(&w) = chars.peek().filter(|w| w.is_alphanumeric() || **w == '_') {
                word.push(w);
                chars.next();
            }
            tokens.push(Token::Word(word));
        } else {
            return Err(format!("Invalid Value: unexpected {c:?} in q"));
        }
    }
    Ok(tokens)
}

pub fn matches(terms: &[Term], file: &Candidate<'_>) -> bool {
    terms.iter().all(|term| match term {
        Term::InParents(id) => file.parents.iter().any(|p| p == id),
        Term::Trashed(t) => file.trashed == *t,
        Term::Name { equal, value } => (file.name.to_lowercase() == value.to_lowercase()) == *equal,
        Term::MimeType { equal, value } => (file.mime_type == value) == *equal,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_folder_lookup() {
        let terms = parse(
            r"'root' in parents and name = 'it\'s a \\ dir' and mimeType='application/vnd.google-apps.folder' and trashed=false",
            "ROOT",
        )
        .unwrap();
        assert_eq!(
            terms,
            vec![
                Term::InParents("ROOT".into()),
                Term::Name { equal: true, value: r"it's a \ dir".into() },
                Term::MimeType { equal: true, value: "application/vnd.google-apps.folder".into() },
                Term::Trashed(false),
            ]
        );
        assert!(parse("name contains 'x'", "R").is_err());
        assert!(parse("name = 'x' or name = 'y'", "R").is_err());
        assert!(parse("name = 'x", "R").is_err());
    }

    #[test]
    fn names_match_without_case() {
        let parents = vec!["P".to_string()];
        let file = Candidate { name: "IMG_1.JPG", mime_type: "image/jpeg", parents: &parents, trashed: false };
        assert!(matches(&parse("name='img_1.jpg' and 'P' in parents", "R").unwrap(), &file));
        assert!(!matches(&parse("mimeType != 'image/jpeg'", "R").unwrap(), &file));
    }
}
