//! Binary search that starts from where the previous search ended: the batch runner feeds each
//! thread addresses in ascending order, so the next answer is usually a few entries further.

#![forbid(unsafe_code)]

/// Position-memory for one thread's successive lookups (all `0` = no memory).
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Hints {
    /// Unit the `row` and `die` hints belong to, plus one (0 = none).
    pub unit: usize,
    pub row: usize,
    pub die: usize,
    pub symbol: usize,
}

impl Hints {
    /// Forget the per-unit hints when the unit changes.
    pub(super) fn enter_unit(&mut self, unit: usize) {
        if self.unit != unit + 1 {
            self.unit = unit + 1;
            self.row = 0;
            self.die = 0;
        }
    }
}

/// `slice.partition_point(pred)`, galloping forward from `hint` (a previous answer for a
/// smaller key) when `pred` still holds just before it; a plain binary search otherwise.
pub(super) fn partition_from<T>(slice: &[T], hint: usize, pred: impl Fn(&T) -> bool) -> usize {
    let holds_before = match hint.checked_sub(1) {
        None => true,
        Some(before) => slice.get(before).is_some_and(&pred),
    };
    if !holds_before {
        return slice.partition_point(pred);
    }
    // The answer is at or after `hint`: find a bound by doubling steps, then bisect.
    let mut low = hint;
    let mut step = 1;
    loop {
        let probe = low.saturating_add(step - 1);
        match slice.get(probe) {
            Some(item) if pred(item) => {
                low = probe + 1;
                step = step.saturating_mul(2);
            }
            _ => {
                let high = probe.min(slice.len());
                return low + slice.get(low..high).map_or(0, |s| s.partition_point(&pred));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::partition_from;

    #[test]
    fn galloping_agrees_with_binary_search() {
        let values: Vec<u64> = (0..200).map(|i| i * 3).collect();
        for hint in 0..=values.len() + 2 {
            for key in 0..620 {
                assert_eq!(
                    partition_from(&values, hint, |v| *v <= key),
                    values.partition_point(|v| *v <= key),
                    "hint {hint} key {key}"
                );
            }
        }
        assert_eq!(partition_from(&[] as &[u64], 5, |v| *v <= 1), 0);
    }
}
