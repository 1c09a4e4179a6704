//! Graph's addressing, read from the raw request path after `/v1.0`: by id
//! (`/drives/{d}/items/{id}`), by path below an item (`/drives/{d}/root:/a/b.jpg:` or
//! `/drives/{d}/items/{id}:/b.jpg:`) with an optional action after the closing colon, the
//! `/me/drive` and `/sites/{id}/drive` aliases, and SharePoint sites by host name and path.

#[derive(Debug, PartialEq, Eq)]
pub enum Address {
    MeDrive,
    /// `/sites/{host}:/sites/{name}`.
    SiteByPath {
        host: String,
        path: String,
    },
    Site(String),
    SiteDrives(String),
    Drive(String),
    Item(ItemAddress),
}

#[derive(Debug, PartialEq, Eq)]
pub struct ItemAddress {
    pub drive: String,
    /// An item id or `root`.
    pub base: String,
    /// Names below `base` (decoded), when addressed by path.
    pub path: Vec<String>,
    /// `content`, `children`, `createUploadSession`, `delta`, or none.
    pub action: Option<String>,
}

/// What the `/me/drive` and `/sites/{id}/drive` aliases stand for.
pub struct Aliases<'a> {
    pub me: &'a str,
    pub site_default: &'a dyn Fn(&str) -> Option<String>,
}

pub fn parse(raw: &str, aliases: &Aliases<'_>) -> Option<Address> {
    let rest = raw.strip_prefix("/v1.0/")?.trim_end_matches('/');
    if rest == "me/drive" {
        return Some(Address::MeDrive);
    }
    if let Some(below) = rest.strip_prefix("me/drive/") {
        return item(aliases.me, below);
    }
    if let Some(site) = rest.strip_prefix("sites/") {
        if let Some((host, path)) = site.split_once(':') {
            let path = decode(path.trim_end_matches(':'))?;
            return Some(Address::SiteByPath { host: decode(host)?, path });
        }
        let mut parts = site.splitn(3, '/');
        let id = decode(parts.next()?)?;
        return match (parts.next(), parts.next()) {
            (None, _) => Some(Address::Site(id)),
            (Some("drives"), None) => Some(Address::SiteDrives(id)),
            (Some("drive"), None) => Some(Address::Drive((aliases.site_default)(&id)?)),
            (Some("drive"), Some(below)) => item(&(aliases.site_default)(&id)?, below),
            _ => None,
        };
    }
    let drive_rest = rest.strip_prefix("drives/")?;
    let (drive, below) = match drive_rest.split_once('/') {
        Some((d, below)) => (decode(d)?, below),
        None => return Some(Address::Drive(decode(drive_rest)?)),
    };
    item(&drive, below)
}

/// `root…` or `items/{id}…` of one drive.
fn item(drive: &str, below: &str) -> Option<Address> {
    let (base, after) = if let Some(after) = below.strip_prefix("root") {
        ("root".to_string(), after)
    } else {
        let after_items = below.strip_prefix("items/")?;
        let end = after_items.find([':', '/']).unwrap_or(after_items.len());
        (decode(&after_items[..end])?, &after_items[end..])
    };
    let (path, action) = if let Some(path_part) = after.strip_prefix(":/").or_else(|| after.strip_prefix(':')) {
        match path_part.split_once(':') {
            Some((path, action)) => (segments(path)?, action.strip_prefix('/').filter(|a| !a.is_empty())),
            None => (segments(path_part)?, None),
        }
    } else {
        (Vec::new(), after.strip_prefix('/').filter(|a| !a.is_empty()))
    };
    Some(Address::Item(ItemAddress { drive: drive.to_string(), base, path, action: action.map(str::to_string) }))
}

fn segments(path: &str) -> Option<Vec<String>> {
    path.split('/').filter(|s| !s.is_empty()).map(decode).collect()
}

/// Percent-decoding of one path segment (as UTF-8).
pub fn decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_plain(raw: &str) -> Option<Address> {
        let default = |_: &str| Some("SITEDRIVE".to_string());
        parse(raw, &Aliases { me: "ME", site_default: &default })
    }

    fn item_at(drive: &str, base: &str, path: &[&str], action: Option<&str>) -> Address {
        Address::Item(ItemAddress {
            drive: drive.into(),
            base: base.into(),
            path: path.iter().map(|s| s.to_string()).collect(),
            action: action.map(str::to_string),
        })
    }

    #[test]
    fn reads_graph_addresses() {
        assert_eq!(parse_plain("/v1.0/me/drive"), Some(Address::MeDrive));
        assert_eq!(parse_plain("/v1.0/drives/d1/root"), Some(item_at("d1", "root", &[], None)));
        assert_eq!(parse_plain("/v1.0/drives/d1/root/delta"), Some(item_at("d1", "root", &[], Some("delta"))));
        assert_eq!(
            parse_plain("/v1.0/drives/d1/root:/Shoebox/Caf%C3%A9%20x.jpg:/content"),
            Some(item_at("d1", "root", &["Shoebox", "Café x.jpg"], Some("content")))
        );
        assert_eq!(parse_plain("/v1.0/drives/d1/root:/a/b:"), Some(item_at("d1", "root", &["a", "b"], None)));
        assert_eq!(
            parse_plain("/v1.0/drives/d1/items/X!1:/n.jpg:/createUploadSession"),
            Some(item_at("d1", "X!1", &["n.jpg"], Some("createUploadSession")))
        );
        assert_eq!(parse_plain("/v1.0/drives/d1/items/I2/children"), Some(item_at("d1", "I2", &[], Some("children"))));
        assert_eq!(parse_plain("/v1.0/me/drive/root/children"), Some(item_at("ME", "root", &[], Some("children"))));
        assert_eq!(
            parse_plain("/v1.0/sites/contoso.sharepoint.com:/sites/Family"),
            Some(Address::SiteByPath { host: "contoso.sharepoint.com".into(), path: "/sites/Family".into() })
        );
        assert_eq!(parse_plain("/v1.0/sites/a,b,c/drives"), Some(Address::SiteDrives("a,b,c".into())));
        assert_eq!(parse_plain("/v1.0/sites/a,b,c/drive"), Some(Address::Drive("SITEDRIVE".into())));
    }
}
