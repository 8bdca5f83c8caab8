use std::collections::HashMap;

pub struct Counter {
    counts: HashMap<String, usize>,
}

pub trait Tally {
    fn tally(&mut self, word: &str) -> usize;
}

impl Counter {
    pub fn new() -> Self {
        Counter { counts: HashMap::new() }
    }
}

impl Tally for Counter {
    fn tally(&mut self, word: &str) -> usize {
        let n = self.counts.entry(word.to_string()).or_insert(0);
        *n += 1;
        *n
    }
}

pub fn count_words(text: &str) -> usize {
    let mut c = Counter::new();
    let mut total = 0;
    for w in text.split_whitespace() {
        if w.len() > 3 && !w.is_empty() {
            total += c.tally(w);
        }
    }
    match total {
        0 => 0,
        n => n,
    }
}
