//! A contextual sequence memory: the idea of Mikhail Smirnov's Contextual Anomaly
//! Detector (CAD OSE, 2016), written anew for seismo.
//!
//! Each value is coarsened to a few binary *facts* (which of 8 levels it is in, bit by
//! bit). A *context* pairs what was true one step ago (the previous value's facts and
//! the contexts that were active then) with what is true now. The memory stores every
//! context it meets and, by intersecting them, their common parts. A value is normal
//! when the contexts that the last step selected come true, and anomalous when they do
//! not and the step forces new contexts into the memory: the stream did something it
//! has not done before in that situation.

use rustc_hash::FxHashMap;

/// A fact is a number: sensor facts say one bit of the value's level; neuron facts
/// (with [`NEURON`] set) say which context was active. 64 bits, so that no count of
/// contexts reaches the neuron bit.
pub type Fact = u64;
const NEURON: Fact = 1 << 63;

/// Longest common part of two left halves that is remembered as a context of its own.
const MAX_CROSSED_LEFT: usize = 7;
/// Active contexts that become facts of the next step.
const MAX_ACTIVE_NEURONS: usize = 15;

/// One half of a context: its facts, and which of them the current step shares.
#[derive(Debug, Default)]
struct Half {
    facts: Vec<Fact>,
    shared: Vec<Fact>,
}

impl Half {
    fn fully_shared(&self) -> bool {
        self.shared.len() == self.facts.len()
    }
}

/// All left or all right halves, with an index from each fact to the halves holding it.
#[derive(Debug, Default)]
struct Halves {
    halves: Vec<Half>,
    by_facts: FxHashMap<Vec<Fact>, usize>,
    by_fact: FxHashMap<Fact, Vec<usize>>,
    /// Halves sharing at least one fact with the last group crossed, oldest first.
    crossed: Vec<usize>,
}

impl Halves {
    /// The half with exactly these facts (sorted), created if new.
    fn intern(&mut self, facts: &[Fact]) -> usize {
        if let Some(&id) = self.by_facts.get(facts) {
            return id;
        }
        let id = self.halves.len();
        for &fact in facts {
            self.by_fact.entry(fact).or_default().push(id);
        }
        self.halves.push(Half {
            facts: facts.to_vec(),
            shared: Vec::new(),
        });
        self.by_facts.insert(facts.to_vec(), id);
        id
    }

    /// Marks, in every half, the facts it shares with `group`.
    fn cross(&mut self, group: &[Fact]) {
        for &id in &self.crossed {
            self.halves[id].shared.clear();
        }
        self.crossed.clear();
        for &fact in group {
            for &id in self.by_fact.get(&fact).into_iter().flatten() {
                let half = &mut self.halves[id];
                if half.shared.is_empty() {
                    self.crossed.push(id);
                }
                half.shared.push(fact);
            }
        }
        self.crossed.sort_unstable();
    }
}

#[derive(Debug)]
struct Context {
    right: usize,
    /// How many right facts it predicted, and how many of them came true.
    predicted: u64,
    fulfilled: u64,
    activations: u64,
    /// Met whole as a step of the stream, not only as a common part of two.
    whole: bool,
}

#[derive(Debug, Default)]
struct Memory {
    left: Halves,
    right: Halves,
    contexts: Vec<Context>,
    by_halves: FxHashMap<(usize, usize), usize>,
    /// The contexts of each left half, oldest first.
    of_left: Vec<Vec<usize>>,
}

impl Memory {
    /// The context of these halves and whether it is new.
    fn context(&mut self, left: &[Fact], right: &[Fact], whole: bool) -> (usize, bool) {
        let l = self.left.intern(left);
        let r = self.right.intern(right);
        if self.of_left.len() <= l {
            self.of_left.resize_with(l + 1, Vec::new);
        }
        let next = self.contexts.len();
        let id = *self.by_halves.entry((l, r)).or_insert(next);
        if id != next {
            self.contexts[id].whole |= whole;
            return (id, false);
        }
        self.contexts.push(Context {
            right: r,
            predicted: 0,
            fulfilled: 0,
            activations: 0,
            whole,
        });
        self.of_left[l].push(id);
        (id, true)
    }
}

/// What one step found.
struct Step {
    /// Of the contexts the previous step selected, the share that came true.
    fulfilled: f64,
    /// Of the possibly new contexts this step met, the share that was new.
    novel: f64,
}

#[derive(Debug, Default)]
pub struct ContextMemory {
    memory: Memory,
    /// The previous step's facts: its sensor facts and active contexts.
    previous: Vec<Fact>,
    /// The sensor facts the memory expects next.
    expected: Vec<Fact>,
}

impl ContextMemory {
    /// How many contexts the memory holds: what its size grows with.
    pub fn contexts(&self) -> usize {
        self.memory.contexts.len()
    }

    /// Takes the sensor facts of the next value (sorted, below [`NEURON`]) and returns
    /// its anomaly, 0 to 1: 0 when the memory expected all of them.
    pub fn anomaly(&mut self, facts: &[Fact]) -> f64 {
        let surprising = facts.iter().any(|f| !self.expected.contains(f));
        let step = self.step(facts);
        if surprising {
            (1.0 - step.fulfilled + step.novel) / 2.0
        } else {
            0.0
        }
    }

