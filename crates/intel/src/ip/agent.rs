//! User agents: search-engine crawlers and automation clients, matched in
//! one case-insensitive Aho-Corasick pass each (no regex, no lower-casing
//! copy).

use std::borrow::Cow;

use crate::builtin::{Builtins, CRAWLER_AGENTS};
use crate::data::IntelData;

/// What a user agent claims to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Agent {
    /// A search-engine / AI crawler, by name.
    Crawler(Cow<'static, str>),
    /// A script or headless browser (curl, python-requests, HeadlessChrome…).
    Automation(&'static str),
    /// Anything else.
    Other,
}

pub(crate) fn classify(builtins: &Builtins, data: &IntelData, ua: &str) -> Agent {
    if let Some(m) = builtins.crawler_agents.as_ref().and_then(|m| m.find(ua)) {
        return Agent::Crawler(Cow::Borrowed(CRAWLER_AGENTS[m.pattern().as_usize()]));
    }
    if let Some(m) = data.bot_agents().and_then(|m| m.find(ua)) {
        return Agent::Crawler(Cow::Owned(ua[m.start()..m.end()].to_ascii_lowercase()));
    }
    if let Some(m) = builtins.automation_agents.as_ref().and_then(|m| m.find(ua)) {
        return Agent::Automation(crate::builtin::AUTOMATION_AGENTS[m.pattern().as_usize()]);
    }
    Agent::Other
}

/// MDN's advice: "Mobi" anywhere in the UA means a mobile browser.
pub(crate) fn is_mobile(ua: &str) -> bool {
    ua.contains("Mobi")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_crawlers_and_automation() {
        let b = Builtins::new();
        let d = IntelData::empty();
        let google = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
        assert_eq!(classify(&b, &d, google), Agent::Crawler(Cow::Borrowed("googlebot")));
        assert_eq!(classify(&b, &d, "curl/8.5.0"), Agent::Automation("curl/"));
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(classify(&b, &d, firefox), Agent::Other);
        assert!(is_mobile("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"));
    }
}
