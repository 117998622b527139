//! Java regular expressions on top of the `regex` crate, for RegexRouter and TopicNameMatches: full-match
//! semantics (`Matcher.matches()`), `Matcher.replaceFirst` and Java's replacement syntax (`$1`, `${name}`, `\$`).
//!
//! Java's `\Q...\E` quoting is translated; constructs the `regex` crate lacks (backreferences, lookaround,
//! possessive quantifiers, atomic groups) are refused when the pattern is compiled.

use regex::Regex;

/// A compiled Java pattern.
#[derive(Clone, Debug)]
pub(crate) struct JavaRegex {
    /// The pattern anchored at both ends, for `matches()`.
    full: Regex,
    /// The pattern as is, for `replaceFirst` (which searches, as Java's does).
    search: Regex,
}

impl JavaRegex {
    /// Compiles `pattern`; the error is the regex crate's description of the problem.
    pub(crate) fn new(pattern: &str) -> Result<Self, String> {
        let translated = translate_quotes(pattern)?;
        let search = Regex::new(&translated).map_err(|e| e.to_string())?;
        let full = Regex::new(&format!(r"\A(?:{translated})\z")).map_err(|e| e.to_string())?;
        Ok(JavaRegex { full, search })
    }

    /// Whether the whole of `text` matches (Java's `Matcher.matches()`).
    pub(crate) fn matches(&self, text: &str) -> bool {
        self.full.is_match(text)
    }

    /// Compiles a Java replacement string against this pattern's groups.
    pub(crate) fn replacement(&self, replacement: &str) -> Result<Replacement, String> {
        Replacement::new(replacement, &self.search)
    }

    /// Java's `Matcher.replaceFirst(replacement)`: the first match of the pattern in `text` replaced.
    pub(crate) fn replace_first(&self, text: &str, replacement: &Replacement) -> String {
        let Some(caps) = self.search.captures(text) else {
            return text.to_string();
        };
        let Some(whole) = caps.get(0) else {
            return text.to_string();
        };
        let mut out = String::with_capacity(text.len() + 16);
        out.push_str(&text[..whole.start()]);
        for part in &replacement.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Group(i) => out.push_str(caps.get(*i).map_or("", |m| m.as_str())),
                Part::Named(name) => out.push_str(caps.name(name).map_or("", |m| m.as_str())),
            }
        }
        out.push_str(&text[whole.end()..]);
        out
    }
}

/// Rewrites Java's `\Q...\E` quoted sections as escaped text, leaving the rest of the pattern alone.
fn translate_quotes(pattern: &str) -> Result<String, String> {
    let mut out = String::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(quoted) = after.strip_prefix('Q') {
            let (text, next) = match quoted.find("\\E") {
                Some(end) => (&quoted[..end], &quoted[end + 2..]),
                None => (quoted, ""),
            };
            out.push_str(&regex::escape(text));
            rest = next;
        } else {
            // Keep the escape and the escaped character together (so `\\Q` stays an escaped backslash + Q).
            let mut chars = after.chars();
            out.push('\\');
            match chars.next() {
                Some(c) => out.push(c),
                None => return Err("Unexpected internal error near index 1\n\\".into()),
            }
            rest = chars.as_str();
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Literal(String),
    Group(usize),
    Named(String),
}

/// A Java replacement string compiled against a pattern: literal text and group references.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Replacement {
    parts: Vec<Part>,
}

