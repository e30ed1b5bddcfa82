//! Posts classified per second on one core: every labelled post of `data/` (complaints,
//! jokes, news, five languages) against the demo catalog, next to folding the same texts
//! alone (lower case, accents off: the least any matcher of names must do).
//!
//! `cargo bench -p seismo-core --bench posts`

use divan::counter::ItemsCount;
use seismo_core::catalog::Catalog;
use seismo_core::fold::fold;
use seismo_core::post::Classifier;

fn main() {
    divan::main();
}

/// The texts of every labelled post.
fn texts() -> Vec<&'static str> {
    [
        include_str!("../data/posts.tsv"),
        include_str!("../data/posts-holdout.tsv"),
    ]
    .iter()
    .flat_map(|file| file.lines())
    .filter(|line| !line.starts_with('#') && !line.is_empty())
    .filter_map(|line| line.splitn(4, '\t').nth(3))
    .collect()
}

#[divan::bench(sample_count = 60)]
fn classify(bencher: divan::Bencher) {
    let catalog = Catalog::demo();
    let classifier = Classifier::new(&catalog);
    let texts = texts();
    bencher
        .counter(ItemsCount::new(texts.len()))
        .bench_local(|| {
            for text in &texts {
                divan::black_box(classifier.classify(divan::black_box(text)));
            }
        });
}

#[divan::bench(sample_count = 60)]
fn fold_alone(bencher: divan::Bencher) {
    let texts = texts();
    bencher
        .counter(ItemsCount::new(texts.len()))
        .bench_local(|| {
            for text in &texts {
                divan::black_box(fold(divan::black_box(text)));
            }
        });
}
