//! A report's kind from its headline: the bug type of ASAN/MSAN/TSan, UBSan's check name.

#![forbid(unsafe_code)]

use super::Sanitizer;

/// ASAN/MSAN headlines whose first word is not the bug type, with the type their `SUMMARY:`
/// line gives (sanitizer_common's and asan's `ReportErrorSummary` calls).
const PHRASES: &[(&str, &str)] = &[
    ("attempting double-free", "double-free"),
    ("attempting free on address which was not malloc()-ed", "bad-free"),
    ("attempting to call malloc_usable_size()", "bad-malloc_usable_size"),
    ("attempting to call __sanitizer_get_allocated_size()", "bad-__sanitizer_get_allocated_size"),
    ("requested allocation size", "allocation-size-too-big"),
    ("allocator is out of memory", "out-of-memory"),
    ("out of memory:", "out-of-memory"),
    ("calloc parameters overflow", "calloc-overflow"),
    ("reallocarray parameters overflow", "reallocarray-overflow"),
    ("pvalloc parameters overflow", "pvalloc-overflow"),
    ("invalid alignment requested in aligned_alloc", "invalid-aligned-alloc-alignment"),
    ("invalid alignment requested in posix_memalign", "invalid-posix-memalign-alignment"),
    ("invalid allocation alignment", "invalid-allocation-alignment"),
    ("rss limit exhausted", "rss-limit-exceeded"),
    ("malloc limit exhausted", "malloc-limit-exceeded"),
    ("detected memory leaks", "detected memory leaks"),
];

/// The kind of a runtime headline (`rest` follows `XSanitizer: `), and the pid TSan puts in
/// it (`data race (pid=123)`) when the line had no `==PID==`.
pub(super) fn from_headline(sanitizer: Sanitizer, rest: &str, pid: Option<u32>) -> (String, Option<u32>) {
    if sanitizer == Sanitizer::Tsan {
        let kind = match rest.rfind(" (pid=") {
            Some(at) if rest.ends_with(')') => rest.get(..at).unwrap_or(rest),
            _ => rest,
        };
        // ERROR: ThreadSanitizer: SEGV on unknown address ... -> SEGV, like the others.
        let kind = if kind.contains(" on unknown address") { first_word(kind) } else { kind };
        return (kind.to_owned(), pid.or_else(|| tsan_pid(rest)));
    }
    if let Some((_, kind)) = PHRASES.iter().rev().find(|(phrase, _)| rest.starts_with(phrase)) {
        return ((*kind).to_owned(), pid);
    }
    (first_word(rest).to_owned(), pid)
}

/// `... (pid=123)` -> 123.
pub(super) fn tsan_pid(rest: &str) -> Option<u32> {
    let at = rest.rfind("(pid=")?;
    let digits = rest.get(at + 5..)?.strip_suffix(')')?;
    digits.parse().ok()
}

/// The `N` of a `CHECK failed: ... (tid=N)` headline: the id of the thread that failed the
/// check.
pub(super) fn check_failed_tid(rest: &str) -> Option<u32> {
    let at = rest.rfind("(tid=")?;
    let digits = rest.get(at + 5..)?.trim_end().strip_suffix(')')?;
    digits.parse().ok()
}

/// `heap-buffer-overflow on address ...` -> `heap-buffer-overflow`; `memcpy-param-overlap:` ->
/// `memcpy-param-overlap`; `odr-violation (0x...):` -> `odr-violation`.
fn first_word(text: &str) -> &str {
    let word = text.split(|c: char| c.is_whitespace() || c.is_control()).find(|w| !w.is_empty()).unwrap_or("");
    let word = word.trim_end_matches(':');
    if word.is_empty() {
        "unknown"
    } else {
        word
    }
}

