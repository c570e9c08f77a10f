//! Score bands, the same as IPQS's so that policies carry over:
//! < 75 normal, 75–84 suspicious, 85–89 high risk, ≥ 90 block.

use serde::{Deserialize, Serialize};

/// The lowest suspicious score.
pub const SUSPICIOUS: u8 = 75;
/// The lowest high-risk score.
pub const HIGH_RISK: u8 = 85;
/// The lowest score that should be blocked.
pub const BLOCK: u8 = 90;
/// Lexical URL heuristics alone stay below the block band (only a blocklist
/// hit or a brand look-alike reaches it).
pub(crate) const HEURISTIC_CAP: u8 = BLOCK - 1;

/// The band a `fraud_score` / `risk_score` falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Band {
    /// 0–74.
    Normal,
    /// 75–84: likely a proxy / VPN, not necessarily fraud.
    Suspicious,
    /// 85–89.
    HighRisk,
    /// 90–100: block.
    Block,
}

impl Band {
    /// The band of `score`.
    pub fn of(score: u8) -> Band {
        match score {
            s if s >= BLOCK => Band::Block,
            s if s >= HIGH_RISK => Band::HighRisk,
            s if s >= SUSPICIOUS => Band::Suspicious,
            _ => Band::Normal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_follow_ipqs_thresholds() {
        let table = [
            (0, Band::Normal),
            (74, Band::Normal),
            (75, Band::Suspicious),
            (84, Band::Suspicious),
            (85, Band::HighRisk),
            (89, Band::HighRisk),
            (90, Band::Block),
            (100, Band::Block),
        ];
        for (score, band) in table {
            assert_eq!(Band::of(score), band, "score {score}");
        }
    }
}
