//! What differs between vendors in the benchmark: the agents' specs and vendor keys, the simulator and
//! provider settings, how a console edit looks, which vendor actions are reads and writes, and the
//! lower bound on a cold start that the vendor's rate limits and batch sizes imply.

use std::time::Duration;

use ccop::connectors::{huawei, ozonetel, tencent};
use ccop::sim::Simulator;
use serde_json::{Value, json};

use crate::support::operator::{Env, NS, Setup};

/// The vendor a run measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Vendor {
    /// Tencent Cloud CCC: batch creates, incremental listing.
    Tencent,
    /// Huawei AICC: one budget for every call, full listings.
    Huawei,
    /// Ozonetel CloudAgent: 5 writes a minute, no listing.
    Ozonetel,
}

/// The password every benchmark agent of a vendor that needs one gets (one Secret for all).
const PASSWORD_SECRET: &str = "bench-password";

/// What a Tencent `CreateStaff` carries at most, and the documented requests per second per action.
const TENCENT_BATCH: usize = tencent::wire::MAX_CREATE_BATCH;

/// One run's vendor, roster size and the knobs that set its limits.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Scenario {
    /// The vendor.
    pub vendor: Vendor,
    /// Agents in the roster.
    pub agents: usize,
    /// Huawei: the provider's `rateLimit.requestsPerMinute` (default: the client's 300).
    pub huawei_per_minute: u32,
    /// Ozonetel: how much faster than real time the simulator's clock runs. The provider's rate limits
    /// are scaled by the same factor, so the client keeps the documented ratio to the vendor's limits.
    pub ozonetel_clock_scale: f64,
    /// ContactCenterSkillGroups applied with the roster; agent `i` references group `i % groups` by
    /// `groupRef` (0: no groups, no skills). Tencent only, for now.
    pub groups: usize,
}

/// The skill groups' resource plural, as the API server counts its writes.
pub const GROUPS: &str = "contactcenterskillgroups";

/// The vendor's limits that bound a cold start, in real time.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bound {
    /// The calls a cold start cannot do without, by action.
    pub needed_calls: Vec<(String, u64)>,
    /// The rate those calls are limited to, per second (the budget they share).
    pub per_second: f64,
    /// needed calls / rate, seconds.
    pub seconds: f64,
    /// How the bound was derived, for the report.
    pub how: String,
}

