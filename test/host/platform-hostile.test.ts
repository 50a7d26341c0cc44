// Hostile peers: publish requests of the wrong shape (Content-Type, path
// traversal, NUL, escaped /) refused with 10001 before their token is
// looked at; the admin API's Host, Content-Type, body cap and clock bounds;
// slow requests closed by the (here short) request and headers timeouts.
import { test } from "node:test"
import assert from "node:assert/strict"
import net from "node:net"
import tls from "node:tls"
import type { Platform } from "../../host/platform/index.ts"
import {
    publish,
    request,
    RawTlsClient,
} from "../../host/testkit/platform-client.ts"
import {
    publishContentTypeProblem,
    topicPathProblem,
} from "../../host/platform/publish-request.ts"
import { isLoopbackHost } from "../../host/lib/http-request.ts"
import { useDevicePlatform } from "./platform-fixture.ts"

const dev = {
    productKey: "a1HostilePK",
    deviceName: "host-1",
    deviceSecret: "hostileSecret0123456789abcdef012",
}
const own = `/${dev.productKey}/${dev.deviceName}/user/update`
/** short limits, so that slow peers are cut off within the test */
const TIMEOUT_MS = 1500
let p: Platform
let token: string
useDevicePlatform("platform-hostile-", dev, s => ({ platform: p, token } = s), {
    options: { requestTimeoutMs: TIMEOUT_MS, headersTimeoutMs: TIMEOUT_MS },
})

test("a publish without Content-Type: application/octet-stream is 10001 with a detail, and not stored", async () => {
    const before = p.messages().length
    const cases: [Record<string, string>, RegExp][] = [
        [{}, /got none/],
        [{ "Content-Type": "application/json" }, /got "application\/json"/],
        [{ "Content-Type": "text/plain" }, /must be application\/octet-stream/],
        [{ "Content-Type": "application/octet-streamx" }, /must be/],
        [
            { "Content-Type": "application/octet-stream; charset=utf-8" },
            /without parameters/,
        ],
        [{ "Content-Type": "" }, /must be/],
    ]
    for (const [headers, re] of cases) {
        const r = await request(p, `/topic${own}`, {
            headers: { password: token, ...headers },
            body: "x",
        })
        assert.equal(r.status, 200)
        assert.equal(r.json.code, 10001, JSON.stringify(headers))
        assert.equal(r.json.message, "param error")
        assert.match(r.json.detail, re)
    }
    // the media type compares case-insensitively
    const upper = await publish(p, own, token, "x", {
        headers: { "Content-Type": "Application/Octet-Stream" },
    })
    assert.equal(upper.json.code, 0, upper.text)
    assert.equal(p.messages().length, before + 1)
    // a repeated Content-Type header is refused too
    const c = new RawTlsClient(p)
    try {
        const r = await c.exchange(
            `POST /topic${own} HTTP/1.1\r\nHost: 127.0.0.1\r\npassword: ${token}\r\n` +
                `Content-Type: application/octet-stream\r\nContent-Type: application/octet-stream\r\nContent-Length: 1\r\n\r\nx`
        )
        const j = JSON.parse(r.body.toString())
        assert.equal(j.code, 10001)
        assert.match(j.detail, /sent once/)
    } finally {
        c.close()
    }
})

test("the request's shape is checked before its token: a wrong Content-Type without a token is 10001", async () => {
    const r = await request(p, `/topic${own}`, { body: "x" })
    assert.equal(r.json.code, 10001)
    const noToken = await publish(p, own, undefined, "x")
    assert.equal(noToken.json.code, 20002)
})

