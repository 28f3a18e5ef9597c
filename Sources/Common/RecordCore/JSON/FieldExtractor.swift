/// Reads chosen fields out of the raw bytes of a JSON object in one pass,
/// building values only for those fields and checking the syntax and UTF-8
/// of everything else without building it.
public final class FieldExtractor {
    final class Node {
        var keys: [(bytes: [UInt8], node: Node)] = []
        var indexes: [(index: Int, node: Node)] = []
        /// Paths that end here: the whole value is built.
        var leafIDs: [Int] = []
        /// Paths below a leaf, read from the built value.
        var below: [(id: Int, rest: FieldPath)] = []

        func child(_ c: FieldPath.Component) -> Node {
            switch c {
            case .key(let k):
                let b = Array(k.utf8)
                if let n = keys.first(where: { $0.bytes == b }) { return n.node }
                let n = Node()
                keys.append((b, n))
                return n
            case .index(let i):
                if let n = indexes.first(where: { $0.index == i }) { return n.node }
                let n = Node()
                indexes.append((i, n))
                return n
            }
        }
    }

    public let paths: [FieldPath]
    let root = Node()
    /// Keep numbers' spelling in the values built (for values written again).
    let keepNumberText: Bool

    public init(paths: [FieldPath], keepNumberText: Bool = false) {
        self.paths = paths
        self.keepNumberText = keepNumberText
        for (id, p) in paths.enumerated() {
            var node = root
            for c in p.components { node = node.child(c) }
            node.leafIDs.append(id)
        }
        // A path below another requested path is read from that value once built.
        func settle(_ node: Node, leaf: (node: Node, depth: Int)?, depth: Int) {
            var leaf = leaf
            if let l = leaf {
                for id in node.leafIDs {
                    let rest = Array(paths[id].components.dropFirst(l.depth))
                    l.node.below.append((id, FieldPath(components: rest, text: paths[id].description)))
                }
            } else if !node.leafIDs.isEmpty {
                leaf = (node, depth)
            }
            for k in node.keys { settle(k.node, leaf: leaf, depth: depth + 1) }
            for k in node.indexes { settle(k.node, leaf: leaf, depth: depth + 1) }
        }
        settle(root, leaf: nil, depth: 0)
        flatten()
    }

    // The trie again as flat tables behind raw pointers, so the per-record
    // walk touches no reference counts. Node 0 is the root.
    struct Edge {
        var keyOffset: Int
        var keyLength: Int
        var child: Int
    }
    var nodes: [Node] = []
    var edgeStart: UnsafeMutablePointer<Int> = .allocate(capacity: 1)
    var edgeCount: UnsafeMutablePointer<Int> = .allocate(capacity: 1)
    var isLeaf: UnsafeMutablePointer<Bool> = .allocate(capacity: 1)
    /// Each node's requested field ids, flat: `leafIDs[leafStart[id] ..< leafStart[id] + leafCount[id]]`.
    var leafStart: UnsafeMutablePointer<Int> = .allocate(capacity: 1)
    var leafCount: UnsafeMutablePointer<Int> = .allocate(capacity: 1)
    var leafIDs: UnsafeMutablePointer<Int> = .allocate(capacity: 1)
    var hasBelow: UnsafeMutablePointer<Bool> = .allocate(capacity: 1)
    var edges: UnsafeMutablePointer<Edge> = .allocate(capacity: 1)
    var keyPool: UnsafeMutablePointer<UInt8> = .allocate(capacity: 1)

    func flatten() {
        var order: [Node] = [root]
        var i = 0
        while i < order.count {
            order.append(contentsOf: order[i].keys.map { $0.node })
            order.append(contentsOf: order[i].indexes.map { $0.node })
            i += 1
        }
        nodes = order
        let n = order.count
        edgeStart = .allocate(capacity: n)
        edgeCount = .allocate(capacity: n)
        isLeaf = .allocate(capacity: n)
        leafStart = .allocate(capacity: n)
        leafCount = .allocate(capacity: n)
        hasBelow = .allocate(capacity: n)
        leafIDs = .allocate(capacity: max(1, order.reduce(0) { $0 + $1.leafIDs.count }))
        var l = 0
        let totalEdges = order.reduce(0) { $0 + $1.keys.count }
        edges = .allocate(capacity: max(1, totalEdges))
        keyPool = .allocate(capacity: max(1, order.reduce(0) { $0 + $1.keys.reduce(0) { $0 + $1.bytes.count } }))
        var e = 0
        var k = 0
        for (id, node) in order.enumerated() {
            edgeStart[id] = e
            edgeCount[id] = node.keys.count
            isLeaf[id] = !node.leafIDs.isEmpty
            leafStart[id] = l
            leafCount[id] = node.leafIDs.count
            hasBelow[id] = !node.below.isEmpty
            for leaf in node.leafIDs {
                leafIDs[l] = leaf
                l += 1
            }
            for key in node.keys {
                key.bytes.withUnsafeBufferPointer { (keyPool + k).update(from: $0.baseAddress!, count: $0.count) }
                edges[e] = Edge(keyOffset: k, keyLength: key.bytes.count, child: order.firstIndex { $0 === key.node }!)
                k += key.bytes.count
                e += 1
            }
        }
    }

