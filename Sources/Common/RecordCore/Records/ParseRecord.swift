/// Parses one input line as a record whose values will be written again.
public func parseRecord(_ bytes: UnsafeBufferPointer<UInt8>) throws -> JSONValue {
    var r = JSONReader(bytes)
    r.keepNumberText = true
    try r.expectObjectStart()
    let v = try r.parseValue()
    try r.expectEnd()
    return v
}
