import Foundation
import HoopJSON

/// An error as the AWS service itself would word it (code, HTTP status, message),
/// rendered in the calling protocol's own format so that the SDKs parse it.
public struct AWSError: Error, Sendable, Equatable {
    public var code: String
    public var status: Int
    public var message: String

    public init(_ code: String, _ status: Int, _ message: String) {
        self.code = code; self.status = status; self.message = message
    }

    public static func signatureMismatch() -> AWSError {
        AWSError("SignatureDoesNotMatch", 403, "The request signature we calculated does not match the signature you provided.")
    }
    public static func invalidToken(_ why: String = "The security token included in the request is invalid.") -> AWSError {
        AWSError("InvalidClientTokenId", 403, why)
    }
    public static func expiredToken() -> AWSError {
        AWSError("ExpiredToken", 400, "The security token included in the request is expired")
    }
    public static func missingAuthentication() -> AWSError {
        AWSError("MissingAuthenticationToken", 403, "Request is missing Authentication Token")
    }

    /// The body and content type for `proto` (botocore's names: json, rest-json, query,
    /// ec2, rest-xml). S3 (rest-xml) errors are a bare <Error>; query and EC2 wrap it.
    public func render(protocol proto: String, requestId: String) -> (contentType: String, body: String) {
        switch proto {
        case "json", "rest-json":
            // The JSON services spell a refusal AccessDeniedException.
            let type = code == "AccessDenied" ? "AccessDeniedException" : code
            let body = JSON.object(["__type": .string(type), "message": .string(message)]).encodedString
            return ("application/x-amz-json-1.1", body)
        case "ec2":
            return ("text/xml", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>\(xml(code))</Code>"
                    + "<Message>\(xml(message))</Message></Error></Errors><RequestID>\(requestId)</RequestID></Response>")
        case "query":
            let type = status >= 500 ? "Receiver" : "Sender"
            return ("text/xml", "<ErrorResponse><Error><Type>\(type)</Type><Code>\(xml(code))</Code><Message>\(xml(message))</Message>"
                    + "</Error><RequestId>\(requestId)</RequestId></ErrorResponse>")
        default:
            return ("application/xml", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>\(xml(code))</Code>"
                    + "<Message>\(xml(message))</Message><RequestId>\(requestId)</RequestId></Error>")
        }
    }
}

public func xml(_ s: String) -> String {
    var out = ""
    for c in s.unicodeScalars {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&apos;"
        default: out.unicodeScalars.append(c)
        }
    }
    return out
}
