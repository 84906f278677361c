//! Tencent's rate limits: one token bucket per action and application, at the documented 20 requests
//! a second unless the provider's `rateLimit` says otherwise, paced evenly.

/// Tokens a bucket saves up. Tencent counts requests per action over the last second (as the simulator
/// does): a bucket that saved up a second's worth would send that and the next second's rate within one
/// window, and the vendor refuses everything over the limit. Spacing requests evenly from the first one
/// costs no throughput.
pub const BURST: u32 = 1;

/// Added to the spacing of requests at the configured rate. Requests spaced exactly 50 ms apart reach
/// the vendor a few milliseconds early or late, so one second's window sometimes holds 21 of them and
/// the vendor refuses one (measured: 5 % of creates at full speed, each retried a second later). Two
/// milliseconds per request add up to 40 ms of slack per window at 20/s, for 4 % of the rate.
const JITTER_ALLOWANCE_MS: f64 = 2.0;

/// The rate a bucket paces at: `per_minute`, with each request's slot widened by the jitter allowance.
pub fn paced(per_minute: u32) -> u32 {
    let slot_ms = 60_000.0 / f64::from(per_minute.max(1)) + JITTER_ALLOWANCE_MS;
    ((60_000.0 / slot_ms).floor() as u32).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacing_leaves_slack_for_jitter_and_never_exceeds_the_configured_rate() {
        assert_eq!(paced(1200), 1153, "52 ms slots at the documented 20/s");
        assert_eq!(paced(60), 59);
        assert_eq!(paced(1), 1);
        for per_minute in [1, 7, 60, 600, 1200, 60_000] {
            assert!(paced(per_minute) <= per_minute);
        }
    }
}
