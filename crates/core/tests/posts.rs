//! The post classifier on its labelled evaluation sets (`data/posts*.tsv`): precision and
//! recall of "a complaint about service S" (what counts as a signal), and how often the
//! problem type is right. docs/DETECTION.md quotes what this prints; the floors below
//! fail the test when the rules get worse.

use seismo_core::catalog::Catalog;
use seismo_core::post::Classifier;

/// One labelled post.
struct Labelled {
    line: usize,
    service: Option<String>,
    complaint: bool,
    problem: Option<String>,
    text: String,
}

/// The posts of a labelled file `text`.
fn labelled(text: &str) -> Vec<Labelled> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.starts_with('#') && !line.is_empty())
        .map(|(n, line)| {
            let fields: Vec<&str> = line.splitn(4, '\t').collect();
            let [service, complaint, problem, text] = fields[..] else {
                panic!("posts.tsv:{}: four fields separated by tabs", n + 1)
            };
            let named = |s: &str| (s != "-").then(|| s.to_string());
            Labelled {
                line: n + 1,
                service: named(service),
                complaint: match complaint {
                    "1" => true,
                    "0" => false,
                    other => panic!("posts.tsv:{}: complaint {other:?} is 1 or 0", n + 1),
                },
                problem: named(problem),
                text: text.to_string(),
            }
        })
        .collect()
}

/// What the classifier got right of `posts`.
struct Scores {
    precision: f64,
    recall: f64,
    problem_accuracy: f64,
}

fn score(name: &str, posts: &[Labelled]) -> Scores {
    let catalog = Catalog::demo();
    let classifier = Classifier::new(&catalog);
    let (mut true_positives, mut predicted, mut actual) = (0, 0, 0);
    let (mut problems_right, mut services_right) = (0, 0);
    let mut mistakes = Vec::new();
    for post in posts {
        let found = classifier.classify(&post.text);
        let service = found.service.map(|id| catalog.service(id));
        let slug = service.map(|s| s.slug.clone());
        let problem = found
            .problem
            .zip(service)
            .map(|(p, s)| s.problems[p.0 as usize].clone());
        services_right += usize::from(slug == post.service);
        let is_positive = post.complaint && post.service.is_some();
        let said_positive = found.complaint && slug.is_some();
        actual += usize::from(is_positive);
        predicted += usize::from(said_positive);
        if is_positive && said_positive && slug == post.service {
            true_positives += 1;
            problems_right += usize::from(problem == post.problem);
        } else if is_positive || said_positive {
            mistakes.push(format!(
                "{}: {:?}: said {slug:?} complaint={} ({:?})",
                post.line, post.text, found.complaint, found.rules
            ));
        }
    }
    let precision = true_positives as f64 / predicted as f64;
    let recall = true_positives as f64 / actual as f64;
    let problem_accuracy = problems_right as f64 / true_positives as f64;
    let service_accuracy = services_right as f64 / posts.len() as f64;
    println!(
        "{name}: {} posts, {actual} complaints about a service: precision {precision:.3}, \
         recall {recall:.3}, problem right {problem_accuracy:.3} of found, service right \
         {service_accuracy:.3} of all",
        posts.len()
    );
    for mistake in &mistakes {
        println!("{name}:{mistake}");
    }
    Scores {
        precision,
        recall,
        problem_accuracy,
    }
}

#[test]
fn the_rules_find_complaints_about_services_with_high_precision_and_recall() {
    let posts = labelled(include_str!("../data/posts.tsv"));
    assert!(posts.len() >= 300, "{} posts", posts.len());
    let tuned = score("posts.tsv", &posts);
    assert!(tuned.precision >= 0.97, "precision {:.3}", tuned.precision);
    assert!(tuned.recall >= 0.97, "recall {:.3}", tuned.recall);
    assert!(
        tuned.problem_accuracy >= 0.85,
        "problems {:.3}",
        tuned.problem_accuracy
    );
}

#[test]
fn on_the_first_held_out_set_the_general_patterns_find_most() {
    let posts = labelled(include_str!("../data/posts-holdout.tsv"));
    let held_out = score("posts-holdout.tsv", &posts);
    // Held out when the phrases were written (precision 1.000, recall 0.528); the
    // general patterns were then made from its misses, so it is tuned on now.
    assert!(
        held_out.precision >= 0.95,
        "precision {:.3}",
        held_out.precision
    );
    assert!(held_out.recall >= 0.85, "recall {:.3}", held_out.recall);
}

