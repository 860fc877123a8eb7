//! Line-level diff3: the classic three-way chunking of a text into regions both sides
//! left alone, regions one side changed, and regions both changed differently.

use std::hash::Hash;
use std::ops::Range;

use similar::{capture_diff_slices, Algorithm, DiffOp};

/// One region of a three-way comparison, as ranges into base, local or remote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Chunk {
    /// Unchanged on both sides (a base range).
    Stable(Range<usize>),
    /// Changed on this side only, or the same way on both sides: take this local range.
    Local(Range<usize>),
    /// Changed on the remote side only: take this remote range.
    Remote(Range<usize>),
    /// Changed differently on both sides.
    Conflict {
        base: Range<usize>,
        local: Range<usize>,
        remote: Range<usize>,
    },
}

/// For each base item, the index of the item it matches on the side `ops` leads to, if any.
fn matches(base_len: usize, ops: &[DiffOp]) -> Vec<Option<usize>> {
    let mut m = vec![None; base_len];
    for op in ops {
        if let DiffOp::Equal {
            old_index,
            new_index,
            len,
        } = *op
        {
            for k in 0..len {
                m[old_index + k] = Some(new_index + k);
            }
        }
    }
    m
}

/// The classic diff3 chunking (histogram diff of each side against the base) (Khanna, Kunal and Pierce): runs where all three agree are
/// stable; between them, a region is taken from the side that changed it, once when
/// both changed it alike, and is a conflict when both changed it differently.
pub(crate) fn diff3<T: Eq + Hash>(base: &[T], local: &[T], remote: &[T]) -> Vec<Chunk> {
    let alg = Algorithm::Histogram;
    let ml = matches(base.len(), &capture_diff_slices(alg, base, local));
    let mr = matches(base.len(), &capture_diff_slices(alg, base, remote));
    let (mut o, mut a, mut b) = (0, 0, 0);
    let mut out = Vec::new();
    loop {
        // A stable run: base, local and remote advance together.
        let mut n = 0;
        while o + n < base.len() && ml[o + n] == Some(a + n) && mr[o + n] == Some(b + n) {
            n += 1;
        }
        if n > 0 {
            out.push(Chunk::Stable(o..o + n));
            o += n;
            a += n;
            b += n;
            continue;
        }
        // The next base item both sides still hold ends the unstable region.
        let next = (o..base.len())
            .find(|&j| matches!((ml[j], mr[j]), (Some(x), Some(y)) if x >= a && y >= b));
        let (o2, a2, b2) = match next {
            Some(j) => (j, ml[j].unwrap_or(a), mr[j].unwrap_or(b)),
            None => (base.len(), local.len(), remote.len()),
        };
        if o2 == o && a2 == a && b2 == b {
            break;
        }
        let (br, lr, rr) = (o..o2, a..a2, b..b2);
        let local_same = local[lr.clone()] == base[br.clone()];
        let remote_same = remote[rr.clone()] == base[br.clone()];
        if local_same {
            out.push(Chunk::Remote(rr));
        } else if remote_same || local[lr.clone()] == remote[rr.clone()] {
            out.push(Chunk::Local(lr));
        } else {
            out.push(Chunk::Conflict {
                base: br,
                local: lr,
                remote: rr,
            });
        }
        o = o2;
        a = a2;
        b = b2;
    }
    out
}
