/// A hash that is the same on every run and machine (Swift's Hasher is
/// seeded per process, so it cannot pick shards or remember duplicates).
public enum StableHash {
    /// FNV-1a over the bytes, finished with a SplitMix64 mix for good low bits.
    public static func hash64<S: Sequence>(_ bytes: S, seed: UInt64 = 0) -> UInt64 where S.Element == UInt8 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ seed
        for b in bytes {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01B3
        }
        return mix(h)
    }

    public static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// 128 bits: with 64 a billion keys would collide by chance.
    public static func hash128(_ bytes: [UInt8]) -> Pair {
        Pair(a: hash64(bytes), b: hash64(bytes, seed: 0x5bd1_e995_5bd1_e995))
    }

    public struct Pair: Hashable {
        public var a: UInt64
        public var b: UInt64
    }

    /// What --unique compares: the value as JSON with every number written by its
    /// value, so "1" and 1 differ (quotes) while 1 and 1.0 match at any depth.
    public static func uniqueKeyBytes(_ v: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        JSONWriter.write(v, into: &out, canonicalNumbers: true)
        return out
    }

    /// The bytes a shard key is hashed by: a string's text, anything else its JSON.
    public static func keyBytes(_ v: JSONValue) -> [UInt8] {
        if case .string(let s) = v { return Array(s.utf8) }
        var out: [UInt8] = []
        if case .number(let n) = v {
            // By exact value: 1.0 and 1 are one key, 1234567890123456788 and ...789 two.
            out.append(contentsOf: (n.exact?.canonical ?? n.text ?? JSONWriter.format(n.value)).utf8)
        } else {
            JSONWriter.write(v, into: &out)
        }
        return out
    }
}

/// A seeded generator (SplitMix64) that gives the same numbers everywhere.
public struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state = state &+ 0x9E37_79B9_7F4A_7C15
        return StableHash.mix(state)
    }
}
