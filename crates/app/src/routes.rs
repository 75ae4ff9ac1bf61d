//! The route table: picks the route that answers a request, exactly as API Gateway HTTP APIs pick it.
//!
//! The table is built once on the control plane from parsed route keys and then only read on the
//! data plane, so matching a request never parses configuration and allocates nothing but the
//! captured path parameters.
//!
//! Selection order (API Gateway HTTP API, "Routing API requests"):
//! 1. A full match of path and method. Among several, the most specific path wins, compared
//!    segment by segment from the left with a literal segment beating `{param}`; for equally
//!    specific paths an explicit method beats `ANY`.
//! 2. A greedy `{name+}` match, ordered the same way (the greedy segment ranks below a literal and
//!    below `{param}`, so the longest literal prefix wins), again an explicit method before `ANY`.
//! 3. `$default`.
//!
//! Nothing else matches, on purpose:
//! - `HEAD` is its own method: it does not fall back to `GET` routes, as in API Gateway, where
//!   `GET /x` does not answer `HEAD /x` (an `ANY` route does).
//! - A trailing slash is part of the path: `/hello/` does not match `GET /hello`, as in HTTP APIs.
//! - `/` is the route with zero segments; `{proxy+}` needs at least one non-empty segment, so
//!   `ANY /{proxy+}` does not answer `/`.
//! - Literal segments are compared with the raw (still percent-encoded) request path.

#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::cmp::Ordering;

use manifest::{Method, RouteKey, Segment};

/// Every route of one app, ordered for matching.
#[derive(Debug)]
pub struct RouteTable<T> {
    /// Routes without a greedy segment, by segment count, then priority.
    // Invariant: sorted with `by_segment_count_then_priority`.
    full: Vec<Route<T>>,
    /// Routes ending in `{name+}`, by priority.
    // Invariant: sorted with `by_priority`.
    greedy: Vec<Route<T>>,
    default: Option<DefaultRoute<T>>,
}

/// The route chosen for a request.
#[derive(Debug, PartialEq, Eq)]
pub struct RouteMatch<'a, T> {
    pub value: &'a T,
    /// The route key as written in the manifest (the event's `routeKey`).
    pub route_key: &'a str,
    /// `(name, percent-decoded value)` in path order; a greedy parameter holds the rest of the
    /// path, `/`-joined.
    pub path_parameters: Vec<(String, String)>,
}

#[derive(Debug)]
struct Route<T> {
    method: Method,
    /// The segments before the greedy one, if any; never contains `Segment::Greedy`.
    segments: Vec<Segment>,
    greedy_name: Option<String>,
    key_text: String,
    value: T,
}

#[derive(Debug)]
struct DefaultRoute<T> {
    key_text: String,
    value: T,
}

impl<T> RouteTable<T> {
    /// Builds the table from `(route key, route key text, value)`.
    ///
    /// The manifest refuses duplicate route keys; should two slip through anyway, the first one
    /// given wins (the sorts are stable), so matching stays deterministic.
    pub fn new(routes: Vec<(RouteKey, String, T)>) -> RouteTable<T> {
        let mut table = RouteTable {
            full: Vec::new(),
            greedy: Vec::new(),
            default: None,
        };
        for (key, key_text, value) in routes {
            let RouteKey::Route {
                method,
                mut segments,
            } = key
            else {
                if table.default.is_none() {
                    table.default = Some(DefaultRoute { key_text, value });
                }
                continue;
            };
            let greedy_name = match segments.pop_if(|last| matches!(last, Segment::Greedy(_))) {
                Some(Segment::Greedy(name)) => Some(name),
                _ => None,
            };
            assert!(
                !segments
                    .iter()
                    .any(|segment| matches!(segment, Segment::Greedy(_))),
                "route `{key_text}` has a greedy segment before the last one"
            );
            let route = Route {
                method,
                segments,
                greedy_name,
                key_text,
                value,
            };
            match route.greedy_name {
                Some(_) => table.greedy.push(route),
                None => table.full.push(route),
            }
        }
        table.full.sort_by(by_segment_count_then_priority);
        table.greedy.sort_by(by_priority);
        table
    }

