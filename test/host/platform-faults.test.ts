// Fault injection, each fault observed with Node's HTTPS client (or a raw
// TLS client where the wire format is the point).
import { test } from "node:test"
import assert from "node:assert/strict"
import https from "node:https"
import { startPlatform, type Platform } from "../../host/platform/index.ts"
import {
    applyFaultsInput,
    FaultInputError,
} from "../../host/platform/faults.ts"
import {
    authenticate,
    keepAliveAgent,
    publish,
    RawTlsClient,
} from "../../host/testkit/platform-client.ts"
import { useDevicePlatform } from "./platform-fixture.ts"
import { waitUntil } from "../../host/testkit/wait-until.ts"
import { startPlatformCli } from "./platform-cli-process.ts"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const dev = {
    productKey: "pkFault",
    deviceName: "dev1",
    deviceSecret: "faultsecret",
}
const topic = `/${dev.productKey}/${dev.deviceName}/user/update`
let p: Platform
let token: string
useDevicePlatform("platform-faults-", dev, s => ({ platform: p, token } = s), {
    reset: true,
})

/** Sends a publish and reports what happened at the socket level. */
function rawOutcome(body = "x", agent?: https.Agent) {
    return new Promise<
        | {
              kind: "response"
              status: number
              headers: any
              body: Buffer
              aborted: boolean
          }
        | { kind: "error"; error: Error }
    >(resolve => {
        const req = https.request(
            {
                host: "127.0.0.1",
                port: p.port,
                path: `/topic${topic}`,
                method: "POST",
                ca: p.ca,
                agent: agent ?? false,
                headers: {
                    password: token,
                    "Content-Type": "application/octet-stream",
                    "Content-Length": Buffer.byteLength(body),
                },
            },
            res => {
                const chunks: Buffer[] = []
                let aborted = false
                res.on("data", c => chunks.push(c))
                res.on("aborted", () => (aborted = true))
                res.on("error", () => (aborted = true))
                res.on("close", () =>
                    resolve({
                        kind: "response",
                        status: res.statusCode!,
                        headers: res.headers,
                        body: Buffer.concat(chunks),
                        aborted: aborted || !res.complete,
                    })
                )
            }
        )
        req.on("error", error => resolve({ kind: "error", error }))
        req.end(body)
    })
}

test("latency: every answer is delayed by latencyMs", async () => {
    p.setFaults({ latencyMs: 300 })
    const t0 = performance.now()
    const r = await publish(p, topic, token, "x")
    assert.ok(performance.now() - t0 >= 290)
    assert.equal(r.json.code, 0)
    p.setFaults({ latencyMs: 0 })
})

test("stall: the request is accepted and never answered; the next one is answered", async () => {
    p.setFaults({ stall: 1 })
    const req = https.request({
        host: "127.0.0.1",
        port: p.port,
        path: `/topic${topic}`,
        method: "POST",
        ca: p.ca,
        agent: false,
        headers: { password: token },
    })
    let answered = false
    req.on("response", () => (answered = true))
    req.on("error", () => {})
    const sent = new Promise(r => req.on("finish", r))
    req.end("x")
    await sent
    await new Promise(r => setTimeout(r, 1500))
    assert.equal(answered, false, "no answer within 1.5 s")
    assert.equal(p.requests().at(-1)?.fault, "stall")
    assert.equal(p.messages().length, 0, "a stalled request is not processed")
    req.destroy()
    assert.equal((await publish(p, topic, token, "y")).json.code, 0)
    assert.equal(p.stats().faults.stall, 1)
})

test("closeBeforeResponse: the connection closes with no answer", async () => {
    p.setFaults({ closeBeforeResponse: 1 })
    const r = await rawOutcome()
    assert.equal(r.kind, "error")
    assert.match(
        (r as any).error.code ?? (r as any).error.message,
        /ECONNRESET|socket hang up/
    )
    assert.equal(p.messages().length, 0)
    assert.equal((await publish(p, topic, token, "y")).json.code, 0)
})

test("closeMidResponse: headers and part of the body, then the connection closes", async () => {
    p.setFaults({ closeMidResponse: 1 })
    const r = await rawOutcome("mid")
    assert.equal(r.kind, "response")
    if (r.kind !== "response") return
    assert.equal(r.status, 200)
    assert.ok(r.aborted)
    const len = Number(r.headers["content-length"])
    assert.ok(r.body.length < len, `${r.body.length} of ${len} bytes`)
    assert.ok(r.body.toString().startsWith('{"code":0'))
    assert.equal(p.messages().at(-1)?.utf8, "mid", "the request was processed")
})

test("httpError: 500, 502 and 503 with an HTML body and a Content-Length", async () => {
    for (const status of [500, 502, 503]) {
        p.setFaults({ httpError: { status, count: 1 } })
        const r = await publish(p, topic, token, "x")
        assert.equal(r.status, status)
        assert.match(String(r.headers["content-type"]), /text\/html/)
        assert.equal(r.headers["content-length"], String(r.body.length))
        assert.match(
            r.text,
            new RegExp(`<html>[\\s\\S]*${status}[\\s\\S]*</html>`)
        )
        assert.equal(r.json, undefined)
    }
    assert.equal(p.messages().length, 0)
    assert.equal((await publish(p, topic, token, "x")).status, 200)
    assert.deepEqual(p.stats().http, { "200": 1, "500": 1, "502": 1, "503": 1 })
})

test("malformedJson: a 200 whose body does not parse", async () => {
    p.setFaults({ malformedJson: 1 })
    const r = await publish(p, topic, token, "x")
    assert.equal(r.status, 200)
    assert.equal(r.headers["content-length"], String(r.body.length))
    assert.throws(() => JSON.parse(r.text))
    assert.equal(p.messages().length, 0)
})

