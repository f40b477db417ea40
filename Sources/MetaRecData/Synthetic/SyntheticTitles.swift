/// Readable, deterministic titles for synthetic items ("The Silent Harbor"), so that pages
/// showing the synthetic catalogue make sense to a person. Distinct for the first 11,200 items.
enum SyntheticTitles {
    static let adjectives = [
        "Silent", "Golden", "Broken", "Hidden", "Last", "Crimson", "Frozen", "Distant", "Burning", "Secret",
        "Lonely", "Wild", "Midnight", "Forgotten", "Bright", "Electric", "Velvet", "Hollow", "Endless", "Quiet",
        "Restless", "Silver", "Savage", "Gentle", "Northern", "Painted", "Stolen", "Wandering", "Iron", "Paper",
        "Scarlet", "Falling", "Open", "Little", "Second", "Lost", "Winter", "Summer", "Amber", "Final",
    ]
    static let nouns = [
        "Harbor", "Garden", "River", "Empire", "Promise", "Station", "Mirror", "Orchard", "Frontier", "Signal",
        "Kingdom", "Letter", "Voyage", "Island", "Machine", "Horizon", "Witness", "Symphony", "Castle", "Detour",
        "Lantern", "Compass", "Circus", "Meridian", "Tide", "Canyon", "Archive", "Carnival", "Requiem", "Orbit",
        "Alibi", "Ballad", "Cipher", "Harvest", "Monument", "Passage", "Refuge", "Summit", "Verdict", "Labyrinth",
    ]
    static let forms = [
        "The %@ %@", "%@ %@", "A %@ %@", "The %@ %@ Returns", "Beyond the %@ %@", "Children of the %@ %@",
        "Return to the %@ %@",
    ]

    /// The title of item `index` (0-based).
    static func title(_ index: Int) -> String {
        let a = adjectives[index % adjectives.count]
        let n = nouns[(index / adjectives.count) % nouns.count]
        let form = forms[(index / (adjectives.count * nouns.count)) % forms.count]
        var parts = [a, n].makeIterator()
        var result = ""
        var rest = Substring(form)
        while let range = rest.range(of: "%@") {
            result += rest[..<range.lowerBound] + (parts.next() ?? "")
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
