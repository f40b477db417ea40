import Foundation
import MetaRecCore
import MetaRecData
import MetaRecModels

/// One reader under fuzzing: valid seed files, which of them to mutate, and how to read a folder.
struct FuzzTarget: Sendable {
    var name: String
    /// File name → valid contents.
    var seeds: [String: [UInt8]]
    /// The files whose bytes are mutated (one per execution, chosen at random).
    var mutated: [String]
    /// Reads the folder; a thrown error is a correct outcome, a crash or hang is a finding.
    var read: @Sendable (URL) throws -> Void
}

/// After a successful read, what the rest of the pipeline does with the data must not crash either.
func exercise(_ dataset: Dataset) throws {
    var data = dataset
    if data.isPositiveOnly, data.itemCount > 1 { data = data.withSampledNegatives(NegativeSampling(ratio: 1)) }
    let split = try ProtocolSplit(
        dataset: data, options: SplitOptions(minimumTaskSize: 2, maximumTaskSize: 50, querySize: 1))
    _ = FeatureContext(split)
}

enum FuzzTargets {
    static func text(_ s: String) -> [UInt8] { Array(s.utf8) }

    static let movieLens100K = FuzzTarget(
        name: "movielens-100k",
        seeds: [
            "u.data": text(
                "1\t10\t4\t881250949\n2\t10\t3\t891717742\n1\t2\t5\t878887116\n10\t2\t1\t880606923\n1\t10\t2\t886397596\n2\t3\t4\t884182806\n"
            ),
            "u.user": text("1|24|M|technician|85711\n2|53|F|other|94043\n10|17|M|writer|T8H1N\n"),
            "u.genre": text("unknown|0\nAction|1\nComedy|2\n\n"),
            "u.occupation": text("technician\nother\nwriter\n"),
            "u.item": text(
                "2|Les Mis\u{E9}rables (1995)|01-Jan-1995||http://x|0|1|1\n3|Heat (1995)|22-Nov-1995||http://z|0|1|0\n10|Toy Story (1995)|01-Feb-1996||http://y|0|0|1\n"
            ),
        ],
        mutated: ["u.data", "u.user", "u.item", "u.genre", "u.occupation"],
        read: { try exercise(MovieLens.load100K(directory: $0)) })

    static let movieLensLatest = FuzzTarget(
        name: "movielens-latest",
        seeds: [
            "ratings.csv": text(
                "userId,movieId,rating,timestamp\r\n1,1,4.0,964982703\r\n1,3,4.5,964981247\r\n2,1,0.5,964982224\r\n3,6,5.0,964983815\r\n"
            ),
            "movies.csv": text(
                "movieId,title,genres\n1,Toy Story (1995),Adventure|Animation|Children\n3,\"Grumpier Old Men, The (1995)\",Comedy|Romance\n6,Heat (1995),(no genres listed)\n"
            ),
        ],
        mutated: ["ratings.csv", "movies.csv"],
        read: { try exercise(MovieLens.loadLatest(directory: $0)) })

    static let schemaText = """
        name: shop
        feedback: implicit
        threshold: 4
        interactions:
          file: log.tsv
          delimiter: tab
          user: who
          item: what
          value: stars
          timestamp: when
          scale: [1, 5]
        users:
          file: users.csv
          id: uid
          features:
            - {name: age, column: age, type: numeric, transform: bucketed, buckets: [18, 30]}
            - {name: income, type: numeric}
            - {name: city, type: categorical}
        items:
          file: items.csv
          id: iid
          title: title
          release: released
          features:
            - {name: tags, type: multi-categorical, separator: ";"}
            - {name: decade, column: released, type: date, granularity: decade}
            - {name: embedding, type: dense, separator: " "}
          vectors: {file: vectors.txt, name: pretrained}
        """

    static let genericFiles: [String: [UInt8]] = [
        "schema.yaml": text(schemaText),
        "log.tsv": text(
            "who\twhat\tstars\twhen\nann\tbook\t5\t2020-01-02\nbob\tbook\t2\t2020-01-01T10:00:00\nann\tlamp\t3\t1577836800\nann\tbook\t1\t2019-01-01\n"
        ),
        "users.csv": text("uid,age,income,city\nann,25,1000,Oslo\nbob,40,,\"Paris, FR\"\ncarl,50,3,Rome\n"),
        "items.csv": text(
            "iid,title,tags,released,embedding\nbook,\"A Book, Vol. 1\",paper;gift,1999-05-01,0.5 1.5\nlamp,Lamp,home,2021,1 2\n"
        ),
        "vectors.txt": text("book 0.1,0.2,0.3\nlamp\t1 2 3\nghost 9 9 9\n"),
    ]

    static let generic = FuzzTarget(
        name: "generic", seeds: genericFiles, mutated: ["log.tsv", "users.csv", "items.csv", "vectors.txt"],
        read: { try exercise(GenericLog.load(schema: $0.appendingPathComponent("schema.yaml"))) })

    static let schema: FuzzTarget = {
        var files = genericFiles
        let json = """
            {"name": "shop", "feedback": "explicit", "interactions": {"file": "log.tsv", "delimiter": "tab", "user": 0, "item": 1,
             "value": "stars", "timestamp": "when"}, "items": {"file": "items.csv", "id": "iid", "features": [{"name": "tags",
             "type": "multi-categorical", "separator": ";"}, {"name": "released", "type": "date"}]}}
            """
        files["schema.json"] = text(json)
        return FuzzTarget(
            name: "schema", seeds: files, mutated: ["schema.yaml", "schema.json"],
            read: { folder in
                try? exercise(GenericLog.load(schema: folder.appendingPathComponent("schema.yaml")))
                try exercise(GenericLog.load(schema: folder.appendingPathComponent("schema.json")))
            })
    }()

    /// A small model archive (header JSON + tensors), as `metarec train` writes it.
    static let checkpoint: FuzzTarget = {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("metarec-fuzz-seed-\(getpid())")
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = BuiltInData.synthetic(seed: 1, users: 60, items: 30, targetInteractions: 900).dataset
        let split = try! ProtocolSplit(dataset: data)
        let users = FeatureSpace(split.userFeatures)
        let items = FeatureSpace(split.itemFeatures)
        let model = MeLUModel(
            configuration: .init(embeddingSize: 2, hiddenSizes: [3], itemIDEmbedding: true), users: users, items: items)
        let learner = MetaLearner(model: model, options: MetaTrainingOptions())
        let url = folder.appendingPathComponent("model.safetensors")
        try! ModelArchive(learner, data: .init(name: "fuzz", source: "fuzz", seed: 0, implicitThreshold: nil)).write(
            to: url)
        let bytes = [UInt8](try! Data(contentsOf: url))
        return FuzzTarget(
            name: "checkpoint", seeds: ["model.safetensors": bytes], mutated: ["model.safetensors"],
            read: { folder in
                let file = folder.appendingPathComponent("model.safetensors")
                _ = try Checkpoint(bytes: [UInt8](try Data(contentsOf: file)), source: "model.safetensors")
                _ = try ModelArchive(contentsOf: file).predictor()
            })
    }()

    static let all: [String: @Sendable () -> FuzzTarget] = [
        "movielens-100k": { movieLens100K }, "movielens-latest": { movieLensLatest }, "generic": { generic },
        "schema": { schema }, "checkpoint": { checkpoint },
    ]
}
