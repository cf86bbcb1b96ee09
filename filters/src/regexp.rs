//! Filter regexps: Koncorde's RE2 dialect, compiled with the `regex` crate.
//!
//! Koncorde compiles the patterns of the `regexp` keyword with Google RE2,
//! through the `re2` npm module (spec 4.6). Rust's `regex` crate descends
//! from the same design (RE2/Go syntax, linear-time automata), but the two
//! dialects differ in ways that change answers, so a pattern is never handed
//! to the `regex` crate as written. It goes through two steps:
//!
//! 1. **The npm module's JavaScript rewrite**, reproduced exactly: `\uXXXX`
//!    (1 to 4 hex digits) and `\u{…}` become `\x{…}`; `\cA`…`\cZ` become
//!    control characters (other `\c` forms are left for RE2 to reject);
//!    long Unicode class names (`\p{Letter}`, `\p{Uppercase_Letter}`) become
//!    RE2's short ones, and `\p{Script=Greek}` / `\p{sc=Greek}` become
//!    `\p{Greek}`; `(?<name>` becomes `(?P<name>`; `/` becomes `\/` (which
//!    is harmless, except inside `\Q…\E` where it adds a backslash).
//!    Nothing else is translated: `\p{General_Category=L}`, `\p{gc=L}`,
//!    `\p{scx=…}` and lower-case names reach RE2 as written, and RE2 rejects
//!    them, so they are rejected here too.
//! 2. **An RE2 parser that emits normalized Rust syntax.** It follows RE2's
//!    parser (same escapes, same class syntax, same repetition limits, same
//!    rejections, with RE2's error texts) and writes a pattern in which every
//!    construct has one meaning in both engines: literals are escaped,
//!    character classes are rebuilt from code point ranges, and everything
//!    whose meaning differs is rewritten. The differences that matter:
//!
//!    * RE2's Perl classes are ASCII (`\d` is `[0-9]`, `\w` is
//!      `[0-9A-Za-z_]`, `\s` is `[\t\n\f\r ]`, without `\v`) and so are its
//!      word boundaries; Rust's are Unicode. They become explicit ranges
//!      (nested negated classes inside brackets) and `(?-u:\b)` /
//!      `(?-u:\B)`. The ranges stay in Unicode mode, so under `i` they are
//!      case-folded like RE2 does: `(?i)\w` also matches `K` (U+212A KELVIN
//!      SIGN) and `ſ` (U+017F), in both engines.
//!    * RE2 has no nested classes nor class set operations: in `[[]`,
//!      `[a&&b]` or `[a~~b]`, `[`, `&` and `~` are ordinary characters, which
//!      Rust would read as syntax. Classes are therefore re-emitted as
//!      `\x{…}` ranges.
//!    * `\<`, `\>` are literal characters in RE2 and word boundaries in Rust;
//!      `\Q…\E` exists only in RE2; `\p{^Greek}` is RE2's negation syntax;
//!      RE2's `\pC` excludes unassigned code points (Rust's includes them);
//!      `(?ii)`, `(?)` and repetitions separated from their operand by a
//!      flag group (`a*(?i)*`) are accepted by RE2 only. All are rewritten.
//!    * Unicode class names are looked up exactly (case-sensitive) among
//!      RE2's general categories and scripts, then emitted as `\p{gc=…}` /
//!      `\p{sc=…}`, so Rust's looser matching (`\p{greek}`, `\p{Grek}`,
//!      binary properties) never accepts what RE2 rejects.
//!    * A surrogate code point (`\uD83D`, `\x{DC00}`) is a valid RE2
//!      literal that can never match UTF-8 text; Rust rejects it, so it
//!      becomes an empty class (in ranges, the surrogate part is dropped).
//!    * Named groups become plain groups: names are validated with RE2's
//!      rules (letters, marks, digits and connector punctuation, no
//!      duplicates), which differ from Rust's, and are never used.
//!
//! Flags. JavaScript-style flags are read the way the npm module reads
//! them: `i`, `m` and `s` change matching, every other character (`g`, `y`,
//! `u`, `d`, unknown letters, repeats) is ignored; `g` and `y` would make
//! matching stateful and Herald ignores them (spec 15, decision 5). The
//! canonical flag string is the sorted subset of `"ims"` that is present, and
//! the compiled source starts with the matching `(?ims)` prefix, so
//! [`Pattern::translated`] is self-contained and can be put in a
//! `RegexSet`. Without `s`, `.` excludes only `\n`, and with `m`, `^`/`$`
//! only know `\n`: this is RE2's behaviour and the `regex` crate's default
//! (CRLF mode stays off).
//!
//! Limits. Patterns come from users, so compiling one must neither exhaust
//! memory nor take long. RE2's own limits are reproduced (a counted
//! repetition is at most 1000, and so is the product of nested counted
//! repetitions: `(a{100}){100}` is rejected). On top of them: sources longer
//! than [`MAX_PATTERN_LEN`] are refused; the `regex` crate is bounded with
//! [`SIZE_LIMIT`] (size of the compiled program), [`DFA_SIZE_LIMIT`] (lazy DFA
//! cache, per search thread) and [`NEST_LIMIT`] (nesting of groups,
//! repetitions and classes in the translated pattern); and the case-folding
//! work of case-insensitive classes, which the `regex` crate does one code
//! point at a time, is budgeted (`[\0-\x{10FFFF}]` alone costs milliseconds
//! to fold). Exceeding a limit is a compile error, never a panic or an abort,
//! and compiling any pattern takes at most some tens of milliseconds. The
//! translation itself is iterative (no recursion), so deep nesting cannot
//! overflow the stack before the limits apply.
//!
//! Matching cost. Matching is linear in the haystack while the `regex`
//! crate's lazy DFA works, but patterns whose DFA states are large (a long
//! literal, `[ab]*a[ab]{999}`) make it give up and fall back to an automaton
//! whose cost is the size of the program times the length of the haystack.
//! Under [`SIZE_LIMIT`], a hostile pattern against a hostile 100 KB string
//! can cost seconds per test (RE2 has the same behaviour); the limits above
//! bound it, they do not remove it. Callers that test large strings against
//! untrusted patterns may want a lower [`SIZE_LIMIT`] or a cap on the length
//! of the strings they test.
//!
//! Errors are reported as Koncorde does, `cannot parse regexp expression
//! "/<pattern>/<flags>" (<engine message>)`, on one line. Errors found by the
//! RE2 parser use RE2's wording (`invalid perl operator: (?=`); errors from
//! the `regex` crate (limits) are condensed to their last line.
//!
//! Known differences with RE2 (all far from ordinary filters):
//!
//! * Unicode tables are the `regex` crate's (Unicode 16), not the ones
//!   bundled with the npm module's RE2; scripts and categories of recently
//!   assigned characters may differ.
//! * `\C` (one byte, even inside a multi-byte character) is approximated by
//!   "any character".
//! * The `regex` crate never reports an empty match inside a multi-byte
//!   character, so an ASCII `\B` that only holds between two bytes of the
//!   same character does not match (`\B` alone on `"aéb"`: RE2 matches at
//!   byte 2, this engine does not).
//! * Resource limits are not RE2's (RE2 allows programs of 8 MiB and nests
//!   up to 1000 levels): a few very large patterns RE2 accepts are rejected.
//! * Error texts may differ from RE2's for limit errors and for some
//!   malformed patterns (the acceptance is the same, the wording may not be).

use std::cmp::Ordering;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

/// Maximum size, in bytes, of a compiled pattern (`RegexBuilder::size_limit`).
///
/// Ordinary filter patterns compile to a few KiB; a pattern above this is
/// rejected with `pattern too large - compile failed`. It admits literals of
/// some 30,000 characters or alternations of some 2,000 words. A `RegexSet`
/// built from several translated patterns needs a limit scaled to the set.
pub const SIZE_LIMIT: usize = 1 << 20;

/// Maximum size, in bytes, of the lazy DFA cache of one pattern, per thread
/// searching with it (`RegexBuilder::dfa_size_limit`). Reaching it never
/// fails a search; the engine clears the cache or falls back to a slower
/// automaton.
pub const DFA_SIZE_LIMIT: usize = 1 << 20;

/// Maximum nesting depth of the translated pattern
/// (`RegexBuilder::nest_limit`): groups, repetitions and classes each count
/// one level.
pub const NEST_LIMIT: u32 = 250;

/// Maximum length, in bytes, of a pattern's source. Longer patterns would
/// exceed [`SIZE_LIMIT`] anyway; refusing them first bounds the work.
pub const MAX_PATTERN_LEN: usize = 32 * 1024;

/// RE2's limit on a counted repetition and on the product of nested ones.
const MAX_REPEAT: u64 = 1000;

/// Budget of case-folding work, in code points the `regex` crate visits
/// while case-folding the classes of a case-insensitive pattern (some 16 ns
/// each). It keeps the compile time of a hostile pattern around 50 ms: it
/// allows some 200 classes as wide as `[\0-\x{10FFFF}]`, or 500 Unicode
/// classes like `\pL`, while ordinary classes (`[a-z]`, `\w`, `[^"]`) cost
/// next to nothing.
const FOLD_BUDGET: u64 = 3_000_000;

/// A compiled filter regexp.
///
/// Two patterns are equal, hash and sort alike when their source and
/// canonical flags are equal; the compiled program is not compared.
#[derive(Clone, Debug)]
pub struct Pattern {
    pattern: String,
    flags: String,
    translated: String,
    matcher: Matcher,
    /// The grams one of which every matching string contains (`crate::grams`), if any.
    grams: Option<Box<[u64]>>,
    /// Estimated heap held by the compiled matcher, in bytes (see [`Pattern::memory`]).
    memory: usize,
}

impl Pattern {
    /// Compiles `pattern` with JavaScript-style `flags`.
    ///
    /// On failure, the error is the whole Koncorde-style message:
    /// `cannot parse regexp expression "/<pattern>/<flags>" (<engine
    /// message>)`, where `<flags>` is the flags as written, or `undefined`
    /// when absent.
    pub fn compile(pattern: &str, flags: Option<&str>) -> Result<Pattern, String> {
        let canonical = canonical_flags(flags.unwrap_or(""));
        let fail = |msg: String| {
            format!(
                "cannot parse regexp expression \"/{}/{}\" ({})",
                pattern,
                flags.unwrap_or("undefined"),
                msg
            )
        };
        if pattern.len() > MAX_PATTERN_LEN {
            return Err(fail(format!(
                "pattern too large - compile failed (source longer than {MAX_PATTERN_LEN} bytes)"
            )));
        }
        let body = Re2Parser::new(&js_rewrite(pattern), canonical.contains('i'))
            .run()
            .map_err(fail)?;
        let mut translated = String::with_capacity(body.len() + 6);
        if !canonical.is_empty() {
            translated.push_str("(?");
            translated.push_str(&canonical);
            translated.push(')');
        }
        translated.push_str(&body);
        // The syntax tree the `regex` crate would build (same parser, same settings).
        let hir = regex_syntax::ParserBuilder::new()
            .nest_limit(NEST_LIMIT)
            .build()
            .parse(&translated)
            .ok();
        let (matcher, memory) = match hir.as_ref().and_then(compact_dfa) {
            Some(dfa) => {
                let memory = dfa.memory_usage();
                (Matcher::Dfa(Box::new(dfa), OnceLock::new()), memory)
            }
            // Also where the pattern is invalid: the `regex` crate's error is the message.
            None => {
                let regex = build_regex(&translated).map_err(|e| fail(condense(&e)))?;
                // The crate keeps a forward and a reverse automaton of about this size.
                let memory = hir
                    .as_ref()
                    .map_or(SIZE_LIMIT, nfa_memory)
                    .saturating_mul(2);
                (Matcher::Regex(regex), memory)
            }
        };
        let grams = hir.as_ref().and_then(crate::grams::required_grams);
        Ok(Pattern {
            pattern: pattern.to_string(),
            flags: canonical,
            translated,
            matcher,
            grams,
            memory: memory.saturating_add(translated_len_overhead(pattern)),
        })
    }

    /// The pattern as the user wrote it.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// The canonical flags: the sorted subset of `"ims"` that was given.
    pub fn flags(&self) -> &str {
        &self.flags
    }

