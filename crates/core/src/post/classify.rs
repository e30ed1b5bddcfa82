//! Social posts, classified in the open: which service a post is about, whether it
//! complains that the service is broken, and which of its problems, each decision with
//! the rule that made it (`Classification::explain`).
//!
//! The method is a list of phrases, matched on the folded text (see [`crate::fold`]) at
//! word boundaries, all at once by one Aho-Corasick automaton:
//!
//! 1. **Service**: the catalog's names, aliases and slugs. A name that is also a common
//!    word ("Teams", "Zoom", "Steam", "X"…, see [`COMMON_WORD_NAMES`]) counts only when
//!    written with a capital, as a #tag or @mention, or right before a complaint phrase
//!    ("teams not working"). Of several services, the first named wins.
//! 2. **Complaint**: a phrase that says something is broken ("down", "not working",
//!    "can't send", "451", "no funciona", "en panne", "geht nicht", "fora do ar"…, in
//!    English, Spanish, French, German and Portuguese) makes a complaint, unless a
//!    phrase of recovery ("back up", "working again") or of news about the company
//!    ("shares", "earnings", "layoffs") is there too: those win.
//! 3. **Problem**: the first of the service's problems whose name or a synonym appears
//!    ("email": mail, inbox, send, 451…); else `other`.
//!
//! `docs/DETECTION.md` gives its precision and recall on the labelled posts of
//! `crates/core/data/posts.tsv`.

use aho_corasick::{AhoCorasick, MatchKind};

use crate::catalog::{Catalog, ProblemId, ServiceId};
use crate::fold::fold;

/// Service names that are also common words: matched only when they look like a name.
pub const COMMON_WORD_NAMES: &[&str] = &[
    "teams", "zoom", "steam", "x", "meta", "spectrum", "discord", "outlook", "slack", "gmail",
    "azure", "fb", "att",
];

/// Phrases that say a service is broken, by language.
const COMPLAINTS: &[(&str, &[&str])] = &[
    (
        "en",
        &[
            "down",
            "is down",
            "went down",
            "goes down",
            "not working",
            "isnt working",
            "stopped working",
            "doesnt work",
            "does not work",
            "wont load",
            "not loading",
            "cant log in",
            "cant login",
            "cant sign in",
            "cannot log in",
            "cant send",
            "cannot send",
            "cant connect",
            "cannot connect",
            "cant receive",
            "outage",
            "is it just me",
            "anyone else",
            "error",
            "errors",
            "broken",
            "crashed",
            "crashing",
            "keeps crashing",
            "having issues",
            "having problems",
            "issues with",
            "problems with",
            "no service",
            "no signal",
            "offline",
            "502",
            "503",
            "500",
            "451",
            "4 3 2",
            "timing out",
            "times out",
            "not sending",
            "not receiving",
            "not delivering",
            "going out slowly",
            "slow",
            "so slow",
            "lagging",
            "nothing incoming",
            "stuck",
            "unreachable",
            "keeps failing",
            "failing",
            "failed to",
            "wont connect",
            "wont send",
            "disconnected",
            "keeps disconnecting",
            "bounced",
            "bouncing",
            "no internet",
            "dead",
            "borked",
            "busted",
            "unusable",
            "throwing",
            "not resolving",
            "freezing",
            "delaying",
            "delays",
            "delayed",
            "not going through",
            "wont play",
            "dropping",
            "keeps dropping",
            "wont let me",
            "buffering forever",
            "loading forever",
            "failed",
            "500s",
            "502s",
            "503s",
            "something went wrong",
            "keeps asking",
            "flaky",
            "bad day",
            "no bars",
        ],
    ),
    (
        "es",
        &[
            "no funciona",
            "caido",
            "se cayo",
            "esta caido",
            "no carga",
            "no puedo enviar",
            "no puedo entrar",
            "no me deja",
            "falla",
            "fallando",
            "sin servicio",
            "no anda",
            "no llega",
            "no llegan",
            "no cargan",
        ],
    ),
    (
        "fr",
        &[
            "ne fonctionne pas",
            "ne marche pas",
            "ne marche plus",
            "en panne",
            "panne",
            "impossible denvoyer",
            "impossible de se connecter",
            "est hs",
            "bug",
            "plante",
        ],
    ),
    (
        "de",
        &[
            "geht nicht",
            "funktioniert nicht",
            "storung",
            "ausfall",
            "kann nicht",
            "nicht erreichbar",
            "ist down",
        ],
    ),
    (
        "pt",
        &[
            "fora do ar",
            "caiu",
            "nao funciona",
            "nao consigo",
            "instavel",
            "nao carrega",
            "travando",
        ],
    ),
];

