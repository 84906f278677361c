//! What one Ready agent costs in an agent store: typed, as kube's reflector would hold it; as compressed
//! JSON (LZ4 against a dictionary of one other agent); and as the controller keeps it (`CachedAgent`,
//! the packed body and the summary the scans read). Prints bytes per agent as glibc's allocator counts them (`mallinfo2`, chunk overhead
//! included, which is what the process's RSS is made of) and the cost of decoding a packed agent.
//!
//! ```sh
//! cargo run --release --example agent_footprint -- 20000
//! ```

use std::time::Instant;

use ccop::controller::{CachedAgent, GuardedAgent};
use kube::runtime::reflector;
use kube::runtime::watcher::Event;
use serde_json::json;

/// glibc's `struct mallinfo2`.
#[repr(C)]
struct MallInfo2 {
    arena: usize,
    ordblks: usize,
    smblks: usize,
    hblks: usize,
    hblkhd: usize,
    usmblks: usize,
    fsmblks: usize,
    uordblks: usize,
    fordblks: usize,
    keepcost: usize,
}

unsafe extern "C" {
    fn mallinfo2() -> MallInfo2;
}

/// Bytes the allocator has handed out, small chunks and `mmap`ed ones.
fn heap_in_use() -> usize {
    // SAFETY: `mallinfo2` only reads the allocator's counters (glibc 2.33 and later).
    let info = unsafe { mallinfo2() };
    info.uordblks + info.hblkhd
}

/// Agent `i` as the API server returns it once the operator made it Ready: the shape of the
/// benchmark's Tencent agents (`examples/converge`), its status as the controller writes it.
fn ready_agent(i: usize) -> Vec<u8> {
    let key = format!("bench-{i:06}@example.com");
    let account = "tencent http://127.0.0.1:33067 sdkAppId=1400000001";
    let condition = |kind: &str| {
        json!({"lastTransitionTime": "2026-12-03T16:35:01Z", "message": "the vendor account matches the spec",
               "observedGeneration": 1, "reason": "Available", "status": "True", "type": kind})
    };
    let agent = json!({
        "apiVersion": "contactcenter.dev/v1alpha1",
        "kind": "ContactCenterAgent",
        "metadata": {
            "annotations": {"contactcenter.dev/create-pending":
                json!({"key": key, "account": account}).to_string()},
            "creationTimestamp": "2026-12-03T16:35:00Z",
            "finalizers": ["contactcenter.dev/finalizer"],
            "generation": 1,
            "name": format!("bench-{i:06}"),
            "namespace": "team",
            "resourceVersion": format!("{}", 1000 + i),
            "uid": format!("5db8e8dc-bac8-4aa5-80f2-{i:012}"),
        },
        "spec": {
            "providerRef": {"kind": "ContactCenterProvider", "name": "tencent"},
            "displayName": format!("Bench Agent {i:06}"),
            "email": key,
            "phone": format!("+86138{i:08}"),
            "passwordPolicy": "SecretRef",
            "enabled": true,
            "tencent": {"staffNumber": format!("{}", 100_000 + i), "nick": format!("b{i}"), "sendPassword": false},
            "managementPolicy": "Full",
            "adoptionPolicy": "AdoptOrCreate",
            "deletionPolicy": "Delete",
        },
        "status": {
            "observedGeneration": 1,
            "conditions": [condition("Ready"), condition("Synced")],
            "vendorKey": key,
            "externalId": key,
            "origin": "Created",
            "appliedDigest": format!("{:032x}", i * 7919),
            "lastSyncTime": format!("2026-12-03T16:35:01.{i:09}Z"),
            "account": account,
        },
    });
    serde_json::to_vec(&agent).expect("an agent serializes")
}

fn main() {
    let agents: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse().expect("the number of agents"))
        .unwrap_or(20_000);
    let bodies: Vec<Vec<u8>> = (0..agents).map(ready_agent).collect();

    let before = heap_in_use();
    let (store, mut writer) = reflector::store::<GuardedAgent>();
    for body in &bodies {
        let agent: GuardedAgent = serde_json::from_slice(body).expect("a readable agent");
        writer.apply_watcher_event(&Event::Apply(agent));
    }
    let typed = (heap_in_use() - before) / agents;
    assert_eq!(store.state().len(), agents);

    let before = heap_in_use();
    let (cached, mut writer) = reflector::store::<CachedAgent>();
    for body in &bodies {
        let agent: CachedAgent = serde_json::from_slice(body).expect("a readable agent");
        writer.apply_watcher_event(&Event::Apply(agent));
    }
    let packed_store = (heap_in_use() - before) / agents;
    assert_eq!(cached.state().len(), agents);
    let started = Instant::now();
    for agent in cached.state() {
        agent.agent().expect("a packed agent unpacks");
    }
    let cached_decode = started.elapsed() / u32::try_from(agents).expect("agents fit in u32");
    drop((cached, writer));

    let dictionary = ready_agent(agents + 1);
    let before = heap_in_use();
    let packed: Vec<Box<[u8]>> = bodies
        .iter()
        .map(|body| lz4_flex::block::compress_prepend_size_with_dict(body, &dictionary).into_boxed_slice())
        .collect();
    let packed_bytes = (heap_in_use() - before) / agents;

    let unpack = |packed: &[u8]| {
        lz4_flex::block::decompress_size_prepended_with_dict(packed, &dictionary)
            .expect("a packed agent unpacks")
    };
    assert_eq!(unpack(&packed[0]), bodies[0], "packing loses nothing");
    let started = Instant::now();
    for packed in &packed {
        let _: GuardedAgent = serde_json::from_slice(&unpack(packed)).expect("a readable agent");
    }
    let decode = started.elapsed() / u32::try_from(agents).expect("agents fit in u32");

    println!("{agents} Ready agents, one namespace, one provider");
    println!("| held as | bytes an agent |");
    println!("|---|---|");
    println!("| typed, in kube's reflector store (key included) | {typed} |");
    println!("| JSON of the agent | {} |", bodies[0].len());
    println!(
        "| LZ4 of the JSON, dictionary of one other agent | {packed_bytes} ({} packed) |",
        packed[0].len()
    );
    println!(
        "| as the controller keeps it, `CachedAgent` in the reflector store (key included) | {packed_store} |"
    );
    println!("unpacking and reading one packed agent: {decode:?}; one `CachedAgent`: {cached_decode:?}");
}