    /// Whether the pattern matches anywhere in `haystack` (unanchored search,
    /// JavaScript's `test` without `g`/`y`).
    pub fn is_match(&self, haystack: &str) -> bool {
        match &self.matcher {
            Matcher::Dfa(dfa, fallback) => {
                use regex_automata::dfa::Automaton;
                let input = regex_automata::Input::new(haystack).earliest(true);
                match dfa.try_search_fwd(&input) {
                    Ok(found) => found.is_some(),
                    // Unreachable (no quit bytes, no anchored-only start), but never wrong:
                    // the `regex` crate answers (the source is valid: a DFA was built from
                    // it with the crate's parser and a lower size limit).
                    Err(_) => fallback
                        .get_or_init(|| build_regex(&self.translated).ok())
                        .as_ref()
                        .is_some_and(|regex| regex.is_match(haystack)),
                }
            }
            Matcher::Regex(regex) => regex.is_match(haystack),
        }
    }

    /// Estimated heap held by the compiled pattern, in bytes: its automata (a compact DFA, or
    /// the `regex` crate's forward and reverse NFAs, estimated by building one). The crate's
    /// per-thread search caches come on top, each bounded by [`DFA_SIZE_LIMIT`]. Filters
    /// budget their patterns with it (`Options::max_regexp_bytes`).
    pub fn memory(&self) -> usize {
        self.memory
    }

    /// Whether the pattern is matched by a compact DFA (see [`Matcher`]), for tests.
    #[cfg(test)]
    pub(crate) fn is_compact(&self) -> bool {
        matches!(self.matcher, Matcher::Dfa(..))
    }

    /// The grams (windows of 3 to 7 bytes, ASCII-case-folded, as keys sorted) one of which
    /// every string the pattern matches contains; `None` when the pattern has no such
    /// literals. The matcher files the pattern under them instead of running it on every
    /// document.
    pub fn grams(&self) -> Option<&[u64]> {
        self.grams.as_deref()
    }

    /// The `regex` crate source that was compiled, flags included as a
    /// `(?ims)` prefix. Building a `RegexSet` from several of these (with the
    /// same limits, scaled to the set) gives the same answers as the
    /// individual patterns.
    pub fn translated(&self) -> &str {
        &self.translated
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Pattern) -> bool {
        self.pattern == other.pattern && self.flags == other.flags
    }
}

impl Eq for Pattern {}

impl Hash for Pattern {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.pattern.hash(state);
        self.flags.hash(state);
    }
}

impl PartialOrd for Pattern {
    fn partial_cmp(&self, other: &Pattern) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Pattern {
    fn cmp(&self, other: &Pattern) -> Ordering {
        (&self.pattern, &self.flags).cmp(&(&other.pattern, &other.flags))
    }
}

/// How a pattern is matched.
///
/// The `regex` crate's `Regex` is built for any pattern and any search (captures, several
/// engines, a prefilter, a lazy DFA cache per thread): 9 to 20 KB for a one-word pattern.
/// Filters only ask "does it match anywhere", and a subscription server holds tens of
/// thousands of patterns, each run on few documents, so memory decides: the patterns spend
/// their time in cache misses, not in automata. Most subscription patterns have a small
/// dense DFA (a word, case-insensitive, with word boundaries: ≈ 2 KB), which answers with
/// one table lookup per byte and no per-thread state. Patterns whose DFA would be large keep
/// the `regex` crate, and so do those that can match the empty string: they match nearly
/// every text anyway, and the crate's rule for empty matches (never inside a multi-byte
/// character) stays the reference rather than something a DFA is trusted to reproduce.
#[derive(Clone, Debug)]
enum Matcher {
    /// An unanchored forward DFA, and the `regex` fallback built if a search ever errs.
    Dfa(Box<DenseDfa>, OnceLock<Option<regex::Regex>>),
    Regex(regex::Regex),
}

type DenseDfa = regex_automata::dfa::dense::DFA<Vec<u32>>;

/// Largest compact DFA; above it, the `regex` crate is as small.
const COMPACT_DFA_LIMIT: usize = 32 * 1024;
/// Working memory for building one.
const COMPACT_DFA_BUILD_LIMIT: usize = 1 << 20;

/// The `regex` crate's compilation of a translated source, with the filter limits.
fn build_regex(translated: &str) -> Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(translated)
        .size_limit(SIZE_LIMIT)
        .dfa_size_limit(DFA_SIZE_LIMIT)
        .nest_limit(NEST_LIMIT)
        .crlf(false)
        .build()
}

/// A compact DFA for the pattern, or `None` when it would not be compact or could differ
/// from the `regex` crate (see [`Matcher`]). Acceptance stays the `regex` crate's: a DFA is
/// only built from an NFA far below [`SIZE_LIMIT`], which the crate's own NFAs (with
/// capture states, and the reverse one) stay under too; larger ones go to the crate, which
/// accepts or rejects them.
fn compact_dfa(hir: &regex_syntax::hir::Hir) -> Option<DenseDfa> {
    use regex_automata::dfa::{dense, StartKind};
    use regex_automata::nfa::thompson;
    if hir.properties().minimum_len().is_none_or(|len| len == 0) {
        return None;
    }
    let nfa = thompson::Compiler::new()
        .configure(
            thompson::Config::new()
                .which_captures(thompson::WhichCaptures::None)
                .nfa_size_limit(Some(SIZE_LIMIT / 4)),
        )
        .build_from_hir(hir)
        .ok()?;
    dense::Builder::new()
        .configure(
            dense::Config::new()
                .start_kind(StartKind::Unanchored)
                .minimize(false)
                .dfa_size_limit(Some(COMPACT_DFA_LIMIT))
                .determinize_size_limit(Some(COMPACT_DFA_BUILD_LIMIT)),
        )
        .build_from_nfa(&nfa)
        .ok()
}

/// Heap of a Thompson NFA of the pattern (no capture states), or [`SIZE_LIMIT`] when it
/// cannot be built under that limit.
fn nfa_memory(hir: &regex_syntax::hir::Hir) -> usize {
    use regex_automata::nfa::thompson;
    thompson::Compiler::new()
        .configure(
            thompson::Config::new()
                .which_captures(thompson::WhichCaptures::None)
                .nfa_size_limit(Some(SIZE_LIMIT)),
        )
        .build_from_hir(hir)
        .map_or(SIZE_LIMIT, |nfa| nfa.memory_usage())
}

/// The pattern's own strings (source, translation).
fn translated_len_overhead(pattern: &str) -> usize {
    2 * pattern.len() + 64
}

/// The sorted, deduplicated subset of `"ims"` present in `flags`.
fn canonical_flags(flags: &str) -> String {
    ['i', 'm', 's']
        .into_iter()
        .filter(|f| flags.contains(*f))
        .collect()
}

