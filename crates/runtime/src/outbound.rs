//! Which outbound HTTP destinations a function may reach (`allowed_outbound_hosts`).
//! Nothing is allowed unless a rule says so.

/// One allowed destination: `scheme://host[:port]`, where `host` is a name, `*`, or `*.suffix`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    scheme: String,
    host: HostPattern,
    /// `None`: the scheme's default port.
    port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Any,
    /// `*.example.com` is stored as `.example.com`.
    Suffix(String),
    Exact(String),
}

/// The parsed `allowed_outbound_hosts` of one function.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboundPolicy {
    rules: Vec<Rule>,
}

#[derive(Debug, thiserror::Error)]
#[error("allowed outbound host `{text}`: {why}")]
pub struct OutboundRuleError {
    text: String,
    why: &'static str,
}

impl OutboundPolicy {
    pub fn parse(allowed: &[String]) -> Result<OutboundPolicy, OutboundRuleError> {
        let rules = allowed
            .iter()
            .map(|text| parse_rule(text))
            .collect::<Result<_, _>>()?;
        Ok(OutboundPolicy { rules })
    }

    pub fn allows(&self, uri: &http::Uri) -> bool {
        let Some(scheme) = uri.scheme_str() else {
            return false;
        };
        let Some(host) = uri.host() else { return false };
        let host = host.to_ascii_lowercase();
        let port = uri.port_u16().or_else(|| default_port(scheme));
        self.rules.iter().any(|rule| {
            let port_ok = rule.port.or_else(|| default_port(&rule.scheme)) == port;
            let host_ok = match &rule.host {
                HostPattern::Any => true,
                HostPattern::Suffix(suffix) => host.ends_with(suffix.as_str()),
                HostPattern::Exact(name) => *name == host,
            };
            rule.scheme == scheme && port_ok && host_ok
        })
    }
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

fn parse_rule(text: &str) -> Result<Rule, OutboundRuleError> {
    let fail = |why| {
        Err(OutboundRuleError {
            text: text.to_owned(),
            why,
        })
    };
    let Some((scheme, rest)) = text.split_once("://") else {
        return fail("must look like `https://host[:port]`");
    };
    if scheme != "http" && scheme != "https" {
        return fail("scheme must be http or https");
    }
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) => match port.parse::<u16>() {
            Ok(port) => (host, Some(port)),
            Err(_) => return fail("port must be a number 0..=65535"),
        },
        None => (rest, None),
    };
    let host = host.to_ascii_lowercase();
    let pattern = if host == "*" {
        HostPattern::Any
    } else if let Some(suffix) = host.strip_prefix("*.") {
        HostPattern::Suffix(format!(".{suffix}"))
    } else if host.is_empty() || host.contains(['*', '/', '@']) {
        return fail("host must be a name, `*`, or `*.domain`");
    } else {
        HostPattern::Exact(host)
    };
    Ok(Rule {
        scheme: scheme.to_owned(),
        host: pattern,
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(rules: &[&str], uri: &str, expect: bool) {
        let rules: Vec<String> = rules.iter().map(|r| r.to_string()).collect();
        let policy = OutboundPolicy::parse(&rules).expect("valid rules");
        let uri: http::Uri = uri.parse().expect("valid uri");
        assert_eq!(policy.allows(&uri), expect, "rules {rules:?}, uri {uri}");
    }

    #[test]
    fn nothing_is_allowed_by_default() {
        check(&[], "https://example.com/", false);
    }

    #[test]
    fn exact_hosts_and_ports() {
        check(&["https://example.com"], "https://example.com/x", true);
        check(&["https://example.com"], "https://example.com:443/x", true);
        check(&["https://example.com"], "http://example.com/x", false);
        check(
            &["https://example.com"],
            "https://example.com:8443/x",
            false,
        );
        check(&["http://localhost:8080"], "http://localhost:8080/", true);
        check(&["http://localhost:8080"], "http://localhost/", false);
    }

    #[test]
    fn wildcards() {
        check(&["https://*.example.com"], "https://api.example.com/", true);
        check(&["https://*.example.com"], "https://example.com/", false);
        check(&["http://*:8080"], "http://anything:8080/", true);
    }

    #[test]
    fn bad_rules_are_refused() {
        for bad in ["example.com", "ftp://x", "https://a*b", "https://x:99999"] {
            assert!(OutboundPolicy::parse(&[bad.to_owned()]).is_err(), "{bad}");
        }
    }
}