impl Scenario {
    /// The provider's name in namespace `team`, which is also the vendor's label in the controller's
    /// metrics (the harness names providers after their vendor).
    pub fn provider(&self) -> &'static str {
        match self.vendor {
            Vendor::Tencent => "tencent",
            Vendor::Huawei => "huawei",
            Vendor::Ozonetel => "ozonetel",
        }
    }

    /// Whether the run can be made: `--groups` is implemented for Tencent only (the bound of a
    /// Huawei or Ozonetel cold start with groups is not worked out here).
    pub fn check(&self) -> Result<(), String> {
        if self.groups > 0 && self.vendor != Vendor::Tencent {
            return Err(format!(
                "--groups is implemented for --vendor tencent only, not {:?}",
                self.vendor
            ));
        }
        Ok(())
    }

    /// The Kubernetes name of skill group `g`.
    pub fn group_name(&self, g: usize) -> String {
        format!("group-{g:04}")
    }

    /// The vendor's name of skill group `g` (`spec.name`).
    pub fn group_vendor_name(&self, g: usize) -> String {
        format!("bench-q{g:04}")
    }

    /// The group agent `i` references, if the run has groups.
    pub fn group_of(&self, i: usize) -> Option<usize> {
        (self.groups > 0).then(|| i % self.groups)
    }

    /// Skill group `g`'s spec: a phone group, which `CreateCCCSkillGroup` makes in one call (ringing
    /// all would need a follow-up `UpdateCCCSkillGroup`).
    pub fn group_spec(&self, g: usize) -> Value {
        json!({
            "providerRef": {"name": self.provider()},
            "name": self.group_vendor_name(g),
            "tencent": {"type": "Phone"},
        })
    }

    /// The Kubernetes name of agent `i`.
    pub fn name(&self, i: usize) -> String {
        format!("agent-{i:06}")
    }

    /// The vendor key of agent `i`: Tencent's e-mail, Huawei's user account, Ozonetel's agent id.
    pub fn key(&self, i: usize) -> String {
        match self.vendor {
            Vendor::Tencent => self.email(i),
            Vendor::Huawei | Vendor::Ozonetel => format!("agent{i:06}"),
        }
    }

    fn email(&self, i: usize) -> String {
        format!("agent{i:06}@bench.example.com")
    }

    /// The display name the spec asks for (what drift repair puts back).
    pub fn display_name(&self, i: usize) -> String {
        format!("Agent {i:06}")
    }

    /// A minimal spec: only what a create carries in one call, so the calls a cold start needs are the
    /// creates (and a listing) and nothing else: no mobile switches or skill priorities for Tencent
    /// (they need follow-up calls), and a password only where the vendor requires one at create. With
    /// groups, the agent's one skill is its group by `groupRef`, without a priority: `CreateStaff`
    /// carries the group.
    pub fn spec(&self, i: usize) -> Value {
        let mut spec = json!({
            "providerRef": {"name": self.provider()},
            "displayName": self.display_name(i),
            "email": self.email(i),
        });
        match self.vendor {
            // Tencent needs an employee number at create.
            Vendor::Tencent => spec["tencent"] = json!({"staffNumber": format!("{}", 100_000 + i)}),
            Vendor::Huawei => {
                spec["huawei"] = json!({"userAccount": self.key(i)});
                spec["passwordSecretRef"] = json!({"name": PASSWORD_SECRET, "key": "password"});
            }
            Vendor::Ozonetel => {
                spec["ozonetel"] = json!({"agentId": self.key(i)});
                spec["passwordSecretRef"] = json!({"name": PASSWORD_SECRET, "key": "password"});
            }
        }
        if let Some(g) = self.group_of(i) {
            spec["skills"] = json!([{"groupRef": {"name": self.group_name(g)}}]);
        }
        spec
    }

    /// The environment: simulators sized for the roster, limits as documented, the Ozonetel clock and
    /// its provider's rates scaled together.
    pub fn setup(&self, resync: Duration) -> Setup {
        // Licences are a commercial limit, not a rate limit: give the application enough seats.
        let tencent = ccop::sim::tencent::Config {
            licences: u32::try_from(self.agents).unwrap_or(u32::MAX).saturating_add(100),
            ..Default::default()
        };
        let s = self.ozonetel_clock_scale;
        Setup {
            tencent: ccop::sim::tencent::Sim::create(tencent, 1, 1.0),
            ozonetel: ccop::sim::ozonetel::Sim::create(Default::default(), 1, s),
            huawei_rate: Some(json!({"requestsPerMinute": self.huawei_per_minute})),
            ozonetel_rate: Some(json!({
                "requestsPerMinute": scaled(ozonetel::limits::DEFAULT_WRITES_PER_MINUTE, s),
                "readsPerMinute": scaled(ozonetel::limits::DEFAULT_DETAILS_PER_MINUTE, s),
            })),
            ..Setup::new(&format!("{}s", resync.as_secs().max(1)))
        }
    }

    /// Creates what every agent references besides its provider (the password Secret).
    pub async fn prepare(&self, env: &Env) {
        if self.vendor != Vendor::Tencent {
            env.secret(NS, PASSWORD_SECRET, json!({"password": "Bench#Pass2026"}))
                .await;
        }
    }

    /// Someone edits agent `i` in the vendor console (its display name). False when it does not exist.
    pub fn edit_at_vendor(&self, env: &Env, i: usize) -> bool {
        let key = self.key(i);
        let edited = format!("Console edit {i}");
        match self.vendor {
            Vendor::Tencent => env.tencent.edit_agent(&key, |r| r.name = edited),
            Vendor::Huawei => env.huawei.edit_agent(&key, |r| r.user_name = edited),
            Vendor::Ozonetel => env.ozonetel.edit_agent(&key, |r| r.agent_name = edited),
        }
    }

    /// Whether agent `i`'s display name at the vendor is the spec's again.
    pub fn repaired(&self, env: &Env, i: usize) -> bool {
        let key = self.key(i);
        let want = self.display_name(i);
        match self.vendor {
            Vendor::Tencent => env.tencent.agent(&key).is_some_and(|r| r.name == want),
            Vendor::Huawei => env.huawei.agent(&key).is_some_and(|r| r.user_name == want),
            Vendor::Ozonetel => env.ozonetel.agent(&key).is_some_and(|r| r.agent_name == want),
        }
    }

    /// The simulator's counters: requests per action, as the vendor saw them (throttled ones included).
    pub fn vendor_calls(&self, env: &Env) -> std::collections::BTreeMap<String, u64> {
        match self.vendor {
            Vendor::Tencent => env.tencent.core.calls(),
            Vendor::Huawei => env.huawei.core.calls(),
            Vendor::Ozonetel => env.ozonetel.core.calls(),
        }
    }

    /// Sets the added latency of every simulator.
    pub fn set_latency(&self, env: &Env, latency: Duration) {
        let faults = ccop::sim::Faults {
            latency_ms: u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
            ..Default::default()
        };
        env.tencent.core.set_faults(faults.clone());
        env.huawei.core.set_faults(faults.clone());
        env.ozonetel.core.set_faults(faults);
    }

    /// The class of a vendor action as the simulators name it.
    pub fn class(&self, action: &str) -> ActionClass {
        match (self.vendor, action) {
            (Vendor::Tencent, a) if a.starts_with("Describe") => ActionClass::Read,
            (Vendor::Tencent, _) => ActionClass::Write,
            (Vendor::Huawei, "agentAccount/query" | "skill/querySkills") => ActionClass::Read,
            (Vendor::Huawei, a) if a.starts_with("agentAccount/") => ActionClass::Write,
            (Vendor::Ozonetel, "AgentDetails") => ActionClass::Read,
            (Vendor::Ozonetel, "createAgent" | "updateAgent" | "deleteAgent") => ActionClass::Write,
            // Tokens, and the simulators' own tallies of refused requests.
            _ => ActionClass::Other,
        }
    }

    /// Reads one full look at the roster may take: ceil(N / page size) + 1, or `None` for a vendor
    /// that cannot list (Ozonetel reads each account on its own).
    pub fn reads_per_interval_limit(&self) -> Option<u64> {
        let page = match self.vendor {
            Vendor::Tencent => tencent::PAGE_SIZE,
            Vendor::Huawei => huawei::PAGE_SIZE,
            Vendor::Ozonetel => return None,
        };
        Some((self.agents as u64).div_ceil(u64::from(page)) + 1 + self.group_pages())
    }

    /// Pages of one listing of the groups (Tencent's `DescribeSkillGroupInfoList`, 100 a page): what
    /// a look at the groups adds to a look at the roster. 0 without groups.
    pub fn group_pages(&self) -> u64 {
        let page = u64::from(tencent::wire::MAX_SKILL_GROUP_PAGE);
        (self.groups as u64).div_ceil(page)
    }

    /// How long repairing `m` agents edited at the vendor may take if it happens "within one resync":
    /// the look that finds them comes at most one jittered interval (1.1 x resync) later, then the
    /// roster is listed (its pages at the read rate) and the `m` repairs are sent at the write rate.
    /// Ozonetel has no listing: each agent is read on its own schedule within the interval.
    pub fn drift_allowance(&self, m: usize, resync: Duration) -> f64 {
        let listing = match self.vendor {
            Vendor::Tencent => {
                (self.agents as f64 / f64::from(tencent::PAGE_SIZE)).ceil()
                    / (f64::from(tencent::DEFAULT_PER_MINUTE) / 60.0)
            }
            // Listing pages share the tenant's one budget with the writes.
            Vendor::Huawei => {
                (self.agents as f64 / f64::from(huawei::PAGE_SIZE)).ceil() / self.writes_per_second()
            }
            Vendor::Ozonetel => 0.0,
        };
        resync.as_secs_f64() * 1.1 + listing + m as f64 / self.writes_per_second()
    }

    /// Vendor writes per second the client allows (what paces a drift repair).
    fn writes_per_second(&self) -> f64 {
        match self.vendor {
            Vendor::Tencent => f64::from(tencent::DEFAULT_PER_MINUTE) / 60.0,
            Vendor::Huawei => f64::from(self.huawei_per_minute) / 60.0,
            Vendor::Ozonetel => {
                f64::from(scaled(
                    ozonetel::limits::DEFAULT_WRITES_PER_MINUTE,
                    self.ozonetel_clock_scale,
                )) / 60.0
            }
        }
    }

    /// The least time a cold start of an empty vendor can take under the client's rate limits.
    pub fn bound(&self) -> Bound {
        let n = self.agents as u64;
        match self.vendor {
            Vendor::Tencent if self.groups > 0 => {
                let creates = n.div_ceil(TENCENT_BATCH as u64);
                let groups = self.groups as u64;
                let rate = f64::from(tencent::DEFAULT_PER_MINUTE) / 60.0;
                Bound {
                    needed_calls: vec![
                        (tencent::wire::CREATE_SKILL_GROUP.into(), groups),
                        (tencent::wire::CREATE_STAFF.into(), creates),
                    ],
                    per_second: rate,
                    seconds: creates.max(groups) as f64 / rate,
                    how: format!(
                        "max(G, ceil(N/{TENCENT_BATCH})) / {rate}/s: G CreateCCCSkillGroup and the \
                         CreateStaff calls each have their own budget of {rate}/s, so the longer of the \
                         two bounds the run (the listings run alongside, in budgets of their own)"
                    ),
                }
            }
            Vendor::Tencent => {
                let creates = n.div_ceil(TENCENT_BATCH as u64);
                let rate = f64::from(tencent::DEFAULT_PER_MINUTE) / 60.0;
                Bound {
                    needed_calls: vec![(tencent::wire::CREATE_STAFF.into(), creates)],
                    per_second: rate,
                    seconds: creates as f64 / rate,
                    how: format!(
                        "ceil(N/{TENCENT_BATCH}) CreateStaff at {rate}/s (each action has its own budget, so \
                         the one DescribeStaffInfoList listing runs alongside)"
                    ),
                }
            }
            Vendor::Huawei => {
                let rate = f64::from(self.huawei_per_minute) / 60.0;
                // One budget for the tenant: the creates and the listing of the (empty) tenant share it.
                Bound {
                    needed_calls: vec![
                        ("agentAccount/create".into(), n),
                        ("agentAccount/query".into(), 1),
                    ],
                    per_second: rate,
                    seconds: (n + 1) as f64 / rate,
                    how: format!(
                        "N agentAccount/create + 1 listing at the configured {}/min, one budget per tenant",
                        self.huawei_per_minute
                    ),
                }
            }
            Vendor::Ozonetel => {
                let per_minute = scaled(
                    ozonetel::limits::DEFAULT_WRITES_PER_MINUTE,
                    self.ozonetel_clock_scale,
                );
                let rate = f64::from(per_minute) / 60.0;
                Bound {
                    needed_calls: vec![("createAgent".into(), n), ("AgentDetails".into(), n)],
                    per_second: rate,
                    seconds: n as f64 / rate,
                    how: format!(
                        "N createAgent at the configured {per_minute}/min ({}/min x clock {}); the N \
                         AgentDetails look-ups have their own budget at twice the rate",
                        ozonetel::limits::DEFAULT_WRITES_PER_MINUTE,
                        self.ozonetel_clock_scale
                    ),
                }
            }
        }
    }
}

/// What a vendor call does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionClass {
    /// Reads accounts or the skill table.
    Read,
    /// Changes accounts.
    Write,
    /// Tokens and refusal tallies.
    Other,
}

/// A per-minute rate scaled by the simulator's clock factor.
fn scaled(per_minute: u32, scale: f64) -> u32 {
    (f64::from(per_minute) * scale).round().clamp(1.0, 60_000.0) as u32
}