/// One line out of a `regex` crate error.
fn condense(err: &regex::Error) -> String {
    match err {
        regex::Error::CompiledTooBig(limit) => {
            format!("pattern too large - compile failed (compiled size above {limit} bytes)")
        }
        regex::Error::Syntax(text) => {
            // "regex parse error:\n    <pattern>\n    ^^^\nerror: <what>"
            match text.lines().rev().find_map(|l| l.strip_prefix("error: ")) {
                Some(what) => what.trim().to_string(),
                None => one_line(text),
            }
        }
        other => one_line(&other.to_string()),
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

// ---------------------------------------------------------------------------
// Step 1: the npm module's JavaScript-to-RE2 rewrite.

/// Long general category names the npm module shortens (its table, with
/// RE2's opinion: `LC` and `Cn` do not exist in RE2 and are rejected later).
const LONG_CATEGORY_NAMES: &[(&str, &str)] = &[
    ("Uppercase_Letter", "Lu"),
    ("Lowercase_Letter", "Ll"),
    ("Titlecase_Letter", "Lt"),
    ("Cased_Letter", "LC"),
    ("Modifier_Letter", "Lm"),
    ("Other_Letter", "Lo"),
    ("Letter", "L"),
    ("Nonspacing_Mark", "Mn"),
    ("Spacing_Mark", "Mc"),
    ("Enclosing_Mark", "Me"),
    ("Mark", "M"),
    ("Decimal_Number", "Nd"),
    ("Letter_Number", "Nl"),
    ("Other_Number", "No"),
    ("Number", "N"),
    ("Connector_Punctuation", "Pc"),
    ("Dash_Punctuation", "Pd"),
    ("Open_Punctuation", "Ps"),
    ("Close_Punctuation", "Pe"),
    ("Initial_Punctuation", "Pi"),
    ("Final_Punctuation", "Pf"),
    ("Other_Punctuation", "Po"),
    ("Punctuation", "P"),
    ("Math_Symbol", "Sm"),
    ("Currency_Symbol", "Sc"),
    ("Modifier_Symbol", "Sk"),
    ("Other_Symbol", "So"),
    ("Symbol", "S"),
    ("Space_Separator", "Zs"),
    ("Line_Separator", "Zl"),
    ("Paragraph_Separator", "Zp"),
    ("Separator", "Z"),
    ("Control", "Cc"),
    ("Format", "Cf"),
    ("Surrogate", "Cs"),
    ("Private_Use", "Co"),
    ("Unassigned", "Cn"),
    ("Other", "C"),
];

/// Rewrites JavaScript regexp syntax into RE2 syntax, exactly as the `re2`
/// npm module does before handing a pattern to RE2. The rewrite is textual
/// and context-free (it applies inside brackets too).
fn js_rewrite(src: &str) -> String {
    let chars: Vec<char> = src.chars().collect();
    let n = chars.len();
    let at = |i: usize| chars.get(i).copied();
    let mut out = String::with_capacity(src.len() + 8);
    let mut i = 0;
    while let Some(c) = at(i) {
        if c == '\\' {
            if let Some(d) = at(i + 1) {
                match d {
                    '\\' => {
                        out.push_str("\\\\");
                        i += 2;
                    }
                    'c' => match at(i + 2) {
                        Some(x) if x.is_ascii_uppercase() => {
                            out.push_str(&format!("\\x{:02X}", u32::from(x) - 0x40));
                            i += 3;
                        }
                        _ => {
                            out.push_str("\\c");
                            i += 2;
                        }
                    },
                    'u' => match at(i + 2) {
                        Some(x) if x.is_ascii_hexdigit() => {
                            // One to four hex digits.
                            out.push_str("\\x{");
                            out.push(x);
                            i += 3;
                            let mut more = 0;
                            while more < 3 {
                                match at(i) {
                                    Some(h) if h.is_ascii_hexdigit() => {
                                        out.push(h);
                                        i += 1;
                                        more += 1;
                                    }
                                    _ => break,
                                }
                            }
                            out.push('}');
                        }
                        Some('{') => {
                            out.push_str("\\x");
                            i += 2;
                        }
                        _ => {
                            out.push_str("\\u");
                            i += 2;
                        }
                    },
                    'p' | 'P' => {
                        let close = if at(i + 2) == Some('{') {
                            (i + 3..n).find(|&j| chars[j] == '}')
                        } else {
                            None
                        };
                        out.push('\\');
                        out.push(d);
                        match close {
                            Some(j) => {
                                let raw: String = chars[i + 3..j].iter().collect();
                                let name = rename_unicode_class(&raw);
                                if name.len() == 1 {
                                    out.push_str(name);
                                } else {
                                    out.push('{');
                                    out.push_str(name);
                                    out.push('}');
                                }
                                i = j + 1;
                            }
                            None => i += 2,
                        }
                    }
                    _ => {
                        out.push('\\');
                        out.push(d);
                        i += 2;
                    }
                }
                continue;
            }
        } else if c == '/' {
            out.push_str("\\/");
            i += 1;
            continue;
        } else if c == '(' && at(i + 1) == Some('?') && at(i + 2) == Some('<') {
            match at(i + 3) {
                Some('=') | Some('!') => {}
                _ => {
                    out.push_str("(?P<");
                    i += 3;
                    continue;
                }
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

/// The npm module's renaming of a `\p{…}` name.
fn rename_unicode_class(name: &str) -> &str {
    if let Some(&(_, short)) = LONG_CATEGORY_NAMES.iter().find(|(long, _)| *long == name) {
        return short;
    }
    match name
        .strip_prefix("Script=")
        .or_else(|| name.strip_prefix("sc="))
    {
        Some(rest) if !rest.is_empty() => rest,
        _ => name,
    }
}

// ---------------------------------------------------------------------------
// Step 2: RE2's parser, writing Rust syntax.

/// RE2's error codes, with RE2's texts.
#[derive(Clone, Copy)]
enum Code {
    BadEscape,
    BadCharRange,
    MissingBracket,
    MissingParen,
    UnexpectedParen,
    TrailingBackslash,
    RepeatArgument,
    RepeatSize,
    RepeatOp,
    BadPerlOp,
    BadNamedCapture,
}

fn error(code: Code, arg: &str) -> String {
    let text = match code {
        Code::BadEscape => "invalid escape sequence",
        Code::BadCharRange => "invalid character class range",
        Code::MissingBracket => "missing ]",
        Code::MissingParen => "missing )",
        Code::UnexpectedParen => "unexpected )",
        Code::TrailingBackslash => "trailing \\",
        Code::RepeatArgument => "no argument for repetition operator",
        Code::RepeatSize => "invalid repetition size",
        Code::RepeatOp => "bad repetition operator",
        Code::BadPerlOp => "invalid perl operator",
        Code::BadNamedCapture => "invalid named capture group",
    };
    if arg.is_empty() {
        text.to_string()
    } else {
        format!("{text}: {arg}")
    }
}

/// A class matching nothing and one matching everything (the `regex` crate
/// accepts empty classes; they compile to a dead state).
const NEVER: &str = r"[^\x{0}-\x{10FFFF}]";
const ANY: &str = r"[\x{0}-\x{10FFFF}]";
const MAX_CHAR: u32 = 0x10FFFF;

/// RE2's Perl classes, as code point ranges.
const DIGIT: &[(u32, u32)] = &[(0x30, 0x39)];
const WORD: &[(u32, u32)] = &[(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)];
const SPACE: &[(u32, u32)] = &[(0x09, 0x0A), (0x0C, 0x0D), (0x20, 0x20)];

/// RE2's POSIX classes (`[[:alpha:]]`), ASCII only.
const POSIX: &[(&str, &[(u32, u32)])] = &[
    ("alnum", &[(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)]),
    ("alpha", &[(0x41, 0x5A), (0x61, 0x7A)]),
    ("ascii", &[(0x00, 0x7F)]),
    ("blank", &[(0x09, 0x09), (0x20, 0x20)]),
    ("cntrl", &[(0x00, 0x1F), (0x7F, 0x7F)]),
    ("digit", &[(0x30, 0x39)]),
    ("graph", &[(0x21, 0x7E)]),
    ("lower", &[(0x61, 0x7A)]),
    ("print", &[(0x20, 0x7E)]),
    (
        "punct",
        &[(0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)],
    ),
    ("space", &[(0x09, 0x0D), (0x20, 0x20)]),
    ("upper", &[(0x41, 0x5A)]),
    (
        "word",
        &[(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A), (0x5F, 0x5F)],
    ),
    ("xdigit", &[(0x30, 0x39), (0x41, 0x46), (0x61, 0x66)]),
];

/// RE2's general categories (no `LC`, no `Cn`: RE2 rejects them).
const CATEGORIES: &[&str] = &[
    "C", "Cc", "Cf", "Co", "Cs", "L", "Ll", "Lm", "Lo", "Lt", "Lu", "M", "Mc", "Me", "Mn", "N",
    "Nd", "Nl", "No", "P", "Pc", "Pd", "Pe", "Pf", "Pi", "Po", "Ps", "S", "Sc", "Sk", "Sm", "So",
    "Z", "Zl", "Zp", "Zs",
];

/// RE2's script names (Unicode `Script` property values, long names,
/// through Unicode 16).
const SCRIPTS: &[&str] = &[
    "Adlam",
    "Ahom",
    "Anatolian_Hieroglyphs",
    "Arabic",
    "Armenian",
    "Avestan",
    "Balinese",
    "Bamum",
    "Bassa_Vah",
    "Batak",
    "Bengali",
    "Bhaiksuki",
    "Bopomofo",
    "Brahmi",
    "Braille",
    "Buginese",
    "Buhid",
    "Canadian_Aboriginal",
    "Carian",
    "Caucasian_Albanian",
    "Chakma",
    "Cham",
    "Cherokee",
    "Chorasmian",
    "Common",
    "Coptic",
    "Cuneiform",
    "Cypriot",
    "Cypro_Minoan",
    "Cyrillic",
    "Deseret",
    "Devanagari",
    "Dives_Akuru",
    "Dogra",
    "Duployan",
    "Egyptian_Hieroglyphs",
    "Elbasan",
    "Elymaic",
    "Ethiopic",
    "Garay",
    "Georgian",
    "Glagolitic",
    "Gothic",
    "Grantha",
    "Greek",
    "Gujarati",
    "Gunjala_Gondi",
    "Gurmukhi",
    "Gurung_Khema",
    "Han",
    "Hangul",
    "Hanifi_Rohingya",
    "Hanunoo",
    "Hatran",
    "Hebrew",
    "Hiragana",
    "Imperial_Aramaic",
    "Inherited",
    "Inscriptional_Pahlavi",
    "Inscriptional_Parthian",
    "Javanese",
    "Kaithi",
    "Kannada",
    "Katakana",
    "Kawi",
    "Kayah_Li",
    "Kharoshthi",
    "Khitan_Small_Script",
    "Khmer",
    "Khojki",
    "Khudawadi",
    "Kirat_Rai",
    "Lao",
    "Latin",
    "Lepcha",
    "Limbu",
    "Linear_A",
    "Linear_B",
    "Lisu",
    "Lycian",
    "Lydian",
    "Mahajani",
    "Makasar",
    "Malayalam",
    "Mandaic",
    "Manichaean",
    "Marchen",
    "Masaram_Gondi",
    "Medefaidrin",
    "Meetei_Mayek",
    "Mende_Kikakui",
    "Meroitic_Cursive",
    "Meroitic_Hieroglyphs",
    "Miao",
    "Modi",
    "Mongolian",
    "Mro",
    "Multani",
    "Myanmar",
    "Nabataean",
    "Nag_Mundari",
    "Nandinagari",
    "New_Tai_Lue",
    "Newa",
    "Nko",
    "Nushu",
    "Nyiakeng_Puachue_Hmong",
    "Ogham",
    "Ol_Chiki",
    "Ol_Onal",
    "Old_Hungarian",
    "Old_Italic",
    "Old_North_Arabian",
    "Old_Permic",
    "Old_Persian",
    "Old_Sogdian",
    "Old_South_Arabian",
    "Old_Turkic",
    "Old_Uyghur",
    "Oriya",
    "Osage",
    "Osmanya",
    "Pahawh_Hmong",
    "Palmyrene",
    "Pau_Cin_Hau",
    "Phags_Pa",
    "Phoenician",
    "Psalter_Pahlavi",
    "Rejang",
    "Runic",
    "Samaritan",
    "Saurashtra",
    "Sharada",
    "Shavian",
    "Siddham",
    "SignWriting",
    "Sinhala",
    "Sogdian",
    "Sora_Sompeng",
    "Soyombo",
    "Sundanese",
    "Sunuwar",
    "Syloti_Nagri",
    "Syriac",
    "Tagalog",
    "Tagbanwa",
    "Tai_Le",
    "Tai_Tham",
    "Tai_Viet",
    "Takri",
    "Tamil",
    "Tangsa",
    "Tangut",
    "Telugu",
    "Thaana",
    "Thai",
    "Tibetan",
    "Tifinagh",
    "Tirhuta",
    "Todhri",
    "Toto",
    "Tulu_Tigalari",
    "Ugaritic",
    "Vai",
    "Vithkuqi",
    "Wancho",
    "Warang_Citi",
    "Yezidi",
    "Yi",
    "Zanabazar_Square",
];

/// Blocks holding every character that has a simple case folding (Latin,
/// Greek, Cyrillic, Armenian, Georgian, Cherokee, Glagolitic, Coptic, Latin
/// extensions, fullwidth forms, Deseret, Osage, Vithkuqi, Old Hungarian,
/// Garay, Warang Citi, Medefaidrin, Adlam), generously bounded.
///
/// This is only a performance hint: the `regex` crate case-folds a range by
/// visiting each of its code points (`[\x{0}-\x{10FFFF}]` under `i` costs
/// milliseconds), but skips ranges holding no foldable character. Ranges are
/// therefore emitted in two nested classes, the pieces inside these blocks
/// and the pieces outside; folding distributes over union, so the class
/// means the same whatever these bounds are.
const FOLD_BLOCKS: &[(u32, u32)] = &[
    (0x0000, 0x2DFF),
    (0xA640, 0xA7FF),
    (0xAB30, 0xABBF),
    (0xFB00, 0xFF5A),
    (0x10400, 0x105FF),
    (0x10C80, 0x10D8F),
    (0x118A0, 0x118FF),
    (0x16E40, 0x16E9F),
    (0x1E900, 0x1E95F),
];

/// Estimated case-folding work of a `\p{…}` item (code points visited).
const UNICODE_ITEM_WORK: u64 = 6_000;

/// The body of a bracketed class being built: code point ranges (split by
/// [`FOLD_BLOCKS`]) plus items the `regex` crate handles on its own
/// (`\p{…}`, nested negated classes).
struct ClassBody {
    /// Ranges inside [`FOLD_BLOCKS`].
    folding: Vec<(u32, u32)>,
    /// Ranges outside.
    plain: Vec<(u32, u32)>,
    /// `\p{…}`, `\P{…}` and `[^…]` items.
    other: String,
    /// Estimated code points the `regex` crate visits to case-fold this
    /// class (meaningful only under `i`).
    work: u64,
}

impl ClassBody {
    fn new() -> ClassBody {
        ClassBody {
            folding: Vec::new(),
            plain: Vec::new(),
            other: String::new(),
            work: 0,
        }
    }

    fn is_empty(&self) -> bool {
        self.folding.is_empty() && self.plain.is_empty() && self.other.is_empty()
    }

    /// Adds `lo..=hi`, minus surrogates (they cannot occur in UTF-8 text).
    fn range(&mut self, lo: u32, hi: u32) {
        let hi = hi.min(MAX_CHAR);
        if lo <= 0xD7FF {
            self.split_range(lo, hi.min(0xD7FF));
        }
        if hi >= 0xE000 {
            self.split_range(lo.max(0xE000), hi);
        }
    }

    fn split_range(&mut self, lo: u32, hi: u32) {
        let mut cur = lo;
        for &(start, end) in FOLD_BLOCKS {
            if cur > hi || start > hi {
                break;
            }
            if end < cur {
                continue;
            }
            if start > cur {
                self.plain.push((cur, start - 1));
            }
            let (a, b) = (cur.max(start), hi.min(end));
            self.folding.push((a, b));
            self.work += u64::from(b - a) + 1;
            cur = b + 1;
        }
        if cur <= hi {
            self.plain.push((cur, hi));
        }
    }

    /// The items, to be put between brackets.
    fn items(&self) -> String {
        let parts = [
            !self.folding.is_empty(),
            !self.plain.is_empty(),
            !self.other.is_empty(),
        ];
        let nest = parts.iter().filter(|p| **p).count() > 1;
        let mut out = String::new();
        for set in [&self.folding, &self.plain] {
            if set.is_empty() {
                continue;
            }
            if nest {
                out.push('[');
            }
            for &(lo, hi) in set.iter() {
                if lo == hi {
                    out.push_str(&format!("\\x{{{lo:X}}}"));
                } else {
                    out.push_str(&format!("\\x{{{lo:X}}}-\\x{{{hi:X}}}"));
                }
            }
            if nest {
                out.push(']');
            }
        }
        out.push_str(&self.other);
        out
    }

    fn ranges(&mut self, ranges: &[(u32, u32)], positive: bool) {
        if positive {
            for &(lo, hi) in ranges {
                self.range(lo, hi);
            }
        } else {
            let mut inner = ClassBody::new();
            inner.ranges(ranges, true);
            self.negated(inner);
        }
    }

    /// Adds the complement of `inner`.
    fn negated(&mut self, inner: ClassBody) {
        if inner.is_empty() {
            self.range(0, MAX_CHAR);
        } else {
            self.other.push_str(&format!("[^{}]", inner.items()));
            self.work += inner.work;
        }
    }

    fn unicode_item(&mut self, item: &str) {
        self.other.push_str(item);
        self.work += UNICODE_ITEM_WORK;
    }

    fn unicode(&mut self, group: Group, positive: bool) {
        match group {
            Group::Any if positive => self.range(0, MAX_CHAR),
            Group::Any => {}
            // Surrogates never occur in UTF-8 text.
            Group::Category("Cs") if positive => {}
            Group::Category("Cs") => self.range(0, MAX_CHAR),
            // RE2's C is Cc|Cf|Co|Cs; the regex crate's also has Cn.
            Group::Category("C") if positive => {
                self.unicode_item(r"\p{gc=Cc}\p{gc=Cf}\p{gc=Co}");
            }
            Group::Category("C") => self.unicode_item(r"[^\p{gc=Cc}\p{gc=Cf}\p{gc=Co}]"),
            Group::Category(name) => {
                let p = if positive { 'p' } else { 'P' };
                self.unicode_item(&format!("\\{p}{{gc={name}}}"));
            }
            Group::Script(name) => {
                let p = if positive { 'p' } else { 'P' };
                self.unicode_item(&format!("\\{p}{{sc={name}}}"));
            }
        }
    }

    /// The class as a Rust atom.
    fn finish(&self, negated: bool) -> String {
        match (self.is_empty(), negated) {
            (true, false) => NEVER.to_string(),
            (true, true) => ANY.to_string(),
            (false, false) => format!("[{}]", self.items()),
            (false, true) => format!("[^{}]", self.items()),
        }
    }
}

/// A Unicode class RE2 knows.
#[derive(Clone, Copy)]
enum Group {
    Any,
    Category(&'static str),
    Script(&'static str),
}

fn lookup_group(name: &str) -> Option<Group> {
    if name == "Any" {
        return Some(Group::Any);
    }
    if let Some(&c) = CATEGORIES.iter().find(|&&c| c == name) {
        return Some(Group::Category(c));
    }
    SCRIPTS
        .iter()
        .find(|&&s| s == name)
        .map(|&s| Group::Script(s))
}

/// RE2's capture names: non-empty, made of letters, marks, decimal digits,
/// letter numbers and connector punctuation, in any order.
fn valid_capture_name(name: &str) -> bool {
    if name.is_empty() {
        return false;
    }
    if name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return true;
    }
    static WORDY: OnceLock<Option<regex::Regex>> = OnceLock::new();
    let wordy = WORDY.get_or_init(|| {
        regex::Regex::new(r"\A[\p{Lu}\p{Ll}\p{Lt}\p{Lm}\p{Lo}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}]+\z")
            .ok()
    });
    wordy.as_ref().is_some_and(|re| re.is_match(name))
}

/// Escapes `c` for a Rust pattern outside brackets.
fn push_literal(out: &mut String, c: char) {
    if matches!(
        c,
        '\\' | '.'
            | '+'
            | '*'
            | '?'
            | '('
            | ')'
            | '|'
            | '['
            | ']'
            | '{'
            | '}'
            | '^'
            | '$'
            | '#'
            | '&'
            | '-'
            | '~'
    ) {
        out.push('\\');
        out.push(c);
    } else if c.is_control() || c.is_whitespace() {
        out.push_str(&format!("\\x{{{:X}}}", u32::from(c)));
    } else {
        out.push(c);
    }
}

/// Something a repetition can apply to, in the output.
#[derive(Clone, Copy)]
struct Atom {
    /// Where its text starts in the output.
    start: usize,
    /// Where its text ends; flag groups like `(?i)` may follow it.
    end: usize,
    /// Largest product of nested counted repetitions inside it (RE2's
    /// repetition-size rule).
    product: u64,
}

/// An open group.
struct Frame {
    /// Where the group's `(` is in the output.
    start: usize,
    /// Largest repetition product seen inside it so far.
    product: u64,
}

/// RE2's parser over the rewritten pattern. It keeps RE2's parse state that
/// matters for acceptance (open groups, the last operand, the last
/// repetition operator, capture names) and writes Rust syntax as it goes.
struct Re2Parser<'s> {
    src: &'s str,
    pos: usize,
    out: String,
    /// The root frame is at index 0 and never popped.
    frames: Vec<Frame>,
    /// The operand a repetition would apply to.
    last: Option<Atom>,
    /// Where the previous token started, if it was a repetition operator
    /// (RE2 rejects `a**`, `a*+`, `a{2}{3}`).
    last_unary: Option<usize>,
    names: HashSet<String>,
    /// Whether case-insensitive matching is on somewhere.
    may_fold: bool,
    /// Estimated case-folding work of all classes (see [`FOLD_BUDGET`]).
    fold_work: u64,
}

impl<'s> Re2Parser<'s> {
    fn new(src: &'s str, case_insensitive: bool) -> Re2Parser<'s> {
        Re2Parser {
            src,
            pos: 0,
            out: String::with_capacity(src.len() * 2),
            frames: vec![Frame {
                start: 0,
                product: 1,
            }],
            last: None,
            last_unary: None,
            names: HashSet::new(),
            may_fold: case_insensitive,
            fold_work: 0,
        }
    }

    fn rest(&self) -> &'s str {
        self.src.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    /// The source text from `start` to the current position.
    fn since(&self, start: usize) -> &'s str {
        self.src.get(start..self.pos).unwrap_or("")
    }

    fn run(mut self) -> Result<String, String> {
        while let Some(c) = self.peek() {
            match c {
                '(' => self.open_group()?,
                ')' => self.close_group()?,
                '|' => {
                    self.bump();
                    self.out.push('|');
                    self.last = None;
                    self.last_unary = None;
                }
                '*' | '+' | '?' => {
                    let start = self.pos;
                    self.bump();
                    self.repeat(start, None)?;
                }
                '{' => match parse_repetition(self.rest()) {
                    Some((min, max, len)) => {
                        let start = self.pos;
                        self.pos += len;
                        self.repeat(start, Some((min, max)))?;
                    }
                    // Not a repetition: a literal brace.
                    None => {
                        self.bump();
                        self.literal('{');
                    }
                },
                '[' => {
                    let start = self.out.len();
                    let class = self.class()?;
                    self.out.push_str(&class);
                    self.atom(start, 1);
                }
                '^' | '$' | '.' => {
                    self.bump();
                    let start = self.out.len();
                    self.out.push(c);
                    self.atom(start, 1);
                }
                '\\' => self.escape()?,
                _ => {
                    self.bump();
                    self.literal(c);
                }
            }
        }
        if self.frames.len() > 1 {
            return Err(error(Code::MissingParen, self.src));
        }
        if self.may_fold && self.fold_work > FOLD_BUDGET {
            return Err("pattern too large - compile failed \
                 (too many or too wide classes for case-insensitive matching)"
                .to_string());
        }
        Ok(self.out)
    }

    /// Records the output from `start` to the end as the last operand.
    fn atom(&mut self, start: usize, product: u64) {
        self.last = Some(Atom {
            start,
            end: self.out.len(),
            product,
        });
        self.last_unary = None;
        if let Some(frame) = self.frames.last_mut() {
            frame.product = frame.product.max(product);
        }
    }

    fn literal(&mut self, c: char) {
        let start = self.out.len();
        push_literal(&mut self.out, c);
        self.atom(start, 1);
    }

    /// A literal code point from an escape; surrogates match nothing.
    fn literal_code(&mut self, code: u32) {
        match char::from_u32(code) {
            Some(c) => self.literal(c),
            None => {
                let start = self.out.len();
                self.out.push_str(NEVER);
                self.atom(start, 1);
            }
        }
    }

    /// A repetition operator whose text started at `op_start` (the operator
    /// itself has been consumed); `counted` holds `{min,max}` bounds.
    fn repeat(
        &mut self,
        op_start: usize,
        counted: Option<(u32, Option<u32>)>,
    ) -> Result<(), String> {
        if self.peek() == Some('?') {
            self.bump(); // non-greedy
        }
        let op = self.since(op_start);
        if let Some(prev) = self.last_unary {
            return Err(error(Code::RepeatOp, self.since(prev)));
        }
        let mut factor = 1;
        if let Some((min, max)) = counted {
            let too_big = u64::from(min) > MAX_REPEAT
                || max.is_some_and(|m| u64::from(m) > MAX_REPEAT || m < min);
            if too_big {
                return Err(error(Code::RepeatSize, op));
            }
            factor = u64::from(max.unwrap_or(min)).max(1);
        }
        let Some(atom) = self.last else {
            return Err(error(Code::RepeatArgument, op));
        };
        let product = atom.product.saturating_mul(factor);
        if product > MAX_REPEAT {
            return Err(error(Code::RepeatSize, op));
        }
        // Flag groups after the operand (`a(?i)*`) move behind the
        // repetition, which then needs a group of its own.
        let tail = self.out.split_off(atom.end.min(self.out.len()));
        if !tail.is_empty() {
            let text = self.out.split_off(atom.start.min(self.out.len()));
            self.out.push_str("(?:");
            self.out.push_str(&text);
            self.out.push(')');
        }
        self.out.push_str(op);
        let end = self.out.len();
        self.out.push_str(&tail);
        self.last = Some(Atom {
            start: atom.start,
            end,
            product,
        });
        self.last_unary = Some(op_start);
        if let Some(frame) = self.frames.last_mut() {
            frame.product = frame.product.max(product);
        }
        Ok(())
    }

    fn push_group(&mut self, open: &str) {
        self.frames.push(Frame {
            start: self.out.len(),
            product: 1,
        });
        self.out.push_str(open);
        self.last = None;
        self.last_unary = None;
    }

    fn open_group(&mut self) -> Result<(), String> {
        let start = self.pos;
        let rest = self.rest();
        let t = rest.as_bytes();
        if t.get(1) != Some(&b'?') {
            self.bump();
            self.push_group("(");
            return Ok(());
        }
        // Lookaround: rejected with RE2's message.
        let lookahead = t.len() > 3 && matches!(t[2], b'=' | b'!');
        let lookbehind = t.len() > 4 && t[2] == b'<' && matches!(t[3], b'=' | b'!');
        if lookahead || lookbehind {
            let n = if lookbehind { 4 } else { 3 };
            return Err(error(Code::BadPerlOp, rest.get(..n).unwrap_or(rest)));
        }
        // Named groups: (?P<name> (the npm module rewrote (?<name>).
        let named_p = t.len() > 4 && t[2] == b'P' && t[3] == b'<';
        let named = t.len() > 3 && t[2] == b'<';
        if named_p || named {
            let begin = if named_p { 4 } else { 3 };
            let Some(end) = rest.get(2..).and_then(|r| r.find('>')).map(|e| e + 2) else {
                return Err(error(Code::BadNamedCapture, rest));
            };
            let capture = rest.get(..=end).unwrap_or(rest);
            let name = rest.get(begin..end).unwrap_or("");
            if !valid_capture_name(name) || !self.names.insert(name.to_string()) {
                return Err(error(Code::BadNamedCapture, capture));
            }
            self.pos += end + 1;
            // Names are never used; a plain group avoids Rust's own rules.
            self.push_group("(");
            return Ok(());
        }
        // Flags: (?flags) or (?flags:...), flags among i, m, s, U, with one
        // optional '-' that must be followed by at least one flag.
        self.pos += 2;
        let mut negated = false;
        let mut saw_flag = false;
        // Final state of each flag, in the order "imsU"; the last mention
        // wins, as in RE2 ((?i-i) leaves i off).
        let mut state: [Option<bool>; 4] = [None; 4];
        loop {
            let Some(c) = self.bump() else {
                return Err(error(Code::BadPerlOp, self.since(start)));
            };
            let slot = match c {
                'i' => 0,
                'm' => 1,
                's' => 2,
                'U' => 3,
                '-' if !negated => {
                    negated = true;
                    saw_flag = false;
                    continue;
                }
                ':' | ')' => {
                    if negated && !saw_flag {
                        return Err(error(Code::BadPerlOp, self.since(start)));
                    }
                    let flags = flag_text(&state);
                    if c == ':' {
                        self.push_group(&format!("(?{flags}:"));
                    } else {
                        if !flags.is_empty() {
                            self.out.push_str(&format!("(?{flags})"));
                        }
                        self.last_unary = None;
                    }
                    return Ok(());
                }
                _ => return Err(error(Code::BadPerlOp, self.since(start))),
            };
            saw_flag = true;
            state[slot] = Some(!negated);
            if slot == 0 && !negated {
                self.may_fold = true;
            }
        }
    }

    fn close_group(&mut self) -> Result<(), String> {
        if self.frames.len() < 2 {
            return Err(error(Code::UnexpectedParen, self.src));
        }
        self.bump();
        let Some(frame) = self.frames.pop() else {
            return Err(error(Code::UnexpectedParen, self.src));
        };
        self.out.push(')');
        self.atom(frame.start, frame.product);
        Ok(())
    }

    /// A backslash sequence outside brackets.
    fn escape(&mut self) -> Result<(), String> {
        let mut ahead = self.rest().chars();
        ahead.next(); // '\\'
        let Some(c) = ahead.next() else {
            return Err(error(Code::TrailingBackslash, ""));
        };
        let fixed = match c {
            'b' => Some(r"(?-u:\b)"),
            'B' => Some(r"(?-u:\B)"),
            'A' => Some(r"\A"),
            'z' => Some(r"\z"),
            // One byte in RE2; the nearest UTF-8-safe meaning.
            'C' => Some(r"(?s:.)"),
            _ => None,
        };
        if let Some(text) = fixed {
            self.pos += 2;
            let start = self.out.len();
            self.out.push_str(text);
            self.atom(start, 1);
            return Ok(());
        }
        match c {
            'Q' => {
                // Literal text up to \E or the end.
                self.pos += 2;
                self.last_unary = None;
                while !self.rest().is_empty() {
                    if self.rest().starts_with("\\E") {
                        self.pos += 2;
                        break;
                    }
                    if let Some(ch) = self.bump() {
                        self.literal(ch);
                    }
                }
                Ok(())
            }
            'p' | 'P' => {
                let mut body = ClassBody::new();
                self.unicode_group(&mut body)?;
                self.fold_work += body.work;
                let start = self.out.len();
                self.out.push_str(&body.finish(false));
                self.atom(start, 1);
                Ok(())
            }
            'd' | 'D' | 's' | 'S' | 'w' | 'W' => {
                self.pos += 2;
                let (ranges, positive) = perl_ranges(c);
                let mut body = ClassBody::new();
                body.ranges(ranges, true);
                self.fold_work += body.work;
                let start = self.out.len();
                self.out.push_str(&body.finish(!positive));
                self.atom(start, 1);
                Ok(())
            }
            _ => {
                let code = self.parse_escape()?;
                self.literal_code(code);
                Ok(())
            }
        }
    }

    /// RE2's ParseEscape: a backslash sequence denoting one code point.
    fn parse_escape(&mut self) -> Result<u32, String> {
        let start = self.pos;
        self.bump(); // '\\'
        let Some(c) = self.bump() else {
            return Err(error(Code::TrailingBackslash, ""));
        };
        let bad = |p: &Self| Err(error(Code::BadEscape, p.since(start)));
        match c {
            // \1-\7 alone would be a backreference; with a second octal
            // digit it is an octal escape.
            '1'..='7' if !matches!(self.peek(), Some('0'..='7')) => bad(self),
            '0'..='7' => {
                let mut code = u32::from(c) - 0x30;
                for _ in 0..2 {
                    match self.peek() {
                        Some(d @ '0'..='7') => {
                            self.bump();
                            code = code * 8 + (u32::from(d) - 0x30);
                        }
                        _ => break,
                    }
                }
                Ok(code)
            }
            'x' => {
                let Some(first) = self.bump() else {
                    return bad(self);
                };
                if first == '{' {
                    let mut code: u32 = 0;
                    let mut digits = 0;
                    loop {
                        let Some(h) = self.bump() else {
                            return bad(self);
                        };
                        match h.to_digit(16) {
                            Some(v) => {
                                code = code * 16 + v;
                                digits += 1;
                                if code > MAX_CHAR {
                                    return bad(self);
                                }
                            }
                            None if h == '}' && digits > 0 => return Ok(code),
                            None => return bad(self),
                        }
                    }
                }
                let Some(second) = self.bump() else {
                    return bad(self);
                };
                match (first.to_digit(16), second.to_digit(16)) {
                    (Some(a), Some(b)) => Ok(a * 16 + b),
                    _ => bad(self),
                }
            }
            'n' => Ok(0x0A),
            'r' => Ok(0x0D),
            't' => Ok(0x09),
            'a' => Ok(0x07),
            'f' => Ok(0x0C),
            'v' => Ok(0x0B),
            // Escaped ASCII punctuation (and `_`, space, controls) is itself.
            c if c.is_ascii() && !c.is_ascii_alphanumeric() => Ok(u32::from(c)),
            _ => bad(self),
        }
    }

    /// `\pX`, `\p{Name}`, `\PX`, `\P{Name}`, `\p{^Name}`, added to `body`.
    fn unicode_group(&mut self, body: &mut ClassBody) -> Result<(), String> {
        let start = self.pos;
        self.bump(); // '\\'
        let positive = self.bump() == Some('p');
        let name = match self.bump() {
            Some('{') => {
                let rest = self.rest();
                let Some(end) = rest.find('}') else {
                    self.pos = self.src.len();
                    return Err(error(Code::BadCharRange, self.since(start)));
                };
                self.pos += end + 1;
                rest.get(..end).unwrap_or("")
            }
            Some(c) => self
                .src
                .get(self.pos - c.len_utf8()..self.pos)
                .unwrap_or(""),
            None => "",
        };
        let (positive, name) = match name.strip_prefix('^') {
            Some(n) => (!positive, n),
            None => (positive, name),
        };
        match lookup_group(name) {
            Some(group) => {
                body.unicode(group, positive);
                Ok(())
            }
            None => Err(error(Code::BadCharRange, self.since(start))),
        }
    }

    /// A bracketed class, `[` included, returned as a Rust atom.
    fn class(&mut self) -> Result<String, String> {
        let start = self.pos;
        self.bump(); // '['
        let negated = self.peek() == Some('^');
        if negated {
            self.bump();
        }
        let mut body = ClassBody::new();
        let mut first = true; // ']' is a literal in first position
        loop {
            let rest = self.rest();
            match rest.chars().next() {
                None => {
                    let whole = self.src.get(start..).unwrap_or("");
                    return Err(error(Code::MissingBracket, whole));
                }
                Some(']') if !first => {
                    self.bump();
                    break;
                }
                _ => {}
            }
            first = false;
            // [:alpha:] and [:^alpha:]; RE2 looks for ":]" anywhere ahead.
            if rest.len() > 2 && rest.starts_with("[:") {
                if let Some(q) = rest.get(2..).and_then(|r| r.find(":]")) {
                    let name = rest.get(..q + 4).unwrap_or("");
                    self.posix_class(&mut body, name)?;
                    self.pos += name.len();
                    continue;
                }
            }
            if rest.len() > 2 && (rest.starts_with("\\p") || rest.starts_with("\\P")) {
                self.unicode_group(&mut body)?;
                continue;
            }
            let mut two = rest.chars();
            if let (Some('\\'), Some(c @ ('d' | 'D' | 's' | 'S' | 'w' | 'W'))) =
                (two.next(), two.next())
            {
                self.pos += 2;
                let (ranges, positive) = perl_ranges(c);
                body.ranges(ranges, positive);
                continue;
            }
            // A character or a range.
            let range_start = self.pos;
            let lo = self.class_char(start)?;
            let mut hi = lo;
            let mut next = self.rest().chars();
            if next.next() == Some('-') && !matches!(next.next(), Some(']') | None) {
                self.bump();
                hi = self.class_char(start)?;
                if hi < lo {
                    return Err(error(Code::BadCharRange, self.since(range_start)));
                }
            }
            body.range(lo, hi);
        }
        self.fold_work += body.work;
        Ok(body.finish(negated))
    }

    /// One class character: an escape or a code point.
    fn class_char(&mut self, class_start: usize) -> Result<u32, String> {
        match self.peek() {
            None => Err(error(
                Code::MissingBracket,
                self.src.get(class_start..).unwrap_or(""),
            )),
            Some('\\') => self.parse_escape(),
            Some(c) => {
                self.bump();
                Ok(u32::from(c))
            }
        }
    }

    fn posix_class(&self, body: &mut ClassBody, name: &str) -> Result<(), String> {
        let inner = name
            .strip_prefix("[:")
            .and_then(|n| n.strip_suffix(":]"))
            .unwrap_or("");
        let (positive, inner) = match inner.strip_prefix('^') {
            Some(n) => (false, n),
            None => (true, inner),
        };
        match POSIX.iter().find(|(n, _)| *n == inner) {
            Some((_, ranges)) => {
                body.ranges(ranges, positive);
                Ok(())
            }
            None => Err(error(Code::BadCharRange, name)),
        }
    }
}

/// RE2's (ASCII) `\d \D \s \S \w \W`: the ranges of the positive class
/// and whether `c` names it (lower case) or its complement.
fn perl_ranges(c: char) -> (&'static [(u32, u32)], bool) {
    let ranges = match c.to_ascii_lowercase() {
        'd' => DIGIT,
        's' => SPACE,
        _ => WORD,
    };
    (ranges, c.is_ascii_lowercase())
}

/// RE2's MaybeParseRepetition: `{n}`, `{n,}` or `{n,m}` at the start of
/// `s`, as (min, max, length); anything else is not a repetition (and the
/// brace is a literal). Numbers have no leading zeros and stay below 10^8.
fn parse_repetition(s: &str) -> Option<(u32, Option<u32>, usize)> {
    fn integer(s: &[u8], i: &mut usize) -> Option<u32> {
        let first = *s.get(*i)?;
        if !first.is_ascii_digit() {
            return None;
        }
        if first == b'0' && s.get(*i + 1).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        let mut n: u32 = 0;
        while let Some(&d) = s.get(*i).filter(|d| d.is_ascii_digit()) {
            if n >= 100_000_000 {
                return None;
            }
            n = n * 10 + u32::from(d - b'0');
            *i += 1;
        }
        Some(n)
    }
    let s = s.as_bytes();
    if s.first() != Some(&b'{') {
        return None;
    }
    let mut i = 1;
    let min = integer(s, &mut i)?;
    let max = match s.get(i)? {
        b',' => {
            i += 1;
            if *s.get(i)? == b'}' {
                None
            } else {
                Some(integer(s, &mut i)?)
            }
        }
        _ => Some(min),
    };
    if s.get(i) != Some(&b'}') {
        return None;
    }
    Some((min, max, i + 1))
}

/// `(?` flags text for the final flag states in "imsU" order.
fn flag_text(state: &[Option<bool>; 4]) -> String {
    const NAMES: [char; 4] = ['i', 'm', 's', 'U'];
    let on: String = NAMES
        .iter()
        .zip(state)
        .filter(|(_, s)| **s == Some(true))
        .map(|(c, _)| *c)
        .collect();
    let off: String = NAMES
        .iter()
        .zip(state)
        .filter(|(_, s)| **s == Some(false))
        .map(|(c, _)| *c)
        .collect();
    if off.is_empty() {
        on
    } else {
        format!("{on}-{off}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn re(pattern: &str, flags: Option<&str>) -> Pattern {
        match Pattern::compile(pattern, flags) {
            Ok(p) => p,
            Err(e) => panic!("{pattern:?} / {flags:?} should compile: {e}"),
        }
    }

    fn matches(pattern: &str, flags: Option<&str>, haystack: &str) -> bool {
        re(pattern, flags).is_match(haystack)
    }

    fn err(pattern: &str, flags: Option<&str>) -> String {
        match Pattern::compile(pattern, flags) {
            Ok(p) => panic!(
                "{pattern:?} / {flags:?} should be rejected, compiled to {:?}",
                p.translated()
            ),
            Err(e) => e,
        }
    }

    /// The engine message inside the Koncorde error.
    fn engine_err(pattern: &str) -> String {
        let e = err(pattern, None);
        let prefix = format!("cannot parse regexp expression \"/{pattern}/undefined\" (");
        match e.strip_prefix(&prefix).and_then(|r| r.strip_suffix(')')) {
            Some(m) => m.to_string(),
            None => panic!("unexpected error format: {e}"),
        }
    }

    #[test]
    fn spec_cases() {
        assert!(matches(r"^\w{2}oba\w$", Some("i"), "FOOBAR"));
        assert!(!matches(r"^\w{2}oba\w$", Some("i"), "qux"));
        assert!(!matches(r"^\w{2}oba\w$", None, "FOOBAR"));
        assert!(matches("^1", None, "123"));
        assert!(matches(r"\d", None, "a3"));
        assert!(!matches(r"\d", None, "٣"));
        assert!(!matches(r"\d", None, "३"));
        assert!(matches("^hello", None, "hello world"));
        assert!(matches("^(r|g)", Some("i"), "Red"));
    }

    #[test]
    fn oracle_patterns() {
        assert!(matches("^line2", Some("m"), "line1\nline2"));
        assert!(!matches("^line2", None, "line1\nline2"));
        assert!(matches("^.$", None, "é"));
        assert!(matches("^.$", None, "😀"));
        assert!(!matches("^.$", None, "\n"));
        assert!(matches("^.$", Some("s"), "\n"));
        assert!(matches("line1.line2", Some("s"), "line1\nline2"));
        assert!(!matches("line1.line2", None, "line1\nline2"));
        assert!(matches(r"^a\.b$", None, "a.b"));
        assert!(!matches(r"^a\.b$", None, "axb"));
        assert!(matches(r"^\s", None, " x"));
        assert!(matches(r"^\s", None, "\tx"));
        assert!(!matches(r"^\s", None, "\u{a0}x"));
        assert!(!matches(r"^\s", None, "\u{b}x"));
        assert!(matches("ï|é", Some("i"), "É"));
        assert!(matches("É", Some("iu"), "é"));
        assert!(!matches("É", None, "é"));
        assert!(matches("x/y", None, "a x/y b"));
        assert!(matches("x/y", Some(""), "x/y"));
        assert!(matches("world$", Some("i"), "Hello WORLD"));
        assert!(!matches("world$", None, "world\n"));
        assert!(matches("world$", Some("m"), "world\nnext"));
        assert!(matches(r"^\w+\d+$", Some("i"), "Abc123"));
        assert!(matches(r"^\p{Lu}", None, "Élan"));
        assert!(!matches(r"^\p{Lu}", None, "élan"));
        assert!(matches("^(?i:abc)$", None, "AbC"));
        assert!(matches("a(?P<x>b)c", None, "abc"));
        assert!(matches("^[^a-z]*$", None, "ÉÈ12"));
        assert!(!matches("^[^a-z]*$", None, "Éa"));
        assert!(matches("^$", None, ""));
        assert!(matches("^. smile$", None, "😀 smile"));
    }

    #[test]
    fn error_format() {
        assert_eq!(
            err("(?=a)", None),
            "cannot parse regexp expression \"/(?=a)/undefined\" (invalid perl operator: (?=)"
        );
        assert_eq!(
            err("a(", Some("gi")),
            "cannot parse regexp expression \"/a(/gi\" (missing ): a()"
        );
        assert_eq!(
            err("[a", Some("")),
            "cannot parse regexp expression \"/[a/\" (missing ]: [a)"
        );
        // Limit errors from the regex crate are condensed to one line.
        let big = err(r"[\p{L}\p{N}]{1000}", None);
        assert!(!big.contains('\n'), "{big}");
        assert!(big.contains("pattern too large"), "{big}");
    }

    #[test]
    fn rejected_like_re2() {
        assert_eq!(engine_err("(?!a)"), "invalid perl operator: (?!");
        assert_eq!(engine_err("(?<=a)b"), "invalid perl operator: (?<=");
        assert_eq!(engine_err("(?<!a)b"), "invalid perl operator: (?<!");
        assert_eq!(engine_err(r"(a)\1"), r"invalid escape sequence: \1");
        assert_eq!(engine_err(r"\8"), r"invalid escape sequence: \8");
        assert_eq!(engine_err(r"(?P<n>a)(?P=n)"), "invalid perl operator: (?P");
        assert_eq!(engine_err("a*+"), "bad repetition operator: *+");
        assert_eq!(engine_err("a++"), "bad repetition operator: ++");
        assert_eq!(engine_err("a**"), "bad repetition operator: **");
        assert_eq!(engine_err("a*??"), "bad repetition operator: *??");
        assert_eq!(engine_err("a{2}{3}"), "bad repetition operator: {2}{3}");
        assert_eq!(engine_err("(?>a)"), "invalid perl operator: (?>");
        assert_eq!(engine_err("(?#c)"), "invalid perl operator: (?#");
        assert_eq!(engine_err("(?x)a"), "invalid perl operator: (?x");
        assert_eq!(engine_err("(?i"), "invalid perl operator: (?i");
        assert_eq!(engine_err("(?-)"), "invalid perl operator: (?-)");
        assert_eq!(engine_err("(?i-)"), "invalid perl operator: (?i-)");
        assert_eq!(engine_err("(?--i)"), "invalid perl operator: (?--");
        assert_eq!(engine_err("*a"), "no argument for repetition operator: *");
        assert_eq!(engine_err("a|*"), "no argument for repetition operator: *");
        assert_eq!(engine_err("(*)"), "no argument for repetition operator: *");
        assert_eq!(
            engine_err("(?i)+"),
            "no argument for repetition operator: +"
        );
        assert_eq!(
            engine_err("{2}"),
            "no argument for repetition operator: {2}"
        );
        assert_eq!(engine_err("a{1001}"), "invalid repetition size: {1001}");
        assert_eq!(engine_err("a{2,1}"), "invalid repetition size: {2,1}");
        assert_eq!(engine_err("(a{100}){11}"), "invalid repetition size: {11}");
        assert_eq!(
            engine_err("((a{2}){2}|b){251}"),
            "invalid repetition size: {251}"
        );
        assert_eq!(engine_err("a)"), "unexpected ): a)");
        assert_eq!(engine_err("(a"), "missing ): (a");
        assert_eq!(engine_err("[]"), "missing ]: []");
        assert_eq!(engine_err("[a-"), "missing ]: [a-");
        assert_eq!(engine_err("[z-a]"), "invalid character class range: z-a");
        assert_eq!(engine_err("[a--b]"), "invalid character class range: a--");
        assert_eq!(engine_err(r"[a-\d]"), r"invalid escape sequence: \d");
        assert_eq!(engine_err(r"[\b]"), r"invalid escape sequence: \b");
        assert_eq!(
            engine_err("[[:foo:]]"),
            "invalid character class range: [:foo:]"
        );
        assert_eq!(engine_err(r"a\"), "trailing \\");
        assert_eq!(engine_err(r"\Z"), r"invalid escape sequence: \Z");
        assert_eq!(engine_err(r"\e"), r"invalid escape sequence: \e");
        assert_eq!(engine_err(r"\é"), r"invalid escape sequence: \é");
        assert_eq!(engine_err(r"\ca"), r"invalid escape sequence: \c");
        assert_eq!(engine_err(r"\u"), r"invalid escape sequence: \u");
        assert_eq!(engine_err(r"\ug"), r"invalid escape sequence: \u");
        assert_eq!(engine_err(r"\u{}"), r"invalid escape sequence: \x{}");
        assert_eq!(
            engine_err(r"\u{110000}"),
            r"invalid escape sequence: \x{110000"
        );
        assert_eq!(engine_err(r"\xG1"), r"invalid escape sequence: \xG1");
        assert_eq!(engine_err(r"\x1"), r"invalid escape sequence: \x1");
        assert_eq!(engine_err(r"\E"), r"invalid escape sequence: \E");
        assert_eq!(engine_err(r"[\Q]"), r"invalid escape sequence: \Q");
        assert_eq!(engine_err("(?P<>a)"), "invalid named capture group: (?P<>");
        assert_eq!(
            engine_err("(?<a-b>x)"),
            "invalid named capture group: (?P<a-b>"
        );
        assert_eq!(
            engine_err("(?<n>a)(?<n>b)"),
            "invalid named capture group: (?P<n>"
        );
        assert_eq!(engine_err("(?P<n"), "invalid named capture group: (?P<n");
    }

    #[test]
    fn unicode_class_names() {
        assert!(matches(r"\pL", None, "é"));
        assert!(!matches(r"\pL", None, "1"));
        assert!(matches(r"\PL", None, "1"));
        assert!(matches(r"\p{L}", None, "ж"));
        assert!(matches(r"\p{Letter}", None, "ж"));
        assert!(matches(r"^\p{Uppercase_Letter}$", None, "Ж"));
        assert!(!matches(r"^\p{Uppercase_Letter}$", None, "ж"));
        assert!(matches(r"^\p{Greek}+$", None, "αβγ"));
        assert!(!matches(r"^\p{Greek}+$", None, "abc"));
        assert!(matches(r"^\p{Script=Greek}+$", None, "αβγ"));
        assert!(matches(r"^\p{sc=Greek}+$", None, "αβγ"));
        assert!(matches(r"^\P{Greek}+$", None, "abc"));
        assert!(matches(r"^\p{^Greek}+$", None, "abc"));
        assert!(!matches(r"^\p{^Greek}+$", None, "α"));
        assert!(matches(r"^\P{^Greek}+$", None, "α"));
        assert!(matches(r"^\p{Any}$", None, "\n"));
        assert!(matches(r"^\p{Han}$", None, "漢"));
        assert!(matches(r"^[\p{Cyrillic}\d]+$", None, "ж1"));
        assert!(matches(r"^\p{Nd}+$", None, "٣3"));
        // RE2's C has no unassigned code points; the regex crate's has.
        assert!(matches(r"\pC", None, "\u{1}"));
        assert!(matches(r"\pC", None, "\u{e000}"));
        assert!(!matches(r"\pC", None, "\u{378}"));
        assert!(matches(r"\PC", None, "\u{378}"));
        assert!(!matches(r"\p{Cs}", None, "a\u{fffd}"));
        assert!(matches(r"^\P{Cs}$", None, "a"));
        // Under i, Unicode classes are case-folded, as in RE2.
        assert!(matches(r"^\p{Lu}$", Some("i"), "a"));
        assert!(!matches(r"^\P{Lu}$", Some("i"), "a"));
        // Names RE2 does not know are rejected, whatever Rust would accept.
        for bad in [
            r"\p{greek}",
            r"\p{Grek}",
            r"\p{General_Category=Letter}",
            r"\p{gc=L}",
            r"\p{scx=Greek}",
            r"\p{Script_Extensions=Greek}",
            r"\p{Cased_Letter}",
            r"\p{LC}",
            r"\p{Unassigned}",
            r"\p{Cn}",
            r"\p{Alphabetic}",
            r"\p{White_Space}",
            r"\p{}",
            r"\pX",
            r"\p",
            r"\p{L",
            r"[\p]",
        ] {
            let e = engine_err(bad);
            assert!(e.starts_with("invalid character class range"), "{bad}: {e}");
        }
    }

    #[test]
    fn all_re2_names_compile() {
        for name in CATEGORIES.iter().chain(SCRIPTS).chain(["Any"].iter()) {
            for pattern in [
                format!(r"\p{{{name}}}"),
                format!(r"\P{{{name}}}"),
                format!(r"[x\p{{{name}}}]"),
                format!(r"[^x\P{{{name}}}]"),
                format!(r"(?i)\p{{{name}}}"),
            ] {
                if let Err(e) = Pattern::compile(&pattern, None) {
                    panic!("{pattern}: {e}");
                }
            }
        }
    }

    #[test]
    fn perl_classes_are_ascii() {
        assert!(matches(r"^\w+$", None, "abc_XYZ09"));
        assert!(!matches(r"\w", None, "é"));
        assert!(matches(r"\W", None, "é"));
        assert!(!matches(r"\W", None, "a"));
        assert!(!matches(r"\s", None, "\u{2003}"));
        assert!(matches(r"\S", None, "\u{2003}"));
        assert!(matches(r"\s", None, "\u{c}"));
        assert!(matches(r"\D", None, "٣"));
        assert!(!matches(r"\D", None, "3"));
        // Inside classes.
        assert!(matches(r"^[\d]$", None, "7"));
        assert!(!matches(r"^[\d]$", None, "٣"));
        assert!(matches(r"^[^\d]$", None, "a"));
        assert!(matches(r"^[^\d]$", None, "٣"));
        assert!(!matches(r"^[^\d]$", None, "5"));
        assert!(matches(r"^[^\D]$", None, "5"));
        assert!(!matches(r"^[^\D]$", None, "a"));
        assert!(matches(r"^[\w-]+$", None, "a-b_c"));
        assert!(!matches(r"[\w-]", None, "é"));
        assert!(matches(r"^[\d-z]+$", None, "1-z"));
        assert!(!matches(r"[\d-z]", None, "y"));
        assert!(matches(r"^[\s\S]$", None, "\n"));
        assert!(matches(r"^[\W\d]+$", None, "é3"));
        assert!(!matches(r"[\W\d]", None, "a"));
        // Under i, ASCII classes fold like RE2's: K (Kelvin sign) and ſ.
        assert!(matches(r"^\w$", Some("i"), "\u{212a}"));
        assert!(!matches(r"^\w$", None, "\u{212a}"));
        assert!(matches(r"^\w$", Some("i"), "ſ"));
        assert!(!matches(r"^\W$", Some("i"), "\u{212a}"));
        assert!(!matches(r"^\W$", Some("i"), "k"));
    }

    #[test]
    fn word_boundaries_are_ascii() {
        // é is not a word character for RE2: no boundary before it.
        assert!(!matches(r"\bé", None, "é"));
        assert!(matches(r"\Bé", None, "é"));
        assert!(matches(r"a\b", None, "aé"));
        assert!(!matches(r"a\B", None, "aé"));
        assert!(matches(r"\bfoo\b", None, "a foo b"));
        assert!(!matches(r"\bfoo\b", None, "afoob"));
        assert!(matches(r"\bfoo\b", None, "éfooé"));
        assert!(matches(r"\Boo\B", None, "fool"));
        assert!(matches(r"\b*x", None, "x"));
    }

    #[test]
    fn escapes_outside_classes() {
        assert!(matches(r"^\x41$", None, "A"));
        assert!(matches(r"^\x{41}$", None, "A"));
        assert!(matches(r"^\x{1F600}$", None, "😀"));
        assert!(matches(r"^\101$", None, "A"));
        assert!(matches(r"^\0$", None, "\0"));
        assert!(matches(r"^\08$", None, "\u{0}8"));
        assert!(matches(r"^\12$", None, "\n"));
        assert!(matches(r"^\0101$", None, "\u{8}1"));
        assert!(matches(r"^\u0041$", None, "A"));
        assert!(matches(r"^\u00e9$", None, "é"));
        assert!(matches(r"^\u41$", None, "A"));
        assert!(matches(r"^\u00411$", None, "A1"));
        assert!(matches(r"^\u{41}$", None, "A"));
        assert!(matches(r"^\u{1F600}$", None, "😀"));
        assert!(matches(r"^\cJ$", None, "\n"));
        assert!(matches(r"^\cA$", None, "\u{1}"));
        assert!(matches(r"^\/$", None, "/"));
        assert!(matches(r"^\n\t\r\f\v\a$", None, "\n\t\r\u{c}\u{b}\u{7}"));
        assert!(matches(
            r"^\.\*\+\?\(\)\[\]\{\}\|\^\$\\$",
            None,
            r".*+?()[]{}|^$\"
        ));
        assert!(matches(r"^\_\-\ \#\&\~\<\>$", None, "_- #&~<>"));
        assert!(matches(r"^\Qa.b*\E+$", None, "a.b**"));
        assert!(!matches(r"^\Qa.b\E$", None, "axb"));
        assert!(matches(r"^\Qa.b$", None, "a.b$"));
        assert!(matches(r"^a\Q\E*$", None, "aaa"));
        // The npm module's `/` -> `\/` rewrite also applies inside \Q...\E.
        assert!(matches(r"^\Qa/b\E$", None, r"a\/b"));
        assert!(!matches(r"^\Qa/b\E$", None, "a/b"));
        assert!(matches(r"\Ax\z", None, "x"));
        assert!(!matches(r"\Ax\z", Some("m"), "x\ny"));
        assert!(matches(r"a\Cb", None, "a-b"));
        // \\u is an escaped backslash followed by u.
        assert!(matches(r"^\\u0041$", None, r"\u0041"));
        // A surrogate is a valid literal that never matches UTF-8 text.
        assert!(!matches(r"\uD83D\uDE00", None, "😀"));
        assert!(matches(r"\uD83D|x", None, "x"));
        assert!(!matches(r"\x{D800}", None, "\u{fffd}"));
    }

    #[test]
    fn escapes_inside_classes() {
        assert!(matches(r"^[\u0041-\u005A]+$", None, "AZQ"));
        assert!(!matches(r"^[\u0041-\u005A]+$", None, "a"));
        assert!(matches(r"^[\x41-\x{5A}]$", None, "M"));
        assert!(matches(r"^[\101-\132]$", None, "M"));
        assert!(matches(r"^[\n\t]+$", None, "\n\t"));
        assert!(matches(r"^[\/]$", None, "/"));
        assert!(matches(r"^[/]$", None, "/"));
        assert!(matches(r"^[\]]$", None, "]"));
        assert!(matches(r"^[\\]$", None, r"\"));
        assert!(matches(r"^[\-a]+$", None, "-a"));
        assert!(matches(r"^[\cA]$", None, "\u{1}"));
        assert!(matches(r"^[\u{1F600}-\u{1F64F}]$", None, "😃"));
        // A range across the surrogates keeps both sides.
        assert!(matches(r"^[\uD7FF-\uE000]+$", None, "\u{d7ff}\u{e000}"));
        assert!(!matches(r"[\uD800]", None, "a"));
        assert!(matches(r"[^\uD800]", None, "a"));
    }

    #[test]
    fn class_syntax_is_re2s() {
        assert!(matches("^[]a]+$", None, "]a"));
        assert!(matches("^[^]a]+$", None, "bc"));
        assert!(!matches("^[^]a]+$", None, "]"));
        assert!(matches("^[a-]+$", None, "a-"));
        assert!(matches("^[-a]+$", None, "-a"));
        assert!(matches("^[a-c-e]+$", None, "abc-e"));
        assert!(!matches("[a-c-e]", None, "d"));
        // Rust syntax inside brackets is literal text for RE2.
        assert!(matches("^[[]$", None, "["));
        assert!(matches("^[a&&b]+$", None, "a&b"));
        assert!(matches("^[a~~b]+$", None, "~"));
        assert!(matches("^[[a]]$", None, "a]"));
        assert!(matches("^[^[]$", None, "a"));
        assert!(matches("^[[:]$", None, "["));
        assert!(matches("^[[:alpha:]]+$", None, "abcXYZ"));
        assert!(!matches("[[:alpha:]]", None, "é"));
        assert!(matches("^[[:^digit:]]+$", None, "ab"));
        assert!(!matches("[[:^digit:]]", None, "5"));
        assert!(matches("^[[:space:]]+$", None, " \t\u{b}"));
        assert!(matches("^[[:punct:]]+$", None, "!/:@[`{~"));
        assert!(matches("^[[:word:][:digit:]]+$", None, "a_1"));
        assert!(matches("^[[:upper:]]$", Some("i"), "q"));
        assert!(matches("^[x-x]$", None, "x"));
        assert!(matches("^[é-ë]+$", None, "éêë"));
        assert!(matches("^[a-z]+$", Some("i"), "ABC"));
        assert!(!matches("^[^a]$", Some("i"), "A"));
        assert!(matches("^[^a]$", None, "\n"));
    }

    #[test]
    fn repetitions() {
        assert!(matches("^a{2}$", None, "aa"));
        assert!(matches("^a{2,}$", None, "aaaa"));
        assert!(matches("^a{2,3}?$", None, "aaa"));
        assert!(matches("^a{0}$", None, ""));
        assert!(matches("^a{1000}$", None, &"a".repeat(1000)));
        assert!(matches("^(a{10}){100}$", None, &"a".repeat(1000)));
        assert!(matches("^((a{10}){10}){10}$", None, &"a".repeat(1000)));
        assert!(matches("^(a{0}b{2}){500}$", None, &"bb".repeat(500)));
        // Not repetitions: literal braces, as in RE2.
        assert!(matches("^a{,2}$", None, "a{,2}"));
        assert!(matches("^a{$", None, "a{"));
        assert!(matches("^a{x}$", None, "a{x}"));
        assert!(matches("^a{01}$", None, "a{01}"));
        assert!(matches("^a{1,2$", None, "a{1,2"));
        assert!(matches("^x{1000000000}$", None, "x{1000000000}"));
        assert_eq!(
            engine_err("x{100000000}"),
            "invalid repetition size: {100000000}"
        );
        assert!(matches("^{}$", None, "{}"));
        assert!(matches("^}$", None, "}"));
        assert!(matches("^]$", None, "]"));
        // Repeated assertions and empty groups, accepted by RE2.
        assert!(matches("^*a", None, "a"));
        assert!(matches("a$*", None, "ab"));
        assert!(matches("(?:)*a", None, "a"));
        assert!(matches("()+a", None, "a"));
        // A flag group between operand and operator (RE2 accepts it).
        assert!(matches("^ba*(?i)*C$", None, "baac"));
        assert!(!matches("^ba*(?i)*C$", None, "BAAC"));
        assert!(matches("^ab(?i)+c$", None, "abbbC"));
        assert_eq!(engine_err("a*(?i)**"), "bad repetition operator: **");
        // Lazy and greedy give the same answers to is_match.
        assert!(matches("^a+?$", None, "aaa"));
        assert!(matches("^(?U)a+$", None, "aaa"));
    }

    #[test]
    fn groups_and_flags() {
        assert!(matches(
            "^(?<year>[0-9]{4})-(?P<month>[0-9]{2})$",
            None,
            "2024-05"
        ));
        assert!(matches("^(?<1a>x)$", None, "x"));
        assert!(matches("^(?<név>x)$", None, "x"));
        assert!(matches("^(?<_>x)(?<a_1>y)$", None, "xy"));
        assert!(matches("^(?i)abc$", None, "ABC"));
        assert!(matches("^(?i:a)b$", None, "Ab"));
        assert!(!matches("^(?i:a)b$", None, "AB"));
        assert!(matches("^a(?i)b$", None, "aB"));
        assert!(!matches("^a(?i)b$", None, "AB"));
        assert!(matches("^(?:a(?i)b)c$", None, "aBc"));
        assert!(!matches("^(?:a(?i)b)c$", None, "aBC"));
        assert!(matches("^(?ii)a$", None, "A"));
        assert!(!matches("^(?i-i)a$", None, "A"));
        assert!(!matches("^(?-i)a$", Some("i"), "A"));
        assert!(matches("^(?)a$", None, "a"));
        assert!(matches("^(?s).$", None, "\n"));
        assert!(!matches("^(?-s).$", Some("s"), "\n"));
        assert!(matches("(?m)^b$", None, "a\nb\nc"));
        assert!(matches("^(?sm:.b$)", None, "\nb\nc"));
        assert!(matches("^(a|)$", None, ""));
        assert!(matches("^(|a)+$", None, "aa"));
        assert!(matches("a||b", None, "x"));
    }

    #[test]
    fn case_insensitive() {
        assert!(matches("k", Some("i"), "\u{212a}"));
        assert!(matches("K", Some("i"), "k"));
        assert!(matches("s", Some("i"), "ſ"));
        assert!(matches("é", Some("i"), "É"));
        assert!(matches("σ", Some("i"), "Σ"));
        assert!(matches("σ", Some("i"), "ς"));
        assert!(matches("^straße$", Some("i"), "STRAßE"));
        // Simple case folding only, as in RE2: ß does not match "SS".
        assert!(!matches("^ß$", Some("i"), "SS"));
        assert!(matches("[é]", Some("i"), "É"));
        assert!(matches(r"\x{e9}", Some("i"), "É"));
        assert!(!matches("abc", None, "ABC"));
    }

    #[test]
    fn newlines_and_anchors() {
        assert!(!matches("a$", Some("m"), "a\r\nb"));
        assert!(matches("a\r$", Some("m"), "a\r\nb"));
        assert!(!matches("^b", Some("m"), "a\rb"));
        assert!(matches(".", None, "\r"));
        assert!(!matches("^a$", None, "a\n"));
        assert!(matches("a.c", None, "a\u{2028}c"));
    }

    #[test]
    fn flags_are_canonical() {
        for (given, canonical) in [
            (None, ""),
            (Some(""), ""),
            (Some("INVALID"), ""),
            (Some("x"), ""),
            (Some("g"), ""),
            (Some("y"), ""),
            (Some("u"), ""),
            (Some("d"), ""),
            (Some("ii"), "i"),
            (Some("gi"), "i"),
            (Some("smi"), "ims"),
            (Some("msims"), "ims"),
            (Some("sy"), "s"),
            (Some("Im"), "m"),
        ] {
            let p = re("a", given);
            assert_eq!(p.flags(), canonical, "{given:?}");
            let prefix = if canonical.is_empty() {
                String::new()
            } else {
                format!("(?{canonical})")
            };
            assert_eq!(p.translated(), format!("{prefix}a"), "{given:?}");
        }
        assert!(matches("a", Some("INVALID"), "a"));
        assert!(!matches("a", Some("INVALID"), "A"));
    }

    #[test]
    fn g_and_y_are_stateless() {
        let p = re("foo", Some("g"));
        assert!(p.is_match("foo"));
        assert!(p.is_match("foo"));
        let p = re("foo", Some("y"));
        assert!(p.is_match("xfoo"));
        assert!(p.is_match("xfoo"));
    }

    #[test]
    fn empty_pattern_matches_everything() {
        assert!(matches("", None, ""));
        assert!(matches("", None, "anything"));
        assert!(matches("", Some("ims"), "x"));
        assert!(matches("()", None, "x"));
    }

    #[test]
    fn identity_is_pattern_and_flags() {
        use std::collections::hash_map::DefaultHasher;
        let hash = |p: &Pattern| {
            let mut h = DefaultHasher::new();
            p.hash(&mut h);
            h.finish()
        };
        let a = re("a", Some("gi"));
        let b = re("a", Some("i"));
        let c = re("a", None);
        let d = re("b", Some("i"));
        assert_eq!(a, b);
        assert_eq!(hash(&a), hash(&b));
        assert_ne!(a, c);
        assert_ne!(b, d);
        assert_eq!(a.cmp(&b), Ordering::Equal);
        assert!(c < a);
        assert!(a < d);
        assert_eq!(a.clone(), a);
        assert_eq!(a.pattern(), "a");
        assert!(format!("{a:?}").contains("Pattern"));
        assert!(a.is_match("A"));
    }

    #[test]
    fn subscription_patterns_get_compact_dfas() {
        for (p, flags) in [
            (r"\berror\b", Some("i")),
            (r"^invoice-[0-9]+$", None),
            ("timeout.*retry", None),
            ("^[A-Z]{3}-[0-9]{4}", None),
            ("caf(é|e)", Some("i")),
        ] {
            assert!(re(p, flags).is_compact(), "{p}");
        }
        // Empty matches stay with the `regex` crate; a DFA past its size limit too.
        for p in [r"\B", "a*", r"^$", r"(a|b)*a(a|b){14}"] {
            assert!(!re(p, None).is_compact(), "{p}");
        }
        assert!(!re(r"\B", None).is_match("aéb"));
        let word = re(r"\bstop\b", Some("i"));
        assert!(word.is_match("please STOP now") && !word.is_match("unstoppable"));
    }

    #[test]
    fn translated_sources_build_a_set() {
        let pats = [
            re(r"^\d+$", None),
            re(r"\bé", None),
            re("abc", Some("i")),
            re(r"[\w-]", None),
            re("^b$", Some("m")),
        ];
        let set = match regex::RegexSetBuilder::new(pats.iter().map(|p| p.translated()))
            .size_limit(SIZE_LIMIT * pats.len())
            .build()
        {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        for hay in ["123", "٣", "é", "xABCx", "-", "a\nb", "é!"] {
            let got: Vec<usize> = set.matches(hay).into_iter().collect();
            let want: Vec<usize> = (0..pats.len()).filter(|&i| pats[i].is_match(hay)).collect();
            assert_eq!(got, want, "{hay:?}");
        }
    }

    #[test]
    fn limits() {
        // Nesting beyond the limit is an error, not a stack overflow.
        let deep = format!("{}a{}", "(".repeat(5_000), ")".repeat(5_000));
        assert!(err(&deep, None).contains("nest"));
        let deep = format!("{}a{}", "(?:".repeat(5_000), ")".repeat(5_000));
        assert!(err(&deep, None).contains("nest"));
        let unclosed = "(".repeat(10_000);
        assert!(err(&unclosed, None).contains("missing )"));
        // Large compiled programs are refused.
        assert!(err(r"\pL{1000}", None).contains("pattern too large"));
        assert!(err(&"\\pL".repeat(10_000), None).contains("pattern too large"));
        assert!(err(r"[\p{L}\p{N}]{1000}", Some("i")).contains("pattern too large"));
        // Long sources are refused before any work.
        let long = "a".repeat(MAX_PATTERN_LEN + 1);
        assert!(err(&long, None).contains("source longer than 32768 bytes"));
        let at_limit = "a".repeat(MAX_PATTERN_LEN);
        if let Err(e) = Pattern::compile(&at_limit, None) {
            assert!(!e.contains("source longer"), "{e}");
        }
        // Within the limits. (Matching a haystack of many `a` against this
        // would be slow: the cost of a search is bounded by the size of the
        // program times the length of the haystack, see the module docs.)
        let long = re(&"a".repeat(20_000), None);
        assert!(!long.is_match("bbb"));
        assert!(matches(r"^[a-z]{1000}$", Some("i"), &"Q".repeat(1000)));
    }

    #[test]
    fn case_folding_work_is_bounded() {
        let wide = r"[\0-\x{10FFFF}]".repeat(250);
        assert!(Pattern::compile(&wide, None).is_ok());
        let e = err(&wide, Some("i"));
        assert!(e.contains("case-insensitive"), "{e}");
        let e = err(&format!("a(?i:b){wide}"), None);
        assert!(e.contains("case-insensitive"), "{e}");
        // (?-i) does not turn folding on.
        assert!(Pattern::compile(&format!("(?-i){wide}"), None).is_ok());
        let letters = format!("[{}]", r"\pL".repeat(600));
        assert!(err(&letters, Some("i")).contains("case-insensitive"));
        // Ordinary classes cost next to nothing.
        let ordinary = r"[^\x22][a-z]\w\W[\s\S][[:alpha:]]\D".repeat(100);
        assert!(Pattern::compile(&ordinary, Some("i")).is_ok());
    }

    #[test]
    fn case_folding_across_split_ranges() {
        // Ranges are emitted in pieces; folding must see all of them.
        assert!(matches(
            r"^[\x{0}-\x{10FFFF}]+$",
            Some("i"),
            "aK\u{212a}\u{10ffff}\n"
        ));
        assert!(matches(r"^[\x{212A}]$", Some("i"), "k"));
        assert!(matches(
            r"^[\x{2000}-\x{1E943}]+$",
            Some("i"),
            "kK\u{1e922}"
        ));
        assert!(!matches(r"[\x{2000}-\x{1E943}]", Some("i"), "a"));
        assert!(matches(r"^[\x{10400}]$", Some("i"), "\u{10428}"));
        assert!(matches(r"^[\x{1E900}-\x{1E921}]$", Some("i"), "\u{1e922}"));
        assert!(matches(r"^[x\x{1E900}\p{Greek}]$", Some("i"), "\u{1e922}"));
        assert!(matches(r"^[x\x{1E900}\p{Greek}]$", Some("i"), "X"));
        // Complement of the folded class, as in RE2: K and ſ fold into
        // ASCII k and s, so those are excluded too.
        assert!(matches(r"^[^\x{80}-\x{10FFFF}]$", Some("i"), "a"));
        assert!(!matches(r"^[^\x{80}-\x{10FFFF}]$", Some("i"), "k"));
        assert!(!matches(r"^[^\x{80}-\x{10FFFF}]$", Some("i"), "S"));
        assert!(matches(r"^[^\x{80}-\x{10FFFF}]$", None, "k"));
        assert!(matches(r"^[\W\x{212A}]$", Some("i"), "k"));
        assert!(!matches(r"^[^\W\x{212A}]$", Some("i"), "k"));
        assert!(matches(r"^[^\W\x{212A}]$", Some("i"), "a"));
    }

    mod props {
        use super::super::Pattern;
        use proptest::prelude::*;

        /// Strings dense in regexp syntax.
        fn pattern() -> impl Strategy<Value = String> {
            let atoms = prop::sample::select(vec![
                "(", ")", "(?", "(?:", "(?i)", "(?P<", "(?<", ">", "[", "]", "[^", "[:", ":]", "^",
                "$", ".", "|", "*", "+", "?", "{", "}", ",", "-", "=", "!", "<", "\\", "\\d",
                "\\w", "\\s", "\\b", "\\B", "\\p", "\\P", "{L}", "{Greek}", "{^", "\\x", "\\u",
                "\\c", "\\Q", "\\E", "\\0", "\\1", "\\7", "a", "b", "Z", "é", "😀", "0", "1", "9",
                "F", "/", "\n", " ", "alpha", "\\uD800", "1000",
            ]);
            prop::collection::vec(atoms, 0..24).prop_map(|v| v.concat())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(4000))]

            #[test]
            fn compile_never_panics(p in pattern(), f in proptest::option::of("[gimsuyxdI]{0,4}")) {
                if let Ok(re) = Pattern::compile(&p, f.as_deref()) {
                    let _ = re.is_match("a\nb éZ 0 😀 _-/[]");
                    prop_assert!(regex::Regex::new(re.translated()).is_ok());
                }
            }

            /// The compact DFA answers exactly as the `regex` crate does, on texts made of
            /// the patterns' own pieces (so that they match often), multi-byte characters,
            /// case variants and line breaks included.
            #[test]
            fn compact_dfa_agrees_with_the_regex_crate(
                p in pattern(),
                f in proptest::option::of("[ims]{0,3}"),
                texts in prop::collection::vec(
                    prop::collection::vec(prop::sample::select(vec![
                        "a", "A", "b", "Z", "z", "é", "É", "😀", "0", "1", "9", " ", "\n", "_",
                        "alpha", "ALPHA", "\u{212A}", "k", "-", "/", "[", "]", "\\",
                    ]), 0..12).prop_map(|v| v.concat()),
                    1..6,
                ),
            ) {
                if let Ok(re) = Pattern::compile(&p, f.as_deref()) {
                    let reference = super::super::build_regex(re.translated()).expect("compiles");
                    for text in &texts {
                        prop_assert_eq!(re.is_match(text), reference.is_match(text), "{:?} on {:?}", re.translated(), text);
                    }
                }
            }

            #[test]
            fn arbitrary_text_never_panics(p in "\\PC{0,40}", f in proptest::option::of("\\PC{0,4}")) {
                if let Ok(re) = Pattern::compile(&p, f.as_deref()) {
                    let _ = re.is_match(&p);
                }
            }

            #[test]
            fn errors_are_one_line(p in pattern()) {
                if let Err(e) = Pattern::compile(&p, None) {
                    prop_assert!(e.starts_with("cannot parse regexp expression \"/"));
                    let rest = e.get(e.len().saturating_sub(1)..);
                    prop_assert_eq!(rest, Some(")"));
                    if !p.contains('\n') {
                        prop_assert!(!e.contains('\n'));
                    }
                }
            }

            #[test]
            fn literal_text_matches_itself(s in "[a-zA-Z0-9 .*+?()\\[\\]{}|^$#&~-]{0,20}") {
                // Escaping every metacharacter the JavaScript way gives a
                // pattern matching the text.
                let mut p = String::new();
                for c in s.chars() {
                    if !c.is_ascii_alphanumeric() && c != ' ' {
                        p.push('\\');
                    }
                    p.push(c);
                }
                let re = Pattern::compile(&format!("^{p}$"), None);
                prop_assert!(re.as_ref().is_ok_and(|re| re.is_match(&s)), "{:?}", re.err());
            }
        }
    }
}