test("chunked: the real answer, chunked, with no Content-Length", async () => {
    p.setFaults({ chunked: 1 })
    const c = new RawTlsClient(p)
    try {
        const body = "chunky"
        const r = await c.exchange(
            `POST /topic${topic} HTTP/1.1\r\nHost: 127.0.0.1\r\npassword: ${token}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${body.length}\r\n\r\n${body}`
        )
        assert.equal(r.headers["transfer-encoding"], "chunked")
        assert.equal(r.headers["content-length"], undefined)
        assert.match(
            r.body.toString(),
            /^\{"code":0,"message":"success","info":\{"messageId":\d+\}\}$/
        )
        assert.equal(p.messages().at(-1)?.utf8, body)
        // the next answer on the same connection has a Content-Length again
        const n = await c.exchange(
            `POST /topic${topic} HTTP/1.1\r\nHost: 127.0.0.1\r\npassword: ${token}\r\nContent-Type: application/octet-stream\r\nContent-Length: 1\r\n\r\nz`
        )
        assert.equal(n.headers["content-length"], String(n.body.length))
    } finally {
        c.close()
    }
})

test("faults can be scoped to auth or topic requests, and counted or always", async () => {
    p.setFaults({ httpError: { status: 503, on: "topic" } }) // always, publishes only
    await authenticate(p, dev)
    assert.equal((await publish(p, topic, token, "x")).status, 503)
    assert.equal((await publish(p, topic, token, "x")).status, 503)
    p.setFaults({ httpError: null })
    assert.equal((await publish(p, topic, token, "x")).json.code, 0)
    p.setFaults({ malformedJson: { count: 1, on: "auth" } })
    await assert.rejects(authenticate(p, dev))
    await authenticate(p, dev)
    assert.deepEqual(p.faults(), { latencyMs: 0 })
})

test("outage: connections are refused for the period, then accepted again", async () => {
    const agent = keepAliveAgent(p)
    try {
        assert.equal(
            (await publish(p, topic, token, "before", { agent })).json.code,
            0
        )
        p.setFaults({ outageMs: 60_000 })
        const refused = await rawOutcome()
        assert.equal(refused.kind, "error")
        assert.equal((refused as any).error.code, "ECONNREFUSED")
        // the kept-alive connection was dropped too
        await assert.rejects(publish(p, topic, token, "during", { agent }))
        p.setFaults({ outageMs: 0 }) // ended early
        assert.equal((await publish(p, topic, token, "after")).json.code, 0)
        // a short outage ends by itself
        p.setFaults({ outageMs: 300 })
        assert.equal((await rawOutcome()).kind, "error")
        await waitUntil(
            async () => {
                const r = await rawOutcome("late")
                return r.kind === "response" && r.status === 200
            },
            30_000,
            "the channel to accept again after the outage",
            { pollMs: 50 }
        )
        assert.equal(p.faults().outageUntil, undefined)
    } finally {
        agent.destroy()
    }
})

test("durations longer than a Node timer can wait (2^31-1 ms) are refused with a clear error, and change nothing", async () => {
    const tooLong = 2 ** 31 // ms: about 24.9 days
    const before = p.faults()
    for (const input of [
        { outageMs: tooLong },
        { latencyMs: tooLong },
        { outageMs: Infinity },
        { latencyMs: Infinity },
    ]) {
        const name = Object.keys(input)[0]
        assert.throws(
            () => p.setFaults(input),
            (e: Error) =>
                e instanceof FaultInputError &&
                e.message.includes(`${name} must be`) &&
                e.message.includes("2147483647"),
            JSON.stringify(input)
        )
    }
    assert.deepEqual(p.faults(), before)
    // the admin API answers 400 with the same reason
    const r = await fetch(`${p.adminUrl}/faults`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ outageMs: 3_000_000_000 }),
    })
    assert.equal(r.status, 400)
    assert.match(
        ((await r.json()) as any).error,
        /outageMs must be .*2147483647/
    )
    // the channel still answers: no outage started, no latency added
    assert.equal((await publish(p, topic, token, "x")).json.code, 0)
    // the longest a timer holds is accepted
    const f = applyFaultsInput(
        { latencyMs: 0 },
        { outageMs: 2 ** 31 - 1, latencyMs: 2 ** 31 - 1 },
        1000
    )
    assert.equal(f.outageUntil, 1000 + 2 ** 31 - 1)
    assert.equal(f.latencyMs, 2 ** 31 - 1)
})

test("a keep-alive timeout longer than a Node timer can wait is refused", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "platform-keepalive-"))
    try {
        const started = startPlatform({
            stateDir,
            adminPort: false,
            keepAliveTimeoutMs: 2 ** 31,
        })
        // an emulator that started anyway is closed again
        started.then(
            q => q.close(),
            () => {}
        )
        await assert.rejects(started, /keepAliveTimeoutMs must be .*2147483647/)
    } finally {
        rmSync(stateDir, { recursive: true, force: true })
    }
})

test("npm run platform: --keep-alive longer than a Node timer can wait is refused", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "platform-keepalive-cli-"))
    try {
        const cli = await startPlatformCli([
            "--port",
            "0",
            "--state",
            stateDir,
            "--keep-alive",
            "2147484",
        ])
        assert.equal(await cli.stop(), 2, cli.output())
        assert.match(
            cli.output(),
            /--keep-alive must be at most 2147483 seconds/
        )
    } finally {
        rmSync(stateDir, { recursive: true, force: true })
    }
})