/// A general pattern of trouble in English: one of these negations, then within three
/// words a verb of using a service ("won't even load", "can't push", "couldn't refresh",
/// "refuses to open"), so that the ways of saying it need not be listed one by one.
const NEGATIONS: &[&str] = &[
    "cant",
    "cannot",
    "wont",
    "isnt",
    "arent",
    "doesnt",
    "dont",
    "couldnt",
    "unable to",
    "refuses to",
    "fails to",
    "not",
];

/// The verbs of using a service of that pattern. Their `-ing` forms may also follow a
/// bare "not" ("not syncing"); the others need a stronger negation, since "I'm not
/// posting today" is no complaint. Verbs that mean too much else ("get", "see", "work")
/// are not here.
const USE_VERBS: &[(&str, &[&str])] = &[
    ("load", &["loading"]),
    ("open", &["opening"]),
    ("connect", &["connecting"]),
    ("send", &["sending"]),
    ("receive", &["receiving"]),
    ("sync", &["syncing"]),
    ("save", &["saving"]),
    ("play", &["playing"]),
    ("stream", &["streaming"]),
    ("refresh", &["refreshing"]),
    ("update", &["updating"]),
    ("deliver", &["delivering"]),
    ("log in", &["logging in"]),
    ("sign in", &["signing in"]),
    ("login", &[]),
    ("push", &["pushing"]),
    ("pull", &["pulling"]),
    ("upload", &["uploading"]),
    ("join", &[]),
    ("start", &["starting"]),
    ("launch", &["launching"]),
    ("respond", &["responding"]),
    ("answer", &["answering"]),
    ("process", &["processing"]),
    ("resolve", &["resolving"]),
    ("reach", &[]),
    ("access", &[]),
    ("come through", &["coming through"]),
    ("go through", &[]),
];

/// Most words between a negation and its verb.
const PATTERN_GAP: usize = 3;

/// Words that, right after a negation, make it eagerness, not trouble ("can't wait to
/// stream the finale", "can't stop playing").
const EAGER: &[&str] = &["wait", "stop"];

/// Phrases that say a service works again: not a complaint, whatever else is said.
const RECOVERED: &[&str] = &[
    "back up",
    "is back",
    "are back",
    "working again",
    "works again",
    "fixed",
    "resolved",
    "restored",
    "back online",
    "funciona de nuevo",
    "volvio",
    "remarche",
    "wieder da",
    "voltou",
];

/// Phrases of news about the company, not its service: not a complaint.
const NEWS: &[&str] = &[
    "shares",
    "stock",
    "earnings",
    "layoffs",
    "lays off",
    "acquires",
    "acquisition",
    "announces",
    "announced",
    "launches",
    "new feature",
    "ceo",
    "lawsuit",
    "revenue",
    "quarter",
    "ipo",
    "price hike",
    "raises prices",
];

