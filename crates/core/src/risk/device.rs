//! The device family of a user agent ("Firefox on Windows"): coarse enough
//! that browser updates do not make a device "new", fine enough that a
//! different browser or operating system does.

/// Browser (or client) tokens, most specific first: Edge and Opera also say
/// "Chrome", Chrome also says "Safari".
const BROWSERS: &[(&str, &str)] = &[
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("CriOS/", "Chrome"),
    ("Safari/", "Safari"),
];

/// Operating-system tokens, most specific first (Android says "Linux").
const SYSTEMS: &[(&str, &str)] = &[
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
];

/// The family of `user_agent`: `"<browser> on <system>"` for browsers, else
/// the first product name ("curl", "okhttp"). `None` for an empty agent.
pub fn family(user_agent: &str) -> Option<String> {
    let ua = user_agent.trim();
    if ua.is_empty() {
        return None;
    }
    let browser = BROWSERS.iter().find(|(token, _)| ua.contains(token)).map(|(_, name)| *name);
    let system = SYSTEMS.iter().find(|(token, _)| ua.contains(token)).map(|(_, name)| *name);
    Some(match (browser, system) {
        (Some(b), Some(s)) => format!("{b} on {s}"),
        (Some(b), None) => b.to_owned(),
        _ => {
            let product = ua.split(['/', ' ']).next().unwrap_or(ua);
            let product: String = product.chars().take(40).collect();
            match system {
                Some(s) => format!("{product} on {s}"),
                None => product,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::family;

    #[test]
    fn browsers_are_named_with_their_system_and_versions_do_not_matter() {
        let cases = [
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox on Windows"),
            ("Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Firefox/115.0", "Firefox on Linux"),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
                "Chrome on macOS",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36 Edg/126.0",
                "Edge on Windows",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36",
                "Chrome on Android",
            ),
            ("curl/8.5.0", "curl"),
            ("portcullis-tests/1", "portcullis-tests"),
        ];
        for (ua, expected) in cases {
            assert_eq!(family(ua).as_deref(), Some(expected), "{ua}");
        }
        assert_eq!(family("  "), None);
    }
}