/// A `SUMMARY:` line's bug type, when it names one: the first word, unless it is a number
/// (LSan's `170 byte(s) leaked`) or UBSan's generic `undefined-behavior`.
pub(super) fn from_summary(sanitizer: Sanitizer, rest: &str) -> Option<&str> {
    match sanitizer {
        Sanitizer::Lsan | Sanitizer::Tsan => None,
        Sanitizer::Asan | Sanitizer::Msan | Sanitizer::Ubsan => {
            let word = rest.split_whitespace().next()?;
            let plausible = word.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
                && word.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            (plausible && word != "undefined-behavior").then_some(word)
        }
    }
}

/// UBSan's check name (`ubsan_checks.inc`'s summary kind) for a `runtime error:` message, as
/// `report_error_type=1` would print it; `undefined-behavior` when unknown.
pub(super) fn ubsan_check(message: &str) -> &'static str {
    let has = |needle: &str| message.contains(needle);
    let starts = |prefix: &str| message.starts_with(prefix);
    if starts("signed integer overflow:") {
        "signed-integer-overflow"
    } else if starts("unsigned integer overflow:") {
        "unsigned-integer-overflow"
    } else if starts("negation of ") {
        if has("cast to an unsigned type") {
            "signed-integer-overflow"
        } else {
            "unsigned-integer-overflow"
        }
    } else if starts("division of ") && has(" by -1 ") {
        "signed-integer-overflow"
    } else if starts("division by zero") {
        // The same text for integer-divide-by-zero and float-divide-by-zero (and LLVM's
        // fixed-point-divide-by-zero), with no operand type: the message proves none of them.
        "undefined-behavior"
    } else if starts("shift exponent ") {
        "invalid-shift-exponent"
    } else if starts("left shift of ") {
        "invalid-shift-base"
    } else if starts("index ") && has(" out of bounds for type ") {
        "out-of-bounds-index"
    } else if has(" null pointer of type ") {
        "null-pointer-use"
    } else if has(" misaligned address ") {
        "misaligned-pointer-use"
    } else if has(" with insufficient space for an object of type ") {
        "insufficient-object-size"
    } else if starts("assumption of ") && has(" byte alignment") {
        "alignment-assumption"
    } else if starts("applying zero offset to null pointer") {
        "nullptr-with-offset"
    } else if starts("applying non-zero offset to non-null pointer") {
        "nullptr-after-nonzero-offset"
    } else if starts("applying non-zero offset ") {
        "nullptr-with-nonzero-offset"
    } else if starts("addition of unsigned offset ")
        || starts("subtraction of unsigned offset ")
        || starts("pointer index expression with base ")
    {
        "pointer-overflow"
    } else if starts("execution reached an unreachable program point") {
        "unreachable-call"
    } else if starts("execution reached the end of a value-returning function") {
        "missing-return"
    } else if starts("variable length array bound evaluates to non-positive value") {
        "non-positive-vla-index"
    } else if has(" is outside the range of representable values of type ") {
        "float-cast-overflow"
    } else if starts("load of value ") && has(", which is not a valid value for type ") {
        if has("type 'bool'") || has("type 'BOOL'") {
            "invalid-bool-load"
        } else {
            "invalid-enum-load"
        }
    } else if starts("implicit conversion from type ") {
        implicit_conversion(message)
    } else if (starts("passing zero to ") && has(", which is not a valid argument"))
        || starts("assumption is violated during execution")
    {
        // `passing zero to ctz(), ...` (gcc, LLVM up to 18), `__builtin_ctz()` (LLVM 19 on).
        "invalid-builtin-use"
    } else if starts("null pointer returned from function declared to never return null") {
        "invalid-null-return"
    } else if starts("null pointer passed as argument ") {
        "invalid-null-argument"
    } else if starts("call to function ") && has(" through pointer to incorrect function type ") {
        "function-type-mismatch"
    } else if starts("control flow integrity check for type ") {
        "cfi-bad-type"
    } else if has(" which does not point to an object of type ") {
        "dynamic-type-mismatch"
    } else if starts("invalid ObjC cast") {
        "invalid-objc-cast"
    } else {
        "undefined-behavior"
    }
}

