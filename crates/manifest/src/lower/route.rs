//! `[[route]]` and `[websocket]`: what the gateway serves.

use super::{Declared, Scope, url_path};
use crate::error::Sink;
use crate::raw::{Entry, RawRoute, RawWebSocket};
use crate::route::{RouteKey, Segment};
use crate::spec::{RouteSpec, WebSocketSpec};

const ROUTE_SELECTION_EXPRESSION_DEFAULT: &str = "$request.body.action";
const WEBSOCKET_PREDEFINED_ROUTES: &[&str] = &["$connect", "$disconnect", "$default"];

pub(super) fn lower_routes(
    routes: Vec<Entry<RawRoute>>,
    declared: &Declared,
    sink: &mut Sink<'_>,
) -> Vec<RouteSpec> {
    // Each accepted route with the offset of its key, to name the first one of a duplicate pair.
    let mut accepted: Vec<(RouteSpec, usize)> = Vec::new();
    for entry in &routes {
        let mut scope = Scope::new(sink, entry);
        let Some(raw) = &entry.raw else {
            continue;
        };
        declared.check_function(&mut scope, &raw.function);
        let key = match RouteKey::parse(raw.route.get_ref()) {
            Ok(key) => key,
            Err(why) => {
                scope.error(raw.route.span(), why);
                continue;
            }
        };
        let earlier = accepted
            .iter()
            .find(|(earlier, _)| same_requests(&earlier.key, &key));
        if let Some((earlier, offset)) = earlier {
            let line = scope.line_of(*offset);
            let message = if earlier.key == key {
                format!("declared twice, first at line {line}")
            } else {
                format!(
                    "matches the same requests as route \"{}\" at line {line}",
                    earlier.key_text
                )
            };
            scope.error(raw.route.span(), message);
            continue;
        }
        let spec = RouteSpec {
            key,
            key_text: raw.route.get_ref().clone(),
            function: raw.function.get_ref().clone(),
        };
        accepted.push((spec, raw.route.span().start));
    }
    accepted.into_iter().map(|(spec, _)| spec).collect()
}

/// Two keys match the same requests when they differ at most in the names of their parameters.
fn same_requests(left: &RouteKey, right: &RouteKey) -> bool {
    match (left, right) {
        (RouteKey::Default, RouteKey::Default) => true,
        (
            RouteKey::Route {
                method: left_method,
                segments: left_segments,
            },
            RouteKey::Route {
                method: right_method,
                segments: right_segments,
            },
        ) => {
            let same_shape = left_segments.len() == right_segments.len()
                && left_segments
                    .iter()
                    .zip(right_segments)
                    .all(|pair| same_segment(pair.0, pair.1));
            left_method == right_method && same_shape
        }
        _ => false,
    }
}

fn same_segment(left: &Segment, right: &Segment) -> bool {
    match (left, right) {
        (Segment::Literal(left), Segment::Literal(right)) => left == right,
        (Segment::Param(_), Segment::Param(_)) | (Segment::Greedy(_), Segment::Greedy(_)) => true,
        _ => false,
    }
}

pub(super) fn lower_websocket(
    entry: Entry<RawWebSocket>,
    declared: &Declared,
    sink: &mut Sink<'_>,
) -> Option<WebSocketSpec> {
    let mut scope = Scope::new(sink, &entry);
    let raw = entry.raw.as_ref()?;
    url_path(&mut scope, "path", &raw.path);
    let route_selection_expression = match &raw.route_selection_expression {
        Some(expression) => {
            let field = expression.get_ref().strip_prefix("$request.body.");
            if field.is_none_or(str::is_empty) {
                let message = "route_selection_expression must be `$request.body.FIELD`, e.g. `$request.body.action`";
                scope.error(expression.span(), message);
            }
            expression.get_ref().clone()
        }
        None => ROUTE_SELECTION_EXPRESSION_DEFAULT.to_owned(),
    };
    for (route, function) in &raw.routes {
        let route_text = route.get_ref();
        let reserved = route_text.starts_with('$')
            && !WEBSOCKET_PREDEFINED_ROUTES.contains(&route_text.as_str());
        if route_text.is_empty() || reserved {
            let message = format!(
                "route key `{route_text}` must be `$connect`, `$disconnect`, `$default` or a custom key not starting with `$`"
            );
            scope.error(route.span(), message);
        }
        declared.check_function(&mut scope, function);
    }
    let routes = raw.routes.iter();
    Some(WebSocketSpec {
        path: raw.path.get_ref().clone(),
        route_selection_expression,
        routes: routes
            .map(|(route, function)| (route.get_ref().clone(), function.get_ref().clone()))
            .collect(),
    })
}
