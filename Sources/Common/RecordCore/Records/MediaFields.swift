/// The fields a record names its media in. Requests carry images first,
/// then videos, in this order; `--media-field` adds image fields after these.
public enum MediaFields {
    public static let images = ["image", "images"]
    public static let videos = ["video", "videos"]
    public static let all = images + videos

    /// Every media field to read, in request order, and whether it holds videos.
    public static func ordered(extraImageFields: [String] = []) -> [(name: String, isVideo: Bool)] {
        (images + extraImageFields).map { ($0, false) } + videos.map { ($0, true) }
    }
}
