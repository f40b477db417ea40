import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import MetaRecServer

/// The onboarding page and the dashboard: served with their types, every file they refer to is
/// served too, and nothing is fetched from outside the service (Scripts/browser-tests.py drives
/// them in a browser).
extension ServerTests {
    @Test func pagesAndEveryFileTheyReferToAreServed() async throws {
        let (service, _, _) = try await makeService()
        try await app(service).test(.router) { client in
            for page in ["/", "/admin"] {
                let html = try await client.execute(uri: page, method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                    return String(buffer: response.body)
                }
                #expect(!html.contains("http://") && !html.contains("https://"), "\(page) refers to another host")
                let references = try Regex(#"(?:src|href)="(/[^"]*)""#)
                let paths = html.matches(of: references).map { String($0.output[1].substring!) }
                #expect(paths.contains("/assets/pages.css") && paths.contains("/assets/api.js"), "\(page): \(paths)")
                for path in paths {
                    try await client.execute(uri: path, method: .get) { response in
                        #expect(response.status == .ok, "\(page) refers to \(path), which is not served")
                        let type = response.headers[.contentType] ?? ""
                        #expect(
                            path.hasSuffix(".css")
                                ? type.hasPrefix("text/css")
                                : path.hasSuffix(".js") ? type.hasPrefix("text/javascript") : true)
                    }
                }
            }
        }
    }
}
