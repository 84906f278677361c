//! Every example under `examples/` is valid against the CRD schemas and rules; every example under
//! `examples/invalid/` is refused with a message naming the field its `# expect:` line gives.

use std::path::PathBuf;

use ccop::manifest::{parse_str, read_paths};

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples")
}

#[test]
fn every_vendor_example_is_valid_and_complete() {
    for vendor in ["tencent", "huawei", "ozonetel"] {
        let m = read_paths(&[examples().join(vendor)], "default")
            .unwrap_or_else(|e| panic!("examples/{vendor} is invalid: {e:#?}"));
        assert_eq!(m.providers.len(), 1, "examples/{vendor} has one provider");
        assert!(!m.agents.is_empty(), "examples/{vendor} has agents");
        let provider = &m.providers[0].object;
        assert_eq!(
            provider.spec.settings.vendor().map(|v| v.to_string()).as_deref(),
            Some(vendor)
        );
        let secret = provider.spec.settings.credentials_secret_ref().unwrap();
        let ns = provider.metadata.namespace.clone().unwrap();
        assert!(
            m.secrets.contains_key(&(ns.clone(), secret.name.clone())),
            "examples/{vendor} ships its credentials Secret"
        );
        assert_eq!(m.groups.len(), 1, "examples/{vendor} has one skill group");
        let group = &m.groups[0].object;
        assert_eq!(
            group.spec.provider_ref.name,
            provider.metadata.name.clone().unwrap()
        );
        assert_eq!(
            group.spec.vendor_block().map(|v| v.to_string()).as_deref(),
            Some(vendor)
        );
        group
            .validate_cel()
            .unwrap_or_else(|e| panic!("{}: {e:?}", m.groups[0].origin));
        let group_name = group.metadata.name.clone().unwrap();
        assert!(
            m.agents.iter().any(|a| a
                .object
                .spec
                .skills
                .iter()
                .flatten()
                .any(|s| s.group_ref.as_ref().is_some_and(|g| g.name == group_name))),
            "an agent of examples/{vendor} references its skill group by groupRef"
        );
        for agent in &m.agents {
            assert_eq!(
                agent.object.spec.provider_ref.name,
                provider.metadata.name.clone().unwrap()
            );
            assert_eq!(
                agent.object.spec.vendor_block().map(|v| v.to_string()).as_deref(),
                Some(vendor)
            );
            if let Some(pw) = &agent.object.spec.password_secret_ref {
                assert!(
                    m.secrets.contains_key(&(ns.clone(), pw.name.clone())),
                    "{}: password Secret shipped",
                    agent.origin
                );
            }
            // the typed object passes the CEL rules through kube's own client-side validator too
            agent
                .object
                .validate_cel()
                .unwrap_or_else(|e| panic!("{}: {e:?}", agent.origin));
        }
    }
}

#[test]
fn every_invalid_example_is_refused_naming_the_field() {
    let mut checked = 0;
    for entry in std::fs::read_dir(examples().join("invalid")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let expect = text
            .lines()
            .find_map(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{} has no '# expect:' line", path.display()));
        let errors = parse_str(&path.display().to_string(), &text, "default")
            .err()
            .unwrap_or_else(|| panic!("{} was accepted", path.display()));
        let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(
            shown.iter().any(|e| e.contains(expect)),
            "{}: expected an error mentioning {expect:?}, got {shown:#?}",
            path.display()
        );
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} invalid examples checked");
}
