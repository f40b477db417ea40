import Hummingbird

/// The pages served at `/`, `/admin` and `/assets/*`, embedded in the binary with SwiftPM's
/// `resources: [.embedInCode(...)]` (Package.swift lists the files of Sources/MetaRecServer/Pages).
/// To add a page or asset: put the file there, list it in Package.swift, and add it to `files`.
enum StaticPages {
    /// Path → (content type, bytes).
    static let files: [String: (type: String, bytes: [UInt8])] = [
        "/": ("text/html; charset=utf-8", PackageResources.index_html),
        "/admin": ("text/html; charset=utf-8", PackageResources.admin_html),
        "/assets/pages.css": ("text/css; charset=utf-8", PackageResources.pages_css),
        "/assets/api.js": ("text/javascript; charset=utf-8", PackageResources.api_js),
        "/assets/onboarding.js": ("text/javascript; charset=utf-8", PackageResources.onboarding_js),
        "/assets/admin.js": ("text/javascript; charset=utf-8", PackageResources.admin_js),
    ]

    static func add(to router: Router<BasicRequestContext>) {
        for (path, file) in files {
            router.get(RouterPath(stringLiteral: path)) { _, _ in
                Response(
                    status: .ok, headers: [.contentType: file.type],
                    body: ResponseBody(byteBuffer: ByteBuffer(bytes: file.bytes)))
            }
        }
    }
}
