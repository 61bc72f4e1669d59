//! Per-thread memo of automaton results, keyed by field and value.
//!
//! This module owns the scan cache of the hot path. Forensic timelines
//! repeat themselves: the same `Image`, `Channel`, `Provider_Name`,
//! `ParentImage` or user name appears on thousands of events (in an
//! `evtx_dump` export of the public EVTX-ATTACK-SAMPLES logs about one
//! value in eight is distinct). Running every field's Aho-Corasick pools again on a
//! value seen a moment ago is the largest cost of evaluation, so the
//! matcher asks this memo first: the key is (slot, raw value bytes), the
//! answer is the list of needles found in the value with their position
//! bits, exactly what the scan would have produced.
//!
//! The memo is bounded (8 MB of keys, 2M hits, 256K entries per thread):
//! when any passes its limit the memo is emptied and refills from the
//! events that follow (so memory stays flat over a 20 GB input and the hit
//! rate follows the local repetition of the timeline). Keys are compared byte for byte after the hash, so a hash
//! collision can never change a result.

use hashbrown::HashTable;
use std::hash::BuildHasher;

/// Scan results are keyed by a slot: a field id, [`KEYWORDS`], or a field
/// id with [`KEYWORDS_TOO`] set (the field's and the keyword automatons'
/// results together, for a value that both search).
pub const KEYWORDS: u32 = u32::MAX;
pub const KEYWORDS_TOO: u32 = 1 << 31;

/// Values longer than this are scanned every time (they are rarely repeated
/// and would crowd the memo).
const MAX_KEY: usize = 4096;
/// Bytes of keys kept before the memo is emptied.
const MAX_BYTES: usize = 8 << 20;
/// Entries kept before the memo is emptied.
const MAX_ENTRIES: usize = 1 << 18;
/// Needle hits kept before the memo is emptied (a long value full of
/// one-character needles can hold thousands).
const MAX_HITS: usize = 1 << 21;

#[derive(Clone, Copy)]
struct Entry {
    hash: u64,
    slot: u32,
    key: (u32, u32),
    hits: (u32, u32),
}

/// A needle seen in a value: its id and position bits, packed as
/// `id << 4 | bits`.
pub type PackedHit = u32;

#[inline]
pub fn pack(id: u32, bits: u8) -> PackedHit {
    (id << 4) | bits as u32
}

#[inline]
pub fn unpack(h: PackedHit) -> (u32, u8) {
    (h >> 4, (h & 0xf) as u8)
}

/// The memo: a hash table of entries over two arenas (key bytes, hits).
pub struct ScanMemo {
    table: HashTable<Entry>,
    keys: Vec<u8>,
    hits: Vec<PackedHit>,
    hasher: foldhash::fast::FixedState,
    /// Lookups answered from the memo, and lookups that had to scan.
    pub hit_count: u64,
    pub miss_count: u64,
    /// Off: every value is scanned (for benchmarks that compare both).
    pub enabled: bool,
}

impl Default for ScanMemo {
    fn default() -> Self {
        ScanMemo {
            table: HashTable::new(),
            keys: Vec::new(),
            hits: Vec::new(),
            hasher: foldhash::fast::FixedState::with_seed(0x5157_4d41),
            hit_count: 0,
            miss_count: 0,
            enabled: true,
        }
    }
}

/// The outcome of [`ScanMemo::lookup`].
pub enum Lookup<'a> {
    /// The value was seen: these are its hits.
    Found(&'a [PackedHit]),
    /// Not seen (or not memoisable): scan, then [`ScanMemo::insert`] with
    /// this token.
    Missing(Option<u64>),
}

impl ScanMemo {
    /// Whether the memo has the scan results of `value` in `slot`.
    #[inline]
    pub fn lookup(&mut self, slot: u32, value: &[u8]) -> Lookup<'_> {
        if value.len() > MAX_KEY || !self.enabled {
            self.miss_count += 1;
            return Lookup::Missing(None);
        }
        let hash = self.hasher.hash_one((slot, value));
        let keys = &self.keys;
        let found = self.table.find(hash, |e| {
            e.hash == hash && e.slot == slot && &keys[e.key.0 as usize..e.key.1 as usize] == value
        });
        match found {
            Some(e) => {
                self.hit_count += 1;
                Lookup::Found(&self.hits[e.hits.0 as usize..e.hits.1 as usize])
            }
            None => {
                self.miss_count += 1;
                Lookup::Missing(Some(hash))
            }
        }
    }

    /// Records the scan results of `value` in `slot` (`token` from the
    /// preceding [`lookup`](Self::lookup)).
    pub fn insert(&mut self, token: Option<u64>, slot: u32, value: &[u8], found: &[PackedHit]) {
        let Some(hash) = token else { return };
        if self.keys.len() + value.len() > MAX_BYTES
            || self.hits.len() + found.len() > MAX_HITS
            || self.table.len() >= MAX_ENTRIES
        {
            self.table.clear();
            self.keys.clear();
            self.hits.clear();
        }
        let k0 = self.keys.len() as u32;
        self.keys.extend_from_slice(value);
        let h0 = self.hits.len() as u32;
        self.hits.extend_from_slice(found);
        let e = Entry {
            hash,
            slot,
            key: (k0, self.keys.len() as u32),
            hits: (h0, self.hits.len() as u32),
        };
        self.table.insert_unique(hash, e, |e| e.hash);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_by_slot_and_bytes() {
        let mut m = ScanMemo::default();
        let Lookup::Missing(t) = m.lookup(1, b"cmd.exe") else {
            panic!("empty memo found a value")
        };
        m.insert(t, 1, b"cmd.exe", &[pack(7, 3)]);
        match m.lookup(1, b"cmd.exe") {
            Lookup::Found(h) => {
                assert_eq!(h.iter().map(|&h| unpack(h)).collect::<Vec<_>>(), [(7, 3)])
            }
            Lookup::Missing(_) => panic!("memo lost a value"),
        }
        // Another slot, or other bytes, are other keys.
        assert!(matches!(m.lookup(2, b"cmd.exe"), Lookup::Missing(_)));
        assert!(matches!(m.lookup(1, b"CMD.exe"), Lookup::Missing(_)));
        assert_eq!((m.hit_count, m.miss_count), (1, 3));
    }

    #[test]
    fn empties_itself_when_full_and_keeps_answering() {
        let mut m = ScanMemo::default();
        let value = vec![b'a'; MAX_KEY];
        for i in 0..(MAX_BYTES / MAX_KEY + 10) as u32 {
            if let Lookup::Missing(t) = m.lookup(i, &value) {
                m.insert(t, i, &value, &[pack(i, 1)]);
            }
            assert!(m.keys.len() <= MAX_BYTES);
        }
        let last = (MAX_BYTES / MAX_KEY + 9) as u32;
        assert!(matches!(m.lookup(last, &value), Lookup::Found(h) if h == [pack(last, 1)]));
        // Too long to keep: always scanned.
        let long = vec![b'a'; MAX_KEY + 1];
        assert!(matches!(m.lookup(0, &long), Lookup::Missing(None)));
    }
}
