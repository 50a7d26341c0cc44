/**
 * An HTTP/1.1 request as the client sends it. Header order is kept; names
 * are sent as given. `Host` and `Content-Length` are added by
 * {@link buildRequest} and must not be in `headers`.
 */
export interface HttpRequest {
    method: string
    /** Origin-form target, starting with `/`. */
    path: string
    /** Value of the `Host` header (see {@link hostHeader}). */
    host: string
    headers?: Record<string, string>
    /** Sent byte-exact; a string is sent as UTF-8. */
    body?: Buffer | string
}

/** `Host` header value: the port is omitted when it is the scheme's default. */
export function hostHeader(host: string, port: number, tls: boolean): string {
    if (port === (tls ? 443 : 80)) return host
    return `${host}:${port}`
}

function isTokenChar(c: number) {
    // RFC 9110 tchar: visible ASCII except separators
    if (c <= 32 || c >= 127) return false
    return '"(),/:;<=>?@[\\]{}'.indexOf(String.fromCharCode(c)) < 0
}

function checkToken(what: string, s: string) {
    if (!s || !s.length) throw new TypeError(`http: empty ${what}`)
    for (let i = 0; i < s.length; i++)
        if (!isTokenChar(s.charCodeAt(i)))
            throw new TypeError(`http: invalid character in ${what} '${s}'`)
}

/** Rejects control characters (CR, LF, NUL...) so that nothing can inject a header. */
function checkText(what: string, s: string, allowSpace: boolean) {
    if (typeof s !== "string") throw new TypeError(`http: ${what} not a string`)
    for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i)
        if (c < 32 || c === 127 || (c === 32 && !allowSpace))
            throw new TypeError(`http: invalid character in ${what}`)
    }
}

/**
 * Serializes a request to the exact bytes sent on the wire:
 * request line, `Host`, the given headers in order, `Content-Length` when
 * there is a body or the method is POST/PUT/PATCH, an empty line, the body.
 * Throws TypeError on a malformed method, path or header (for example a
 * CR or LF in a value).
 */
export function buildRequest(req: HttpRequest): Buffer {
    checkToken("method", req.method)
    if (!req.path || !req.path.startsWith("/"))
        throw new TypeError(`http: path must start with '/'`)
    checkText("path", req.path, false)
    checkText("host", req.host, false)
    if (!req.host.length) throw new TypeError(`http: empty host`)
    let head = `${req.method} ${req.path} HTTP/1.1\r\nHost: ${req.host}\r\n`
    const hd = req.headers || {}
    for (const name of Object.keys(hd)) {
        checkToken("header name", name)
        const lname = name.toLowerCase()
        if (lname === "host" || lname === "content-length")
            throw new TypeError(`http: ${name} is set by buildRequest`)
        const value = hd[name]
        checkText(`header ${name}`, value, true)
        head += `${name}: ${value}\r\n`
    }
    let body = req.body
    const m = req.method
    const needsLength = m === "POST" || m === "PUT" || m === "PATCH"
    if (body === undefined || body === null) body = needsLength ? "" : null
    let bodyLen = 0
    if (body !== null) {
        if (typeof body === "string") bodyLen = body.byteLength
        else if (body instanceof Buffer) bodyLen = body.length
        else throw new TypeError(`http: body must be a string or a Buffer`)
        head += `Content-Length: ${bodyLen}\r\n`
    }
    head += "\r\n"
    const headLen = head.byteLength
    const out = Buffer.alloc(headLen + bodyLen)
    out.blitAt(0, head, 0, headLen)
    if (bodyLen) out.blitAt(headLen, body, 0, bodyLen)
    return out
}
