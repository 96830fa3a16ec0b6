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
    m.shrink_to_fit();
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
        assert_eq!(
            v4(0x1000_0000 + (i << 8), 24).block(),
            (block, u64::from(i))
        );
    }
    assert_ne!(v4(0x1000_4000, 24).block().0, block);
    assert_ne!(v4(0x1000_0000, 23).block().0, block);
    assert_eq!(offset, 0);
    // Lengths below the block width still split cleanly.
    assert_eq!(v4(0x8000_0000, 1).block(), ((0, 1), 1));
    assert_eq!(v4(0, 0).block(), ((0, 0), 0));
    let (v6_block, v6_offset) = Ipv6Net::new(Ipv6Addr::from_bits(0x2001_0db8 << 96 | 5 << 64), 64)
        .expect("valid length")
        .block();
    assert_eq!(v6_offset, 5);
    assert_eq!(v6_block, (0x2001_0db8 << 26, 64));
}

#[test]
fn a_block_fills_neighbouring_buckets_with_distinct_tags() {
    let seed = FastState::default();
    let first = place(&seed, &v4(0x1000_0000, 24));
    let mut tags = Vec::new();
    for (i, p) in slash24s(64).enumerate() {
        let (shard, hash) = place(&seed, &p);
        assert_eq!(shard, first.0, "one block, one shard");
        // The bucket index (low bits) steps by one; the tag byte (top seven bits) differs.
        assert_eq!(hash & !(0x7f << 57), (first.1 & !(0x7f << 57)) + i as u64);
        tags.push(hash >> 57);
    }
    tags.sort_unstable();
    tags.dedup();
    assert_eq!(tags.len(), 64);
}

#[test]
fn blocks_spread_over_every_shard_and_each_table_has_its_own_layout() {
    let mut m: PrefixTable<Ipv4Net, ()> = PrefixTable::default();
    for p in slash24s(65_536) {
        m.insert(p, ());
    }
    for s in m.shards.iter() {
        // 4,096 expected per shard; a shard choice that ignored the seed or the block would
        // leave shards empty.
        assert!(s.len() > 2_048, "uneven shards: {}", s.len());
    }
    let a = PrefixTable::<Ipv4Net, ()>::default();
    let b = PrefixTable::<Ipv4Net, ()>::default();
    let p = v4(0x1000_0000, 24);
    assert_ne!(
        place(&a.seed, &p),
        place(&b.seed, &p),
        "tables must be seeded apart"
    );
}

#[test]
fn growth_moves_one_shard_at_a_time() {
    let mut m: PrefixTable<Ipv4Net, [u8; 20]> = PrefixTable::default();
    let mut largest_step = 0;
    let mut capacity = m.capacity();
    for p in slash24s(200_000) {
        m.insert(p, [0; 20]);
        let now = m.capacity();
        largest_step = largest_step.max(now - capacity);
        capacity = now;
    }
    // One table would have grown by its whole size (about 230k entries) in one step.
    assert!(
        largest_step * 4 < capacity,
        "largest growth {largest_step} of {capacity}"
    );
}