/// Words that name a problem, by the problem's name (folded); the name itself always
/// counts too.
const PROBLEM_WORDS: &[(&str, &[&str])] = &[
    (
        "email",
        &[
            "mail",
            "emails",
            "e mail",
            "inbox",
            "send",
            "sending",
            "receive",
            "receiving",
            "outlook",
            "451",
            "smtp",
            "delivery",
            "incoming",
            "outgoing",
            "correo",
            "courriel",
        ],
    ),
    (
        "login",
        &[
            "log in",
            "sign in",
            "signin",
            "password",
            "2fa",
            "locked out",
            "authenticate",
            "authentication",
            "mfa",
            "entrar",
            "connexion",
            "anmelden",
        ],
    ),
    ("teams", &["teams", "chat"]),
    ("admin portal", &["admin center", "admin portal"]),
    ("portal", &["dashboard"]),
    ("dashboard", &["portal"]),
    ("meetings", &["meeting", "meet", "call", "calls"]),
    ("calls", &["call", "calling", "voice"]),
    ("voice", &["call", "calls", "voice chat"]),
    ("audio", &["sound", "mic", "microphone"]),
    ("video", &["videos", "camera", "playback", "buffering"]),
    (
        "messaging",
        &["messages", "message", "dm", "dms", "chat", "texts", "sms"],
    ),
    (
        "streaming",
        &["stream", "buffering", "playback", "watch", "episode"],
    ),
    ("website", &["site", "page", "web"]),
    ("app", &["application", "ios", "android"]),
    (
        "internet",
        &["wifi", "connection", "online", "modem", "router"],
    ),
    ("wifi", &["wi fi", "router"]),
    (
        "mobile",
        &["cell", "5g", "4g", "lte", "data", "signal", "bars"],
    ),
    ("phone", &["landline", "calls"]),
    ("tv", &["cable", "channels"]),
    (
        "payments",
        &["payment", "pay", "transfer", "card", "checkout"],
    ),
    ("checkout", &["cart", "payment", "orders"]),
    ("documents", &["docs", "sheets", "drive"]),
    ("hosting", &["ec2", "s3", "servers", "vm", "instances"]),
    ("api", &["apis", "endpoint", "requests"]),
    ("console", &["management console"]),
    ("dns", &["resolve", "resolving", "nameserver"]),
    ("git", &["push", "pull", "clone"]),
    ("actions", &["workflow", "workflows", "ci"]),
    ("multiplayer", &["matchmaking", "online play", "servers"]),
    ("store", &["shop", "purchase", "buy"]),
    ("downloads", &["download", "downloading", "update"]),
    ("feed", &["timeline", "posts", "stories"]),
];

