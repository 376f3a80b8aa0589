use super::*;
use crate::explore::shrink::units;

fn actions(s: &Scenario) -> Vec<Action> {
    s.steps.iter().map(|s| s.action.clone()).collect()
}

#[test]
fn a_generated_scenario_reads_back_as_the_same_scenario() {
    for seed in 0..30 {
        let g = generate(seed, None, None);
        let text = crate::scenario::write::to_toml(&g.scenario, g.herd_table.as_ref(), &["a comment".into()])
            .unwrap();
        let back = crate::scenario::parse(&text, "x.toml", "x").unwrap();
        assert_eq!(back.herd, g.scenario.herd, "seed {seed}");
        assert_eq!(back.world, g.scenario.world, "seed {seed}");
        assert_eq!(back.network, g.scenario.network);
        assert_eq!(back.end_ms, g.scenario.end_ms);
        assert_eq!(back.seed, g.scenario.seed);
        assert_eq!(actions(&back), actions(&g.scenario), "seed {seed}");
    }
}

#[test]
fn a_seed_is_always_the_same_scenario() {
    for seed in 0..50 {
        let (a, b) = (generate(seed, None, None), generate(seed, None, None));
        assert_eq!(actions(&a.scenario), actions(&b.scenario));
        assert_eq!(a.scenario.herd, b.scenario.herd);
    }
    let (one, two) = (generate(1, None, None), generate(2, None, None));
    assert_ne!(actions(&one.scenario), actions(&two.scenario));
}

#[test]
fn the_world_is_drawn_within_what_the_server_takes() {
    let mut sizes = std::collections::BTreeSet::new();
    let mut shapes = std::collections::BTreeSet::new();
    for seed in 0..200 {
        let swarm = world::draw(seed, None, None);
        assert_eq!(swarm.world.check(&swarm.herd, None), Ok(()), "seed {seed}");
        sizes.insert(swarm.herd.servers.len());
        shapes.insert(swarm.shape);
    }
    assert_eq!(sizes.first(), Some(&3));
    assert_eq!(sizes.last(), Some(&12));
    assert!(shapes.len() >= 6, "{shapes:?}");
}

#[test]
fn every_fault_heals_before_the_liveness_phase() {
    for seed in 0..300 {
        let g = generate(seed, None, None);
        let (scenario, params) = (&g.scenario, &g.params);
        let converged = scenario
            .steps
            .iter()
            .find(|s| matches!(s.action, Action::Converged { .. }))
            .expect("a converged step")
            .at_ms;
        let mut down = 0i32;
        let mut most_down = 0;
        for step in &scenario.steps {
            match step.action {
                Action::Crash { .. } | Action::SilentDeath { .. } => down += 1,
                Action::Restart { .. } => down -= 1,
                _ => {}
            }
            most_down = most_down.max(down);
            let traffic = matches!(
                step.action,
                Action::Client { .. } | Action::Converged { .. } | Action::Probe { .. }
            );
            if !traffic {
                assert!(
                    step.at_ms <= params.safety_ms && step.at_ms < converged,
                    "seed {seed}"
                );
            }
        }
        assert_eq!(down, 0, "seed {seed}: a server stays down");
        assert!(
            most_down as usize <= (scenario.herd.servers.len() - 1) / 2,
            "seed {seed}: {most_down} servers down at once"
        );
        for unit in units(actions(scenario)) {
            let fault = matches!(
                unit[0],
                Action::Partition { .. }
                    | Action::Hold { .. }
                    | Action::Crash { .. }
                    | Action::SilentDeath { .. }
                    | Action::Places { .. }
                    | Action::Latency { .. }
                    | Action::Loss { .. }
            );
            assert!(!fault || unit.len() == 2, "seed {seed}: {:?} never ends", unit[0]);
        }
    }
}
