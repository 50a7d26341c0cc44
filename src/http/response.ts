import * as ds from "@devicescript/core"
import { parseDigits } from "../digits"

/** Why an HTTP exchange failed; the client and the channel act on it. */
export type HttpErrorKind =
    | "malformed" // the server sent something that is not HTTP/1.x
    | "too-large" // the response exceeds the configured bound
    | "closed" // the connection ended before the response was complete
    | "timeout" // connect, read or request deadline passed
    | "network" // socket error

/** Error raised by the HTTP parser and client; `kind` says why. */
export class HttpError extends Error {
    constructor(
        readonly kind: HttpErrorKind,
        message: string
    ) {
        super(message)
        this.name = "HttpError"
    }
}

/** A complete response. */
export interface HttpResponse {
    status: number
    reason: string
    /** 0 for HTTP/1.0, 1 for HTTP/1.1 */
    minor: number
    /** Lower-case names; repeated headers joined with ", ". */
    headers: Record<string, string>
    body: Buffer
    /** No Content-Length and not chunked: the body ended when the server closed. */
    bodyUntilClose: boolean
    /** The connection must not be reused after this response. */
    connectionClose: boolean
}

/** Receives body bytes as they arrive: `len` bytes of `chunk` from `off`. */
export type BodySink = (chunk: Buffer, off: number, len: number) => void

export interface ResponseParserOptions {
    /**
     * Bound on the whole response on the wire (head, framing, body);
     * default 8192. With `onBody`, the body does not count.
     */
    maxBytes?: number
    /** The request was HEAD: the response has no body whatever its headers say. */
    headRequest?: boolean
    /**
     * Streams the body to this sink instead of keeping it: the result's
     * `body` is then empty, and a body of any size takes no memory.
     */
    onBody?: BodySink
}

const MAX_HEADERS = 64

const S_STATUS = 0
const S_HEADER = 1
const S_BODY_LEN = 2
const S_CHUNK_SIZE = 3
const S_CHUNK_DATA = 4
const S_CHUNK_END = 5
const S_TRAILER = 6
const S_BODY_CLOSE = 7
const S_DONE = 8

function malformed(msg: string): HttpError {
    return new HttpError("malformed", `http: ${msg}`)
}

function isTokenChar(c: number) {
    if (c <= 32 || c >= 127) return false
    return '"(),/:;<=>?@[\\]{}'.indexOf(String.fromCharCode(c)) < 0
}

/** Trims spaces and tabs (HTTP optional whitespace). */
function trimOws(s: string) {
    let a = 0
    let b = s.length
    while (a < b && (s.charCodeAt(a) === 32 || s.charCodeAt(a) === 9)) a++
    while (b > a && (s.charCodeAt(b - 1) === 32 || s.charCodeAt(b - 1) === 9))
        b--
    return s.slice(a, b)
}

/** Comma-separated list, trimmed, lower-cased, empty items dropped. */
function tokens(v: string): string[] {
    if (!v) return []
    return v
        .split(",")
        .map(t => trimOws(t).toLowerCase())
        .filter(t => t.length > 0)
}

/** 1 to 8 hex digits; NaN otherwise. */
function parseHex(s: string): number {
    if (!s.length || s.length > 8) return NaN
    let v = 0
    for (let i = 0; i < s.length; i++) {
        let c = s.charCodeAt(i)
        if (c >= 48 && c <= 57) c -= 48
        else if (c >= 97 && c <= 102) c -= 87
        else if (c >= 65 && c <= 70) c -= 55
        else return NaN
        v = v * 16 + c
    }
    return v
}

/**
 * Incremental HTTP/1.x response parser. Feed it the bytes as they arrive,
 * in chunks of any size, with {@link push}; call {@link end} when the
 * connection closed. Handles Content-Length bodies, chunked bodies (with
 * extensions and trailers), bodies delimited by close, interim 1xx
 * responses, and `Connection: close`. Throws {@link HttpError} on malformed
 * input or when the response exceeds `maxBytes`. Pure: no I/O.
 */
export class ResponseParser {
    private state = S_STATUS
    private partial: Buffer = null
    private total = 0
    /** bytes counted against maxBytes */
    private bounded = 0
    private remaining = 0
    private fixedBody: Buffer = null
    private parts: Buffer[] = []
    private bodyLen = 0
    private headerCount = 0
    private lastHeader: string = null
    private res: HttpResponse
    readonly maxBytes: number
    private headRequest: boolean
    private sink: BodySink

    constructor(options?: ResponseParserOptions) {
        const o = options || {}
        this.maxBytes = o.maxBytes > 0 ? o.maxBytes : 8192
        this.headRequest = !!o.headRequest
        this.sink = o.onBody || null
        this.reset()
    }

    private reset() {
        this.res = {
            status: 0,
            reason: "",
            minor: 1,
            headers: {},
            body: null,
            bodyUntilClose: false,
            connectionClose: false,
        }
        this.headerCount = 0
        this.lastHeader = null
    }