    /// Finds the route for a request; `path` is the request path without the query string.
    ///
    /// `None` means no route and no `$default`: the gateway answers 404.
    pub fn find(&self, method: &http::Method, path: &str) -> Option<RouteMatch<'_, T>> {
        // A method no route can name (TRACE, CONNECT, extensions) is still matched by `ANY`.
        let method = Method::parse(method.as_str());
        // Only origin-form paths can match a route; `*` (as in `OPTIONS *`) goes to `$default`.
        if let Some(rest) = path.strip_prefix('/') {
            if let Some(found) = self.find_full(method, rest) {
                return Some(found);
            }
            if let Some(found) = self.find_greedy(method, rest) {
                return Some(found);
            }
        }
        self.default.as_ref().map(|default| RouteMatch {
            value: &default.value,
            route_key: &default.key_text,
            path_parameters: Vec::new(),
        })
    }

    /// `rest` is the path after its leading `/`.
    fn find_full(&self, method: Option<Method>, rest: &str) -> Option<RouteMatch<'_, T>> {
        let n_segments = if rest.is_empty() {
            0
        } else {
            rest.matches('/').count() + 1
        };
        let start = self
            .full
            .partition_point(|route| route.segments.len() < n_segments);
        let route = self.full[start..]
            .iter()
            .take_while(|route| route.segments.len() == n_segments)
            .find(|route| {
                allows(route.method, method)
                    && route
                        .segments
                        .iter()
                        .zip(rest.split('/'))
                        .all(segment_matches)
            })?;
        let mut path_parameters = Vec::new();
        capture_params(&route.segments, rest, &mut path_parameters);
        Some(route.to_match(path_parameters))
    }

    fn find_greedy(&self, method: Option<Method>, rest: &str) -> Option<RouteMatch<'_, T>> {
        let (route, tail) = self.greedy.iter().find_map(|route| {
            if !allows(route.method, method) {
                return None;
            }
            greedy_tail(&route.segments, rest).map(|tail| (route, tail))
        })?;
        let greedy_name = route
            .greedy_name
            .as_ref()
            .expect("greedy routes have a greedy name");
        let mut path_parameters = Vec::new();
        capture_params(&route.segments, rest, &mut path_parameters);
        path_parameters.push((greedy_name.clone(), percent_decode(tail).into_owned()));
        Some(route.to_match(path_parameters))
    }
}

impl<T> Route<T> {
    fn to_match(&self, path_parameters: Vec<(String, String)>) -> RouteMatch<'_, T> {
        RouteMatch {
            value: &self.value,
            route_key: &self.key_text,
            path_parameters,
        }
    }
}

/// Decodes `%XX` escapes. When the text is not well-formed (a stray `%`, or bytes that are not
/// UTF-8) the raw text is kept, so a function still sees what the client sent.
pub fn percent_decode(raw: &str) -> Cow<'_, str> {
    if !raw.contains('%') {
        return Cow::Borrowed(raw);
    }
    let bytes = raw.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut byte_idx = 0;
    while byte_idx < bytes.len() {
        if bytes[byte_idx] != b'%' {
            decoded.push(bytes[byte_idx]);
            byte_idx += 1;
            continue;
        }
        let Some(byte) = bytes.get(byte_idx + 1..byte_idx + 3).and_then(hex_pair) else {
            return Cow::Borrowed(raw);
        };
        decoded.push(byte);
        byte_idx += 3;
    }
    match String::from_utf8(decoded) {
        Ok(text) => Cow::Owned(text),
        Err(_) => Cow::Borrowed(raw),
    }
}

fn hex_pair(pair: &[u8]) -> Option<u8> {
    let digit = |byte: u8| char::from(byte).to_digit(16);
    let value = digit(pair[0])? * 16 + digit(pair[1])?;
    Some(u8::try_from(value).expect("two hex digits fit in a byte"))
}

/// `None` is a request method that no route names; only `ANY` accepts it.
fn allows(route_method: Method, request_method: Option<Method>) -> bool {
    route_method == Method::Any || Some(route_method) == request_method
}

fn segment_matches((segment, part): (&Segment, &str)) -> bool {
    match segment {
        Segment::Literal(text) => text == part,
        Segment::Param(_) => !part.is_empty(),
        Segment::Greedy(_) => false,
    }
}

/// Matches `prefix` against the leading segments of `rest` and returns what a greedy segment
/// after them would capture: the remaining text, which must not be empty.
fn greedy_tail<'p>(prefix: &[Segment], rest: &'p str) -> Option<&'p str> {
    let mut remaining = rest;
    for segment in prefix {
        let (part, tail) = remaining.split_once('/')?;
        if !segment_matches((segment, part)) {
            return None;
        }
        remaining = tail;
    }
    (!remaining.is_empty()).then_some(remaining)
}

/// Pushes the `{param}` values of an already matched route, in path order.
fn capture_params(segments: &[Segment], rest: &str, out: &mut Vec<(String, String)>) {
    for (segment, part) in segments.iter().zip(rest.split('/')) {
        if let Segment::Param(name) = segment {
            out.push((name.clone(), percent_decode(part).into_owned()));
        }
    }
}

fn by_segment_count_then_priority<T>(a: &Route<T>, b: &Route<T>) -> Ordering {
    a.segments
        .len()
        .cmp(&b.segments.len())
        .then_with(|| by_priority(a, b))
}

/// Most specific first: segment kinds compared from the left (literal, then `{param}`, then
/// greedy), then an explicit method before `ANY`.
fn by_priority<T>(a: &Route<T>, b: &Route<T>) -> Ordering {
    fn ranks<T>(route: &Route<T>) -> impl Iterator<Item = u8> + '_ {
        let segment_ranks = route.segments.iter().map(|segment| match segment {
            Segment::Literal(_) => 0,
            Segment::Param(_) => 1,
            Segment::Greedy(_) => 2,
        });
        segment_ranks.chain(route.greedy_name.iter().map(|_| 2))
    }
    let method_rank = |route: &Route<T>| route.method == Method::Any;
    ranks(a)
        .cmp(ranks(b))
        .then_with(|| method_rank(a).cmp(&method_rank(b)))
}
