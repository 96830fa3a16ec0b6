use std::net::{Ipv4Addr, Ipv6Addr};

use super::*;

fn v4(a: u32, len: u8) -> Ipv4Net {
    Ipv4Net::new(Ipv4Addr::from_bits(a), len)
        .expect("valid length")
        .trunc()
}

/// /24s from 16.0.0.0 on, in order.
fn slash24s(n: u32) -> impl Iterator<Item = Ipv4Net> {
    (0..n).map(|i| v4(0x1000_0000 + (i << 8), 24))
}

#[test]
fn behaves_as_one_map() {
    let mut m: PrefixTable<Ipv4Net, u32> = PrefixTable::default();
    assert!(m.is_empty());
    for (i, p) in slash24s(10_000).enumerate() {
        assert_eq!(m.insert(p, i as u32), None);
    }
    assert_eq!(m.len(), 10_000);
    let seventh = v4(0x1000_0700, 24);
    assert_eq!(m.insert(seventh, 1), Some(7));
    assert_eq!(m.get(&seventh), Some(&1));
    *m.get_mut(&v4(0x1000_0800, 24)).expect("inserted") += 1;
    assert_eq!(m.get(&v4(0x1000_0800, 24)), Some(&9));
    let other = v4(0x0a00_0000, 8);
    match m.entry(other) {
        Entry::Vacant(v) => {
            *v.insert(5) += 1;
        }
        Entry::Occupied(_) => panic!("10.0.0.0/8 was never inserted"),
    }
    assert_eq!(m.len(), 10_001);
    assert_eq!(m.remove(&other), Some(6));
    assert_eq!(m.get(&other), None);
    assert_eq!(m.remove(&other), None);
    let mut keys: Vec<Ipv4Net> = m.iter().map(|(k, _)| *k).collect();
    keys.sort_unstable();
    assert_eq!(keys, slash24s(10_000).collect::<Vec<_>>());
    for v in m.values_mut() {
        *v = 0;
    }
    assert!(m.iter().all(|(_, v)| *v == 0));
    m.shrink_if_sparse();
    assert_eq!(m.len(), 10_000);
    assert_eq!(m.get(&v4(0x1000_0800, 24)), Some(&0));
}

#[test]
fn prefixes_of_different_lengths_on_one_address_are_different_keys() {
    let mut m: PrefixTable<Ipv4Net, u8> = PrefixTable::default();
    for len in 0..=32 {
        m.insert(v4(0, len), len);
    }
    assert_eq!(m.len(), 33);
    for len in 0..=32 {
        assert_eq!(m.get(&v4(0, len)), Some(&len));
    }
    let mut m: PrefixTable<Ipv6Net, u8> = PrefixTable::default();
    for len in 0..=128 {
        let p = Ipv6Net::new(Ipv6Addr::UNSPECIFIED, len).expect("valid length");
        m.insert(p, len);
    }
    assert_eq!(m.len(), 129);
    let host = Ipv6Net::new(Ipv6Addr::LOCALHOST, 128).expect("valid length");
    assert_eq!(m.get(&host), None);
}

#[test]
fn a_block_is_64_neighbouring_prefixes_of_one_length() {
    // 16.0.0.0/24 .. 16.0.63.0/24 share a block, at offsets 0..63; 16.0.64.0/24 starts the next.
    let (block, offset) = v4(0x1000_0000, 24).block();
    for i in 0..64u32 {
        assert_eq!(v4(0x1000_0000 + (i << 8), 24).block(), (block, i));
    }
    assert_ne!(v4(0x1000_4000, 24).block().0, block);
    assert_ne!(v4(0x1000_0000, 23).block().0, block);
    assert_eq!(offset, 0);
    // Lengths below the block width still split cleanly.
    assert_eq!(v4(0x8000_0000, 1).block(), ((0, 1), 1));
    assert_eq!(v4(0, 0).block(), ((0, 0), 0));
    assert_eq!(v4(u32::MAX, 32).block(), ((u32::MAX >> 6, 32), 63));
    let (v6_block, v6_offset) = Ipv6Net::new(Ipv6Addr::from_bits(0x2001_0db8 << 96 | 5 << 64), 64)
        .expect("valid length")
        .block();
    assert_eq!(v6_offset, 5);
    assert_eq!(v6_block, (0x2001_0db8 << 26, 64));
}

#[test]
fn prefixes_in_order_fill_one_block_per_64() {
    let mut m: PrefixTable<Ipv4Net, u32> = PrefixTable::default();
    for (i, p) in slash24s(64 * 100).enumerate() {
        m.insert(p, i as u32);
    }
    assert_eq!(m.blocks.len(), 100);
    assert!(m
        .blocks
        .iter()
        .all(|b| b.entries.len() == 64 && b.present == u64::MAX));
    // Within a block, entries stay in address order whatever the insertion order.
    let mut m: PrefixTable<Ipv4Net, u32> = PrefixTable::default();
    for i in [5u32, 63, 0, 17, 6, 4] {
        m.insert(v4(0x1000_0000 + (i << 8), 24), i);
    }
    let order: Vec<u32> = m.iter().map(|(_, v)| *v).collect();
    assert_eq!(order, [0, 4, 5, 6, 17, 63]);
    assert_eq!(m.remove(&v4(0x1000_0500, 24)), Some(5));
    let order: Vec<u32> = m.iter().map(|(_, v)| *v).collect();
    assert_eq!(order, [0, 4, 6, 17, 63]);
    assert_eq!(m.get(&v4(0x1000_1100, 24)), Some(&17));
}

#[test]
fn an_emptied_block_leaves_the_index_and_a_sparse_index_shrinks() {
    let mut m: PrefixTable<Ipv4Net, ()> = PrefixTable::default();
    for p in slash24s(64 * 1_000) {
        m.insert(p, ());
    }
    let full = m.capacity();
    assert!(full >= 1_000);
    for p in slash24s(64 * 990) {
        assert_eq!(m.remove(&p), Some(()));
    }
    assert_eq!(m.len(), 640);
    assert_eq!(m.blocks.len(), 10);
    m.shrink_if_sparse();
    assert!(m.capacity() < full / 4, "{} of {full}", m.capacity());
    assert_eq!(m.iter().count(), 640);
}

#[test]
fn tables_are_seeded_apart() {
    // The block index is a hash table: its seed differs per table (and per process), so a
    // peer cannot predict where a block lands.
    let a = PrefixTable::<Ipv4Net, ()>::default();
    let b = PrefixTable::<Ipv4Net, ()>::default();
    let id = v4(0x1000_0000, 24).block().0;
    assert_ne!(a.seed.hash_one(id), b.seed.hash_one(id));
}