    /** Bytes accepted so far (0 means the server has sent nothing yet). */
    bytesReceived() {
        return this.total
    }

    /** True once a complete response has been parsed. */
    done() {
        return this.state === S_DONE
    }

    /**
     * Consumes bytes of `chunk` up to the end of the response.
     * @returns number of bytes used; less than `chunk.length` only when the
     * response ended inside the chunk (the rest is not part of it)
     */
    push(chunk: Buffer): number {
        const n = chunk.length
        let i = 0
        while (i < n && this.state !== S_DONE) {
            const st = this.state
            if (st === S_BODY_LEN || st === S_CHUNK_DATA) {
                let take = n - i
                if (take > this.remaining) take = this.remaining
                this.countBody(take)
                this.addBody(chunk, i, take)
                this.remaining -= take
                i += take
                if (this.remaining === 0)
                    this.state = st === S_BODY_LEN ? S_DONE : S_CHUNK_END
            } else if (st === S_BODY_CLOSE) {
                this.countBody(n - i)
                this.addBody(chunk, i, n - i)
                i = n
            } else {
                const lf = chunk.indexOf(10, i)
                if (lf < 0) {
                    this.count(n - i)
                    const rest = chunk.slice(i, n)
                    this.partial = this.partial
                        ? this.partial.concat(rest)
                        : rest
                    i = n
                } else {
                    this.count(lf + 1 - i)
                    let line = chunk.slice(i, lf)
                    if (this.partial) {
                        line = this.partial.concat(line)
                        this.partial = null
                    }
                    i = lf + 1
                    let len = line.length
                    if (len && line[len - 1] === 13) len--
                    if (
                        line.indexOf(13, 0, len) >= 0 ||
                        line.indexOf(0, 0, len) >= 0
                    )
                        throw malformed("CR or NUL inside a line")
                    this.onLine(line.slice(0, len).toString("utf-8"))
                }
            }
        }
        return i
    }

    /**
     * The connection has closed. Completes a body delimited by close;
     * throws HttpError "closed" when the response is incomplete.
     */
    end() {
        if (this.state === S_BODY_CLOSE) {
            this.state = S_DONE
            return
        }
        if (this.state === S_DONE) return
        if (this.total === 0)
            throw new HttpError(
                "closed",
                "http: connection closed before any response"
            )
        throw new HttpError(
            "closed",
            `http: connection closed after ${this.total} bytes, response incomplete`
        )
    }

    /** The parsed response; throws if it is not complete. */
    result(): HttpResponse {
        if (this.state !== S_DONE)
            throw new Error("http: response not complete")
        const r = this.res
        if (!r.body) {
            if (this.fixedBody) r.body = this.fixedBody
            else {
                const b = Buffer.alloc(this.bodyLen)
                let off = 0
                for (const p of this.parts) {
                    b.blitAt(off, p, 0, p.length)
                    off += p.length
                }
                r.body = b
                this.parts = []
            }
        }
        return r
    }

    private count(k: number) {
        this.total += k
        this.bounded += k
        if (this.bounded > this.maxBytes)
            throw new HttpError(
                "too-large",
                `http: response exceeds ${this.maxBytes} bytes`
            )
    }

    /** Body bytes count against maxBytes unless they go to a sink. */
    private countBody(k: number) {
        if (this.sink) this.total += k
        else this.count(k)
    }

    private addBody(chunk: Buffer, off: number, len: number) {
        if (!len) return
        if (this.sink) {
            const sink = this.sink
            sink(chunk, off, len)
            return
        }
        if (this.fixedBody) this.fixedBody.blitAt(this.bodyLen, chunk, off, len)
        else this.parts.push(chunk.slice(off, off + len))
        this.bodyLen += len
    }

    private onLine(line: string) {
        const st = this.state
        if (st === S_STATUS) this.statusLine(line)
        else if (st === S_HEADER) {
            if (line.length) this.headerLine(line, false)
            else this.headersDone()
        } else if (st === S_CHUNK_SIZE) {
            let s = line
            const semi = s.indexOf(";")
            if (semi >= 0) s = s.slice(0, semi)
            const size = parseHex(trimOws(s))
            if (isNaN(size))
                throw malformed(`invalid chunk size line '${line}'`)
            if (size === 0) this.state = S_TRAILER
            else {
                this.budget(size)
                this.remaining = size
                this.state = S_CHUNK_DATA
            }
        } else if (st === S_CHUNK_END) {
            if (line.length) throw malformed("chunk data longer than its size")
            this.state = S_CHUNK_SIZE
        } else if (st === S_TRAILER) {
            if (line.length) this.headerLine(line, true)
            else this.state = S_DONE
        }
    }

