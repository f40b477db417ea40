/// The MetaRec release this build is.
public enum MetaRecVersion {
    public static let string = "0.1.0"
}
