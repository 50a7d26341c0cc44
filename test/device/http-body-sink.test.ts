import * as ds from "@devicescript/core"
import { describe, test, expect } from "@devicescript/test"
import { ResponseParser, ResponseParserOptions } from "../../src/http/response"

// (apart from http-response.test.ts: together they exceed the test heap)

/** Streams a 20000-byte body through a parser bounded at 1024 bytes. */
async function streamThrough(chunked: boolean) {
    const seen = { got: 0, sum: 0 }
    const p = new ResponseParser({
        maxBytes: 1024,
        onBody: (chunk, off, len) => {
            seen.got += len
            for (let i = off; i < off + len; i++) seen.sum += chunk[i]
        },
    })
    const size = 20000
    const head = chunked
        ? "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        : `HTTP/1.1 200 OK\r\nContent-Length: ${size}\r\n\r\n`
    p.push(Buffer.from(head))
    const part = Buffer.alloc(250)
    part.fillAt(0, 250, 7)
    for (let n = 0; n < size; n += 250) {
        if (chunked) p.push(Buffer.from("fa\r\n"))
        p.push(part)
        if (chunked) p.push(Buffer.from("\r\n"))
        await ds.sleep(0)
    }
    if (chunked) p.push(Buffer.from("0\r\n\r\n"))
    expect(p.done()).toBe(true)
    expect(seen.got).toBe(size)
    expect(seen.sum).toBe(7 * size)
    expect(p.result().body.length).toBe(0)
    expect(p.bytesReceived() > size).toBe(true)
}

describe("ResponseParser streaming the body to a sink", () => {
    test("a body far over maxBytes streams through, held nowhere", async () => {
        await streamThrough(false)
        await streamThrough(true)
    })
    test("the head and chunk framing still count against maxBytes", () => {
        const o: ResponseParserOptions = { maxBytes: 100, onBody: () => {} }
        let raw = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        for (let i = 0; i < 20; i++) raw += "1\r\nx\r\n"
        let msg = ""
        try {
            new ResponseParser(o).push(Buffer.from(raw))
        } catch (e) {
            msg = (e as Error).message
        }
        expect(msg).toBe("http: response exceeds 100 bytes")
    })
})
