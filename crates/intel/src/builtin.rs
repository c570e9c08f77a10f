//! Compiled-in data: what the offline engine knows with no files loaded.
//!
//! Built once per engine (not per reload) into hash sets, so every lookup
//! on the hot path is one hash probe. Sources and licences of the vendored
//! lists are in `crates/intel/data/NOTICE.md`.

use std::collections::{HashMap, HashSet};

use aho_corasick::AhoCorasick;

use crate::email::typo::TypoIndex;

/// Free mailbox providers (IPQS `common`), from npm `freemail` (ISC).
const FREE_PROVIDERS: &str = include_str!("../data/free-providers.txt");
/// Role / shared mailbox local parts (IPQS `generic`), from npm
/// `role-based-email-addresses` (MIT).
const ROLE_ACCOUNTS: &str = include_str!("../data/role-accounts.txt");
/// URL shortener domains, from PyPI `link-shorteners` (MIT).
const SHORTENERS: &str = include_str!("../data/shorteners.txt");

/// TLDs abused far beyond their share (Spamhaus "most abused TLDs", the
/// free ccTLDs of the former Freenom registry).
const SUSPICIOUS_TLDS: &[&str] = &[
    "tk",
    "ml",
    "ga",
    "cf",
    "gq",
    "top",
    "xyz",
    "click",
    "download",
    "work",
    "gdn",
    "science",
    "accountant",
    "date",
    "review",
    "racing",
    "party",
    "loan",
    "win",
    "bid",
    "men",
    "stream",
    "trade",
    "webcam",
    "kim",
    "country",
    "cricket",
    "faith",
    "zip",
    "mov",
    "icu",
    "buzz",
    "rest",
    "surf",
    "cyou",
    "cfd",
    "sbs",
    "monster",
    "quest",
    "uno",
    "lol",
];

/// Brands whose look-alikes are flagged, with the registrable domains they
/// really use (a look-alike on one of these is the brand itself).
pub(crate) const BRANDS: &[(&str, &[&str])] = &[
    ("paypal", &["paypal.com", "paypal.me", "paypalobjects.com"]),
    ("google", &["google.com", "googleusercontent.com", "gmail.com", "youtube.com", "goo.gl"]),
    ("gmail", &["gmail.com", "google.com"]),
    ("apple", &["apple.com", "icloud.com", "apple.co"]),
    ("icloud", &["icloud.com", "apple.com"]),
    ("microsoft", &["microsoft.com", "live.com", "office.com", "outlook.com", "microsoftonline.com", "azure.com"]),
    ("outlook", &["outlook.com", "live.com", "microsoft.com", "office.com"]),
    ("office365", &["office.com", "microsoft.com"]),
    ("amazon", &["amazon.com", "amazon.co.uk", "amazon.de", "amazon.fr", "amazon.co.jp", "amazonaws.com", "amzn.to"]),
    ("facebook", &["facebook.com", "fb.com", "fb.me", "meta.com"]),
    ("instagram", &["instagram.com"]),
    ("whatsapp", &["whatsapp.com", "whatsapp.net", "wa.me"]),
    ("netflix", &["netflix.com"]),
    ("linkedin", &["linkedin.com", "lnkd.in"]),
    ("dropbox", &["dropbox.com", "db.tt"]),
    ("github", &["github.com", "github.io", "githubusercontent.com"]),
    ("yahoo", &["yahoo.com", "yahoo.co.jp", "yahoo.co.uk"]),
    ("twitter", &["twitter.com", "x.com", "t.co"]),
    ("binance", &["binance.com"]),
    ("coinbase", &["coinbase.com"]),
    ("chase", &["chase.com"]),
    ("wellsfargo", &["wellsfargo.com"]),
    ("bankofamerica", &["bankofamerica.com"]),
    ("docusign", &["docusign.com", "docusign.net"]),
    ("adobe", &["adobe.com"]),
    ("steam", &["steampowered.com", "steamcommunity.com"]),
    ("ebay", &["ebay.com", "ebay.co.uk", "ebay.de"]),
    ("dhl", &["dhl.com", "dhl.de"]),
    ("fedex", &["fedex.com"]),
];

