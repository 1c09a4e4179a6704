//! Partial responses: the `fields` parameter (`nextPageToken,files(id,name)`, `files/id`, `*`).
//! The fake builds every resource in full, then keeps what `fields` asks for; without `fields`
//! each route applies v3's default, which for a File is only `kind,id,name,mimeType`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub enum Selection {
    All,
    Keys(BTreeMap<String, Selection>),
}

impl Selection {
    /// `fields` if given, else the route's default; a malformed mask is Google's 400 `invalidParameter`.
    pub fn from_param(fields: Option<&String>, default: &str) -> Result<Selection, String> {
        parse(fields.map_or(default, String::as_str))
    }

    pub fn apply(&self, value: &Value) -> Value {
        match (self, value) {
            (Selection::All, v) => v.clone(),
            (Selection::Keys(_), Value::Array(items)) => Value::Array(items.iter().map(|i| self.apply(i)).collect()),
            (Selection::Keys(keys), Value::Object(object)) => {
                let mut out = Map::new();
                for (key, sub) in keys {
                    if key == "*" {
                        return value.clone();
                    }
                    if let Some(v) = object.get(key) {
                        out.insert(key.clone(), sub.apply(v));
                    }
                }
                Value::Object(out)
            }
            (Selection::Keys(_), v) => v.clone(),
        }
    }
}

pub fn parse(mask: &str) -> Result<Selection, String> {
    let chars: Vec<char> = mask.chars().filter(|c| !c.is_whitespace()).collect();
    let mut at = 0;
    let selection = parse_list(&chars, &mut at)?;
    if at != chars.len() {
        return Err(format!("Invalid field selection {mask}"));
    }
    Ok(selection)
}

/// A comma-separated list up to an unmatched `)` or the end.
fn parse_list(chars: &[char], at: &mut usize) -> Result<Selection, String> {
    let mut keys = BTreeMap::new();
    loop {
        let start = *at;
        while *at < chars.len() && !matches!(chars[*at], ',' | '(' | ')') {
            *at += 1;
        }
        let path: String = chars[start..*at].iter().collect();
        if path.is_empty() {
            return Err("Invalid field selection: empty field".into());
        }
        let mut sub = Selection::All;
        if chars.get(*at) == Some(&'(') {
            *at += 1;
            sub = parse_list(chars, at)?;
            if chars.get(*at) != Some(&')') {
                return Err("Invalid field selection: unbalanced parentheses".into());
            }
            *at += 1;
        }
        // `a/b/c` is shorthand for `a(b(c))`.
        let mut segments: Vec<&str> = path.split('/').collect();
        let first = segments.remove(0);
        for segment in segments.into_iter().rev() {
            sub = Selection::Keys(BTreeMap::from([(segment.to_string(), sub)]));
        }
        merge(&mut keys, first.to_string(), sub);
        match chars.get(*at) {
            Some(',') => *at += 1,
            _ => return Ok(Selection::Keys(keys)),
        }
    }
}

fn merge(keys: &mut BTreeMap<String, Selection>, key: String, sub: Selection) {
    match (keys.get_mut(&key), sub) {
        (Some(Selection::Keys(old)), Selection::Keys(new)) => {
            for (k, v) in new {
                merge(old, k, v);
            }
        }
        (Some(old), sub) if matches!(old, Selection::All) || matches!(sub, Selection::All) => *old = Selection::All,
        (_, sub) => {
            keys.insert(key, sub);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selects_nested_fields() {
        let value = json!({"kind": "k", "nextPageToken": "t", "files": [{"id": "1", "name": "a", "size": "3"}]});
        let sel = parse("nextPageToken, files(id,name)").unwrap();
        assert_eq!(sel.apply(&value), json!({"nextPageToken": "t", "files": [{"id": "1", "name": "a"}]}));
        assert_eq!(parse("files/id").unwrap().apply(&value), json!({"files": [{"id": "1"}]}));
        assert_eq!(parse("*").unwrap().apply(&value), value);
        assert_eq!(parse("files(*)").unwrap().apply(&value), json!({"files": value["files"]}));
        assert!(parse("files(id").is_err());
        assert!(parse("a,,b").is_err());
    }
}