test("topic paths with . or .. levels, NUL (%00), an escaped / or a bad escape are 10001", async () => {
    const before = p.messages().length
    const pre = `/${dev.productKey}/${dev.deviceName}`
    const cases: [string, RegExp][] = [
        [`${pre}/%00/../../x`, /NUL/],
        [`${pre}/user/update%00`, /NUL/],
        [`${pre}/user/../user/update`, /\.\. level/],
        [`${pre}/user/./update`, /\. level/],
        [`${pre}/user/%2e%2E/user/update`, /\.\. level/],
        [`${pre}/user/..`, /\.\. level/],
        [`${pre}/user%2Fupdate`, /escaped \//],
        [`${pre}/user%2fupdate`, /escaped \//],
        [`${pre}/user/update%zz`, /percent-escape/],
        [`${pre}/user/update%4`, /percent-escape/],
    ]
    for (const [topic, re] of cases) {
        const r = await publish(p, topic, token, "x")
        assert.equal(r.json.code, 10001, topic)
        assert.match(r.json.detail, re, topic)
        // also without a token: the shape comes first
        assert.equal((await publish(p, topic, undefined, "x")).json.code, 10001)
    }
    assert.equal(p.messages().length, before)
})

test("a raw NUL in the request line is refused (HTTP 400, code 10001) and the server keeps serving", async () => {
    const c = new RawTlsClient(p)
    try {
        const r = await c.exchange(
            `POST /topic/${dev.productKey}/${dev.deviceName}/\0/x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n`
        )
        assert.equal(r.status, 400)
        assert.equal(r.headers["content-length"], String(r.body.length))
        const j = JSON.parse(r.body.toString())
        assert.equal(j.code, 10001)
        assert.equal(j.message, "param error")
    } finally {
        c.close()
    }
    assert.equal((await publish(p, own, token, "after")).json.code, 0)
})

test("path and Content-Type rules, unit by unit", () => {
    assert.equal(topicPathProblem("/pk/dn/user/update"), undefined)
    assert.equal(topicPathProblem("/pk/dn/user/a%20b"), undefined)
    assert.equal(topicPathProblem("/pk/dn/user/..x"), undefined)
    assert.match(topicPathProblem("/pk/dn/\0")!, /NUL/)
    assert.match(topicPathProblem("/pk/dn/%2E.")!, /\.\. level/)
    assert.match(topicPathProblem("/pk/dn/a%")!, /percent-escape/)
    assert.equal(
        publishContentTypeProblem(["application/octet-stream"]),
        undefined
    )
    assert.equal(
        publishContentTypeProblem([" APPLICATION/OCTET-STREAM "]),
        undefined
    )
    assert.match(publishContentTypeProblem([])!, /got none/)
    assert.match(publishContentTypeProblem(["a", "b"])!, /sent once/)
    assert.match(
        publishContentTypeProblem(["application/octet-stream;charset=utf-8"])!,
        /without parameters/
    )
    // a long value is shortened in the detail
    assert.ok(publishContentTypeProblem(["x".repeat(5000)])!.length < 200)
})

/** One raw HTTP/1.1 exchange with the admin API; resolves with everything read until close. */
function rawAdmin(head: string, body = "") {
    return new Promise<{ status: number; text: string }>(resolve => {
        const c = net.connect(p.adminPort!, "127.0.0.1", () =>
            c.write(head + body)
        )
        let d = ""
        c.on("data", x => {
            d += x
            if (/\r\n\r\n/.test(d)) {
                const len = /content-length: (\d+)/i.exec(d)
                const start = d.indexOf("\r\n\r\n") + 4
                if (len && Buffer.byteLength(d.slice(start)) >= +len[1]) c.end()
            }
        })
        c.on("error", () => {})
        c.on("close", () =>
            resolve({
                status: Number(d.split(" ")[1] ?? 0),
                text: d.slice(d.indexOf("\r\n\r\n") + 4),
            })
        )
    })
}

test("admin API: only a loopback Host header naming its port is served (403 otherwise)", async () => {
    const port = p.adminPort!
    for (const host of [
        `127.0.0.1:${port}`,
        `localhost:${port}`,
        `LOCALHOST:${port}`,
        `[::1]:${port}`,
    ]) {
        const r = await rawAdmin(
            `GET /stats HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`
        )
        assert.equal(r.status, 200, host)
    }
    for (const host of [
        `evil.example:${port}`,
        `127.0.0.1.evil.example:${port}`,
        "127.0.0.1",
        "localhost",
        `127.0.0.1:${port + 1}`,
        `localhost:${port}@evil`,
        "",
    ]) {
        const r = await rawAdmin(
            `GET /stats HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`
        )
        assert.equal(r.status, 403, host)
        assert.match(JSON.parse(r.text).error, /Host header/)
    }
    const noHost = await rawAdmin(`GET /stats HTTP/1.0\r\n\r\n`)
    assert.equal(noHost.status, 403)
    assert.equal(isLoopbackHost(`127.0.0.1:${port}`, port), true)
    assert.equal(isLoopbackHost(`127.0.0.2:${port}`, port), false)
})

test("admin API: a POST without a JSON Content-Type is 415 and changes nothing", async () => {
    p.clearFaults()
    for (const ct of [
        undefined,
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ]) {
        const res = await fetch(`${p.adminUrl}/faults`, {
            method: "POST",
            headers: ct ? { "Content-Type": ct } : {},
            body: ct ? JSON.stringify({ publishError: true }) : undefined,
        })
        assert.equal(res.status, 415, String(ct))
        assert.match(((await res.json()) as any).error, /application\/json/)
    }
    assert.deepEqual(p.faults(), { latencyMs: 0 })
    const ok = await fetch(`${p.adminUrl}/faults`, {
        method: "POST",
        headers: { "Content-Type": "application/json; charset=utf-8" },
        body: JSON.stringify({ latencyMs: 0 }),
    })
    assert.equal(ok.status, 200)
})

test("admin API: a body over 1 MB is 413, declared or streamed, and is not read to its end", async () => {
    const port = p.adminPort!
    const head = `POST /faults HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n`
    // declared too large: answered at once, without waiting for the body
    const declared = await rawAdmin(
        `${head}Content-Length: ${1024 * 1024 + 1}\r\n\r\n`
    ) // no body byte sent: the answer does not wait for one
    assert.equal(declared.status, 413)
    assert.match(JSON.parse(declared.text).error, /larger than 1048576 bytes/)
    // streamed (chunked, no length): refused once past 1 MB
    const chunk = " ".repeat(64 * 1024)
    const chunks = Array.from(
        { length: 17 },
        () => `${(64 * 1024).toString(16)}\r\n${chunk}\r\n`
    ).join("")
    const streamed = await rawAdmin(
        `${head}Transfer-Encoding: chunked\r\n\r\n`,
        chunks
    )
    assert.equal(streamed.status, 413)
    // exactly 1 MB is read (and here is valid JSON)
    const padded = JSON.stringify({ latencyMs: 0 }).padEnd(1024 * 1024, " ")
    const atLimit = await rawAdmin(
        `${head}Content-Length: ${padded.length}\r\nConnection: close\r\n\r\n`,
        padded
    )
    assert.equal(atLimit.status, 200)
    assert.deepEqual(p.faults(), { latencyMs: 0 })
})

test("admin API: POST /clock takes a finite offset within ±10 years (400 otherwise)", async () => {
    const post = (body: string) =>
        fetch(`${p.adminUrl}/clock`, {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body,
        })
    const tenYears = 10 * 365.25 * 24 * 3600 * 1000
    for (const body of [
        `{"offsetMs": ${tenYears + 1}}`,
        `{"offsetMs": ${-tenYears - 1}}`,
        '{"offsetMs": 1e400}',
        '{"offsetMs": "5"}',
        '{"offsetMs": null}',
        "{}",
    ]) {
        const r = await post(body)
        assert.equal(r.status, 400, body)
    }
    for (const ms of [tenYears, -tenYears, 0]) {
        const r = await post(JSON.stringify({ offsetMs: ms }))
        assert.equal(r.status, 200)
    }
    assert.throws(() => p.setClockOffset(Infinity), RangeError)
    assert.throws(() => p.setClockOffset(tenYears * 2), RangeError)
    p.setClockOffset(0)
})

/** Waits for `s` to close; returns what it received. */
function untilClosed(s: net.Socket) {
    return new Promise<string>(resolve => {
        let d = ""
        s.on("data", x => (d += x))
        s.on("error", () => {})
        s.on("close", () => resolve(d))
    })
}

test("a slowly sent body or slow headers are cut off by the request and headers timeouts (admin API)", async () => {
    const port = p.adminPort!
    // headers that never end
    const s1 = net.connect(port, "127.0.0.1", () =>
        s1.write(`POST /faults HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`)
    )
    // a body that never completes, a byte now and then (slower than the limit allows in all)
    const s2 = net.connect(port, "127.0.0.1", () =>
        s2.write(
            `POST /faults HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`
        )
    )
    const drip = setInterval(() => s2.writable && s2.write(" "), TIMEOUT_MS / 6)
    try {
        const [a, b] = await Promise.all([untilClosed(s1), untilClosed(s2)])
        assert.match(a, /^HTTP\/1\.1 408 /)
        assert.match(b, /^HTTP\/1\.1 408 /)
    } finally {
        clearInterval(drip)
    }
})

test("a slowly sent body or slow headers are cut off on the channel too (408)", async () => {
    const open = () =>
        new Promise<tls.TLSSocket>((resolve, reject) => {
            const s = tls.connect(
                { host: "127.0.0.1", port: p.port, ca: p.ca },
                () => resolve(s)
            )
            s.on("error", reject)
        })
    const s1 = await open()
    const s2 = await open()
    const closed = [untilClosed(s1), untilClosed(s2)]
    s1.write(`POST /topic${own} HTTP/1.1\r\nHost: 127.0.0.1\r\n`)
    s2.write(
        `POST /topic${own} HTTP/1.1\r\nHost: 127.0.0.1\r\npassword: ${token}\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000\r\n\r\nx`
    )
    const drip = setInterval(() => s2.writable && s2.write("y"), TIMEOUT_MS / 6)
    const before = p.messages().length
    try {
        const [a, b] = await Promise.all(closed)
        assert.match(a, /^HTTP\/1\.1 408 /)
        assert.match(b, /^HTTP\/1\.1 408 /)
    } finally {
        clearInterval(drip)
    }
    assert.equal(p.messages().length, before, "nothing stored")
    assert.equal((await publish(p, own, token, "after")).json.code, 0)
})