    deinit {
        edgeStart.deallocate()
        edgeCount.deallocate()
        isLeaf.deallocate()
        leafStart.deallocate()
        leafCount.deallocate()
        leafIDs.deallocate()
        hasBelow.deallocate()
        edges.deallocate()
        keyPool.deallocate()
    }

    /// Checks that `line` is one JSON object and returns the requested fields
    /// (nil where absent). Throws JSONSyntaxError or UTF8Error.
    public func extract(_ line: UnsafeBufferPointer<UInt8>, into values: inout [JSONValue?]) throws {
        for i in values.indices { values[i] = nil }
        var r = JSONReader(line)
        r.keepNumberText = keepNumberText
        try r.expectObjectStart()
        try scan(&r, node: 0, into: &values)
        try r.expectEnd()
    }

    /// Only checks that `line` is one JSON object.
    public static func validateObject(_ line: UnsafeBufferPointer<UInt8>) throws {
        var r = JSONReader(line)
        try r.expectObjectStart()
        try r.skipValue()
        try r.expectEnd()
    }

    func scan(_ r: inout JSONReader, node id: Int, into values: inout [JSONValue?]) throws {
        r.skipWhitespace()
        if isLeaf[id] {
            let v = try r.parseValue()
            let start = leafStart[id]
            for k in 0..<leafCount[id] { values[leafIDs[start &+ k]] = v }
            if hasBelow[id] {
                for b in nodes[id].below { values[b.id] = v.value(at: b.rest) }
            }
            return
        }
        guard r.pos < r.end else {
            try r.skipValue()
            return
        }
        let c = r.base[r.pos]
        if c == UInt8(ascii: "{") && edgeCount[id] > 0 {
            if try r.open(close: UInt8(ascii: "}")) { return }
            // A key seen twice: the first one counts, as in the full parse (JSONObject's lookup).
            var seenMask: UInt64 = 0  // node ids below 64; others in `seen` (no allocation in the common case)
            var seen: [Int] = []
            while true {
                r.skipWhitespace()
                guard r.pos < r.end, r.base[r.pos] == UInt8(ascii: "\"") else { throw r.fail(r.expectedKey()) }
                let keyStart = r.pos + 1
                let escaped = try r.skipString()
                let keyEnd = r.pos - 1
                try r.expectColon()
                var child = try match(id, r.base, keyStart, keyEnd, escaped)
                if child >= 0 {
                    if child < 64 {
                        let bit: UInt64 = 1 << UInt64(child)
                        if seenMask & bit != 0 { child = -1 } else { seenMask |= bit }
                    } else if seen.contains(child) {
                        child = -1
                    } else {
                        seen.append(child)
                    }
                }
                if child >= 0 {
                    try scan(&r, node: child, into: &values)
                } else {
                    try r.skipValue()
                }
                if try r.endOfMember(close: UInt8(ascii: "}"), what: "object member") { break }
            }
        } else if c == UInt8(ascii: "[") && !nodes[id].indexes.isEmpty {
            let node = nodes[id]
            if try r.open(close: UInt8(ascii: "]")) { return }
            var index = 0
            while true {
                if let child = node.indexes.first(where: { $0.index == index })?.node {
                    try scan(&r, node: nodes.firstIndex { $0 === child }!, into: &values)
                } else {
                    try r.skipValue()
                }
                index += 1
                if try r.endOfMember(close: UInt8(ascii: "]"), what: "array element") { break }
            }
        } else {
            try r.skipValue()
        }
    }

    /// The child node for a key, or -1.
    @inline(__always)
    func match(_ id: Int, _ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int, _ escaped: Bool) throws -> Int {
        let n = end - start
        let first = edgeStart[id]
        let count = edgeCount[id]
        if !escaped {
            for e in first..<(first + count) where edges[e].keyLength == n {
                if memcmp(keyPool + edges[e].keyOffset, base + start, n) == 0 { return edges[e].child }
            }
            return -1
        }
        let text = try JSONReader.unescape(base, from: start, to: end)
        let b = Array(text.utf8)
        for e in first..<(first + count) where edges[e].keyLength == b.count {
            if b.withUnsafeBufferPointer({ memcmp(keyPool + edges[e].keyOffset, $0.baseAddress!, b.count) == 0 }) {
                return edges[e].child
            }
        }
        return -1
    }
}

#if canImport(Glibc)
    import Glibc
#endif
