//! Redis's glob-style pattern matching (`stringmatchlen`), used by KEYS and
//! SCAN MATCH: `*`, `?`, `[abc]`, `[^a-z]`, and `\` escapes, byte for byte as Redis
//! (including its treatment of bytes above 0x7f as signed `char` in ranges).

/// Whether `string` matches the glob `pattern`.
pub fn matches(pattern: &[u8], string: &[u8]) -> bool {
    let mut skip_longer = false;
    match_impl(pattern, string, false, &mut skip_longer, 0)
}

/// Like [`matches()`], ignoring ASCII case.
pub fn matches_nocase(pattern: &[u8], string: &[u8]) -> bool {
    let mut skip_longer = false;
    match_impl(pattern, string, true, &mut skip_longer, 0)
}

fn lower(c: u8, nocase: bool) -> u8 {
    if nocase { c.to_ascii_lowercase() } else { c }
}

/// Patterns nest `*` recursion at most this deep (Redis has no limit, but relies on
/// `skip_longer` to stay polynomial; the bound protects the stack).
const MAX_DEPTH: usize = 1000;

fn match_impl(pat: &[u8], s: &[u8], nocase: bool, skip_longer: &mut bool, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    let (mut p, mut i) = (0usize, 0usize);
    let at = |p: usize| pat.get(p).copied().unwrap_or(0);
    while p < pat.len() && i < s.len() {
        match pat[p] {
            b'*' => {
                while p + 1 < pat.len() && pat[p + 1] == b'*' {
                    p += 1;
                }
                if p + 1 == pat.len() {
                    return true;
                }
                while i < s.len() {
                    if match_impl(&pat[p + 1..], &s[i..], nocase, skip_longer, depth + 1) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                    i += 1;
                }
                *skip_longer = true;
                return false;
            }
            b'?' => i += 1,
            b'[' => {
                p += 1;
                let not = at(p) == b'^' && p < pat.len();
                if not {
                    p += 1;
                }
                let mut matched = false;
                let c = s[i];
                loop {
                    if p >= pat.len() {
                        // Unterminated class: Redis steps back so the outer
                        // increment lands on the end.
                        p = pat.len() - 1;
                        break;
                    } else if pat[p] == b'\\' && pat.len() - p >= 2 {
                        p += 1;
                        if pat[p] == c {
                            matched = true;
                        }
                    } else if pat[p] == b']' {
                        break;
                    } else if pat.len() - p >= 3 && pat[p + 1] == b'-' {
                        // C compares plain (signed) chars.
                        let (mut start, mut end) = (pat[p] as i8 as i32, pat[p + 2] as i8 as i32);
                        let mut ch = c as i8 as i32;
                        if start > end {
                            std::mem::swap(&mut start, &mut end);
                        }
                        if nocase {
                            let l = |v: i32| {
                                if (65..=90).contains(&v) { v + 32 } else { v }
                            };
                            start = l(start);
                            end = l(end);
                            ch = l(ch);
                        }
                        p += 2;
                        if ch >= start && ch <= end {
                            matched = true;
                        }
                    } else if lower(pat[p], nocase) == lower(c, nocase) {
                        matched = true;
                    }
                    p += 1;
                }
                if not {
                    matched = !matched;
                }
                if !matched {
                    return false;
                }
                i += 1;
            }
            b'\\' => {
                if pat.len() - p >= 2 {
                    p += 1;
                }
                if lower(pat[p], nocase) != lower(s[i], nocase) {
                    return false;
                }
                i += 1;
            }
            other => {
                if lower(other, nocase) != lower(s[i], nocase) {
                    return false;
                }
                i += 1;
            }
        }
        p += 1;
        if i == s.len() {
            while p < pat.len() && pat[p] == b'*' {
                p += 1;
            }
            break;
        }
    }
    p >= pat.len() && i == s.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_examples() {
        let yes: &[(&str, &str)] = &[
            ("*", "anything"),
            ("h?llo", "hello"),
            ("h*llo", "heeeello"),
            ("h*llo", "hllo"),
            ("h[ae]llo", "hallo"),
            ("h[^e]llo", "hallo"),
            ("h[a-b]llo", "hbllo"),
            ("h[b-a]llo", "hbllo"),
            ("h\\*llo", "h*llo"),
            ("user:*:name", "user:42:name"),
            ("*a*b*c*", "xxaxxbxxcxx"),
            ("a*", "a"),
            ("[abc", "a"),
            ("key", "key"),
        ];
        for (p, s) in yes {
            assert!(matches(p.as_bytes(), s.as_bytes()), "{p} {s}");
        }
        let no: &[(&str, &str)] = &[
            ("h?llo", "hllo"),
            ("h[^e]llo", "hello"),
            ("h[a-b]llo", "hcllo"),
            ("h\\*llo", "hello"),
            ("a", ""),
            ("", "a"),
            ("*a*b*c*d", "xxaxxbxxcxx"),
            ("key", "KEY"),
        ];
        for (p, s) in no {
            assert!(!matches(p.as_bytes(), s.as_bytes()), "{p} {s}");
        }
        assert!(matches(b"", b""));
        assert!(matches_nocase(b"KEY*", b"keyspace"));
    }

    #[test]
    fn pathological_patterns_finish() {
        let pat = "a*".repeat(30) + "b";
        let s = "a".repeat(60);
        let t = std::time::Instant::now();
        assert!(!matches(pat.as_bytes(), s.as_bytes()));
        assert!(t.elapsed().as_secs() < 1);
        let deep = "*?".repeat(5000);
        let _ = matches(deep.as_bytes(), "x".repeat(10000).as_bytes());
    }
}