    private statusLine(line: string) {
        // tolerate empty lines before the status line (stray CRLF)
        if (!line.length) return
        if (!line.startsWith("HTTP/1."))
            throw malformed(`bad status line '${line.slice(0, 40)}'`)
        const minor = line.charCodeAt(7) - 48
        if (!(minor === 0 || minor === 1) || line.charCodeAt(8) !== 32)
            throw malformed(`unsupported version in '${line.slice(0, 40)}'`)
        const status = parseDigits(line.slice(9, 12), 3, 3)
        const after = line.charCodeAt(12)
        if (
            isNaN(status) ||
            status < 100 ||
            status > 599 ||
            !(line.length === 12 || after === 32)
        )
            throw malformed(`bad status code in '${line.slice(0, 40)}'`)
        this.res.minor = minor
        this.res.status = status
        this.res.reason = line.slice(13)
        this.state = S_HEADER
    }

    private headerLine(line: string, trailer: boolean) {
        const h = this.res.headers
        const c0 = line.charCodeAt(0)
        if (c0 === 32 || c0 === 9) {
            // obsolete line folding: continues the previous value
            if (!this.lastHeader) throw malformed("folded line without header")
            const v = trimOws(line)
            if (!trailer)
                h[this.lastHeader] = (h[this.lastHeader] + " " + v).trim()
            return
        }
        if (++this.headerCount > MAX_HEADERS)
            throw malformed(`more than ${MAX_HEADERS} header lines`)
        const colon = line.indexOf(":")
        if (colon <= 0)
            throw malformed(`header line without name: '${line.slice(0, 40)}'`)
        const name = line.slice(0, colon).toLowerCase()
        for (let i = 0; i < name.length; i++)
            if (!isTokenChar(name.charCodeAt(i)))
                throw malformed(`invalid header name '${name.slice(0, 40)}'`)
        const value = trimOws(line.slice(colon + 1))
        this.lastHeader = name
        if (trailer) return // trailers are checked, not kept
        const old = h[name]
        if (old === undefined) h[name] = value
        else if (name === "content-length") {
            if (old !== value)
                throw malformed("conflicting Content-Length headers")
        } else h[name] = old + ", " + value
    }

    private budget(size: number) {
        if (this.sink) return // streamed, never held
        if (this.bounded + size > this.maxBytes)
            throw new HttpError(
                "too-large",
                `http: response exceeds ${this.maxBytes} bytes (body of ${size})`
            )
    }

    private headersDone() {
        const r = this.res
        const h = r.headers
        const st = r.status
        if (st < 200 && st !== 101) {
            // interim response (100 Continue, 103 Early Hints): the real one follows
            this.reset()
            this.state = S_STATUS
            return
        }
        const conn = tokens(h["connection"])
        if (conn.indexOf("close") >= 0) r.connectionClose = true
        else if (r.minor === 0 && conn.indexOf("keep-alive") < 0)
            r.connectionClose = true
        if (st === 101) r.connectionClose = true // we never ask to switch protocols

        const te = h["transfer-encoding"]
        const cl = h["content-length"]
        if (this.headRequest || st === 204 || st === 304 || st === 101) {
            this.state = S_DONE
        } else if (te !== undefined) {
            const codings = tokens(te)
            if (cl !== undefined) r.connectionClose = true // both: never reuse
            if (codings.length && codings[codings.length - 1] === "chunked")
                this.state = S_CHUNK_SIZE
            else {
                r.bodyUntilClose = true
                r.connectionClose = true
                this.state = S_BODY_CLOSE
            }
        } else if (cl !== undefined) {
            const len = parseDigits(cl, 1, 15)
            if (isNaN(len))
                throw malformed(`invalid Content-Length '${cl.slice(0, 20)}'`)
            this.budget(len)
            if (len === 0) this.state = S_DONE
            else {
                if (!this.sink) this.fixedBody = Buffer.alloc(len)
                this.remaining = len
                this.state = S_BODY_LEN
            }
        } else {
            r.bodyUntilClose = true
            r.connectionClose = true
            this.state = S_BODY_CLOSE
        }
    }
}

/**
 * Bytes handed to {@link ResponseParser.push} at once by {@link feed}: a
 * push of about 1.5 KB of one-byte chunks already exceeds the VM's step
 * budget between awaits (InfiniteLoop); 256 bytes stays far below it.
 */
export const FEED_SLICE = 256

/**
 * Pushes `chunk` into `parser` in slices of {@link FEED_SLICE} bytes,
 * yielding between slices so that no input can trip the VM's
 * InfiniteLoop check. Stops at the end of the response.
 * @returns bytes consumed (less than `chunk.length` only when the response
 * ended inside the chunk)
 */
export async function feed(
    parser: ResponseParser,
    chunk: Buffer
): Promise<number> {
    const n = chunk.length
    let off = 0
    while (off < n && !parser.done()) {
        const end = off + FEED_SLICE < n ? off + FEED_SLICE : n
        off += parser.push(
            off === 0 && end === n ? chunk : chunk.slice(off, end)
        )
        if (off < n && !parser.done()) await ds.sleep(0)
    }
    return off
}