#[test]
fn on_a_second_set_never_tuned_on_the_general_patterns_hold() {
    let posts = labelled(include_str!("../data/posts-holdout-2.tsv"));
    let held_out = score("posts-holdout-2.tsv", &posts);
    // Written before the general patterns, never tuned on: recall 0.353 with the
    // phrases alone, 0.588 with the patterns, precision 1.000 both times.
    assert!(
        held_out.precision >= 0.95,
        "precision {:.3}",
        held_out.precision
    );
    assert!(held_out.recall >= 0.55, "recall {:.3}", held_out.recall);
}

/// A small trained model to compare the rules with: multinomial naive Bayes over the
/// folded words and word pairs, with add-one smoothing, deciding "complaint or not";
/// the service is still the rules' (a model trained on 400 posts cannot know the
/// catalog's 28 services).
struct NaiveBayes {
    /// Per class (not a complaint, a complaint): how many posts, and how often each
    /// feature was seen.
    posts: [f64; 2],
    counts: [std::collections::HashMap<String, f64>; 2],
    totals: [f64; 2],
    vocabulary: usize,
}

fn features(text: &str) -> Vec<String> {
    let folded = seismo_core::fold::fold(text);
    let words: Vec<&str> = folded.split(' ').collect();
    let pairs = words.windows(2).map(|w| format!("{} {}", w[0], w[1]));
    words.iter().map(|w| w.to_string()).chain(pairs).collect()
}

impl NaiveBayes {
    fn train(posts: &[Labelled]) -> NaiveBayes {
        let mut model = NaiveBayes {
            posts: [0.0; 2],
            counts: Default::default(),
            totals: [0.0; 2],
            vocabulary: 0,
        };
        let mut vocabulary = std::collections::HashSet::new();
        for post in posts {
            let class = usize::from(post.complaint);
            model.posts[class] += 1.0;
            for feature in features(&post.text) {
                *model.counts[class].entry(feature.clone()).or_default() += 1.0;
                model.totals[class] += 1.0;
                vocabulary.insert(feature);
            }
        }
        model.vocabulary = vocabulary.len();
        model
    }

    fn complaint(&self, text: &str) -> bool {
        let score = |class: usize| {
            let prior = (self.posts[class] / (self.posts[0] + self.posts[1])).ln();
            features(text).iter().fold(prior, |sum, feature| {
                let count = self.counts[class].get(feature).copied().unwrap_or(0.0);
                sum + ((count + 1.0) / (self.totals[class] + self.vocabulary as f64)).ln()
            })
        };
        score(1) > score(0)
    }
}

#[test]
fn a_small_trained_model_does_not_beat_the_rules_on_posts_neither_was_tuned_on() {
    let mut training = labelled(include_str!("../data/posts.tsv"));
    training.extend(labelled(include_str!("../data/posts-holdout.tsv")));
    let model = NaiveBayes::train(&training);
    let test = labelled(include_str!("../data/posts-holdout-2.tsv"));
    let catalog = Catalog::demo();
    let classifier = Classifier::new(&catalog);
    let (mut true_positives, mut predicted, mut actual) = (0, 0, 0);
    for post in &test {
        let found = classifier.classify(&post.text);
        let slug = found.service.map(|id| catalog.service(id).slug.clone());
        let is_positive = post.complaint && post.service.is_some();
        let said_positive = slug.is_some() && model.complaint(&post.text);
        actual += usize::from(is_positive);
        predicted += usize::from(said_positive);
        true_positives += usize::from(is_positive && said_positive && slug == post.service);
    }
    let precision = true_positives as f64 / predicted as f64;
    let recall = true_positives as f64 / actual as f64;
    println!("naive Bayes on posts-holdout-2.tsv: precision {precision:.3}, recall {recall:.3}");
    let rules = score("rules on posts-holdout-2.tsv", &test);
    // Shipped only if it beat the rules by a clear margin: more recall at no loss of
    // precision. When this fails, docs/DETECTION.md's comparison is out of date.
    let clearly_better = recall >= rules.recall + 0.1 && precision >= rules.precision - 0.02;
    assert!(
        !clearly_better,
        "the model now beats the rules: precision {precision:.3}, recall {recall:.3}"
    );
}