/// AS numbers of hosting / cloud providers (notes §2.2); loaded lists add to it.
const HOSTING_ASNS: &[u32] = &[
    16509, 14618, 8987, // AWS
    15169, 396982, 19527, // Google
    8075, 8068,  // Microsoft
    14061, // DigitalOcean
    16276, // OVH
    24940, 213230, // Hetzner
    63949,  // Linode / Akamai
    20473,  // Vultr / Choopa
    51167,  // Contabo
    12876,  // Scaleway
    31898,  // Oracle
    45102, 37963, // Alibaba
    132203, 45090, // Tencent
    60781, 16265, 28753,  // Leaseweb
    9009,   // M247
    36352,  // ColoCrossing
    46606,  // Unified Layer
    26496,  // GoDaddy
    19318,  // Interserver
    62567,  // DigitalOcean (legacy)
    40021,  // Contabo US
    212238, // Datacamp / CDN77
    202425, // IP Volume
];

/// Words in an AS organisation name that mark a hosting network.
pub(crate) const HOSTING_ORG_WORDS: &[&str] = &[
    "amazon",
    "aws",
    "google cloud",
    "microsoft",
    "azure",
    "digitalocean",
    "linode",
    "akamai",
    "vultr",
    "choopa",
    "ovh",
    "hetzner",
    "alibaba",
    "tencent",
    "oracle",
    "datacenter",
    "data center",
    "hosting",
    "server",
    "colo",
    "leaseweb",
    "contabo",
    "rackspace",
    "scaleway",
    "m247",
    "cloud",
    "vps",
];

/// Confirmed-crawler user agents (IPQS `is_crawler` names these).
pub(crate) const CRAWLER_AGENTS: &[&str] = &[
    "googlebot",
    "google-inspectiontool",
    "adsbot-google",
    "mediapartners-google",
    "bingbot",
    "bingpreview",
    "msnbot",
    "slurp",
    "duckduckbot",
    "baiduspider",
    "yandexbot",
    "yandex.com/bots",
    "applebot",
    "facebookexternalhit",
    "facebot",
    "twitterbot",
    "linkedinbot",
    "gptbot",
    "chatgpt-user",
    "oai-searchbot",
    "claudebot",
    "claude-web",
    "anthropic-ai",
    "amazonbot",
    "petalbot",
    "ahrefsbot",
    "semrushbot",
    "mj12bot",
    "dotbot",
    "seznambot",
    "sogou web spider",
    "exabot",
    "ia_archiver",
    "archive.org_bot",
    "pinterestbot",
    "slackbot",
    "discordbot",
    "telegrambot",
    "bytespider",
    "ccbot",
    "perplexitybot",
];

/// Automation clients: not crawlers, but not a person's browser either.
pub(crate) const AUTOMATION_AGENTS: &[&str] = &[
    "curl/",
    "wget/",
    "python-requests",
    "python-urllib",
    "aiohttp",
    "httpx",
    "go-http-client",
    "java/",
    "okhttp",
    "libwww-perl",
    "scrapy",
    "headlesschrome",
    "phantomjs",
    "selenium",
    "puppeteer",
    "playwright",
    "node-fetch",
    "axios/",
    "postmanruntime",
    "insomnia",
    "powershell",
    "httpclient",
    "spider",
    "crawler",
    "bot/",
    "bot;",
    "bot)",
];

