import * as ds from "@devicescript/core"
import { describe, test, expect } from "@devicescript/test"
import {
    feed,
    HttpError,
    HttpResponse,
    ResponseParser,
    ResponseParserOptions,
} from "../../src/http/response"

// Captured from a Node 20 http server (raw bytes on the socket).
const NODE_CHUNKED =
    'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: Thu, 26 Nov 2026 02:06:37 GMT\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nTransfer-Encoding: chunked\r\n\r\n1e\r\n{"code":0,"message":"success",\r\n34\r\n"info":{"token":"6944e5bfb92e4d4ea3918d1eda3942f6"}}\r\n0\r\n\r\n'
const NODE_LENGTH =
    'HTTP/1.1 200 OK\r\nContent-Type: application/json;charset=UTF-8\r\nContent-Length: 70\r\nDate: Thu, 26 Nov 2026 02:06:37 GMT\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n{"code":0,"message":"success","info":{"messageId":892687627916247040}}'
const NODE_CLOSE =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nDate: Thu, 26 Nov 2026 02:06:38 GMT\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbusy\r\n0\r\n\r\n"
// RFC 9112 chunk extensions (quoted and token values), upper-case hex, BWS, trailer fields
const EXT_CHUNKED =
    'HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, Chunked\r\n\r\n5;name=value\r\nHello\r\nA ; q="a;b"\r\n, chunked!\r\n000;last\r\nExpires: never\r\nX-Sum: 1\r\n\r\n'
// HTTP/1.0 server, no length: body ends at close
const HTTP10_CLOSE = "HTTP/1.0 200 OK\r\nServer: old\r\n\r\nabc\r\ndef"

function parseAll(
    raw: string,
    opts?: ResponseParserOptions,
    split?: number
): HttpResponse {
    const p = new ResponseParser(opts)
    const b = Buffer.from(raw)
    if (split === undefined) split = b.length
    const a = b.slice(0, split)
    const c = b.slice(split)
    if (a.length) expect(p.push(a)).toBe(a.length)
    if (c.length && !p.done()) p.push(c)
    if (!p.done()) p.end()
    return p.result()
}

function errorOf(f: () => void): HttpError {
    try {
        f()
    } catch (e) {
        return e as HttpError
    }
    return null
}

function expectError(f: () => void, kind: string, part: string) {
    const e = errorOf(f)
    if (!e || e.kind !== kind || e.message.indexOf(part) < 0)
        console.log(
            `expected ${kind} '${part}', got ${e ? e.kind + " " + e.message : "no error"}`
        )
    expect(!!e && e.kind === kind && e.message.indexOf(part) >= 0).toBe(true)
}