impl Replacement {
    /// Parses `replacement` as Java's `Matcher.appendReplacement` does: `\x` is a literal `x`, `${name}` a named
    /// group, `$n` group `n` taking further digits while the number stays a valid group (so `$1a` is group 1 then
    /// `a`). The errors are Java's messages, reported here instead of on the first matching record.
    fn new(replacement: &str, regex: &Regex) -> Result<Self, String> {
        let group_count = regex.captures_len() - 1;
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = replacement.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(escaped) => literal.push(escaped),
                    None => return Err("character to be escaped is missing".into()),
                },
                '$' => {
                    let reference = match chars.peek() {
                        None => return Err("Illegal group reference: group index is missing".into()),
                        Some('{') => {
                            chars.next();
                            let mut name = String::new();
                            loop {
                                match chars.next() {
                                    Some('}') => break,
                                    Some(ch) if ch.is_ascii_alphanumeric() => name.push(ch),
                                    _ => return Err("named capturing group is missing trailing '}'".into()),
                                }
                            }
                            if name.is_empty() {
                                return Err("named capturing group has 0 length name".into());
                            }
                            if name.starts_with(|ch: char| ch.is_ascii_digit()) {
                                return Err("capturing group name {".to_string()
                                    + &name
                                    + "} starts with digit character");
                            }
                            if !regex.capture_names().flatten().any(|n| n == name) {
                                return Err(format!("No group with name {{{name}}}"));
                            }
                            Part::Named(name)
                        }
                        Some(d) if d.is_ascii_digit() => {
                            let mut number = d.to_digit(10).unwrap_or(0) as usize;
                            chars.next();
                            if number > group_count {
                                return Err(format!("No group {number}"));
                            }
                            while let Some(next) = chars.peek().and_then(|ch| ch.to_digit(10)) {
                                let bigger = number * 10 + next as usize;
                                if bigger > group_count {
                                    break;
                                }
                                number = bigger;
                                chars.next();
                            }
                            Part::Group(number)
                        }
                        Some(_) => return Err("Illegal group reference".into()),
                    };
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(reference);
                }
                other => literal.push(other),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(Replacement { parts })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(regex: &str, replacement: &str, topic: &str) -> String {
        let r = JavaRegex::new(regex).unwrap();
        let rep = r.replacement(replacement).unwrap();
        if r.matches(topic) {
            r.replace_first(topic, &rep)
        } else {
            topic.to_string()
        }
    }

    #[test]
    fn kafka_regex_router_cases() {
        assert_eq!(route("foo", "bar", "foo"), "bar");
        assert_eq!(route("foo", "bar", "orig"), "orig");
        assert_eq!(route("(.*)", "$1", "orig"), "orig");
        assert_eq!(route("(.*)", "prefix-$1", "orig"), "prefix-orig");
        assert_eq!(route("(.*)", "$1-suffix", "orig"), "orig-suffix");
        assert_eq!(route(r"(.*)-(\d\d\d\d\d\d\d\d)", "$1", "index-20160117"), "index");
    }

    #[test]
    fn full_match_semantics() {
        let r = JavaRegex::new("foo").unwrap();
        assert!(r.matches("foo"));
        assert!(!r.matches("foobar"));
        assert!(!r.matches("xfoo"));
        assert!(JavaRegex::new("a|ab").unwrap().matches("ab"));
    }

    #[test]
    fn replacement_follows_java_rules() {
        // `$1a` is group 1 followed by `a` (Rust would read a group named `1a`).
        assert_eq!(route("(.*)", "$1a", "x"), "xa");
        // Digits are taken while the group exists.
        assert_eq!(route("(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)", "$11-$10-$1", "abcdefghijk"), "k-j-a");
        assert_eq!(route("(a)(b)", "$12", "ab"), "a2");
        assert_eq!(route("(.*)", r"\$1\\", "x"), r"$1\");
        assert_eq!(route("(?<name>.*)-x", "${name}", "abc-x"), "abc");
        // An unmatched optional group is empty.
        assert_eq!(route("(a)?b", "[$1]", "b"), "[]");
        // replaceFirst searches: a lazy full match still replaces the first (empty) match.
        assert_eq!(route("(.*?)", "p-", "abc"), "p-abc");
    }

    #[test]
    fn replacement_errors_are_java_messages() {
        let r = JavaRegex::new("(a)").unwrap();
        assert_eq!(r.replacement("$2").unwrap_err(), "No group 2");
        assert_eq!(r.replacement("$").unwrap_err(), "Illegal group reference: group index is missing");
        assert_eq!(r.replacement("$x").unwrap_err(), "Illegal group reference");
        assert_eq!(r.replacement("\\").unwrap_err(), "character to be escaped is missing");
        assert_eq!(r.replacement("${nope}").unwrap_err(), "No group with name {nope}");
        assert!(r.replacement("${a").is_err());
        assert!(r.replacement("${}").is_err());
        assert!(r.replacement("${1a}").is_err());
    }

    #[test]
    fn quoting_is_translated() {
        let r = JavaRegex::new(r"\Qa.b\E-\d+").unwrap();
        assert!(r.matches("a.b-12"));
        assert!(!r.matches("axb-12"));
        assert!(JavaRegex::new(r"\Q(unclosed").unwrap().matches("(unclosed"));
        assert!(JavaRegex::new(r"x\\Q").unwrap().matches(r"x\Q"));
    }

    #[test]
    fn unsupported_or_invalid_patterns_are_errors() {
        assert!(JavaRegex::new("(").is_err());
        assert!(JavaRegex::new(r"(a)\1").is_err());
        assert!(JavaRegex::new("a(?=b)").is_err());
        assert!(JavaRegex::new("\\").is_err());
    }
}
