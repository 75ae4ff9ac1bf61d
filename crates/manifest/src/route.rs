//! Route keys: `$default` or `METHOD /path/{param}/{proxy+}`, as API Gateway HTTP APIs write them.

#[cfg(test)]
mod tests;

use std::fmt;

/// An HTTP method a route can name. `Any` matches every method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
    Head,
    Options,
    Any,
}

impl Method {
    pub fn parse(text: &str) -> Option<Method> {
        let method = match text {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            "HEAD" => Method::Head,
            "OPTIONS" => Method::Options,
            "ANY" => Method::Any,
            _ => return None,
        };
        Some(method)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Head => "HEAD",
            Method::Options => "OPTIONS",
            Method::Any => "ANY",
        }
    }
}

/// One `/`-separated piece of a route path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    /// Text that must match exactly.
    Literal(String),
    /// `{name}`: matches one non-empty segment.
    Param(String),
    /// `{name+}`: matches the rest of the path (one segment or more); only ever the last segment.
    Greedy(String),
}

/// A parsed route key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RouteKey {
    /// `$default`: catches every request no other route matches.
    Default,
    Route {
        method: Method,
        segments: Vec<Segment>,
    },
}

/// Why a route key text was refused. The message is meant to follow `route "..." : `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RouteKeyError(String);

impl RouteKey {
    /// Parses `$default` or `METHOD /path`. Paths start with `/`; `/` alone is the root.
    pub fn parse(text: &str) -> Result<RouteKey, RouteKeyError> {
        if text == "$default" {
            return Ok(RouteKey::Default);
        }
        let fail = |why: &str| Err(RouteKeyError(why.to_owned()));
        let Some((method_text, path)) = text.split_once(' ') else {
            return fail("a route is `$default` or `METHOD /path`, e.g. `GET /hello/{name}`");
        };
        let Some(method) = Method::parse(method_text) else {
            return fail(
                "method must be one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS, ANY (upper case)",
            );
        };
        let Some(rest) = path.strip_prefix('/') else {
            return fail("path must start with `/`");
        };
        let mut segments = Vec::new();
        if !rest.is_empty() {
            let parts: Vec<&str> = rest.split('/').collect();
            let n_parts = parts.len();
            for (part_idx, part) in parts.into_iter().enumerate() {
                segments.push(parse_segment(part, part_idx + 1 == n_parts)?);
            }
        }
        let mut names: Vec<&str> = segments
            .iter()
            .filter_map(|segment| match segment {
                Segment::Param(name) | Segment::Greedy(name) => Some(name.as_str()),
                Segment::Literal(_) => None,
            })
            .collect();
        names.sort_unstable();
        if names.windows(2).any(|pair| pair[0] == pair[1]) {
            return fail("a path parameter name is used twice");
        }
        Ok(RouteKey::Route { method, segments })
    }
}

fn parse_segment(part: &str, is_last: bool) -> Result<Segment, RouteKeyError> {
    let fail = |why: String| Err(RouteKeyError(why));
    if part.is_empty() {
        return fail("path has an empty segment (`//` or a trailing `/`)".to_owned());
    }
    if let Some(inner) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
        let (name, greedy) = match inner.strip_suffix('+') {
            Some(name) => (name, true),
            None => (inner, false),
        };
        let name_ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !name_ok {
            return fail(format!(
                "path parameter `{part}` must be `{{name}}` or `{{name+}}` with a name of letters, digits, `_` or `-`"
            ));
        }
        if greedy && !is_last {
            return fail(format!(
                "greedy parameter `{part}` must be the last segment"
            ));
        }
        return Ok(if greedy {
            Segment::Greedy(name.to_owned())
        } else {
            Segment::Param(name.to_owned())
        });
    }
    if part.contains(['{', '}']) {
        return fail(format!(
            "segment `{part}` mixes text and a parameter; a parameter must be the whole segment"
        ));
    }
    Ok(Segment::Literal(part.to_owned()))
}

impl fmt::Display for RouteKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteKey::Default => f.write_str("$default"),
            RouteKey::Route { method, segments } => {
                write!(f, "{} ", method.as_str())?;
                if segments.is_empty() {
                    return f.write_str("/");
                }
                for segment in segments {
                    match segment {
                        Segment::Literal(text) => write!(f, "/{text}")?,
                        Segment::Param(name) => write!(f, "/{{{name}}}")?,
                        Segment::Greedy(name) => write!(f, "/{{{name}+}}")?,
                    }
                }
                Ok(())
            }
        }
    }
}