describe("ResponseParser vectors", () => {
    test("Content-Length, keep-alive", () => {
        const r = parseAll(NODE_LENGTH)
        expect(r.status).toBe(200)
        expect(r.reason).toBe("OK")
        expect(r.minor).toBe(1)
        expect(r.headers["content-type"]).toBe("application/json;charset=UTF-8")
        expect(r.headers["date"]).toBe("Thu, 26 Nov 2026 02:06:37 GMT")
        expect(r.body.toString("utf-8")).toBe(
            '{"code":0,"message":"success","info":{"messageId":892687627916247040}}'
        )
        expect(r.connectionClose).toBe(false)
        expect(r.bodyUntilClose).toBe(false)
    })
    test("chunked, keep-alive", () => {
        const r = parseAll(NODE_CHUNKED)
        expect(r.body.toString("utf-8")).toBe(
            '{"code":0,"message":"success","info":{"token":"6944e5bfb92e4d4ea3918d1eda3942f6"}}'
        )
        expect(r.connectionClose).toBe(false)
    })
    test("chunked with Connection: close", () => {
        const r = parseAll(NODE_CLOSE)
        expect(r.status).toBe(503)
        expect(r.reason).toBe("Service Unavailable")
        expect(r.body.toString("utf-8")).toBe("busy")
        expect(r.connectionClose).toBe(true)
    })
    test("chunk extensions and trailers", () => {
        const r = parseAll(EXT_CHUNKED)
        expect(r.body.toString("utf-8")).toBe("Hello, chunked!")
        expect(r.headers["expires"]).toBe(undefined)
    })
    test("HTTP/1.0 body until close is marked", () => {
        const p = new ResponseParser()
        p.push(Buffer.from(HTTP10_CLOSE))
        expect(p.done()).toBe(false)
        p.end()
        const r = p.result()
        expect(r.bodyUntilClose).toBe(true)
        expect(r.connectionClose).toBe(true)
        expect(r.body.toString("utf-8")).toBe("abc\r\ndef")
    })
    test("HTTP/1.0 keep-alive with length can be reused", () => {
        const r = parseAll(
            "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok"
        )
        expect(r.connectionClose).toBe(false)
    })
    test("interim 100 Continue is skipped", () => {
        const r = parseAll(
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 1\r\n\r\nx"
        )
        expect(r.status).toBe(201)
        expect(r.body.toString("utf-8")).toBe("x")
    })
    test("204 and HEAD have no body", () => {
        const r = parseAll(
            "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n"
        )
        expect(r.body.length).toBe(0)
        const h = parseAll("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", {
            headRequest: true,
        })
        expect(h.body.length).toBe(0)
    })
    test("repeated headers join, folded lines continue, names are case-insensitive", () => {
        const r = parseAll(
            "HTTP/1.1 200 OK\r\nX-A: 1\r\nx-a: 2\r\nX-Long: part1\r\n  part2\r\nCONNECTION: Close\r\nContent-Length:0\r\n\r\n"
        )
        expect(r.headers["x-a"]).toBe("1, 2")
        expect(r.headers["x-long"]).toBe("part1 part2")
        expect(r.connectionClose).toBe(true)
    })
    test("status line without reason; bare LF line ends", () => {
        const r = parseAll("HTTP/1.1 200\nContent-Length: 2\n\nhi")
        expect(r.status).toBe(200)
        expect(r.reason).toBe("")
        expect(r.body.toString("utf-8")).toBe("hi")
    })
    test("Transfer-Encoding with Content-Length: chunked wins, no reuse", () => {
        const r = parseAll(
            "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
        )
        expect(r.body.toString("utf-8")).toBe("ok")
        expect(r.connectionClose).toBe(true)
    })
    test("binary body is byte-exact", () => {
        const p = new ResponseParser()
        p.push(Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n"))
        p.push(hex`000d0aff`)
        expect(p.done()).toBe(true)
        expect(p.result().body.toString("hex")).toBe("000d0aff")
    })
})

describe("ResponseParser splitting", () => {
    test("every split point gives the same result", async () => {
        for (const raw of [
            NODE_CHUNKED,
            NODE_LENGTH,
            EXT_CHUNKED,
            NODE_CLOSE,
        ]) {
            const whole = parseAll(raw).body.toString("hex")
            const n = Buffer.from(raw).length
            for (let k = 0; k <= n; k++) {
                await ds.sleep(0) // many parses: yield so the VM sees no endless loop
                const r = parseAll(raw, undefined, k)
                if (r.body.toString("hex") !== whole)
                    console.log(`split ${k} differs`)
                expect(r.body.toString("hex")).toBe(whole)
            }
        }
    })
    test("byte by byte", async () => {
        for (const raw of [NODE_CHUNKED, EXT_CHUNKED]) {
            const b = Buffer.from(raw)
            const p = new ResponseParser()
            for (let i = 0; i < b.length; i++) {
                if (i % 32 === 0) await ds.sleep(0)
                expect(p.done()).toBe(false)
                expect(p.push(b.slice(i, i + 1))).toBe(1)
            }
            expect(p.done()).toBe(true)
            expect(p.result().status).toBe(200)
        }
    })
    test("bytes after the end of the response are not consumed", () => {
        const p = new ResponseParser()
        const raw = Buffer.from(
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1"
        )
        expect(p.push(raw)).toBe(raw.length - 8)
        expect(p.done()).toBe(true)
    })
})

describe("feed", () => {
    test("1200 one-byte chunks in one socket read do not trip InfiniteLoop", async () => {
        let raw = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        for (let i = 0; i < 1200; i++) {
            raw += "1\r\na\r\n"
            if (i % 100 === 0) await ds.sleep(0)
        }
        const b = Buffer.from(raw + "0\r\n\r\nEXTRA")
        const p = new ResponseParser({ maxBytes: 16384 })
        expect(await feed(p, b)).toBe(b.length - 5)
        expect(p.done()).toBe(true)
        expect(p.result().body.length).toBe(1200)
    })
})

describe("ResponseParser errors", () => {
    test("malformed input", () => {
        const cases: string[][] = [
            ["SSH-2.0-OpenSSH_9.6\r\n", "bad status line"],
            ["HTTP/2 200 OK\r\n", "bad status line"],
            ["HTTP/1.2 200 OK\r\n", "unsupported version"],
            ["HTTP/1.1 2000 OK\r\n", "bad status code"],
            ["HTTP/1.1 099 OK\r\n", "bad status code"],
            ["HTTP/1.1 abc OK\r\n", "bad status code"],
            ["HTTP/1.1 200 OK\r\nNoColon\r\n", "without name"],
            ["HTTP/1.1 200 OK\r\nBad Name: x\r\n", "invalid header name"],
            ["HTTP/1.1 200 OK\r\n: x\r\n", "without name"],
            [
                "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
                "invalid Content-Length",
            ],
            [
                "HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n",
                "invalid Content-Length",
            ],
            [
                "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                "conflicting",
            ],
            [
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                "invalid chunk size",
            ],
            [
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n123456789\r\n",
                "invalid chunk size",
            ],
            [
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
                "longer than its size",
            ],
            ["HTTP/1.1 200 OK\r\nX: a\rb\r\n", "CR or NUL"],
            ["HTTP/1.1 200 OK\r\n  folded\r\n", "folded line"],
        ]
        cases.forEach(c =>
            expectError(
                () => new ResponseParser().push(Buffer.from(c[0])),
                "malformed",
                c[1]
            )
        )
    })
    test("too many headers", () => {
        let raw = "HTTP/1.1 200 OK\r\n"
        for (let i = 0; i < 70; i++) raw += "X: 1\r\n"
        expectError(
            () => new ResponseParser().push(Buffer.from(raw)),
            "malformed",
            "header lines"
        )
    })
    test("size bound: declared length, chunk size, streamed bytes, endless header", () => {
        const o = { maxBytes: 100 }
        expectError(
            () =>
                new ResponseParser(o).push(
                    Buffer.from(
                        "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
                    )
                ),
            "too-large",
            "exceeds 100"
        )
        expectError(
            () =>
                new ResponseParser(o).push(
                    Buffer.from(
                        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFF\r\n"
                    )
                ),
            "too-large",
            "exceeds 100"
        )
        const p = new ResponseParser(o)
        p.push(Buffer.from("HTTP/1.1 200 OK\r\n\r\n"))
        const chunk = Buffer.alloc(50)
        p.push(chunk)
        expectError(() => p.push(chunk), "too-large", "exceeds 100")
        const q = new ResponseParser(o)
        q.push(Buffer.from("HTTP/1.1 200 OK\r\nX: "))
        expectError(
            () => {
                for (let i = 0; i < 10; i++) q.push(Buffer.alloc(20))
            },
            "too-large",
            "exceeds"
        )
    })
    test("closed early", () => {
        expectError(
            () => new ResponseParser().end(),
            "closed",
            "before any response"
        )
        const p = new ResponseParser()
        p.push(Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"))
        expect(p.bytesReceived() > 0).toBe(true)
        expectError(() => p.end(), "closed", "incomplete")
        const c = new ResponseParser()
        c.push(
            Buffer.from(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"
            )
        )
        expectError(() => c.end(), "closed", "incomplete")
    })
    test("result before completion throws", () => {
        const p = new ResponseParser()
        p.push(Buffer.from("HTTP/1.1 200 OK\r\n"))
        expect(() => p.result()).toThrow()
    })
})