    fn step(&mut self, facts: &[Fact]) -> Step {
        let memory = &mut self.memory;
        let whole =
            (!self.previous.is_empty()).then(|| memory.context(&self.previous, facts, true));
        let new_whole = whole.and_then(|(id, new)| new.then_some(id));
        memory.right.cross(facts);
        // Judge the contexts whose left half the previous step selected.
        let (mut selected, mut active) = (0usize, Vec::new());
        let mut candidates: Vec<(Vec<Fact>, Vec<Fact>)> = Vec::new();
        for &l in &memory.left.crossed {
            let left = &memory.left.halves[l];
            for &id in &memory.of_left[l] {
                if Some(id) == new_whole {
                    continue;
                }
                let context = &mut memory.contexts[id];
                let right = &memory.right.halves[context.right];
                let shared = right.shared.len();
                if left.fully_shared() {
                    selected += 1;
                    context.predicted += right.facts.len() as u64;
                    context.fulfilled += shared as u64;
                    if shared > 0 && right.fully_shared() {
                        context.activations += 1;
                        active.push(id);
                        continue;
                    }
                }
                if shared > 0
                    && context.whole
                    && new_whole.is_some()
                    && left.shared.len() <= MAX_CROSSED_LEFT
                {
                    candidates.push((left.shared.clone(), right.shared.clone()));
                }
            }
        }
        let mut distinct: Vec<&(Vec<Fact>, Vec<Fact>)> = candidates.iter().collect();
        distinct.sort_unstable();
        distinct.dedup();
        let whole_is_candidate = whole.is_some()
            && !distinct
                .iter()
                .any(|(l, r)| *l == self.previous && r == facts);
        let possible = distinct.len() + usize::from(whole_is_candidate);
        // The most often activated contexts become facts of the next step.
        active.sort_by_key(|&id| (memory.contexts[id].activations, id));
        let mut group: Vec<Fact> = facts.to_vec();
        group.extend(
            active
                .iter()
                .rev()
                .take(MAX_ACTIVE_NEURONS)
                .map(|&id| NEURON | id as Fact),
        );
        group.sort_unstable();
        let mut added = usize::from(new_whole.is_some());
        for (left, right) in &candidates {
            added += usize::from(memory.context(left, right, false).1);
        }
        memory.left.cross(&group);
        self.expected = self.predict();
        self.previous = group;
        Step {
            fulfilled: if selected > 0 {
                active.len() as f64 / selected as f64
            } else {
                0.0
            },
            novel: if new_whole.is_some() && possible > 0 {
                added as f64 / possible as f64
            } else {
                0.0
            },
        }
    }

    /// The right facts of the most reliable contexts whose left half is fully present.
    fn predict(&self) -> Vec<Fact> {
        let memory = &self.memory;
        let mut best = 0.0;
        let mut facts: Vec<Fact> = Vec::new();
        for &l in &memory.left.crossed {
            if !memory.left.halves[l].fully_shared() {
                continue;
            }
            for &id in &memory.of_left[l] {
                let context = &memory.contexts[id];
                let reliability = if context.predicted > 0 {
                    context.fulfilled as f64 / context.predicted as f64
                } else {
                    0.0
                };
                if reliability > best {
                    best = reliability;
                    facts.clear();
                }
                if reliability == best {
                    facts.extend(&memory.right.halves[context.right].facts);
                }
            }
        }
        facts.sort_unstable();
        facts.dedup();
        facts
    }
}

/// The sensor facts of a level: bit `i` of it is fact `2i` or `2i + 1`, so levels 0–7
/// have three facts each and higher levels one more per bit. Neighbouring levels may
/// share no fact (3 is 011, 4 is 100): a level is a symbol, not a magnitude.
pub fn level_facts(level: u64) -> Vec<Fact> {
    let bits = (u64::BITS - level.leading_zeros()).max(3);
    (0..Fact::from(bits))
        .map(|i| 2 * i + ((level >> i) & 1))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_sequence_becomes_expected_and_a_new_step_is_an_anomaly() {
        let mut memory = ContextMemory::default();
        let cycle = [0, 3, 5, 1, 7, 2];
        let mut last_cycle = Vec::new();
        for _ in 0..30 {
            last_cycle = cycle
                .iter()
                .map(|&level| memory.anomaly(&level_facts(level)))
                .collect();
        }
        assert_eq!(last_cycle, vec![0.0; cycle.len()]);
        // 3 after 0 is known; 6 after 0 never happened.
        memory.anomaly(&level_facts(0));
        let novel = memory.anomaly(&level_facts(6));
        assert!(novel > 0.5, "{novel}");
    }

    #[test]
    fn levels_are_bits() {
        assert_eq!(level_facts(0), vec![0, 2, 4]);
        assert_eq!(level_facts(5), vec![1, 2, 5]);
        assert_eq!(level_facts(8), vec![0, 2, 4, 7]);
    }
}