/// Everything compiled in, hashed once.
#[derive(Debug)]
pub(crate) struct Builtins {
    pub(crate) disposable: HashSet<&'static str>,
    pub(crate) free: HashSet<&'static str>,
    pub(crate) roles: HashSet<&'static str>,
    pub(crate) shorteners: HashSet<&'static str>,
    pub(crate) suspicious_tlds: HashSet<&'static str>,
    pub(crate) hosting_asns: HashSet<u32>,
    /// Official registrable domains of every brand.
    pub(crate) brand_domains: HashSet<&'static str>,
    /// Brand skeleton (UTS #39) → brand, for homograph checks.
    pub(crate) brand_skeletons: HashMap<String, &'static str>,
    pub(crate) typos: TypoIndex,
    pub(crate) brand_typos: TypoIndex,
    /// Case-insensitive matchers over [`CRAWLER_AGENTS`] and
    /// [`AUTOMATION_AGENTS`] (`None` only if the automaton cannot be built,
    /// which these fixed patterns never trigger).
    pub(crate) crawler_agents: Option<AhoCorasick>,
    pub(crate) automation_agents: Option<AhoCorasick>,
    /// Credential / payment words in URLs, case-insensitive.
    pub(crate) sensitive_words: Option<AhoCorasick>,
    /// ASCII bytes whose UTS #39 skeleton is not themselves (`0`, `1`, `m`,
    /// …): an ASCII label without them is its own skeleton, so the costly
    /// Unicode skeleton is skipped.
    pub(crate) ascii_confusable: [bool; 128],
}

/// Words that phishing URLs carry (notes §3, URL heuristics).
pub(crate) const SENSITIVE_WORDS: &[&str] = &[
    "login", "signin", "sign-in", "verify", "secure", "account", "update", "banking", "password", "wallet", "confirm",
    "webscr", "wp-admin", "unlock",
];

fn ascii_confusables() -> [bool; 128] {
    let mut table = [false; 128];
    for (b, slot) in table.iter_mut().enumerate() {
        let c = char::from(b as u8);
        let mut buf = [0u8; 4];
        *slot = crate::url::lookalike::folded_skeleton(c.encode_utf8(&mut buf)) != c.to_ascii_lowercase().to_string();
    }
    table
}

fn matcher(patterns: &[&str]) -> Option<AhoCorasick> {
    AhoCorasick::builder().ascii_case_insensitive(true).build(patterns).ok()
}

fn lines(text: &'static str) -> impl Iterator<Item = &'static str> {
    text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#'))
}

impl Builtins {
    pub(crate) fn new() -> Builtins {
        let free: HashSet<&'static str> = lines(FREE_PROVIDERS).collect();
        let brand_domains = BRANDS.iter().flat_map(|(_, d)| d.iter().copied()).collect();
        let brand_skeletons =
            BRANDS.iter().map(|(brand, _)| (crate::url::lookalike::folded_skeleton(brand), *brand)).collect();
        let brand_names: Vec<&'static str> = BRANDS.iter().map(|(b, _)| *b).filter(|b| b.len() >= 5).collect();
        Builtins {
            disposable: mailchecker::blacklist().into_iter().collect(),
            typos: TypoIndex::for_domains(crate::email::typo::POPULAR_DOMAINS, &free),
            brand_typos: TypoIndex::for_labels(&brand_names),
            free,
            roles: lines(ROLE_ACCOUNTS).collect(),
            shorteners: lines(SHORTENERS).collect(),
            suspicious_tlds: SUSPICIOUS_TLDS.iter().copied().collect(),
            hosting_asns: HOSTING_ASNS.iter().copied().collect(),
            brand_domains,
            brand_skeletons,
            crawler_agents: matcher(CRAWLER_AGENTS),
            automation_agents: matcher(AUTOMATION_AGENTS),
            sensitive_words: matcher(SENSITIVE_WORDS),
            ascii_confusable: ascii_confusables(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendored_lists_are_loaded() {
        let b = Builtins::new();
        assert!(b.disposable.contains("mailinator.com"));
        assert!(b.free.contains("gmail.com") && !b.free.contains("mailinator.com"));
        assert!(b.roles.contains("admin") && b.roles.contains("info"));
        assert!(b.shorteners.contains("bit.ly"));
        assert!(b.free.len() > 4000 && b.roles.len() > 1000 && b.shorteners.len() > 2000);
    }
}