/// What one matched phrase is.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Phrase {
    /// A name of a service (index into `Classifier::names`).
    Name(u32),
    Complaint {
        language: &'static str,
        phrase: &'static str,
    },
    Recovered(&'static str),
    News(&'static str),
    /// A word of problem `problem` (index into [`Classifier::problem_words`]).
    ProblemWord(u32),
    /// A negation of the general pattern, and how many words it has.
    Negation(&'static str, usize),
    /// A verb of the general pattern; `after_not`: an `-ing` form, which a bare "not"
    /// may negate.
    UseVerb(&'static str, bool),
}

/// How one post was classified, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    pub service: Option<ServiceId>,
    /// The post says the service is broken.
    pub complaint: bool,
    /// One of the service's problems (`other` when no word names one); `None` without a
    /// service.
    pub problem: Option<ProblemId>,
    /// The rules that decided, in words: `service: name "Outlook"`, `complaint: phrase
    /// "not working" (en)`, `problem: word "send" for email`.
    pub rules: Vec<String>,
}

/// The classifier of posts for one catalog.
pub struct Classifier {
    automaton: AhoCorasick,
    phrases: Vec<Phrase>,
    /// Every name as written in the catalog, its service, and whether it is a common
    /// word.
    names: Vec<(String, ServiceId, bool)>,
    /// (folded problem name, word) for every problem word.
    problem_words: Vec<(String, String)>,
    /// Every service's problems, folded and as written, by service (the last is
    /// always `other`).
    problems: Vec<Vec<(String, String)>>,
}

impl Classifier {
    pub fn new(catalog: &Catalog) -> Classifier {
        let mut patterns: Vec<String> = Vec::new();
        let mut phrases = Vec::new();
        let mut names = Vec::new();
        for (id, service) in catalog.services().iter().enumerate() {
            let spellings = std::iter::once(&service.name)
                .chain(&service.aliases)
                .chain(std::iter::once(&service.slug));
            for name in spellings {
                let folded = fold(name);
                if folded.is_empty()
                    || names
                        .iter()
                        .any(|(n, _, _): &(String, _, _)| fold(n) == folded)
                {
                    continue;
                }
                let common = COMMON_WORD_NAMES.contains(&folded.as_str());
                patterns.push(format!(" {folded} "));
                phrases.push(Phrase::Name(names.len() as u32));
                names.push((name.clone(), ServiceId(id as u32), common));
            }
        }
        for &(language, list) in COMPLAINTS {
            for &phrase in list {
                patterns.push(format!(" {phrase} "));
                phrases.push(Phrase::Complaint { language, phrase });
            }
        }
        for &negation in NEGATIONS {
            patterns.push(format!(" {negation} "));
            phrases.push(Phrase::Negation(negation, negation.split(' ').count()));
        }
        for &(verb, forms) in USE_VERBS {
            patterns.push(format!(" {verb} "));
            phrases.push(Phrase::UseVerb(verb, false));
            for &form in forms {
                patterns.push(format!(" {form} "));
                phrases.push(Phrase::UseVerb(form, true));
            }
        }
        for &phrase in RECOVERED {
            patterns.push(format!(" {phrase} "));
            phrases.push(Phrase::Recovered(phrase));
        }
        for &phrase in NEWS {
            patterns.push(format!(" {phrase} "));
            phrases.push(Phrase::News(phrase));
        }
        let mut problem_words = Vec::new();
        for service in catalog.services() {
            for problem in &service.problems {
                let folded = fold(problem);
                if problem_words
                    .iter()
                    .any(|(p, _): &(String, _)| *p == folded)
                {
                    continue;
                }
                let synonyms = PROBLEM_WORDS
                    .iter()
                    .find(|(name, _)| *name == folded)
                    .map_or(&[][..], |(_, words)| words);
                // The problem's own name, then its synonyms.
                for word in std::iter::once(folded.as_str()).chain(synonyms.iter().copied()) {
                    patterns.push(format!(" {word} "));
                    phrases.push(Phrase::ProblemWord(problem_words.len() as u32));
                    problem_words.push((folded.clone(), word.to_string()));
                }
            }
        }
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&patterns)
            .expect("the phrases make an automaton");
        Classifier {
            automaton,
            phrases,
            names,
            problem_words,
            problems: catalog
                .services()
                .iter()
                .map(|s| s.problems.iter().map(|p| (fold(p), p.clone())).collect())
                .collect(),
        }
    }

    /// Classifies `text`.
    pub fn classify(&self, text: &str) -> Classification {
        let words = Words::of(text);
        let haystack = &words.folded;
        let mut service: Option<(usize, u32)> = None; // (word, name)
        let mut complaint: Option<(usize, &'static str, &'static str)> = None;
        let mut overruled: Option<&'static str> = None;
        let mut name_candidates: Vec<(usize, u32)> = Vec::new();
        let mut problem_hits: Vec<(usize, u32)> = Vec::new();
        // (first word after it, the negation) and (word, verb, an -ing form).
        let mut negations: Vec<(usize, &'static str)> = Vec::new();
        let mut verbs: Vec<(usize, &'static str, bool)> = Vec::new();
        for found in self.automaton.find_overlapping_iter(haystack.as_str()) {
            let word = words.index_at(found.start() + 1);
            match self.phrases[found.pattern().as_usize()] {
                Phrase::Name(name) => name_candidates.push((word, name)),
                Phrase::Complaint { language, phrase } => {
                    if complaint.is_none_or(|(at, _, _)| word < at) {
                        complaint = Some((word, phrase, language));
                    }
                }
                Phrase::Recovered(phrase) | Phrase::News(phrase) => {
                    overruled.get_or_insert(phrase);
                }
                Phrase::ProblemWord(index) => problem_hits.push((word, index)),
                Phrase::Negation(negation, words) => negations.push((word + words, negation)),
                Phrase::UseVerb(verb, ing) => verbs.push((word, verb, ing)),
            }
        }
        // No phrase of trouble: perhaps the general pattern, a negation then a verb of
        // use, told as `cant … load`.
        let mut pattern: Option<String> = None;
        if complaint.is_none() {
            let eager = |word: usize| words.word(word).is_some_and(|w| EAGER.contains(&w));
            let found = negations
                .iter()
                .filter(|&&(after, _)| !eager(after))
                .find_map(|&(after, negation)| {
                    let gap = if negation == "not" { 1 } else { PATTERN_GAP };
                    verbs
                        .iter()
                        .find(|&&(word, _, ing)| {
                            (after..=after + gap).contains(&word) && (ing || negation != "not")
                        })
                        .map(|&(_, verb, _)| (after - 1, negation, verb))
                });
            if let Some((word, negation, verb)) = found {
                complaint = Some((word, "", "en"));
                pattern = Some(format!("{negation} … {verb}"));
            }
        }
        for &(word, name) in &name_candidates {
            let (_, _, common) = &self.names[name as usize];
            let looks_like_a_name = !common
                || words.capitalised_or_tagged(word)
                || complaint.is_some_and(|(at, _, _)| at > word && at <= word + 3);
            if looks_like_a_name && service.is_none_or(|(at, _)| word < at) {
                service = Some((word, name));
            }
        }
        let mut rules = Vec::new();
        let service_id = service.map(|(_, name)| {
            let (written, id, _) = &self.names[name as usize];
            rules.push(format!("service: name {written:?}"));
            *id
        });
        let complaint = match (complaint, overruled) {
            (Some(_), Some(phrase)) => {
                rules.push(format!("not a complaint: phrase {phrase:?} overrules"));
                false
            }
            (Some((_, phrase, language)), None) => {
                match &pattern {
                    Some(pattern) => {
                        rules.push(format!("complaint: pattern {pattern:?} ({language})"))
                    }
                    None => rules.push(format!("complaint: phrase {phrase:?} ({language})")),
                }
                true
            }
            (None, _) => {
                rules.push("not a complaint: no phrase of trouble".into());
                false
            }
        };
        let problem = service_id.map(|id| {
            let folded = &self.problems[id.0 as usize];
            problem_hits.sort_unstable();
            let named = problem_hits.iter().find_map(|&(_, index)| {
                let (problem, word) = &self.problem_words[index as usize];
                let id = folded.iter().position(|(p, _)| p == problem)?;
                Some((ProblemId(id as u16), word.as_str(), &folded[id].1))
            });
            match named {
                Some((id, word, name)) => {
                    rules.push(format!("problem: word {word:?} for {name}"));
                    id
                }
                None => {
                    rules.push("problem: other (no word names one)".into());
                    ProblemId((folded.len() - 1) as u16)
                }
            }
        });
        Classification {
            service: service_id,
            complaint,
            problem,
            rules,
        }
    }
}

/// A post's words: the folded text (each word between single spaces, a space at both
/// ends) and, per word, where it starts there and how it was written.
struct Words {
    folded: String,
    /// Start of each word in `folded`.
    starts: Vec<usize>,
    /// Whether each word began with a capital or followed `#` or `@`.
    marked: Vec<bool>,
}

impl Words {
    fn of(text: &str) -> Words {
        let ascii;
        let text = if text.is_ascii() {
            text
        } else {
            ascii = deunicode::deunicode(text);
            &ascii
        };
        let mut words = Words {
            folded: String::with_capacity(text.len() + 2),
            starts: Vec::new(),
            marked: Vec::new(),
        };
        words.folded.push(' ');
        let mut previous = ' ';
        let mut in_word = false;
        for ch in text.chars() {
            if ch.is_ascii_alphanumeric() {
                if !in_word {
                    words.starts.push(words.folded.len());
                    words
                        .marked
                        .push(ch.is_ascii_uppercase() || previous == '#' || previous == '@');
                    in_word = true;
                }
                words.folded.push(ch.to_ascii_lowercase());
            } else if in_word && ch != '\'' && ch != '’' {
                // Apostrophes vanish ("can't" is "cant"), as in `fold`.
                words.folded.push(' ');
                in_word = false;
            }
            previous = ch;
        }
        if in_word {
            words.folded.push(' ');
        }
        words
    }

    /// Word number `word`, folded.
    fn word(&self, word: usize) -> Option<&str> {
        let start = *self.starts.get(word)?;
        let end = self.folded[start..]
            .find(' ')
            .map_or(self.folded.len(), |e| start + e);
        Some(&self.folded[start..end])
    }

    /// The word that starts at byte `at` of the folded text.
    fn index_at(&self, at: usize) -> usize {
        self.starts.partition_point(|&start| start < at)
    }

    fn capitalised_or_tagged(&self, word: usize) -> bool {
        self.marked.get(word).copied().unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(text: &str) -> (Option<String>, bool, Option<String>) {
        let catalog = Catalog::demo();
        let classifier = Classifier::new(&catalog);
        let found = classifier.classify(text);
        let service = found.service.map(|id| catalog.service(id));
        (
            service.map(|s| s.slug.clone()),
            found.complaint,
            found
                .problem
                .zip(service)
                .map(|(p, s)| s.problems[p.0 as usize].clone()),
        )
    }

    #[test]
    fn a_complaint_names_its_service_and_problem() {
        assert_eq!(
            classify("Outlook can't send anything, 451 4.3.2 temporary server error"),
            (Some("microsoft-365".into()), true, Some("email".into()))
        );
        assert_eq!(
            classify("is slack down for anyone else?"),
            (Some("slack".into()), true, Some("other".into()))
        );
    }

    #[test]
    fn common_words_are_names_only_when_they_look_like_one() {
        assert_eq!(classify("our teams are meeting at noon").0, None);
        assert_eq!(
            classify("Teams is down again").0.as_deref(),
            Some("microsoft-365")
        );
        assert_eq!(
            classify("teams not working").0.as_deref(),
            Some("microsoft-365")
        );
        assert_eq!(classify("letting off steam after work").0, None);
    }

    #[test]
    fn download_is_not_down_and_recovery_or_news_is_no_complaint() {
        assert!(!classify("Steam download finished, great game").1);
        assert!(!classify("GitHub is back up, thanks for the quick fix").1);
        assert!(!classify("Netflix shares down 4% after earnings").1);
    }

    #[test]
    fn other_languages_complain_too() {
        assert!(classify("WhatsApp no funciona desde la mañana").1);
        assert!(classify("Netflix ne marche plus chez moi").1);
        assert!(classify("Discord geht nicht").1);
        assert!(classify("o Instagram caiu de novo").1);
    }

    #[test]
    fn a_negated_verb_of_use_is_a_complaint_without_listing_every_phrase() {
        let catalog = Catalog::demo();
        let classifier = Classifier::new(&catalog);
        let found = classifier.classify("GitHub won't even load for me");
        assert!(found.complaint);
        assert_eq!(found.rules[1], "complaint: pattern \"wont … load\" (en)");
        assert!(classify("Dropbox? no, Outlook is not syncing").1);
        assert!(classify("couldn't refresh my Instagram feed").1);
        assert!(
            !classify("I'm not posting on Instagram today").1,
            "a bare not needs an -ing verb of trouble"
        );
        assert!(
            !classify("can't wait to stream the finale on Netflix").1,
            "too many words between"
        );
        assert!(!classify("Slack won't load? it was back up in a minute").1);
    }

    #[test]
    fn every_decision_names_its_rule() {
        let catalog = Catalog::demo();
        let found = Classifier::new(&catalog).classify("Gmail not working, can't log in");
        assert_eq!(
            found.rules,
            [
                "service: name \"Gmail\"",
                "complaint: phrase \"not working\" (en)",
                "problem: word \"log in\" for login",
            ]
        );
    }
}