/// `implicit conversion from type 'int' of value -1 (32-bit, signed) to type 'unsigned char'
/// changed the value to 255 (8-bit, unsigned)`: the check clang emits for such a conversion
/// (its `EmitIntegerTruncationCheck`, `EmitIntegerSignChangeCheck` and
/// `EmitBitfieldConversionCheck`), when the message proves which one fired; else
/// `undefined-behavior`. Outside bit-fields, which check fires for some conversions depends on
/// which of the `-fsanitize=implicit-*` checks the build enabled:
/// - narrower, both unsigned: only `implicit-unsigned-integer-truncation` can fire;
/// - narrower, from signed: `implicit-signed-integer-truncation`, or
///   `implicit-integer-sign-change` when only the sign-change check is on: proven only when the
///   sign did not change (300 to `signed char` 44);
/// - narrower, unsigned to signed: `implicit-signed-integer-truncation`,
///   `implicit-integer-sign-change` or (both on) `...-truncation-or-sign-change`: never proven;
/// - as wide or wider: only `implicit-integer-sign-change`.
///
/// Into a bit-field (`(3-bit bitfield, unsigned)`) one check decides by the types alone.
fn implicit_conversion(message: &str) -> &'static str {
    const UNKNOWN: &str = "undefined-behavior";
    // Each `(N-bit, [un]signed)` / `(N-bit bitfield, [un]signed)` with the value before it.
    let mut sides = Vec::new();
    let mut rest = message;
    while let Some(open) = rest.find(" (") {
        let value = rest[..open].rsplit(' ').next().unwrap_or("");
        let after = &rest[open + 2..];
        let Some(close) = after.find(')') else { break };
        let inside = &after[..close];
        rest = &after[close..];
        let Some((bits, kind)) = inside.split_once("-bit") else { continue };
        let Ok(bits) = bits.parse::<u32>() else { continue };
        let kind = kind.trim_start_matches(',').trim_start();
        let (bitfield, kind) = match kind.strip_prefix("bitfield,") {
            Some(kind) => (true, kind.trim_start()),
            None => (false, kind),
        };
        let signed = match kind {
            "signed" => true,
            "unsigned" => false,
            _ => continue,
        };
        sides.push((value.starts_with('-'), bits, signed, bitfield));
    }
    let [(from_negative, from_bits, from_signed, _), (to_negative, to_bits, to_signed, bitfield)] = sides[..] else {
        return UNKNOWN;
    };
    let truncation = to_bits < from_bits;
    if bitfield {
        return match (truncation, from_signed, to_signed) {
            (false, _, _) => "implicit-integer-sign-change",
            (true, false, false) => "implicit-unsigned-integer-truncation",
            (true, false, true) => "implicit-signed-integer-truncation-or-sign-change",
            (true, true, _) => "implicit-signed-integer-truncation",
        };
    }
    match (truncation, from_signed, to_signed) {
        (false, _, _) => "implicit-integer-sign-change",
        (true, false, false) => "implicit-unsigned-integer-truncation",
        (true, true, _) if from_negative == to_negative => "implicit-signed-integer-truncation",
        (true, _, _) => UNKNOWN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asan_kinds() {
        let cases = [
            ("heap-buffer-overflow on address 0x602000000020 at pc 0x1", "heap-buffer-overflow"),
            ("attempting double-free on 0x602000000010 in thread T0:", "double-free"),
            ("alloc-dealloc-mismatch (operator new vs free) on 0x602000000010", "alloc-dealloc-mismatch"),
            ("SEGV on unknown address 0x000000000010 (pc 0x1 bp 0x2 sp 0x3 T0)", "SEGV"),
            ("memcpy-param-overlap: memory ranges [0x1,0x2) and [0x3, 0x4) overlap", "memcpy-param-overlap"),
            ("attempting free on address which was not malloc()-ed: 0x1 in thread T0", "bad-free"),
            ("requested allocation size 0xfffffffffffffff (0x1 after adjustments for alignment, red zones etc.) exceeds maximum supported size of 0x10000000000 (thread T0)", "allocation-size-too-big"),
            ("odr-violation (0x000000601080):", "odr-violation"),
            ("", "unknown"),
        ];
        for (rest, kind) in cases {
            assert_eq!(from_headline(Sanitizer::Asan, rest, Some(1)).0, kind, "{rest}");
        }
        assert_eq!(from_headline(Sanitizer::Lsan, "detected memory leaks", None).0, "detected memory leaks");
        assert_eq!(from_headline(Sanitizer::Msan, "use-of-uninitialized-value", None).0, "use-of-uninitialized-value");
    }

    #[test]
    fn tsan_kinds_and_pid() {
        let cases = [
            ("data race (pid=11273)", "data race", Some(11273)),
            ("lock-order-inversion (potential deadlock) (pid=5)", "lock-order-inversion (potential deadlock)", Some(5)),
            ("thread leak (pid=7)", "thread leak", Some(7)),
            ("SEGV on unknown address 0x000000000000 (pc 0x1 bp 0x2 sp 0x3 T9)", "SEGV", None),
            ("data race (pid=99999999999)", "data race", None),
        ];
        for (rest, kind, pid) in cases {
            assert_eq!(from_headline(Sanitizer::Tsan, rest, None), (kind.to_owned(), pid), "{rest}");
        }
    }

    #[test]
    fn ubsan_checks() {
        let cases = [
            ("signed integer overflow: 2147483647 + 1 cannot be represented in type 'int'", "signed-integer-overflow"),
            ("shift exponent 32 is too large for 32-bit type 'int'", "invalid-shift-exponent"),
            ("left shift of negative value -1", "invalid-shift-base"),
            ("index 4 out of bounds for type 'int [4]'", "out-of-bounds-index"),
            ("load of address 0x7ffe with insufficient space for an object of type 'int'", "insufficient-object-size"),
            ("load of misaligned address 0x01 for type 'int', which requires 4 byte alignment", "misaligned-pointer-use"),
            ("member access within null pointer of type 'struct S'", "null-pointer-use"),
            // The same text for integer and floating-point operands.
            ("division by zero", "undefined-behavior"),
            ("division of -2147483648 by -1 cannot be represented in type 'int'", "signed-integer-overflow"),
            ("negation of -2147483648 cannot be represented in type 'int'; cast to an unsigned type to negate this value to itself", "signed-integer-overflow"),
            ("applying non-zero offset 8 to null pointer", "nullptr-with-nonzero-offset"),
            ("pointer index expression with base 0xffffffffffffffff overflowed to 0x0", "pointer-overflow"),
            ("load of value 7, which is not a valid value for type 'bool'", "invalid-bool-load"),
            ("load of value 9, which is not a valid value for type 'enum E'", "invalid-enum-load"),
            ("1e+10 is outside the range of representable values of type 'int'", "float-cast-overflow"),
            ("null pointer passed as argument 2, which is declared to never be null", "invalid-null-argument"),
            // gcc 12 and LLVM 14 to 18; LLVM 19 on.
            ("passing zero to ctz(), which is not a valid argument", "invalid-builtin-use"),
            ("passing zero to clz(), which is not a valid argument", "invalid-builtin-use"),
            ("passing zero to __builtin_clz(), which is not a valid argument", "invalid-builtin-use"),
            ("assumption is violated during execution", "invalid-builtin-use"),
            ("implicit conversion from type 'unsigned int' of value 256 (32-bit, unsigned) to type 'unsigned char' changed the value to 0 (8-bit, unsigned)", "implicit-unsigned-integer-truncation"),
            ("implicit conversion from type 'int' of value -1 (32-bit, signed) to type 'unsigned int' changed the value to 4294967295 (32-bit, unsigned)", "implicit-integer-sign-change"),
            ("something new", "undefined-behavior"),
        ];
        for (message, check) in cases {
            assert_eq!(ubsan_check(message), check, "{message}");
        }
    }

    /// The implicit-conversion check a message proves, by clang's rules of which check it emits
    /// for a conversion; `undefined-behavior` where that depends on the build's flags.
    #[test]
    fn ubsan_implicit_conversion_checks() {
        let conversion = |from: &str, value: &str, from_width: &str, to: &str, result: &str, to_width: &str| {
            format!(
                "implicit conversion from type '{from}' of value {value} ({from_width}) to type '{to}' changed the value to {result} ({to_width})"
            )
        };
        let cases = [
            // Both unsigned, narrower: the unsigned truncation check alone can fire.
            (
                conversion("unsigned int", "256", "32-bit, unsigned", "unsigned char", "0", "8-bit, unsigned"),
                "implicit-unsigned-integer-truncation",
            ),
            // From signed, narrower, the sign kept: only the truncation check sees it.
            (
                conversion("int", "256", "32-bit, signed", "unsigned char", "0", "8-bit, unsigned"),
                "implicit-signed-integer-truncation",
            ),
            (
                conversion("int", "300", "32-bit, signed", "signed char", "44", "8-bit, signed"),
                "implicit-signed-integer-truncation",
            ),
            // From signed, narrower, the sign changed: the truncation check (clang 14 with
            // -fsanitize=implicit-conversion says so) or the sign-change check alone.
            (
                conversion("int", "-1", "32-bit, signed", "unsigned char", "255", "8-bit, unsigned"),
                "undefined-behavior",
            ),
            // Unsigned to a narrower signed type: any of three, by the flags.
            (
                conversion("unsigned int", "4294967295", "32-bit, unsigned", "signed char", "-1", "8-bit, signed"),
                "undefined-behavior",
            ),
            (
                conversion("unsigned int", "300", "32-bit, unsigned", "signed char", "44", "8-bit, signed"),
                "undefined-behavior",
            ),
            // As wide or wider: only the sign-change check.
            (
                conversion("int", "-1", "32-bit, signed", "unsigned int", "4294967295", "32-bit, unsigned"),
                "implicit-integer-sign-change",
            ),
            (
                conversion("int", "-1", "32-bit, signed", "unsigned long", "18446744073709551615", "64-bit, unsigned"),
                "implicit-integer-sign-change",
            ),
            (
                conversion("unsigned int", "4294967295", "32-bit, unsigned", "int", "-1", "32-bit, signed"),
                "implicit-integer-sign-change",
            ),
            // Bit-fields: the types decide.
            (
                conversion("int", "-1", "32-bit, signed", "unsigned int", "7", "3-bit bitfield, unsigned"),
                "implicit-signed-integer-truncation",
            ),
            (
                conversion("unsigned int", "9", "32-bit, unsigned", "unsigned int", "1", "3-bit bitfield, unsigned"),
                "implicit-unsigned-integer-truncation",
            ),
            (
                conversion("unsigned int", "7", "32-bit, unsigned", "int", "-1", "3-bit bitfield, signed"),
                "implicit-signed-integer-truncation-or-sign-change",
            ),
            (
                conversion("char", "-1", "8-bit, signed", "unsigned int", "4294967295", "32-bit bitfield, unsigned"),
                "implicit-integer-sign-change",
            ),
            // Not the runtime's text.
            ("implicit conversion from type 'int' of value 1 to type 'char'".to_owned(), "undefined-behavior"),
            (
                "implicit conversion from type 'int' of value -1 (32-bit, signed) to type 'x' (".to_owned(),
                "undefined-behavior",
            ),
        ];
        for (message, check) in cases {
            assert_eq!(ubsan_check(&message), check, "{message}");
        }
    }

    #[test]
    fn summary_kinds() {
        assert_eq!(
            from_summary(Sanitizer::Asan, "double-free ../asan_malloc_linux.cpp:52 in free"),
            Some("double-free")
        );
        assert_eq!(
            from_summary(Sanitizer::Ubsan, "invalid-shift-exponent ubsan.c:13:18 in "),
            Some("invalid-shift-exponent")
        );
        assert_eq!(from_summary(Sanitizer::Ubsan, "undefined-behavior ubsan.c:13:18 in "), None);
        assert_eq!(from_summary(Sanitizer::Lsan, "170 byte(s) leaked in 5 allocation(s)."), None);
        assert_eq!(from_summary(Sanitizer::Asan, "(/tmp/x+0x1) "), None);
    }
}
