//! A word-level diff of two answers for `kt events show`: the longest common subsequence
//! of their words, rendered inline with `[-removed-]` and `{+added+}` markers (coloured
//! red and green on a terminal). Line breaks are kept as tokens, so paragraphs survive.

/// One step of a word diff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op<'a> {
    /// In both answers.
    Same(&'a str),
    /// Only in the first (primary) answer.
    Removed(&'a str),
    /// Only in the second (shadow) answer.
    Added(&'a str),
}

/// Largest LCS table (cells) after trimming the common start and end: 4 Mi cells is
/// 16 MiB and a few milliseconds; answers beyond that (thousands of differing words on
/// both sides) get no diff rather than a slow one.
const MAX_CELLS: usize = 4 << 20;

/// The words and line breaks of `s`.
fn tokens(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            out.push("\n");
        }
        out.extend(line.split_whitespace());
    }
    out
}

/// The word diff turning `a` into `b`, or `Err((words in a, words in b))` when the
/// differing middle is too large to diff.
pub fn diff_words<'a>(a: &'a str, b: &'a str) -> Result<Vec<Op<'a>>, (usize, usize)> {
    let (a, b) = (tokens(a), tokens(b));
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (mid_a, mid_b) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let (n, m) = (mid_a.len(), mid_b.len());
    if (n + 1).saturating_mul(m + 1) > MAX_CELLS {
        return Err((a.len(), b.len()));
    }
    // lcs[i * (m + 1) + j]: length of the LCS of mid_a[i..] and mid_b[j..].
    let w = m + 1;
    let mut lcs = vec![0u32; (n + 1) * w];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i * w + j] = if mid_a[i] == mid_b[j] {
                lcs[(i + 1) * w + j + 1] + 1
            } else {
                lcs[(i + 1) * w + j].max(lcs[i * w + j + 1])
            };
        }
    }
    let mut ops: Vec<Op<'a>> = a[..prefix].iter().map(|t| Op::Same(t)).collect();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && mid_a[i] == mid_b[j] {
            ops.push(Op::Same(mid_a[i]));
            i += 1;
            j += 1;
        } else if j == m || (i < n && lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) {
            ops.push(Op::Removed(mid_a[i]));
            i += 1;
        } else {
            ops.push(Op::Added(mid_b[j]));
            j += 1;
        }
    }
    ops.extend(a[a.len() - suffix..].iter().map(|t| Op::Same(t)));
    Ok(ops)
}

/// How many words the diff removes and adds (line breaks not counted).
pub fn counts(ops: &[Op<'_>]) -> (usize, usize) {
    let word = |t: &&str| *t != "\n";
    let removed = ops
        .iter()
        .filter(|o| matches!(o, Op::Removed(t) if word(t)))
        .count();
    let added = ops
        .iter()
        .filter(|o| matches!(o, Op::Added(t) if word(t)))
        .count();
    (removed, added)
}

/// The diff as text: runs of removed words as `[-…-]`, added as `{+…+}`, wrapped in
/// red/green ANSI colours when `color`.
pub fn render(ops: &[Op<'_>], color: bool) -> String {
    let mut out = String::new();
    let mut k = 0;
    while k < ops.len() {
        let kind = std::mem::discriminant(&ops[k]);
        let run_end = ops[k..]
            .iter()
            .position(|o| std::mem::discriminant(o) != kind)
            .map_or(ops.len(), |p| k + p);
        let words: Vec<&str> = ops[k..run_end]
            .iter()
            .map(|o| match o {
                Op::Same(t) | Op::Removed(t) | Op::Added(t) => *t,
            })
            .collect();
        let text = join(&words);
        let piece = match (ops[k], color) {
            (Op::Same(_), _) => text,
            (Op::Removed(_), false) => format!("[-{text}-]"),
            (Op::Added(_), false) => format!("{{+{text}+}}"),
            (Op::Removed(_), true) => format!("\x1b[31m[-{text}-]\x1b[0m"),
            (Op::Added(_), true) => format!("\x1b[32m{{+{text}+}}\x1b[0m"),
        };
        if !out.is_empty() && !out.ends_with('\n') && !text_starts_line(&words) {
            out.push(' ');
        }
        out.push_str(&piece);
        k = run_end;
    }
    out
}

fn text_starts_line(words: &[&str]) -> bool {
    words.first() == Some(&"\n")
}

/// Words joined by spaces, line-break tokens as line breaks.
fn join(words: &[&str]) -> String {
    let mut s = String::new();
    for w in words {
        if *w == "\n" {
            s.push('\n');
        } else {
            if !s.is_empty() && !s.ends_with('\n') {
                s.push(' ');
            }
            s.push_str(w);
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves changed words are marked in place and shared words are kept once.
    #[test]
    fn marks_changed_words() {
        let ops = diff_words(
            "The quick brown fox jumps over the lazy dog",
            "The quick red fox leaps over the lazy dog today",
        )
        .unwrap();
        assert_eq!(
            render(&ops, false),
            "The quick [-brown-] {+red+} fox [-jumps-] {+leaps+} over the lazy dog {+today+}"
        );
        assert_eq!(counts(&ops), (2, 3));
    }

    // Proves identical texts produce no markers and line breaks survive.
    #[test]
    fn keeps_lines_and_equal_text() {
        let ops = diff_words("a b\nc d", "a b\nc d").unwrap();
        assert_eq!(render(&ops, false), "a b\nc d");
        let ops = diff_words("a\nb", "a\nx").unwrap();
        assert_eq!(render(&ops, false), "a\n[-b-] {+x+}");
    }

    // Proves colours are only used when asked for, and empty sides work.
    #[test]
    fn colours_and_empty_sides() {
        let ops = diff_words("", "new words").unwrap();
        assert_eq!(render(&ops, false), "{+new words+}");
        assert_eq!(render(&ops, true), "\x1b[32m{+new words+}\x1b[0m");
        let ops = diff_words("old", "").unwrap();
        assert_eq!(render(&ops, false), "[-old-]");
    }

    // Proves an oversized differing middle is refused rather than diffed slowly.
    #[test]
    fn refuses_huge_diffs() {
        let a = (0..3000)
            .map(|i| format!("a{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        let b = (0..3000)
            .map(|i| format!("b{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(diff_words(&a, &b), Err((3000, 3000)));
    }
}
